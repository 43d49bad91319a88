// The SDK's own core module in Node, and a Core following one session as the leader of a link
// that has just attached, with no relay or socket: what live-event.mjs and cold-replay.mjs feed
// frames to. Layer: bench. HOLDFAST_SDK_DIR picks another SDK build (default build/sdk).
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { encode } from '../../tests/wasm/msgpack.mjs';

export const sdkDir = path.resolve(process.env.HOLDFAST_SDK_DIR || new URL('../../build/sdk', import.meta.url).pathname);

/** The core module, loaded from the SDK folder's own loadCore.js and .wasm. */
export async function loadCoreModule() {
  const { loadCore } = await import(pathToFileURL(path.join(sdkDir, 'loadCore.js')).href);
  return loadCore({ wasmBinary: fs.readFileSync(path.join(sdkDir, 'holdfast_core.wasm')) });
}

/**
 * A new Core that follows `session` with its events rendered (as the adapter's 'event' listener
 * asks), holds the link, and has had the relay's welcome and attached (at `headSerial`).
 */
export function attachedCore(module, session, { headSerial = 0, maxBatchEvents = 2048 } = {}) {
  const core = new module.Core({ clientId: 'bench', token: '', agent: '', seed: 1, producerEpoch: 1, storageRoot: '', now: Date.now() });
  core.openSession(session);
  core.renderEvents(session, true);
  core.lockAcquired(Date.now());  // the leader: it owns the link
  core.takeDirectives();
  core.socketOpen();
  core.takeSocketFrames();
  core.socketFrame(encode({ type: 'welcome', connection_id: '1', version: 1, limits: { max_frame_bytes: 1 << 20, max_batch_events: maxBatchEvents } }));
  core.socketFrame(encode({ type: 'attached', session, epoch: 123456789, head_serial: headSerial }));
  return core;
}
