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

/** The raw Emscripten module (Core class, errorCodes, codec helpers). */
export async function loadModule() {
  const { default: createHoldfastCore } = await import(pathToFileURL(path.join(sdkDir, 'holdfast_core.js')).href);
  return createHoldfastCore({ wasmBinary });
}

/** The public SDK entry, as apps import it. */
export function importSdk() {
  return import(pathToFileURL(path.join(sdkDir, 'holdfast.js')).href);
}
