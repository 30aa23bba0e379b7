// The canonical tensor encoding of HACA (`pallets/primitives/src/tensor.rs`), in plain JS.
//
// A tensor list is SCALE-encoded as `Vec<Tensor>`, with
//   Tensor = { element_type: ElementType (one byte, the variant index),
//              shape: Vec<u32>, data: Vec<u8> (elements little-endian, row-major) }.
// `Tensor` itself appears in no call, event or storage item, so it is not in the runtime
// metadata; `ElementType` is (`HacaPrimitivesTensorElementType`), and `checkElementTypes`
// compares this module's table with it.

import { compactFromU8a, compactToU8a, u8aConcat, u8aToU8a } from '@polkadot/util';

/**
 * The element types, in the order of the Rust enum `ElementType` (the index is the SCALE
 * variant index).
 * @type {ReadonlyArray<'F32'|'F64'|'I8'|'U8'|'I16'|'I32'|'I64'>}
 */
export const ELEMENT_TYPES = Object.freeze(['F32', 'F64', 'I8', 'U8', 'I16', 'I32', 'I64']);

/** Element size in bytes and the typed array holding decoded elements, per element type. */
const KINDS = {
  F32: { size: 4, Array: Float32Array, get: 'getFloat32', set: 'setFloat32' },
  F64: { size: 8, Array: Float64Array, get: 'getFloat64', set: 'setFloat64' },
  I8: { size: 1, Array: Int8Array, get: 'getInt8', set: 'setInt8' },
  U8: { size: 1, Array: Uint8Array, get: 'getUint8', set: 'setUint8' },
  I16: { size: 2, Array: Int16Array, get: 'getInt16', set: 'setInt16' },
  I32: { size: 4, Array: Int32Array, get: 'getInt32', set: 'setInt32' },
  I64: { size: 8, Array: BigInt64Array, get: 'getBigInt64', set: 'setBigInt64' },
};

/** Most dimensions a tensor may have (`MAX_RANK`). */
export const MAX_RANK = 8;

/**
 * A tensor: element type, shape and elements in row-major order.
 * @typedef {object} Tensor
 * @property {'F32'|'F64'|'I8'|'U8'|'I16'|'I32'|'I64'} type Element type.
 * @property {number[]} shape Dimensions.
 * @property {ArrayLike<number|bigint>} data Elements, row-major. Decoded tensors hold the
 *   matching typed array (`Float32Array` for F32, `BigInt64Array` for I64, ...).
 */

function kindOf(type) {
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
    const bytes = new DataView(new ArrayBuffer(count * kind.size));
    for (let i = 0; i < count; i++) {
      const value = type === 'I64' ? BigInt(data[i]) : Number(data[i]);
      if (kind.size === 1) bytes[kind.set](i, value);
      else bytes[kind.set](i * kind.size, value, true);
    }
    parts.push(
      Uint8Array.of(ELEMENT_TYPES.indexOf(type)),
      compactToU8a(shape.length),
      new Uint8Array(dims.buffer),
      compactToU8a(bytes.byteLength),
      new Uint8Array(bytes.buffer),
    );
  }
  return u8aConcat(...parts);
}

/**
 * Makes a tensor from its elements' little-endian bytes (as in the canonical encoding and
 * in little-endian `.npy` files).
 * @param {Tensor['type']} type Element type.
 * @param {number[]} shape Dimensions.
 * @param {Uint8Array} bytes Exactly the elements' bytes.
 * @returns {Tensor} The tensor; `data` is the typed array of its element type.
 */
export function tensorFromBytes(type, shape, bytes) {
  const kind = kindOf(type);
  const count = elementCount(shape);
  if (bytes.length !== count * kind.size) {
    throw new Error(`a ${type} tensor of shape [${shape}] has ${count * kind.size} bytes, got ${bytes.length}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const data = new kind.Array(count);
  for (let i = 0; i < count; i++) {
    data[i] = kind.size === 1 ? view[kind.get](i) : view[kind.get](i * kind.size, true);
  }
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
    const kind = KINDS[type];
    const rank = compact();
    if (rank > MAX_RANK) throw new Error(`rank ${rank} exceeds ${MAX_RANK}`);
    need(4 * rank);
    const shape = [];
    for (let i = 0; i < rank; i++, pos += 4) shape.push(view.getUint32(pos, true));
    const length = compact();
    need(length);
    if (length % kind.size !== 0) throw new Error(`${type} data of ${length} bytes`);
    // As on chain, the data length need not match the shape here (specs check that).
    const { data } = tensorFromBytes(type, [length / kind.size], bytes.subarray(pos, pos + length));
    tensors.push({ type, shape, data });
    pos += length;
  }
  if (pos !== bytes.length) throw new Error(`${bytes.length - pos} trailing bytes after the tensor list`);
  return tensors;
}

/**
 * Distance between two IEEE 754 values in units of least precision, from their bit
 * patterns, as the runtime computes it (`ulp_distance`).
 * @param {bigint} a Bit pattern.
 * @param {bigint} b Bit pattern.
 * @param {32|64} bits Width.
 * @returns {bigint}
 */
export function ulpDistance(a, b, bits) {
  const sign = 1n << BigInt(bits - 1);
  const exponent = bits === 32 ? 0x7f800000n : 0x7ff0000000000000n;
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
  const out = [];
  for (let i = 0; i < data.length; i += size) {
    out.push(size === 4 ? BigInt(view.getUint32(i, true)) : view.getBigUint64(i, true));
  }
  return out;
}

/**
 * Whether two tensor lists agree as the runtime decides for quorums (`tensors_agree`): same
 * types and shapes, integers identical, floats within `maxUlps` units of least precision.
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
    if (x.type === 'F32' || x.type === 'F64') {
      const width = x.type === 'F32' ? 32 : 64;
      const [p, q] = [bitPatterns(x), bitPatterns(y)];
      return p.every((bits, j) => ulpDistance(bits, q[j], width) <= BigInt(maxUlps));
    }
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
