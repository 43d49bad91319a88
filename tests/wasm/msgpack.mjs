// A tiny msgpack encoder for the Node tests of the WASM module: it lets a test build relay frames
// (and deliberately wrong ones) independently of the C++ codec under test. Layer: tests.
// Integers use the smallest msgpack form, as msgpack-c does; other numbers are float64.

/** Encodes a JS value (null, boolean, number, bigint, string, Uint8Array, array, plain object). */
export function encode(value) {
  const out = [];
  write(value, out);
  return Uint8Array.from(out);
}

function write(value, out) {
  if (value === null || value === undefined) return out.push(0xc0);
  if (value === false) return out.push(0xc2);
  if (value === true) return out.push(0xc3);
  if (typeof value === 'bigint') return writeInteger(value, out);
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value)) return writeInteger(BigInt(value), out);
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setFloat64(0, value);
    return out.push(0xcb, ...bytes);
  }
  if (typeof value === 'string') {
    const bytes = new TextEncoder().encode(value);
    writeHeader(bytes.length, out, 0xa0, 31, [0xd9, 0xda, 0xdb]);
    return out.push(...bytes);
  }
  if (value instanceof Uint8Array) {
    writeHeader(value.length, out, null, -1, [0xc4, 0xc5, 0xc6]);
    return out.push(...value);
  }
  if (Array.isArray(value)) {
    writeHeader(value.length, out, 0x90, 15, [null, 0xdc, 0xdd]);
    for (const item of value) write(item, out);
    return;
  }
  const entries = Object.entries(value);
  writeHeader(entries.length, out, 0x80, 15, [null, 0xde, 0xdf]);
  for (const [key, item] of entries) {
    write(key, out);
    write(item, out);
  }
}

/** fix form up to fixMax, then 8/16/32-bit length forms (null: form absent for this type). */
function writeHeader(length, out, fixBase, fixMax, [form8, form16, form32]) {
  if (length <= fixMax) out.push(fixBase | length);
  else if (form8 !== null && length < 0x100) out.push(form8, length);
  else if (length < 0x10000) out.push(form16, length >> 8, length & 0xff);
  else out.push(form32, ...bigEndian(BigInt(length), 4));
}

function writeInteger(n, out) {
  if (n >= 0n) {
    if (n < 0x80n) out.push(Number(n));
    else if (n < 0x100n) out.push(0xcc, Number(n));
    else if (n < 0x10000n) out.push(0xcd, ...bigEndian(n, 2));
    else if (n < 0x100000000n) out.push(0xce, ...bigEndian(n, 4));
    else out.push(0xcf, ...bigEndian(n, 8));
  } else {
    if (n >= -32n) out.push(Number(n) & 0xff);
    else if (n >= -0x80n) out.push(0xd0, ...bigEndian(BigInt.asUintN(8, n), 1));
    else if (n >= -0x8000n) out.push(0xd1, ...bigEndian(BigInt.asUintN(16, n), 2));
    else if (n >= -0x80000000n) out.push(0xd2, ...bigEndian(BigInt.asUintN(32, n), 4));
    else out.push(0xd3, ...bigEndian(BigInt.asUintN(64, n), 8));
  }
}

function bigEndian(n, size) {
  const bytes = [];
  for (let i = size - 1; i >= 0; --i) bytes.push(Number((n >> BigInt(8 * i)) & 0xffn));
  return bytes;
}
