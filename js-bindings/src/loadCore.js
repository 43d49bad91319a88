// loadCore: loads and instantiates the WebAssembly client core (holdfast_core.js/.wasm) once per
// page or process and shares that instance; each Holdfast client creates its own Core object in
// it. Layer: JS glue. In browsers the .wasm is fetched next to this file unless wasmUrl is given;
// Node passes the bytes as wasmBinary (the ENVIRONMENT=web,worker build cannot read files).
import createHoldfastCore from './holdfast_core.js';

/** @type {Promise<any> | null} */
let modulePromise = null;

/**
 * Resolves with the shared Emscripten module. The first call's options win; later calls reuse it.
 * @param {{ wasmUrl?: string | URL, wasmBinary?: ArrayBuffer | Uint8Array }} [options]
 * @returns {Promise<any>}
 */
export function loadCore(options = {}) {
  if (!modulePromise) {
    /** @type {Record<string, unknown>} */
    const moduleArg = {};
    if (options.wasmBinary) {
      moduleArg.wasmBinary = options.wasmBinary;
    } else {
      const wasmUrl = String(options.wasmUrl ?? new URL('./holdfast_core.wasm', import.meta.url));
      moduleArg.locateFile = (path, prefix) => (path.endsWith('.wasm') ? wasmUrl : prefix + path);
    }
    modulePromise = createHoldfastCore(moduleArg);
    // A failed load (network, bad bytes) must not poison later attempts.
    modulePromise.catch(() => { modulePromise = null; });
  }
  return modulePromise;
}
