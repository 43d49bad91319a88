// Where the Node tests find the built SDK (build/sdk, or $HOLDFAST_SDK_DIR) and how they load the
// WASM module from it: Node 20 loads this ENVIRONMENT=web,worker build only when handed the bytes
// as wasmBinary. Layer: tests.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const sdkDir = path.resolve(process.env.HOLDFAST_SDK_DIR ?? path.join(root, 'build/sdk'));
export const fixturesDir = path.join(root, 'tests/fixtures');
export const wasmBinary = fs.readFileSync(path.join(sdkDir, 'holdfast_core.wasm'));
/** The testing build of the module (the SDK's plus reencodeFrame/describeFrame), beside the build. */
export const testingDir = path.resolve(process.env.HOLDFAST_TESTING_DIR ?? path.join(root, 'build/wasm/wasm/bindings'));

/** The raw Emscripten module of the testing build (Core class, errorCodes, codec helpers). */
export async function loadModule() {
  const { default: createHoldfastCore } = await import(pathToFileURL(path.join(testingDir, 'holdfast_core_testing.js')).href);
  return createHoldfastCore({ wasmBinary: fs.readFileSync(path.join(testingDir, 'holdfast_core_testing.wasm')) });
}

/** The public SDK entry, as apps import it. */
export function importSdk() {
  return import(pathToFileURL(path.join(sdkDir, 'holdfast.js')).href);
}

/** Resolves when `check()` is truthy, polling on each macrotask; fails after `ms`. */
export async function until(check, label, ms = 2000) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${label}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}
