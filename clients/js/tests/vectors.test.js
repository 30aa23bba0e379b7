// The golden vectors the runtime's own code wrote (pallets/primitives/tests/vectors.rs and
// group_vectors.rs): this client must encode, decode, measure ULP distance, judge agreement,
// hash group statements' leaves and check their inclusion proofs exactly as it does.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { hexToU8a, u8aToHex } from '@polkadot/util';

import {
  ELEMENT_TYPES,
  decodeTensors,
  encodeTensors,
  groupLeafHash,
  inclusionHolds,
  merkleRoot,
  tensorFromBytes,
  tensorsAgree,
  ulpDistance,
} from '../src/index.js';

const vectors = JSON.parse(
  readFileSync(new URL('../../../pallets/primitives/vectors/tensor.json', import.meta.url), 'utf8'),
);

const tensorsOf = (list) => list.map(({ type, shape, data }) => tensorFromBytes(type, shape, hexToU8a(data)));

test('every golden tensor list encodes to the runtime bytes and decodes back', () => {
  const types = new Set(vectors.encodings.flatMap(({ tensors }) => tensors.map(({ type }) => type)));
  assert.deepEqual([...types].sort(), [...ELEMENT_TYPES].sort(), 'every element type has a vector');
  for (const { tensors, encoded } of vectors.encodings) {
    const list = tensorsOf(tensors);
    assert.equal(u8aToHex(encodeTensors(list)), encoded);
    const decoded = decodeTensors(encoded);
    assert.deepEqual(
      decoded.map(({ type, shape, data }) => ({ type, shape, data: Array.from(data) })),
      list.map(({ type, shape, data }) => ({ type, shape, data: Array.from(data) })),
    );
  }
});

test('every encoding the runtime refuses, the client refuses', () => {
  assert.ok(vectors.malformed.length > 0);
  for (const bytes of vectors.malformed) {
    assert.throws(() => decodeTensors(bytes), Error, bytes);
  }
});

test('ULP distances are the runtime distances', () => {
  const types = new Set(vectors.ulpDistance.map(({ type }) => type));
  assert.deepEqual([...types].sort(), ['BF16', 'F16', 'F32', 'F64']);
  for (const { type, a, b, distance } of vectors.ulpDistance) {
    assert.equal(ulpDistance(BigInt(a), BigInt(b), type), BigInt(distance), `${type} ${a} ${b}`);
    assert.equal(ulpDistance(BigInt(b), BigInt(a), type), BigInt(distance), `${type} ${b} ${a}`);
  }
});

test('tensor agreement is the runtime agreement', () => {
  for (const { a, b, maxUlps, agree } of vectors.tensorsAgree) {
    assert.equal(tensorsAgree(tensorsOf(a), tensorsOf(b), maxUlps), agree, JSON.stringify({ a, b, maxUlps }));
  }
});

const groupVectors = JSON.parse(
  readFileSync(new URL('../../../pallets/primitives/vectors/group.json', import.meta.url), 'utf8'),
);

test("a group statement's leaves hash and their inclusion proofs hold as the runtime's do, and only for their own leaf and place", () => {
  assert.ok(groupVectors.groups.some(({ results }) => results.length === 64), 'a full group');
  for (const { root, results } of groupVectors.groups) {
    assert.equal(u8aToHex(merkleRoot(results.map(({ leafHash }) => hexToU8a(leafHash)))), root);
    for (const [i, { leaf, leafHash, index, count, siblings }] of results.entries()) {
      const hash = groupLeafHash(leaf);
      assert.equal(u8aToHex(hash), leafHash);
      const proof = { root: hexToU8a(root), index, count, siblings: siblings.map((s) => hexToU8a(s)) };
      assert.ok(inclusionHolds(proof, hash), `leaf ${i} of ${count}`);
      const other = results[(i + 1) % results.length];
      if (results.length > 1) {
        assert.ok(!inclusionHolds(proof, hexToU8a(other.leafHash)), 'another leaf');
        assert.ok(!inclusionHolds({ ...proof, index: other.index }, hash), 'another place');
        assert.ok(!inclusionHolds({ ...proof, siblings: proof.siblings.slice(1) }, hash), 'a sibling short');
      }
      assert.ok(!inclusionHolds(proof, groupLeafHash({ ...leaf, attempt: leaf.attempt + 1 })), 'another attempt');
    }
  }
});
