// core_api_testing.js: the codec's test helpers, linked after core_api.js (whose helpers it uses)
// into the Node tests' module only (holdfast_core_testing): the SDK does not ship them.
// Layer: bindings.

/** Test helper: {bytes} re-encoded after decoding, or {code, name, message}. */
Module['reencodeFrame'] = function (bytes) {
  var l = hfPut([bytes]);
  var n = Module['_hf_reencode_frame'](l[0]);
  if (n < 0) return hfFailure();
  var at = Module['_hf_out']();
  return { bytes: HEAPU8.slice(at, at + n) };
};
/** Test helper: a debug rendering of a frame, or "error <name>: <detail>". */
Module['describeFrame'] = function (bytes) { var l = hfPut([bytes]); return hfText(Module['_hf_describe_frame'](l[0])); };
