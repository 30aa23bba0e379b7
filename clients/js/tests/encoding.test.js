// Offline tests: the canonical tensor encoding, .npy and ONNX readers (no node needed).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { u8aToHex } from '@polkadot/util';

import {
  decodeTensors,
  encodeTensors,
  readNpy,
  readOnnxSpecs,
  readTensorProto,
  tensorsAgree,
  ulpDistance,
} from '../src/index.js';

const models = new URL('../../../offchain-workers/models/', import.meta.url);
const file = (name) => readFileSync(new URL(name, models));

test('the README example input has its known encoding', () => {
  const bytes = encodeTensors([{ type: 'F32', shape: [1, 4], data: [0.5, -1, 2, 0.25] }]);
  assert.equal(u8aToHex(bytes), '0x0400080100000004000000400000003f000080bf000000400000803e');
  const [tensor] = decodeTensors(bytes);
  assert.deepEqual(tensor.shape, [1, 4]);
  assert.deepEqual(Array.from(tensor.data), [0.5, -1, 2, 0.25]);
});

test('every element type round-trips, little-endian', () => {
  const tensors = [
    { type: 'F32', shape: [2], data: [1.5, -0] },
    { type: 'F64', shape: [1, 1], data: [Math.PI] },
    { type: 'I8', shape: [3], data: [-128, 0, 127] },
    { type: 'U8', shape: [3], data: [0, 1, 255] },
    { type: 'I16', shape: [2], data: [-2, 0x1234] },
    { type: 'I32', shape: [1], data: [-1] },
    { type: 'I64', shape: [2], data: [-(2n ** 63n), 2n ** 40n] },
    { type: 'U8', shape: [], data: [7] },
    { type: 'Bool', shape: [3], data: [1, 0, 1] },
    { type: 'U16', shape: [2], data: [65535, 7] },
    { type: 'U32', shape: [1], data: [0xffffffff] },
    { type: 'U64', shape: [2], data: [2n ** 64n - 1n, 2n ** 40n] },
    { type: 'F16', shape: [3], data: [1, -2, 65504] },
    { type: 'BF16', shape: [3], data: [1, -2, 2 ** -133] },
    { type: 'String', shape: [3], data: ['setosa', '', '日本'] },
  ];
  const bytes = encodeTensors(tensors);
  const decoded = decodeTensors(bytes);
  const big = (t) => t.type === 'I64' || t.type === 'U64';
  assert.deepEqual(
    decoded.map((t) => ({ type: t.type, shape: t.shape, data: Array.from(t.data) })),
    tensors.map((t) => ({ ...t, data: t.data.map((v) => (big(t) ? BigInt(v) : v)) })),
  );
  assert.equal(u8aToHex(encodeTensors([{ type: 'Bool', shape: [2], data: [true, false] }])), '0x04070402000000080100');
  // I16 [-2, 0x1234]: type 4, rank 1, dimension 2 (u32 LE), 4 data bytes, LE elements.
  assert.equal(u8aToHex(encodeTensors([tensors[4]])), '0x04040402000000' + '10' + 'feff3412');
});

test('strings are length-prefixed UTF-8 of at most 255 bytes', () => {
  // String is type 13; one element: length 2 (compact: 2 << 2), then 'hé' is 3 bytes.
  assert.equal(u8aToHex(encodeTensors([{ type: 'String', shape: [1], data: ['hé'] }])), '0x040d0401000000100c68c3a9');
  assert.throws(() => encodeTensors([{ type: 'String', shape: [1], data: ['é'.repeat(128)] }]), /256 bytes of UTF-8; at most 255/);
  assert.throws(() => encodeTensors([{ type: 'String', shape: [1], data: [7] }]), /not a string/);
  // One String tensor of shape [1], then its data's length and its data.
  const raw = (data) => `0x040d0401000000${data}`;
  assert.throws(() => decodeTensors(raw('0804ff')), /not UTF-8/);
  assert.throws(() => decodeTensors(raw('0c050061')), /shortest compact form/);
  assert.throws(() => decodeTensors(raw('080861')), /truncated/);
  const labels = readTensorProto(file('exports/logistic_regression_names/test_data_set_0/output_0.pb'));
  assert.equal(labels.type, 'String');
  assert.deepEqual(labels.shape, [4]);
  assert.ok(labels.data.every((label) => ['setosa', 'versicolor', 'virginica'].includes(label)), labels.data);
  // NumPy's fixed-width strings, NUL-padded: `np.array(['ab', 'xyz'])` (<U3) and bytes (|S3).
  const npy = (descr, data) => {
    const header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (2,), }`;
    return Uint8Array.from([0x93, ...Buffer.from('NUMPY'), 1, 0, header.length, 0, ...Buffer.from(header), ...data]);
  };
  const utf32 = [...'ab\0xyz'].flatMap((c) => [c.charCodeAt(0), 0, 0, 0]);
  assert.deepEqual(readNpy(npy('<U3', utf32)).data, ['ab', 'xyz']);
  assert.deepEqual(readNpy(npy('|S3', Buffer.from('ab\0xyz'))).data, ['ab', 'xyz']);
  assert.ok(tensorsAgree([labels], [labels]));
  assert.ok(!tensorsAgree([labels], [{ ...labels, data: labels.data.map((l) => `${l}!`) }], 1000));
});

test('malformed lists are rejected', () => {
  const bytes = encodeTensors([{ type: 'F32', shape: [2], data: [1, 2] }]);
  assert.throws(() => decodeTensors(new Uint8Array([...bytes, 0])), /trailing/);
  assert.throws(() => decodeTensors(bytes.subarray(0, bytes.length - 2)), /truncated/);
  assert.throws(() => decodeTensors('0x040e'), /element type index 14/);
  assert.throws(() => encodeTensors([{ type: 'F32', shape: [1, 4], data: [1] }]), /4 elements/);
  assert.throws(() => encodeTensors([{ type: 'F8', shape: [1], data: [1] }]), /unknown element type/);
  assert.throws(() => encodeTensors([{ type: 'Bool', shape: [1], data: [2] }]), /Bool element/);
  assert.throws(() => decodeTensors('0x040704010000000402'), /Bool element is 0 or 1, got 2/);
});

test('numbers round to the nearest half-precision float, ties to even', () => {
  const bits = (type, value) => {
    const bytes = encodeTensors([{ type, shape: [], data: [value] }]);
    return bytes[bytes.length - 2] | (bytes[bytes.length - 1] << 8);
  };
  const f16 = (value) => bits('F16', value);
  assert.equal(f16(1 / 3), 0x3555);
  assert.equal(f16(65504), 0x7bff);
  assert.equal(f16(65519.99), 0x7bff);
  assert.equal(f16(65520), 0x7c00, 'halfway to the next power of two: infinity');
  assert.equal(f16(2 ** -24), 0x0001, 'smallest subnormal');
  assert.equal(f16(2 ** -25), 0x0000, 'halfway to zero: even');
  assert.equal(f16(3 * 2 ** -25), 0x0002, 'halfway between 1 and 2 subnormal units: even');
  assert.equal(f16(2 ** -14 - 2 ** -26), 0x0400, 'rounds up into the smallest normal');
  assert.equal(f16(1 + 2 ** -11), 0x3c00, 'tie to even');
  assert.equal(f16(1 + 3 * 2 ** -11), 0x3c02, 'tie to even, upwards');
  assert.equal(f16(-0), 0x8000);
  assert.equal(f16(-Infinity), 0xfc00);
  assert.equal(f16(NaN) & 0x7e00, 0x7e00);
  const bf16 = (value) => bits('BF16', value);
  assert.equal(bf16(1), 0x3f80);
  assert.equal(bf16(1 + 2 ** -8), 0x3f80, 'tie to even');
  assert.equal(bf16(1 + 3 * 2 ** -8), 0x3f82, 'tie to even, upwards');
  assert.equal(bf16(1 + 2 ** -8 + 2 ** -30), 0x3f81, 'just above the tie: no double rounding');
  assert.equal(bf16((2 - 2 ** -7) * 2 ** 127), 0x7f7f, 'largest finite');
  assert.equal(bf16((2 - 2 ** -8) * 2 ** 127), 0x7f80, 'halfway past it: infinity');
  assert.equal(bf16(2 ** -133), 0x0001);
  // Decoding gives the exact values back.
  const [tensor] = decodeTensors(encodeTensors([{ type: 'F16', shape: [2], data: [0.1, -65504] }]));
  assert.deepEqual(Array.from(tensor.data), [0.0999755859375, -65504]);
});

test('.npy references read as tensors', () => {
  const input = readNpy(file('mlp.input.npy'));
  assert.equal(input.type, 'F32');
  assert.deepEqual(input.shape, [1, 4]);
  assert.equal(
    u8aToHex(encodeTensors([input])),
    '0x0400080100000004000000400000003f000080bf000000400000803e',
  );
  const ints = readNpy(file('int_matmul.input.npy'));
  assert.equal(ints.type, 'U8');
  assert.deepEqual(Array.from(ints.data), [29, 58, 87, 116, 145, 174, 203, 232]);
  const out = readNpy(file('int_matmul.output.npy'));
  assert.equal(out.type, 'I32');
  assert.deepEqual(out.shape, [1, 4]);
  assert.throws(() => readNpy(new Uint8Array(16)), /not a .npy/);
});

test('.pb tensors read as their .npy twins, and every element type from the ONNX test data', () => {
  for (const name of ['mlp.input', 'mlp.output', 'int_matmul.input', 'int_matmul.output']) {
    const { name: tensorName, ...tensor } = readTensorProto(file(`${name}.pb`));
    assert.deepEqual(tensor, readNpy(file(`${name}.npy`)), name);
    assert.equal(tensorName, name.replace('.', '_'));
  }
  const types = [0, 1, 2, 3, 4, 5].map((i) => readTensorProto(file(`element_types/test_data_set_0/input_${i}.pb`)).type);
  assert.deepEqual(types, ['Bool', 'F16', 'BF16', 'U16', 'U32', 'U64']);
  const shape = readTensorProto(file('element_types/test_data_set_0/output_5.pb'));
  assert.deepEqual([shape.type, Array.from(shape.data)], ['I64', [2n, 3n]]);
});

test('ONNX specs come from the graph', () => {
  assert.deepEqual(readOnnxSpecs(file('int_matmul.onnx')), {
    inputs: [{ name: 'input', elementType: 'U8', shape: [1, 8], variableAxes: 0 }],
    outputs: [{ name: 'output', elementType: 'I32', shape: [1, 4], variableAxes: 0 }],
  });
  assert.deepEqual(readOnnxSpecs(file('mlp.onnx')), {
    inputs: [{ name: 'input', elementType: 'F32', shape: [1, 4], variableAxes: 0 }],
    outputs: [{ name: 'output', elementType: 'F32', shape: [1, 3], variableAxes: 0 }],
  });
  assert.throws(() => readOnnxSpecs(new Uint8Array([0x08, 0x08])), /no graph/);
  const { inputs, outputs } = readOnnxSpecs(file('element_types/model.onnx'));
  assert.deepEqual(inputs.map((spec) => spec.elementType), ['Bool', 'F16', 'BF16', 'U16', 'U32', 'U64']);
  assert.deepEqual(outputs.map((spec) => spec.elementType), ['F16', 'Bool', 'BF16', 'U32', 'U64', 'I64']);
});

test('ONNX specs: named dimensions are variable up to their bounds; others are named as errors', () => {
  // A protobuf message from [field, bytes or number] pairs (length-delimited or varint).
  const message = (...fields) => {
    const varint = (n) => {
      const out = [];
      for (; n >= 0x80; n >>>= 7) out.push((n & 0x7f) | 0x80);
      return [...out, n];
    };
    return Uint8Array.from(
      fields.flatMap(([field, value]) =>
        typeof value === 'number'
          ? [...varint(field << 3), ...varint(value)]
          : [...varint((field << 3) | 2), ...varint(value.length), ...value],
      ),
    );
  };
  const utf8 = (s) => new TextEncoder().encode(s);
  const model = (elemType, ...dims) => {
    const shape = message(...dims.map((dim) => [1, typeof dim === 'number' ? message([1, dim]) : message([2, utf8(dim)])]));
    const x = message([1, utf8('x')], [2, message([1, message([1, elemType], [2, shape])])]);
    return message([7, message([11, x], [12, x])]);
  };
  assert.deepEqual(readOnnxSpecs(model(1, 1, 4)).inputs, [{ name: 'x', elementType: 'F32', shape: [1, 4], variableAxes: 0 }]);
  assert.throws(() => readOnnxSpecs(model(1, 'batch', 4)), /tensor x: dimension 0 \("batch"\) is dynamic; give its largest size as bounds\["batch"\]/);
  const batch = readOnnxSpecs(model(1, 4, 'batch'), { bounds: { batch: 16 } });
  assert.deepEqual(batch.outputs, [{ name: 'x', elementType: 'F32', shape: [4, 16], variableAxes: 0b10 }]);
  assert.throws(() => readOnnxSpecs(model(14, 1)), /tensor x: ONNX element type COMPLEX64 \(14\) is not supported/);
  assert.equal(readOnnxSpecs(model(8, 1)).inputs[0].elementType, 'String');
});

test('agreement follows the runtime: ULPs for floats, exact integers', () => {
  const one = 0x3f800000n;
  assert.equal(ulpDistance(one, one + 1n, 'F32'), 1n);
  assert.equal(ulpDistance(0n, 0x80000000n, 'F32'), 0n);
  assert.equal(ulpDistance(1n, 0x80000001n, 'F32'), 2n);
  assert.equal(ulpDistance(0x7c01n, 0x7c00n, 'F16'), 2n ** 64n - 1n, 'a NaN in binary16');
  assert.equal(ulpDistance(0x7c01n, 0x7c00n, 'BF16'), 1n, 'a number in bfloat16');
  assert.throws(() => ulpDistance(1n, 2n, 'I32'), /not a floating-point type/);
  const next = new Float32Array(new Uint32Array([0x3f800002]).buffer)[0];
  const a = [{ type: 'F32', shape: [2], data: [1, -3.5] }];
  const b = [{ type: 'F32', shape: [2], data: [next, -3.5] }];
  assert.ok(tensorsAgree(a, a, 0));
  assert.ok(!tensorsAgree(a, b, 1));
  assert.ok(tensorsAgree(a, b, 2));
  assert.ok(!tensorsAgree(a, [{ type: 'F32', shape: [1, 2], data: [1, -3.5] }], 2));
  const int = (v) => [{ type: 'I32', shape: [1], data: new Int32Array([v]) }];
  assert.ok(tensorsAgree(int(7), int(7), 100));
  assert.ok(!tensorsAgree(int(7), int(8), 100));
});
