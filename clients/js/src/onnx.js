// Reads the input and output tensor specs of an ONNX model, as `models.register` takes
// them. A minimal protobuf reader over the few fields of `onnx.proto` it needs:
//   ModelProto.graph = 7; GraphProto.initializer = 5, input = 11, output = 12;
//   TensorProto.name = 8; ValueInfoProto.name = 1, type = 2; TypeProto.tensor_type = 1;
//   TypeProto.Tensor.elem_type = 1, shape = 2; TensorShapeProto.dim = 1;
//   Dimension.dim_value = 1, dim_param = 2.

import { u8aToU8a } from '@polkadot/util';

import { encodeTensors, tensorFromBytes } from './tensor.js';

/** ONNX `TensorProto.DataType` codes of the element types HACA supports. */
const ONNX_TYPES = {
  1: 'F32', 2: 'U8', 3: 'I8', 4: 'U16', 5: 'I16', 6: 'I32', 7: 'I64', 8: 'String', 9: 'Bool',
  10: 'F16', 11: 'F64', 12: 'U32', 13: 'U64', 16: 'BF16',
};

/** ONNX's names of the data types HACA does not support, for error messages. */
const UNSUPPORTED_TYPES = {
  0: 'UNDEFINED', 14: 'COMPLEX64', 15: 'COMPLEX128', 17: 'FLOAT8E4M3FN',
  18: 'FLOAT8E4M3FNUZ', 19: 'FLOAT8E5M2', 20: 'FLOAT8E5M2FNUZ', 21: 'UINT4', 22: 'INT4',
  23: 'FLOAT4E2M1',
};

/** The fields of one protobuf message: `[fieldNumber, value]`, value a bigint or bytes. */
function fields(bytes) {
  const out = [];
  let pos = 0;
  const varint = () => {
    let value = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (pos >= bytes.length) throw new Error('truncated protobuf');
      const byte = bytes[pos++];
      value |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return value;
    }
  };
  while (pos < bytes.length) {
    const key = varint();
    const field = Number(key >> 3n);
    switch (Number(key & 7n)) {
      case 0:
        out.push([field, varint()]);
        break;
      case 1:
        pos += 8;
        break;
      case 2: {
        const length = Number(varint());
        if (pos + length > bytes.length) throw new Error('truncated protobuf');
        out.push([field, bytes.subarray(pos, pos + length)]);
        pos += length;
        break;
      }
      case 5:
        pos += 4;
        break;
      default:
        throw new Error('unsupported protobuf wire type (not an ONNX model?)');
    }
  }
  return out;
}

const all = (message, field) => fields(message).filter(([f]) => f === field).map(([, v]) => v);
const one = (message, field) => all(message, field).at(-1);
const text = (bytes) => new TextDecoder().decode(bytes ?? new Uint8Array());

/**
 * A `ValueInfoProto` as a tensor spec; a dimension named `param` is variable up to
 * `bounds[param]`.
 */
function spec(valueInfo, bounds) {
  const name = text(one(valueInfo, 1));
  const tensorType = one(one(valueInfo, 2) ?? new Uint8Array(), 1);
  if (!tensorType) throw new Error(`${name}: not a tensor`);
  const code = Number(one(tensorType, 1) ?? 0n);
  const elementType = ONNX_TYPES[code];
  if (!elementType) {
    const typeName = UNSUPPORTED_TYPES[code] ?? 'unknown';
    throw new Error(`tensor ${name}: ONNX element type ${typeName} (${code}) is not supported`);
  }
  const dims = all(one(tensorType, 2) ?? new Uint8Array(), 1);
  let variableAxes = 0;
  const shape = dims.map((dim, index) => {
    const value = one(dim, 1);
    if (value !== undefined) return Number(value);
    const param = one(dim, 2) && text(one(dim, 2));
    const bound = param ? bounds[param] : undefined;
    if (bound === undefined) {
      const named = param ? ` ("${param}")` : '';
      const fix = param ? `give its largest size as bounds["${param}"]` : 'give inputs and outputs';
      throw new Error(`tensor ${name}: dimension ${index}${named} is dynamic; ${fix}`);
    }
    variableAxes |= 1 << index;
    return Number(bound);
  });
  return { name, elementType, shape, variableAxes };
}

/**
 * A model's tensor specs, from its ONNX bytes: inputs (graph inputs that are not
 * initializers) and outputs, in graph order, as `models.register` takes them. A dimension
 * the graph names (a dynamic batch, `"batch"`, say) is variable up to the size `bounds`
 * gives that name; a dimension it neither fixes nor names is an error.
 * @param {Uint8Array} onnx The model file's bytes.
 * @param {object} [options]
 * @param {Record<string, number>} [options.bounds] Largest size of each named dimension.
 * @returns {{inputs: TensorSpec[], outputs: TensorSpec[]}}
 *
 * @typedef {object} TensorSpec
 * @property {string} name Tensor name in the graph.
 * @property {import('./tensor.js').ElementType} elementType Element type.
 * @property {number[]} shape Each fixed axis's size, each variable axis's largest.
 * @property {number} variableAxes Bit `i` set: axis `i` takes any size up to `shape[i]`.
 */
export function readOnnxSpecs(onnx, { bounds = {} } = {}) {
  const graph = one(u8aToU8a(onnx), 7);
  if (!graph) throw new Error('no graph in the ONNX model');
  const initializers = new Set(all(graph, 5).map((tensor) => text(one(tensor, 8))));
  const inputs = all(graph, 11)
    .filter((valueInfo) => !initializers.has(text(one(valueInfo, 1))))
    .map((valueInfo) => spec(valueInfo, bounds));
  const outputs = all(graph, 12).map((valueInfo) => spec(valueInfo, bounds));
  if (!inputs.length || !outputs.length) throw new Error('the ONNX graph has no inputs or no outputs');
  return { inputs, outputs };
}

/** The values of a repeated varint field: unpacked entries, or packed ones. */
function varints(message, field) {
  return all(message, field).flatMap((value) => {
    if (typeof value === 'bigint') return [value];
    const out = [];
    let current = 0n;
    let shift = 0n;
    for (const byte of value) {
      current |= BigInt(byte & 0x7f) << shift;
      shift += 7n;
      if (byte < 0x80) {
        out.push(current);
        current = 0n;
        shift = 0n;
      }
    }
    return out;
  });
}

/**
 * Reads an ONNX `TensorProto` file (`.pb`, the ONNX backend test data format) whose elements
 * are in `raw_data`, as NumPy's and onnxruntime's tools write them, or strings in
 * `string_data`. Fields: `dims = 1, data_type = 2, string_data = 6, name = 8, raw_data = 9`.
 * @param {Uint8Array} file The file's bytes.
 * @returns {import('./tensor.js').Tensor & {name: string}} The tensor (`data` is the typed
 *   array of its type) and its name (the graph's input or output it belongs to, if any).
 */
export function readTensorProto(file) {
  const bytes = u8aToU8a(file);
  const code = Number(one(bytes, 2) ?? 0n);
  const type = ONNX_TYPES[code];
  if (!type) throw new Error(`ONNX element type ${UNSUPPORTED_TYPES[code] ?? 'unknown'} (${code}) is not supported`);
  const shape = varints(bytes, 1).map(Number);
  const name = text(one(bytes, 8));
  if (type === 'String') {
    const strings = all(bytes, 6).map((element, i) => {
      try {
        return new TextDecoder('utf-8', { fatal: true }).decode(element);
      } catch {
        throw new Error(`string element ${i} is not UTF-8`);
      }
    });
    encodeTensors([{ type, shape, data: strings }]); // checks the count and the lengths
    return { type, shape, data: strings, name };
  }
  const raw = one(bytes, 9);
  if (!(raw instanceof Uint8Array)) throw new Error('only tensors with raw_data are read (typed fields are not)');
  return { ...tensorFromBytes(type, shape, raw), name };
}
