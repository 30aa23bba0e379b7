// Offline tests: the canonical tensor encoding, .npy and ONNX readers (no node needed).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { u8aToHex } from '@polkadot/util';

import { decodeTensors, encodeTensors, readNpy, readOnnxSpecs, tensorsAgree, ulpDistance } from '../src/index.js';

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
  ];
  const bytes = encodeTensors(tensors);
  const decoded = decodeTensors(bytes);
  assert.deepEqual(
    decoded.map((t) => ({ type: t.type, shape: t.shape, data: Array.from(t.data) })),
    tensors.map((t) => ({ ...t, data: t.data.map((v) => (t.type === 'I64' ? BigInt(v) : v)) })),
  );
  // I16 [-2, 0x1234]: type 4, rank 1, dimension 2 (u32 LE), 4 data bytes, LE elements.
  assert.equal(u8aToHex(encodeTensors([tensors[4]])), '0x04040402000000' + '10' + 'feff3412');
});

test('malformed lists are rejected', () => {
  const bytes = encodeTensors([{ type: 'F32', shape: [2], data: [1, 2] }]);
  assert.throws(() => decodeTensors(new Uint8Array([...bytes, 0])), /trailing/);
  assert.throws(() => decodeTensors(bytes.subarray(0, bytes.length - 2)), /truncated/);
  assert.throws(() => decodeTensors('0x0409'), /element type index/);
  assert.throws(() => encodeTensors([{ type: 'F32', shape: [1, 4], data: [1] }]), /4 elements/);
  assert.throws(() => encodeTensors([{ type: 'F16', shape: [1], data: [1] }]), /unknown element type/);
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

test('ONNX specs come from the graph', () => {
  assert.deepEqual(readOnnxSpecs(file('int_matmul.onnx')), {
    inputs: [{ name: 'input', elementType: 'U8', shape: [1, 8] }],
    outputs: [{ name: 'output', elementType: 'I32', shape: [1, 4] }],
  });
  assert.deepEqual(readOnnxSpecs(file('mlp.onnx')), {
    inputs: [{ name: 'input', elementType: 'F32', shape: [1, 4] }],
    outputs: [{ name: 'output', elementType: 'F32', shape: [1, 3] }],
  });
  assert.throws(() => readOnnxSpecs(new Uint8Array([0x08, 0x08])), /no graph/);
});

test('agreement follows the runtime: ULPs for floats, exact integers', () => {
  const one = 0x3f800000n;
  assert.equal(ulpDistance(one, one + 1n, 32), 1n);
  assert.equal(ulpDistance(0n, 0x80000000n, 32), 0n);
  assert.equal(ulpDistance(1n, 0x80000001n, 32), 2n);
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
