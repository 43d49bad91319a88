// Playwright configuration of Holdfast's end-to-end tests: Debian's Chromium (never a downloaded
// browser), a relay on an in-memory store serving demo/web and build/sdk, and the demo agent
// answering prompts. Layer: e2e. Run: npx playwright test -c e2e/playwright.config.mjs
// (after scripts/build.sh). HOLDFAST_E2E_PORT picks the relay port (default 18080);
// HOLDFAST_SDK_DIR another SDK folder (default build/sdk).
import { defineConfig } from '@playwright/test';

const port = Number(process.env.HOLDFAST_E2E_PORT ?? 18080);
const baseURL = `http://127.0.0.1:${port}`;
// The agent reads the same variable, so both use one SDK build.
const sdkDir = process.env.HOLDFAST_SDK_DIR ?? 'build/sdk';

export default defineConfig({
  testDir: '.',
  testMatch: /.*\.spec\.mjs$/,
  timeout: 30_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  outputDir: '../build/e2e-results',
  use: {
    baseURL,
    browserName: 'chromium',
    headless: true,
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
             '--disable-sync', '--no-first-run'],
    },
    trace: 'retain-on-failure',
  },
  webServer: [
    {
      name: 'relay',
      command: `bin/holdfast-relay --listen 127.0.0.1:${port} --store memory: --static-dir demo/web --sdk-dir ${sdkDir}`,
      cwd: '..',
      url: `${baseURL}/healthz`,
      reuseExistingServer: false,
      timeout: 20_000,
      stdout: 'pipe',
      stderr: 'pipe',
      gracefulShutdown: { signal: 'SIGTERM', timeout: 3_000 },
    },
    {
      name: 'agent',
      command: `node demo/agent/agent.mjs --url ws://127.0.0.1:${port}/v1/ws --rate 100`,
      cwd: '..',
      // Ready once it follows the session index; the relay is up by then (servers start in order).
      wait: { stdout: /\$sessions live/ },
      timeout: 20_000,
      stdout: 'pipe',
      stderr: 'pipe',
      gracefulShutdown: { signal: 'SIGTERM', timeout: 3_000 },
    },
  ],
});
