// Receipts of settled jobs: built from any node's RPC, checked without trusting it.
//
// A receipt holds the header of the block the job ended in, a storage proof of the job's
// outcome (`Jobs::Outcomes[job]`) in that block's state, a GRANDPA finality proof of the
// block (a justification stored with it or a later block, and the headers in between) and
// the job's outputs. `verifyReceipt` checks it against a trust anchor derived from
// the chain spec alone (`haca-node trust-anchor --chain <spec>`: the genesis hash and the
// GRANDPA authorities), exactly as `haca-node verify-receipt` does:
//   1. the justification is signed by more than two thirds of the authorities and
//      finalizes the block or a descendant linked to it by the proof's headers;
//   2. the storage proof opens the block's state root at the outcome's key to the outcome;
//   3. the outcome is a settlement whose output hash is the blake2-256 of the outputs;
//   4. each executor's attestation is its session key's signature of the statement payload
//      rebuilt from the anchor's genesis hash and the outcome, and one names the output hash;
//      a result settled from a group statement signs the root of the group's results
//      instead, and its attestation's inclusion proof places the job's leaf under it.

import { TypeRegistry } from '@polkadot/types';
import { compactFromU8a, compactToU8a, hexToU8a, stringToU8a, u8aConcat, u8aEq, u8aToHex, u8aToString } from '@polkadot/util';
import { blake2AsU8a, cryptoWaitReady, decodeAddress, ed25519Verify, sr25519Verify, xxhashAsU8a } from '@polkadot/util-crypto';

/** The format tag of receipts. */
export const RECEIPT_FORMAT = 'haca-receipt/1';

/** Domain tag of the statements executors sign (`haca_primitives::statement`). */
const STATEMENT_DOMAIN = stringToU8a('HACA/statement/v2');

/** Domain tag of the group statements executors sign. */
const GROUP_STATEMENT_DOMAIN = stringToU8a('HACA/group-statement/v1');

/** Job ids a group spans (`haca_primitives::GROUP_SPAN`). */
const GROUP_SPAN = 64n;

/** The chain's types a receipt holds, as their SCALE layouts (no metadata needed). */
const registry = new TypeRegistry();
registry.register({
  HacaExecutionFailure: { _enum: ['ModelUnavailable', 'InvalidModel', 'BadInput', 'Execution', 'Timeout'] },
  HacaClaim: {
    _enum: {
      Output: 'H256',
      Commitment: 'H256',
      Reveal: { outputHash: 'H256', salt: '[u8; 32]' },
      Failed: { reason: 'HacaExecutionFailure', detail: 'Option<H256>' },
      OutputPage: { page: 'u32', hash: 'H256' },
      Proven: { outputHash: 'H256', proof: 'H256' },
    },
  },
  HacaMode: { _enum: { Attested: 'Null', Quorum: { agree: 'u8', of: 'u8' }, Proven: 'Null' } },
  HacaInclusion: { root: 'H256', index: 'u32', count: 'u32', siblings: 'Vec<H256>' },
  HacaAttestation: { executor: 'AccountId32', key: '[u8; 32]', attempt: 'u32', claim: 'HacaClaim', signature: '[u8; 64]', inclusion: 'Option<HacaInclusion>' },
  HacaJobEnd: {
    _enum: {
      Settled: { outputHash: 'H256', outputs: 'Option<Bytes>', attestations: 'Vec<HacaAttestation>', paid: 'u128', refunded: 'u128' },
      Failed: { refunded: 'u128' },
      Cancelled: { refunded: 'u128' },
    },
  },
  HacaJobOutcome: { client: 'AccountId32', model: 'H256', inputHash: 'H256', mode: 'HacaMode', submittedAt: 'u32', endedAt: 'u32', end: 'HacaJobEnd' },
  HacaGroupLeaf: { job: 'u64', attempt: 'u32', inputHash: 'H256', outputHash: 'H256' },
  HacaGroupStatementPayload: { genesisHash: 'H256', first: 'u64', model: 'H256', executor: 'AccountId32', root: 'H256' },
  HacaGroupAttestation: { executor: 'AccountId32', key: '[u8; 32]', attempt: 'u32', signature: '[u8; 64]', leaves: 'Vec<H256>' },
  HacaSettledMember: { job: 'u64', leaf: 'u32', inputHash: 'H256', outputHash: 'H256', outputs: 'Option<Bytes>', paid: 'u128', refunded: 'u128' },
  HacaGroupOutcome: { client: 'AccountId32', model: 'H256', submittedAt: 'u32', endedAt: 'u32', attestation: 'HacaGroupAttestation', members: 'Vec<HacaSettledMember>' },
  HacaStatementPayload: { genesisHash: 'H256', job: 'u64', attempt: 'u32', model: 'H256', inputHash: 'H256', executor: 'AccountId32', claim: 'HacaClaim' },
  HacaPrecommit: { targetHash: 'H256', targetNumber: 'u32' },
  HacaSignedPrecommit: { precommit: 'HacaPrecommit', signature: '[u8; 64]', id: '[u8; 32]' },
  HacaCommit: { targetHash: 'H256', targetNumber: 'u32', precommits: 'Vec<HacaSignedPrecommit>' },
  HacaJustification: { round: 'u64', commit: 'HacaCommit', votesAncestries: 'Vec<Header>' },
  HacaFinalityProof: { block: 'H256', justification: 'Bytes', unknownHeaders: 'Vec<Header>' },
});

/** Why a receipt does not verify; `reason` names the check that failed. */
export class ReceiptError extends Error {
  /**
   * @param {'Malformed'|'OtherChain'|'NotFinalized'|'NotInState'|'NotSettled'|'OutputsMismatch'|'BadSignature'|'BadInclusionProof'|'UnclaimedOutput'} reason
   * @param {string} message
   */
  constructor(reason, message) {
    super(message);
    this.name = 'ReceiptError';
    this.reason = reason;
  }
}

/** Decodes `bytes` as `type`, refusing trailing bytes. */
function decodeExactly(type, bytes, what) {
  let value;
  try {
    value = registry.createType(type, bytes);
  } catch (error) {
    throw new ReceiptError('Malformed', `${what} does not decode: ${error.message}`);
  }
  if (value.encodedLength !== bytes.length) {
    throw new ReceiptError('Malformed', `${what} has ${bytes.length - value.encodedLength} trailing bytes`);
  }
  return value;
}

/** The storage key of `job`'s outcome: its own, or its group's (`Jobs::GroupOutcomes`) with `group`. */
export function outcomeKey(job, group = false) {
  const id = registry.createType('u64', group ? BigInt(job) / GROUP_SPAN : job).toU8a();
  return u8aConcat(xxhashAsU8a('Jobs', 128), xxhashAsU8a(group ? 'GroupOutcomes' : 'Outcomes', 128), xxhashAsU8a(id, 64), id);
}

/**
 * Job `job`'s outcome read from its group's (`Jobs::GroupOutcomes`): its result, and the
 * executor's attestation with the inclusion proof built from the statement's leaves, as the
 * runtime builds it (`GroupOutcome::member_outcome`).
 */
function memberOutcome(group, job) {
  const member = group.members.find((m) => m.job.toBigInt() === BigInt(job));
  if (!member) throw new ReceiptError('NotInState', `the group's outcome holds no result of job ${job}`);
  const leaves = group.attestation.leaves.map((leaf) => leaf.toU8a());
  const index = member.leaf.toNumber();
  const { executor, key, attempt, signature } = group.attestation;
  return registry.createType('HacaJobOutcome', {
    client: group.client,
    model: group.model,
    inputHash: member.inputHash,
    mode: { Attested: null },
    submittedAt: group.submittedAt,
    endedAt: group.endedAt,
    end: {
      Settled: {
        outputHash: member.outputHash,
        outputs: member.outputs,
        attestations: [{
          executor, key, attempt, signature,
          claim: { Output: member.outputHash },
          inclusion: { root: merkleRoot(leaves), index, count: leaves.length, siblings: merkleProof(leaves, index) },
        }],
        paid: member.paid,
        refunded: member.refunded,
      },
    },
  });
}

/** The GRANDPA engine id of justifications. */
const GRANDPA_ENGINE = 'FRNK';

/** Most blocks after a job's block searched for a stored GRANDPA justification. */
const MAX_FINALITY_SEARCH = 64;

/**
 * Builds the receipt of a settled job from a node (any node: nothing it says is trusted by
 * the receipt's verifier). The job must have ended in a finalized block and still be among
 * the chain's most recent outcomes (`jobs.MaxOutcomes`). The finality proof is the GRANDPA
 * justification stored with the job's block or the first finalized block after it that has
 * one (every finalized round's target keeps its own), with the headers in between.
 * @param {import('@polkadot/api').ApiPromise} api
 * @param {number} job
 * @returns {Promise<object>} The receipt (JSON-serialisable).
 */
export async function buildReceipt(api, job) {
  const finalized = await api.rpc.chain.getFinalizedHead();
  const outcome = await (await api.at(finalized)).call.inferenceApi.outcome(job);
  if (outcome.isNone) {
    throw new Error(`job ${job} has no outcome in the finalized state: it has not ended (or its block is not final yet), it ended more than jobs.MaxOutcomes jobs ago (see its Settled event), or it never existed`);
  }
  const { endedAt, end } = outcome.unwrap();
  if (!end.isSettled) throw new Error(`job ${job} did not settle: it ${end.type === 'Failed' ? 'failed' : 'was cancelled'}`);
  if (end.asSettled.outputs.isNone) throw new Error(`job ${job}'s outputs are too large to be kept on chain; a receipt needs them`);
  const number = endedAt.toNumber();
  const hash = await api.rpc.chain.getBlockHash(number);
  // A batch member that settled with its group has its outcome in the group's record.
  const group = (await (await api.at(hash)).query.jobs.outcomes(job)).isNone;
  const key = u8aToHex(outcomeKey(job, group));
  const [header, stored, proof, finality] = await Promise.all([
    api.rpc.chain.getHeader(hash),
    api.rpc.state.getStorage.raw(key, hash),
    api.rpc.state.getReadProof([key], hash),
    finalityProof(api, number, (await api.rpc.chain.getHeader(finalized)).number.toNumber()),
  ]);
  return {
    format: RECEIPT_FORMAT,
    genesisHash: api.genesisHash.toHex(),
    job: Number(job),
    outputs: end.asSettled.outputs.unwrap().toHex(),
    header: header.toHex(),
    outcome: stored,
    ...(group ? { group: true } : {}),
    proof: proof.proof.map((node) => node.toHex()),
    finality,
  };
}

/**
 * A GRANDPA finality proof of block `number` (SCALE, as `haca-node verify-receipt` reads
 * it): the first stored justification from that block on, and the headers after it up to
 * the justified block.
 */
async function finalityProof(api, number, finalizedNumber) {
  const headers = [];
  const last = Math.min(finalizedNumber, number + MAX_FINALITY_SEARCH);
  for (let n = number; n <= last; n += 1) {
    const hash = await api.rpc.chain.getBlockHash(n);
    const { block, justifications } = await api.rpc.chain.getBlock(hash);
    if (n > number) headers.push(block.header.toU8a());
    const grandpa = justifications.isSome && justifications.unwrap().find(([engine]) => u8aToString(engine.toU8a()) === GRANDPA_ENGINE);
    if (grandpa) {
      return registry.createType('HacaFinalityProof', {
        block: hash,
        justification: grandpa[1].toHex(),
        unknownHeaders: headers.map((bytes) => registry.createType('Header', bytes)),
      }).toHex();
    }
  }
  throw new Error(`the node has no GRANDPA justification stored for blocks #${number} to #${last} (HACA nodes keep one per finalized round)`);
}

/**
 * Verifies a receipt against a chain's trust anchor (see the module's comment).
 * @param {object} receipt As `buildReceipt` made it (or read back from its file).
 * @param {{genesisHash: string, setId: number, authorities: Array<[string, number]>}} anchor
 *   What `haca-node trust-anchor --chain <spec>` prints for the receipt's chain.
 * @returns {Promise<{job: number, model: string, inputHash: string, outputHash: string, executors: string[], block: [number, string], finalized: [number, string]}>}
 * @throws {ReceiptError} Naming the failed check.
 */
export async function verifyReceipt(receipt, anchor) {
  await cryptoWaitReady();
  if (receipt?.format !== RECEIPT_FORMAT) throw new ReceiptError('Malformed', `not a ${RECEIPT_FORMAT} receipt`);
  const bytes = (field) => {
    try {
      return hexToU8a(receipt[field]);
    } catch {
      throw new ReceiptError('Malformed', `its ${field} is not hex`);
    }
  };
  if (receipt.genesisHash !== anchor.genesisHash) {
    throw new ReceiptError('OtherChain', `the receipt is of the chain with genesis ${receipt.genesisHash}, not ${anchor.genesisHash}`);
  }
  const headerBytes = bytes('header');
  const header = decodeExactly('Header', headerBytes, 'the header');
  const blockHash = blake2AsU8a(headerBytes);
  const finalized = checkFinality(blockHash, header.number.toNumber(), bytes('finality'), anchor);

  const key = outcomeKey(receipt.job, receipt.group === true);
  const stored = readProof(header.stateRoot.toU8a(), (receipt.proof ?? []).map((node) => hexToU8a(node)), key);
  const outcomeBytes = bytes('outcome');
  if (!stored || !u8aEq(stored, outcomeBytes)) {
    throw new ReceiptError('NotInState', `the block's state holds ${stored ? 'another outcome' : 'no outcome'} for job ${receipt.job}`);
  }
  const outcome = receipt.group === true
    ? memberOutcome(decodeExactly('HacaGroupOutcome', outcomeBytes, "the group's outcome"), receipt.job)
    : decodeExactly('HacaJobOutcome', outcomeBytes, 'the outcome');
  if (!outcome.end.isSettled) throw new ReceiptError('NotSettled', `job ${receipt.job} did not settle: it ${outcome.end.type === 'Failed' ? 'failed' : 'was cancelled'}`);
  const { outputHash, outputs, attestations } = outcome.end.asSettled;

  const outputBytes = bytes('outputs');
  const found = blake2AsU8a(outputBytes);
  if (!u8aEq(found, outputHash) || (outputs.isSome && !u8aEq(outputs.unwrap(), outputBytes))) {
    throw new ReceiptError('OutputsMismatch', `the outputs hash to ${u8aToHex(found)}, not to the settled output hash ${outputHash.toHex()}`);
  }
  for (const attestation of attestations) {
    const signed = attestation.inclusion.isSome
      ? groupSigned(anchor, receipt.job, outcome, attestation)
      : signedBytes(STATEMENT_DOMAIN, registry.createType('HacaStatementPayload', {
        genesisHash: anchor.genesisHash,
        job: receipt.job,
        attempt: attestation.attempt,
        model: outcome.model,
        inputHash: outcome.inputHash,
        executor: attestation.executor,
        claim: attestation.claim,
      }));
    if (!sr25519Verify(signed, attestation.signature.toU8a(), attestation.key.toU8a())) {
      throw new ReceiptError('BadSignature', `executor ${attestation.executor.toString()}'s signature of its statement does not verify`);
    }
  }
  const claimed = attestations.some(({ claim }) =>
    (claim.isOutput && claim.asOutput.eq(outputHash))
    || (claim.isReveal && claim.asReveal.outputHash.eq(outputHash))
    || (claim.isProven && claim.asProven.outputHash.eq(outputHash)));
  if (!claimed) throw new ReceiptError('UnclaimedOutput', `no executor's signed claim names the settled output hash ${outputHash.toHex()}`);

  return {
    job: receipt.job,
    model: outcome.model.toHex(),
    inputHash: outcome.inputHash.toHex(),
    outputHash: outputHash.toHex(),
    executors: attestations.map(({ executor }) => executor.toString()),
    group: groupPlace(attestations),
    block: [header.number.toNumber(), u8aToHex(blockHash)],
    finalized,
  };
}

/** Where the result sits in the group statement it came in (root, index, count), or null. */
function groupPlace(attestations) {
  const made = attestations.find(({ inclusion }) => inclusion.isSome);
  if (!made) return null;
  const { root, index, count } = made.inclusion.unwrap();
  return { root: root.toHex(), index: index.toNumber(), count: count.toNumber() };
}

/** What a session key signs: the domain tag, then the SCALE-encoded payload. */
function signedBytes(domain, payload) {
  return u8aConcat(compactToU8a(domain.length), domain, payload.toU8a());
}

/** The Merkle hashes of `haca_primitives::merkle`: a leaf `blake2(0x00 ‖ bytes)`, an inner node `blake2(0x01 ‖ left ‖ right)`. */
const leafHash = (bytes) => blake2AsU8a(u8aConcat(new Uint8Array([0]), bytes));
const innerHash = (left, right) => blake2AsU8a(u8aConcat(new Uint8Array([1]), left, right));

/**
 * The hash of a job's leaf in a group statement's tree (`haca_primitives::statement::GroupLeaf`).
 * @param {{job: number|bigint, attempt: number, inputHash: string|Uint8Array, outputHash: string|Uint8Array}} leaf
 * @returns {Uint8Array}
 */
export function groupLeafHash(leaf) {
  return leafHash(registry.createType('HacaGroupLeaf', leaf).toU8a());
}

/** The root of a Merkle tree over leaf hashes `leaves` (`haca_primitives::merkle::root`). */
export function merkleRoot(leaves) {
  let level = leaves;
  while (level.length > 1) level = parents(level);
  return level[0] ?? new Uint8Array(32);
}

/** The sibling hashes from leaf `index` up (`haca_primitives::merkle::proof`). */
function merkleProof(leaves, index) {
  const siblings = [];
  let [level, at] = [leaves, index];
  while (level.length > 1) {
    if (at < level.length && (at ^ 1) < level.length) siblings.push(level[at ^ 1]);
    level = parents(level);
    at = Math.floor(at / 2);
  }
  return siblings;
}

/** The level above `level`: pairs hashed, an odd last hash moved up unchanged. */
function parents(level) {
  const up = [];
  for (let i = 0; i < level.length; i += 2) up.push(i + 1 < level.length ? innerHash(level[i], level[i + 1]) : level[i]);
  return up;
}

/**
 * Whether `inclusion` places the leaf hash `leaf` under its root: leaf `index` of `count`,
 * its siblings bottom first (a level's odd last node moves up without one), as
 * `haca_primitives::merkle::verify` checks it.
 * @param {{root: Uint8Array, index: number, count: number, siblings: Uint8Array[]}} inclusion
 * @param {Uint8Array} leaf
 */
export function inclusionHolds({ root, index, count, siblings }, leaf) {
  if (index >= count) return false;
  const rest = [...siblings];
  let [hash, at, width] = [leaf, index, count];
  while (width > 1) {
    if ((at ^ 1) < width) {
      const sibling = rest.shift();
      if (!sibling) return false;
      hash = at % 2 === 0 ? innerHash(hash, sibling) : innerHash(sibling, hash);
    }
    at = Math.floor(at / 2);
    width = Math.ceil(width / 2);
  }
  return rest.length === 0 && u8aEq(hash, root);
}

/**
 * The bytes an attestation made in a group statement signs: the group's payload of the
 * root its inclusion proof names, once the job's leaf (rebuilt from the outcome and the
 * claim) is shown to be under it.
 */
function groupSigned(anchor, job, outcome, attestation) {
  const inclusion = attestation.inclusion.unwrap();
  const fail = () => new ReceiptError('BadInclusionProof', `executor ${attestation.executor.toString()}'s group statement does not include job ${job}'s result: its inclusion proof does not verify against the signed root`);
  if (!attestation.claim.isOutput) throw fail();
  const leaf = groupLeafHash({
    job,
    attempt: attestation.attempt,
    inputHash: outcome.inputHash,
    outputHash: attestation.claim.asOutput,
  });
  const proof = {
    root: inclusion.root.toU8a(),
    index: inclusion.index.toNumber(),
    count: inclusion.count.toNumber(),
    siblings: inclusion.siblings.map((sibling) => sibling.toU8a()),
  };
  if (!inclusionHolds(proof, leaf)) throw fail();
  const id = BigInt(job);
  return signedBytes(GROUP_STATEMENT_DOMAIN, registry.createType('HacaGroupStatementPayload', {
    genesisHash: anchor.genesisHash,
    first: id - (id % GROUP_SPAN),
    model: outcome.model,
    executor: attestation.executor,
    root: inclusion.root,
  }));
}

/** An authority's public key from the anchor (hex, or SS58 as the node prints it). */
function authorityKey(id) {
  return id.startsWith('0x') ? hexToU8a(id) : decodeAddress(id);
}

/**
 * Checks that `encoded` (a GRANDPA finality proof) finalizes block `blockHash` (number
 * `blockNumber`) for the anchor's authorities; returns the finalized block [number, hash].
 */
function checkFinality(blockHash, blockNumber, encoded, anchor) {
  const fail = (message) => new ReceiptError('NotFinalized', `the block's finality proof does not verify: ${message}`);
  const proof = decodeExactly('HacaFinalityProof', encoded, 'the finality proof');
  const justification = decodeExactly('HacaJustification', proof.justification.toU8a(true), 'the justification');
  const { commit, round } = justification;
  if (!commit.targetHash.eq(proof.block)) throw fail('the justification is of another block');

  // Votes of the anchor's authorities, each counted once, for the target or a descendant.
  const weights = new Map(anchor.authorities.map(([id, weight]) => [u8aToHex(authorityKey(id)), BigInt(weight)]));
  const total = [...weights.values()].reduce((sum, weight) => sum + weight, 0n);
  const threshold = total - (total - 1n) / 3n;
  const ancestry = new Map(justification.votesAncestries.map((h) => [u8aToHex(blake2AsU8a(h.toU8a())), h]));
  const voted = new Set();
  let weight = 0n;
  for (const { precommit, signature, id } of commit.precommits) {
    const voter = id.toHex();
    if (!weights.has(voter)) throw fail(`a precommit is signed by ${voter}, not an authority`);
    const message = u8aConcat(
      new Uint8Array([1]), precommit.targetHash.toU8a(), precommit.targetNumber.toU8a(),
      round.toU8a(), registry.createType('u64', anchor.setId).toU8a(),
    );
    if (!ed25519Verify(message, signature.toU8a(), id.toU8a())) throw fail(`${voter}'s precommit signature does not verify`);
    let cursor = precommit.targetHash.toHex();
    while (cursor !== commit.targetHash.toHex()) {
      const known = ancestry.get(cursor);
      if (!known) throw fail(`${voter}'s precommit is not for a descendant of the target`);
      cursor = known.parentHash.toHex();
    }
    if (!voted.has(voter)) weight += weights.get(voter);
    voted.add(voter);
  }
  if (weight < threshold) throw fail(`precommits of weight ${weight} of ${total}, fewer than ${threshold}`);

  // From the finalized block back to the receipt's, by the proof's headers.
  const parents = new Map(proof.unknownHeaders.map((h) => [u8aToHex(blake2AsU8a(h.toU8a())), h]));
  let cursor = proof.block.toHex();
  while (cursor !== u8aToHex(blockHash)) {
    const known = parents.get(cursor);
    if (!known) throw fail(`block #${blockNumber} is not an ancestor of the finalized block #${commit.targetNumber}`);
    cursor = known.parentHash.toHex();
  }
  return [commit.targetNumber.toNumber(), proof.block.toHex()];
}

// --- Base-16 Merkle-Patricia trie proofs (Substrate's node codec) ---

/** The value under `key` in the trie of root `root` whose nodes `proof` holds, or null. */
export function readProof(root, proof, key) {
  const nodes = new Map(proof.map((node) => [u8aToHex(blake2AsU8a(node)), node]));
  const fetch = (hash) => {
    const node = nodes.get(u8aToHex(hash));
    if (!node) throw new ReceiptError('NotInState', `the storage proof lacks the trie node ${u8aToHex(hash)}`);
    return node;
  };
  const nibbles = [...key].flatMap((byte) => [byte >> 4, byte & 15]);
  let node = decodeTrieNode(fetch(root));
  let at = 0;
  for (;;) {
    const { partial } = node;
    if (nibbles.length - at < partial.length || partial.some((nibble, i) => nibbles[at + i] !== nibble)) return null;
    at += partial.length;
    if (node.kind === 'empty') return null;
    if (node.kind === 'leaf') return at === nibbles.length ? nodeValue(node, fetch) : null;
    if (at === nibbles.length) return nodeValue(node, fetch);
    const child = node.children[nibbles[at]];
    if (!child) return null;
    at += 1;
    node = decodeTrieNode(child.length === 32 ? fetch(child) : child);
  }
}

function nodeValue(node, fetch) {
  if (node.value === undefined) return null;
  return node.hashed ? fetch(node.value) : node.value;
}

/** Decodes one trie node: its partial key (nibbles), value and children. */
function decodeTrieNode(bytes) {
  let at = 0;
  const next = () => {
    if (at >= bytes.length) throw new ReceiptError('NotInState', 'a trie node is truncated');
    return bytes[at++];
  };
  const take = (length) => {
    if (at + length > bytes.length) throw new ReceiptError('NotInState', 'a trie node is truncated');
    const slice = bytes.subarray(at, at + length);
    at += length;
    return slice;
  };
  const compactBytes = () => {
    const [offset, length] = compactFromU8a(bytes.subarray(at));
    at += offset;
    return take(length.toNumber());
  };
  const head = next();
  if (head === 0) return { kind: 'empty', partial: [] };
  const layouts = [
    [0xc0, 0x40, 6, 'leaf', false], [0xc0, 0x80, 6, 'branch', false], [0xc0, 0xc0, 6, 'branchValue', false],
    [0xe0, 0x20, 5, 'leaf', true], [0xf0, 0x10, 4, 'branchValue', true],
  ];
  const layout = layouts.find(([mask, prefix]) => (head & mask) === prefix);
  if (!layout) throw new ReceiptError('NotInState', `a trie node has the unknown header ${head}`);
  const [, , bits, kind, hashed] = layout;
  const max = (1 << bits) - 1;
  let count = head & max;
  if (count === max) {
    let byte;
    do {
      byte = next();
      count += byte;
    } while (byte === 255);
  }
  const keyBytes = take(Math.ceil(count / 2));
  const partial = [...keyBytes].flatMap((byte) => [byte >> 4, byte & 15]).slice(count % 2);
  if (kind === 'leaf') return { kind, partial, hashed, value: hashed ? take(32) : compactBytes() };
  const bitmap = next() | (next() << 8);
  const value = kind === 'branchValue' ? (hashed ? take(32) : compactBytes()) : undefined;
  const children = Array.from({ length: 16 }, (_, i) => ((bitmap >> i) & 1 ? compactBytes() : null));
  return { kind: 'branch', partial, hashed, value, children };
}
