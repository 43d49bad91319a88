// core_api.js: the JS face of bindings.cpp's C ABI, linked into holdfast_core.js with --post-js so
// the module presents the interface the SDK and tests use (formerly made by embind): the class
// `Core` and errorCodes(), protocolVersion(), liveCores(); the testing build adds
// core_api_testing.js.
// Layer: bindings. It only moves bytes: string and byte arguments are written back to back into
// the core's scratch buffer (hf_scratch) and passed as lengths; results are read from the output
// buffer (hf_out) and copied out before the next call (a heap view would be detached by the next
// memory growth). The one exception is eventColumns(), whose caller reads its view at once (see
// there). Runs inside the Emscripten module's scope (Module, HEAPU8, HEAPF64).

var hfEncoder = new TextEncoder();
var hfDecoder = new TextDecoder();

/** The bytes of a string argument (UTF-8) or of binary data, as embind's std::string accepted. */
function hfBytes(value) {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  throw new TypeError('expected a string, ArrayBuffer or typed array');
}

// The scratch buffer's address and size as last returned by hf_scratch: it only grows and does not
// move unless it grows, so a call whose arguments fit skips asking for it (a publish is a few
// microseconds; each boundary crossing counts).
var hfScratchAt = 0;
var hfScratchSize = 0;

/** Where `capacity` bytes of arguments can be written. */
function hfScratch(capacity) {
  if (capacity > hfScratchSize) {
    hfScratchAt = Module['_hf_scratch'](capacity);  // may grow memory: read HEAPU8 after
    hfScratchSize = capacity;
  }
  return hfScratchAt;
}

/**
 * Writes a string as UTF-8 at `at` (room for 3 bytes per UTF-16 unit); returns the byte count.
 * Short ASCII strings (ids, kinds, small payloads) are copied by hand: encodeInto and the heap view
 * it needs cost more than the copy itself.
 */
function hfWriteString(value, at) {
  var n = value.length;
  if (n <= 96) {
    var heap = HEAPU8;
    for (var i = 0; i < n; ++i) {
      var c = value.charCodeAt(i);
      if (c >= 0x80) return hfEncoder.encodeInto(value, heap.subarray(at, at + n * 3)).written;
      heap[at + i] = c;
    }
    return n;
  }
  return hfEncoder.encodeInto(value, HEAPU8.subarray(at, at + n * 3)).written;
}

/** A publish (control 0) or a control (1): the request id, or a failure. */
function hfWrite(core, control, session, verb, target, payloadJson) {
  // The four are strings (the SDK makes them so): written without hfPut's two arrays, one write
  // per event in a token stream.
  var at = hfScratch(3 * (session.length + verb.length + target.length + payloadJson.length));
  var a = hfWriteString(session, at);
  var b = hfWriteString(verb, at + a);
  var c = hfWriteString(target, at + a + b);
  var d = hfWriteString(payloadJson, at + a + b + c);
  return hfRequest(Module['_hf_write'](hfAt(core), control, a, b, c, d));
}

/** Writes the arguments into the scratch buffer in order; returns their byte lengths. */
function hfPut(values) {
  var capacity = 0;
  for (var i = 0; i < values.length; ++i) {
    var v = values[i];
    capacity += typeof v === 'string' ? v.length * 3 : hfBytes(v).length;
  }
  var at = hfScratch(capacity);
  var lengths = [];
  for (var j = 0; j < values.length; ++j) {
    var value = values[j];
    var n;
    if (typeof value === 'string') {
      n = hfWriteString(value, at);
    } else {
      var bytes = hfBytes(value);
      HEAPU8.set(bytes, at);
      n = bytes.length;
    }
    lengths.push(n);
    at += n;
  }
  return lengths;
}

function hfText(length) {
  var at = Module['_hf_out']();
  return length > 0 ? hfDecoder.decode(HEAPU8.subarray(at, at + length)) : '';
}

/** The frames of the output buffer (each behind a 4-byte little-endian length), each copied. */
function hfFrames(length) {
  var at = Module['_hf_out']();
  var end = at + length;
  var frames = [];
  while (at < end) {
    var n = (HEAPU8[at] | (HEAPU8[at + 1] << 8) | (HEAPU8[at + 2] << 16) | (HEAPU8[at + 3] << 24)) >>> 0;
    at += 4;
    frames.push(HEAPU8.slice(at, at + n));
    at += n;
  }
  return frames;
}

/** {code, name, message} for the last failure (its message is in the output buffer). */
function hfFailure() {
  var code = Module['_hf_error_code']();
  var message = hfText(Module['_hf_out_length']());
  return { code: code, name: hfText(Module['_hf_error_name'](code)), message: message };
}

/** {request} or {code, name, message}, from a request id that is -1 on failure. */
function hfRequest(id) { return id < 0 ? hfFailure() : { request: id }; }

/** The core's address; throws after delete(), as embind did, rather than touch freed memory. */
function hfAt(core) {
  if (!core.ptr) throw new Error('Core used after delete()');
  return core.ptr;
}

/** A number argument: NaN when absent, which the core reads as "use the default". */
function hfNumber(value) { return typeof value === 'number' ? value : NaN; }

function hfString(value) { return typeof value === 'string' ? value : ''; }

class Core {
  /**
   * @param {{clientId?: string, token?: string, agent?: string, storageRoot?: string, tabId?: string,
   *   seed?: number, producerEpoch?: number, heartbeatIntervalMs?: number, heartbeatTimeoutMs?: number,
   *   maxSessions?: number, maxBytes?: number, beatMs?: number, leaderTimeoutMs?: number, now?: number,
   *   adoptStoredProducer?: boolean, sharedTabs?: boolean}} options
   */
  constructor(options) {
    var o = options || {};
    var l = hfPut([hfString(o.clientId), hfString(o.token), hfString(o.agent), hfString(o.storageRoot), hfString(o.tabId)]);
    var ptr = Module['_hf_core_new'](l[0], l[1], l[2], l[3], l[4], hfNumber(o.seed), hfNumber(o.producerEpoch),
      hfNumber(o.heartbeatIntervalMs), hfNumber(o.heartbeatTimeoutMs), hfNumber(o.maxSessions), hfNumber(o.maxBytes),
      hfNumber(o.beatMs), hfNumber(o.leaderTimeoutMs), hfNumber(o.now), o.adoptStoredProducer === true ? 1 : 0,
      o.sharedTabs === true ? 1 : 0);
    if (!ptr) throw new Error(hfFailure().message);
    this.ptr = ptr;
  }

  delete() {
    Module['_hf_core_delete'](hfAt(this));
    this.ptr = 0;
  }

  openSession(id) {
    var l = hfPut([id]);
    return Module['_hf_open_session'](hfAt(this), l[0]) < 0 ? hfFailure() : {};
  }
  closeSession(id) { var l = hfPut([id]); Module['_hf_close_session'](hfAt(this), l[0]); }
  clearSession(id) { var l = hfPut([id]); Module['_hf_clear_session'](hfAt(this), l[0]); }
  /** Whether takeUpdates() lists the session's events (on after openSession; see client.hpp). */
  renderEvents(id, on) { var l = hfPut([id]); Module['_hf_render_events'](hfAt(this), l[0], on ? 1 : 0); }
  publish(session, kind, msgId, payloadJson) { return hfWrite(this, 0, session, kind, msgId, payloadJson); }
  control(session, action, target, payloadJson) { return hfWrite(this, 1, session, action, target, payloadJson); }
  takeUpdates() { return hfText(Module['_hf_take_updates'](hfAt(this))); }
  /**
   * The numbers of the last takeUpdates()'s events, four per event [ts, kind, msgId, producer]
   * (client.hpp, event_columns). Many are a view of the core's memory, valid only until the next
   * call into the core (which may move it): read them all before anything can call it (copying
   * a catch-up's 320 kB was 4 % of its apply). A live event's four are copied into a plain array:
   * a typed array costs more to make than they do to copy.
   */
  eventColumns() {
    var n = Module['_hf_event_columns_length'](hfAt(this)) >> 3;
    var at = Module['_hf_event_columns_at'](hfAt(this));
    // The core keeps them in a heap block (8-aligned); the byte copy is for any other case.
    if (at & 7) return new Float64Array(HEAPU8.slice(at, at + n * 8).buffer);
    at >>= 3;
    if (n > 64) return HEAPF64.subarray(at, at + n);
    var few = [];
    for (var i = 0; i < n; ++i) few.push(HEAPF64[at + i]);
    return few;
  }
  onStorageFull() { return Module['_hf_on_storage_full'](hfAt(this)) !== 0; }
  /** The history's files changed since the last call (paths), for IdbStorage to copy. */
  takeChangedFiles() { return JSON.parse(hfText(Module['_hf_take_changed_files'](hfAt(this)))); }
  clientId() { return hfText(Module['_hf_client_id'](hfAt(this))); }
  setToken(token) { var l = hfPut([token]); Module['_hf_set_token'](hfAt(this), l[0]); }
  tokenRefreshDelayMs(nowMs) { return Module['_hf_token_refresh_delay_ms'](hfAt(this), hfNumber(nowMs)); }

  onWake(nowMs) { Module['_hf_on_wake'](hfAt(this), hfNumber(nowMs)); }
  onNetworkOffline() { Module['_hf_on_network_offline'](hfAt(this)); }
  onNetworkOnline(nowMs) { Module['_hf_on_network_online'](hfAt(this), hfNumber(nowMs)); }

  lockAcquired(nowMs) { Module['_hf_lock_acquired'](hfAt(this), hfNumber(nowMs)); }
  lockLost() { Module['_hf_lock_lost'](hfAt(this)); }
  socketOpen() { Module['_hf_socket_open'](hfAt(this)); }
  socketClosed() { Module['_hf_socket_closed'](hfAt(this)); }
  socketFrame(bytes) { var l = hfPut([bytes]); Module['_hf_socket_frame'](hfAt(this), l[0]); }
  reconnectDue() { Module['_hf_reconnect_due'](hfAt(this)); }
  linkDead() { Module['_hf_link_dead'](hfAt(this)); }
  channelMessage(bytes, nowMs) { var l = hfPut([bytes]); Module['_hf_channel_message'](hfAt(this), l[0], hfNumber(nowMs)); }
  tick(nowMs) { Module['_hf_tick'](hfAt(this), hfNumber(nowMs)); }
  takeSocketFrames() { return hfFrames(Module['_hf_take_socket_frames'](hfAt(this))); }
  takeChannelMessages() { return hfFrames(Module['_hf_take_channel_messages'](hfAt(this))); }
  takeDirectives() { return hfText(Module['_hf_take_directives'](hfAt(this))); }
  /** Bits of what the takes have: 1 directives, 2 socket frames, 4 channel messages, 8 updates. */
  pending() { return Module['_hf_pending'](hfAt(this)); }
}

Module['Core'] = Core;

/** {name: code} for every error code, walked from the core's enum. */
Module['errorCodes'] = function () {
  var codes = {};
  for (var code = 0, last = Module['_hf_last_errc'](); code <= last; ++code) {
    codes[hfText(Module['_hf_error_name'](code))] = code;
  }
  return codes;
};
Module['protocolVersion'] = function () { return Module['_hf_protocol_version'](); };
/** Cores created and not yet deleted (the Node tests check that clients free theirs). */
Module['liveCores'] = function () { return Module['_hf_live_cores'](); };
