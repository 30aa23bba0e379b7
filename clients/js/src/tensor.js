// The canonical tensor encoding of HACA (`pallets/primitives/src/tensor.rs`), in plain JS.
//
// A tensor list is SCALE-encoded as `Vec<Tensor>`, with
//   Tensor = { element_type: ElementType (one byte, the variant index),
//              shape: Vec<u32>, data: Vec<u8> (elements little-endian, row-major) },
// a `String` element being its UTF-8 byte length (compact, shortest form) and its bytes.
// `Tensor` itself appears in no call, event or storage item, so it is not in the runtime
// metadata; `ElementType` is (`HacaPrimitivesTensorElementType`), and `checkElementTypes`
// compares this module's table with it.

import { compactFromU8a, compactToU8a, u8aConcat, u8aToU8a } from '@polkadot/util';

/**
 * The element types, in the order of the Rust enum `ElementType` (the index is the SCALE
 * variant index; new types are appended).
 * @type {ReadonlyArray<ElementType>}
 * @typedef {'F32'|'F64'|'I8'|'U8'|'I16'|'I32'|'I64'|'Bool'|'U16'|'U32'|'U64'|'F16'|'BF16'|'String'} ElementType
 */
export const ELEMENT_TYPES = Object.freeze([
  'F32', 'F64', 'I8', 'U8', 'I16', 'I32', 'I64', 'Bool', 'U16', 'U32', 'U64', 'F16', 'BF16', 'String',
]);

/** Longest `String` element, in bytes of UTF-8 (`MAX_STRING_LEN`). */
export const MAX_STRING_LEN = 255;

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** `String` elements as the canonical encoding holds them. */
function encodeStrings(values) {
  return u8aConcat(
    ...Array.from(values, (value, i) => {
      if (typeof value !== 'string') throw new Error(`String element ${i} is a ${typeof value}, not a string`);
      const bytes = utf8.encode(value);
      if (bytes.length > MAX_STRING_LEN) {
        throw new Error(`String element ${i} has ${bytes.length} bytes of UTF-8; at most ${MAX_STRING_LEN}`);
      }
      return u8aConcat(compactToU8a(bytes.length), bytes);
    }),
  );
}

/** The strings of `String` data; throws unless it is canonical, UTF-8 and within bounds. */
function decodeStrings(bytes) {
  const strings = [];
  for (let pos = 0; pos < bytes.length;) {
    const prefix = [1, 2, 4, 5][bytes[pos] & 0b11];
    if (pos + prefix > bytes.length) throw new Error('truncated String element');
    const [length, value] = compactFromU8a(bytes.subarray(pos));
    const len = value.toNumber();
    if (compactToU8a(len).length !== length) throw new Error('a String length not in its shortest compact form');
    if (len > MAX_STRING_LEN) throw new Error(`a String element of ${len} bytes; at most ${MAX_STRING_LEN}`);
    pos += length;
    if (pos + len > bytes.length) throw new Error('truncated String element');
    try {
      strings.push(strictUtf8.decode(bytes.subarray(pos, pos + len)));
    } catch {
      throw new Error(`String element ${strings.length} is not UTF-8`);
    }
    pos += len;
  }
  return strings;
}

/** The bit layouts of the floating-point types: width, exponent and mantissa bits. */
const FLOAT_FORMATS = {
  F16: { bits: 16, exponent: 5, mantissa: 10 },
  BF16: { bits: 16, exponent: 8, mantissa: 7 },
  F32: { bits: 32, exponent: 8, mantissa: 23 },
  F64: { bits: 64, exponent: 11, mantissa: 52 },
};

/** `v` rounded to the nearest integer, ties to even. */
function roundHalfEven(v) {
  const floor = Math.floor(v);
  const rest = v - floor;
  if (rest !== 0.5) return rest < 0.5 ? floor : floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * The bit pattern of the 16-bit float of `format` nearest to `value` (ties to even, from the
 * double itself: no double rounding); NaN is the quiet NaN.
 */
function halfBits(value, { exponent, mantissa }) {
  const infinity = ((1 << exponent) - 1) << mantissa;
  if (Number.isNaN(value)) return infinity | (1 << (mantissa - 1));
  const sign = value < 0 || Object.is(value, -0) ? 0x8000 : 0;
  const magnitude = Math.abs(value);
  const bias = (1 << (exponent - 1)) - 1;
  if (magnitude >= 2 ** (bias + 1)) return sign | infinity;
  // Subnormals (and the rounding up into the smallest normal) in units of the least one.
  if (magnitude < 2 ** (1 - bias)) return sign | roundHalfEven(magnitude * 2 ** (bias - 1 + mantissa));
  let e = Math.floor(Math.log2(magnitude));
  if (2 ** e > magnitude) e -= 1;
  else if (2 ** (e + 1) <= magnitude) e += 1;
  // Exact in doubles: scaling by powers of two, and the mantissa fits. A carry out of the
  // mantissa moves to the next exponent (to infinity past the largest finite value).
  return sign | (((e + bias) << mantissa) + roundHalfEven((magnitude / 2 ** e - 1) * 2 ** mantissa));
}

/** The value of a 16-bit float bit pattern of `format` (exact as a double). */
function halfValue(bits, { exponent, mantissa }) {
  const sign = bits & 0x8000 ? -1 : 1;
  const all = (1 << exponent) - 1;
  const e = (bits >> mantissa) & all;
  const m = bits & ((1 << mantissa) - 1);
  const bias = (1 << (exponent - 1)) - 1;
  if (e === all) return m ? NaN : sign * Infinity;
  if (e === 0) return sign * m * 2 ** (1 - bias - mantissa);
  return sign * (1 + m / 2 ** mantissa) * 2 ** (e - bias);
}

/** A type whose elements a DataView accessor reads and writes. */
const plain = (size, Array, name, big = false) => ({
  size,
  Array,
  read: (view, at) => view[`get${name}`](at, true),
  write: (view, at, value) => view[`set${name}`](at, big ? BigInt(value) : Number(value), true),
});

/** A 16-bit float type: decoded elements are its values (exact in a `Float32Array`). */
const half = (format) => ({
  size: 2,
  Array: Float32Array,
  read: (view, at) => halfValue(view.getUint16(at, true), format),
  write: (view, at, value) => view.setUint16(at, halfBits(Number(value), format), true),
});

/**
 * Element size in bytes, the typed array holding decoded elements, and how one element is
 * read and written, per element type.
 */
const KINDS = {
  F32: plain(4, Float32Array, 'Float32'),
  F64: plain(8, Float64Array, 'Float64'),
  I8: plain(1, Int8Array, 'Int8'),
  U8: plain(1, Uint8Array, 'Uint8'),
  I16: plain(2, Int16Array, 'Int16'),
  I32: plain(4, Int32Array, 'Int32'),
  I64: plain(8, BigInt64Array, 'BigInt64', true),
  Bool: {
    size: 1,
    Array: Uint8Array,
    read: (view, at) => {
      const byte = view.getUint8(at);
      if (byte > 1) throw new Error(`a Bool element is 0 or 1, got ${byte}`);
      return byte;
    },
    write: (view, at, value) => {
      if (![true, false, 0, 1].includes(value)) throw new Error(`a Bool element is true, false, 0 or 1, got ${value}`);
      view.setUint8(at, Number(value));
    },
  },
  U16: plain(2, Uint16Array, 'Uint16'),
  U32: plain(4, Uint32Array, 'Uint32'),
  U64: plain(8, BigUint64Array, 'BigUint64', true),
  F16: half(FLOAT_FORMATS.F16),
  BF16: half(FLOAT_FORMATS.BF16),
};

/** Most dimensions a tensor may have (`MAX_RANK`). */
export const MAX_RANK = 8;

/**
 * A tensor: element type, shape and elements in row-major order.
 * @typedef {object} Tensor
 * @property {ElementType} type Element type.
 * @property {number[]} shape Dimensions.
 * @property {ArrayLike<number|bigint|boolean|string>} data Elements, row-major. Decoded
 *   tensors hold the matching typed array (`Float32Array` for F32, and for F16 and BF16 their
 *   exact values; `BigInt64Array` for I64, `BigUint64Array` for U64, `Uint8Array` of 0 and 1
 *   for Bool, ...), or an array of strings for String. Numbers given for F16 and BF16 are
 *   rounded to the nearest, ties to even.
 */

function kindOf(type) {
  if (type === 'String') return null;
  const kind = KINDS[type];
  if (!kind) throw new Error(`unknown element type ${type}; expected one of ${ELEMENT_TYPES.join(', ')}`);
  return kind;
}

/**
 * Number of elements of a tensor with dimensions `shape`.
 * @param {number[]} shape
 * @returns {number}
 */
export function elementCount(shape) {
  return shape.reduce((count, dim) => count * dim, 1);
}

/**
 * Encodes a tensor list in the canonical encoding (the bytes `jobs.submit` takes as input).
 * @param {Tensor[]} tensors
 * @returns {Uint8Array}
 * @example
 * encodeTensors([{ type: 'F32', shape: [1, 4], data: [0.5, -1, 2, 0.25] }])
 * // 0x0400080100000004000000400000003f000080bf000000400000803e
 */
export function encodeTensors(tensors) {
  const parts = [compactToU8a(tensors.length)];
  for (const { type, shape, data } of tensors) {
    const kind = kindOf(type);
    if (!Array.isArray(shape) || shape.length > MAX_RANK) {
      throw new Error(`shape must be an array of at most ${MAX_RANK} dimensions`);
    }
    const count = elementCount(shape);
    if (data.length !== count) {
      throw new Error(`a ${type} tensor of shape [${shape}] has ${count} elements, got ${data.length}`);
    }
    const dims = new DataView(new ArrayBuffer(4 * shape.length));
    shape.forEach((dim, i) => {
      if (!Number.isInteger(dim) || dim < 0 || dim > 0xffffffff) throw new Error(`bad dimension ${dim}`);
      dims.setUint32(4 * i, dim, true);
    });
    let bytes;
    if (kind) {
      const view = new DataView(new ArrayBuffer(count * kind.size));
      for (let i = 0; i < count; i++) kind.write(view, i * kind.size, data[i]);
      bytes = new Uint8Array(view.buffer);
    } else {
      bytes = encodeStrings(data);
    }
    parts.push(
      Uint8Array.of(ELEMENT_TYPES.indexOf(type)),
      compactToU8a(shape.length),
      new Uint8Array(dims.buffer),
      compactToU8a(bytes.length),
      bytes,
    );
  }
  return u8aConcat(...parts);
}

/**
 * Makes a tensor from its elements' little-endian bytes (as in the canonical encoding and
 * in little-endian `.npy` files; strings length-prefixed, as in the canonical encoding).
 * Bool bytes other than 0 and 1 are an error, and so are strings that are not valid.
 * @param {Tensor['type']} type Element type.
 * @param {number[]} shape Dimensions.
 * @param {Uint8Array} bytes Exactly the elements' bytes.
 * @returns {Tensor} The tensor; `data` is the typed array of its element type.
 */
export function tensorFromBytes(type, shape, bytes) {
  const kind = kindOf(type);
  const count = elementCount(shape);
  if (!kind) {
    const strings = decodeStrings(bytes);
    if (strings.length !== count) {
      throw new Error(`a String tensor of shape [${shape}] has ${count} elements, got ${strings.length}`);
    }
    return { type, shape: [...shape], data: strings };
  }
  if (bytes.length !== count * kind.size) {
    throw new Error(`a ${type} tensor of shape [${shape}] has ${count * kind.size} bytes, got ${bytes.length}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const data = new kind.Array(count);
  for (let i = 0; i < count; i++) data[i] = kind.read(view, i * kind.size);
  return { type, shape: [...shape], data };
}

/**
 * Decodes a canonically encoded tensor list (job inputs, result outputs). Trailing bytes
 * and truncated input are errors, as on chain.
 * @param {Uint8Array|string} encoded Bytes or 0x-hex.
 * @returns {Tensor[]} Tensors whose `data` is the typed array of their element type.
 */
export function decodeTensors(encoded) {
  const bytes = u8aToU8a(encoded);
  let pos = 0;
  const need = (n) => {
    if (pos + n > bytes.length) throw new Error('truncated tensor list');
  };
  const compact = () => {
    need(1);
    const [length, value] = compactFromU8a(bytes.subarray(pos));
    need(length);
    pos += length;
    return value.toNumber();
  };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tensors = [];
  for (let n = compact(); n > 0; n--) {
    need(1);
    const type = ELEMENT_TYPES[bytes[pos++]];
    if (!type) throw new Error(`unknown element type index ${bytes[pos - 1]}`);
    const kind = kindOf(type);
    const rank = compact();
    if (rank > MAX_RANK) throw new Error(`rank ${rank} exceeds ${MAX_RANK}`);
    need(4 * rank);
    const shape = [];
    for (let i = 0; i < rank; i++, pos += 4) shape.push(view.getUint32(pos, true));
    const length = compact();
    need(length);
    const elements = bytes.subarray(pos, pos + length);
    // As on chain, the element count need not match the shape here (specs check that).
    if (!kind) {
      tensors.push({ type, shape, data: decodeStrings(elements) });
    } else {
      if (length % kind.size !== 0) throw new Error(`${type} data of ${length} bytes`);
      const { data } = tensorFromBytes(type, [length / kind.size], elements);
      tensors.push({ type, shape, data });
    }
    pos += length;
  }
  if (pos !== bytes.length) throw new Error(`${bytes.length - pos} trailing bytes after the tensor list`);
  return tensors;
}

/**
 * Distance between two floats of a type in units of least precision, from their bit
 * patterns, as the runtime computes it (`ulp_distance`).
 * @param {bigint} a Bit pattern.
 * @param {bigint} b Bit pattern.
 * @param {'F16'|'BF16'|'F32'|'F64'} type The floats' element type.
 * @returns {bigint}
 */
export function ulpDistance(a, b, type) {
  const format = FLOAT_FORMATS[type];
  if (!format) throw new Error(`${type} is not a floating-point type`);
  const sign = 1n << BigInt(format.bits - 1);
  const exponent = ((1n << BigInt(format.exponent)) - 1n) << BigInt(format.mantissa);
  const isNan = (x) => (x & exponent) === exponent && (x & (exponent ^ (sign - 1n))) !== 0n;
  if (a === b) return 0n;
  if (isNan(a) || isNan(b)) return (1n << 64n) - 1n;
  const ordered = (x) => ((x & sign) !== 0n ? -(x & (sign - 1n)) : x & (sign - 1n));
  const d = ordered(a) - ordered(b);
  return d < 0n ? -d : d;
}

function bitPatterns(tensor) {
  const { size } = kindOf(tensor.type);
  const bytes = encodeTensors([tensor]);
  const data = bytes.subarray(bytes.length - elementCount(tensor.shape) * size);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const read = { 2: (i) => BigInt(view.getUint16(i, true)), 4: (i) => BigInt(view.getUint32(i, true)) };
  const out = [];
  for (let i = 0; i < data.length; i += size) out.push(read[size]?.(i) ?? view.getBigUint64(i, true));
  return out;
}

/**
 * Whether two tensor lists agree as the runtime decides for quorums (`tensors_agree`): same
 * types and shapes, integers and strings identical, floats within `maxUlps` units of least
 * precision.
 * @param {Tensor[]} a
 * @param {Tensor[]} b
 * @param {number} [maxUlps=0] The model's `toleranceUlps`.
 * @returns {boolean}
 */
export function tensorsAgree(a, b, maxUlps = 0) {
  if (a.length !== b.length) return false;
  return a.every((x, i) => {
    const y = b[i];
    if (x.type !== y.type || x.shape.length !== y.shape.length || x.shape.some((d, j) => d !== y.shape[j])) {
      return false;
    }
    if (x.data.length !== y.data.length) return false;
    if (FLOAT_FORMATS[x.type]) {
      const [p, q] = [bitPatterns(x), bitPatterns(y)];
      return p.every((bits, j) => ulpDistance(bits, q[j], x.type) <= BigInt(maxUlps));
    }
    if (x.type === 'String') return Array.from(x.data).every((v, j) => v === y.data[j]);
    return Array.from(x.data).every((v, j) => BigInt(v) === BigInt(y.data[j]));
  });
}

/**
 * Checks this module's element type table against the chain's metadata (the variants of
 * `haca_primitives::tensor::ElementType`, in order). Throws on a difference.
 * @param {import('@polkadot/api').ApiPromise} api
 */
export function checkElementTypes(api) {
  const onChain = api.createType('HacaPrimitivesTensorElementType').defKeys;
  if (onChain.join() !== ELEMENT_TYPES.join()) {
    throw new Error(`element types differ: chain [${onChain}], client [${ELEMENT_TYPES}]`);
  }
}
