// Registering models.

import { stringToHex, u8aToHex, u8aToU8a } from '@polkadot/util';
import { blake2AsHex } from '@polkadot/util-crypto';

import { MODES } from './connect.js';
import { readOnnxSpecs } from './onnx.js';
import { eventOf, nextNonce, sendTx } from './tx.js';

/**
 * The registration dry run on a node's engine (`haca_checkModel`): whether executors read
 * and run the model, and the specs to register, or in words what stops them (an operator the
 * engine lacks, with its node; an unsupported type; a dynamic dimension without a bound).
 * The node runs the model once: it serves this to local callers (or with
 * `--rpc-methods unsafe`).
 * @param {ApiPromise} api
 * @param {Uint8Array} onnx The ONNX file's bytes.
 * @param {{bounds?: Record<string, number>, unnamedBound?: number}} [options] Largest size
 *   of each dimension the graph names, and of every unnamed dynamic one.
 * @returns {Promise<{runs: boolean, reason: string|null, modelHash: string, byteSize: number, inputs: object[], outputs: object[]}>}
 */
export async function checkModel(api, onnx, { bounds = null, unnamedBound = null } = {}) {
  const answer = await api.rpc.haca.checkModel(u8aToHex(u8aToU8a(onnx)), bounds, unnamedBound);
  return answer.toJSON();
}

/**
 * Registers a model stored on chain and uploads its bytes: `models.register` under the
 * blake2-256 hash of the ONNX bytes, then `models.uploadChunk` for each `ChunkSize` chunk,
 * in order (all sent at once with consecutive nonces). The last chunk makes the chain
 * check the bytes against the hash and activate the model. The owner pays a deposit of
 * `BaseDeposit + ByteDeposit * size`, returned when the model is retired and purged.
 * @param {ApiPromise} api
 * @param {import('@polkadot/keyring/types').KeyringPair} owner
 * @param {object} model
 * @param {Uint8Array} model.onnx The ONNX file's bytes.
 * @param {bigint|number|string} model.fee Fee per inference run (plancks, 1 HACA = 1e12).
 * @param {object} [model.modes] Accepted verification modes ({@link MODES}): all of them
 *   with a circuit, attested and quorum without.
 * @param {number} [model.toleranceUlps=0] Float tolerance in units of least precision.
 * @param {{lowering: number, graphRoot: string, weightsRoot: string, nodes: number, largestStep: number, largestStepBytes: number}} [model.graph]
 *   The model's dispute graph, as `haca-node inspect` prints it (its JSON's `graph`): the
 *   chain then decides disputes over its results itself, and executors and verifiers refuse
 *   the model if they lower it to another graph. Omitted, a committee decides them.
 * @param {string} [model.circuit] The model's circuit, hex, as `haca-node inspect` prints it
 *   (its JSON's `circuit`), for a model that accepts proven jobs: stored on chain (its bytes
 *   count in the deposit); executors refuse to prove with another.
 * @param {object[]} [model.inputs] Input specs (`{name, elementType, shape, variableAxes}`);
 *   read from the ONNX graph by default.
 * @param {object[]} [model.outputs] Output specs; read from the ONNX graph by default.
 * @param {Record<string, number>} [model.bounds] Largest size of each dimension the graph
 *   names (a dynamic batch): see `readOnnxSpecs`. The fee is that of a run at these sizes;
 *   smaller inputs pay in proportion to their elements.
 * @param {number} [model.timeoutMs=120000]
 * @returns {Promise<{model: string, deposit: bigint, fees: bigint, receipts: Receipt[]}>}
 *   The model hash, deposit held, transaction fees paid in all and the receipts.
 */
export async function registerModel(api, owner, { onnx, fee, modes, toleranceUlps = 0, graph = null, circuit = null, inputs, outputs, bounds, timeoutMs = 120_000 }) {
  const bytes = u8aToU8a(onnx);
  const model = blake2AsHex(bytes, 256);
  const chunkSize = api.consts.models.chunkSize.toNumber();
  const terms = modelTerms(bytes, { fee, modes, toleranceUlps, graph, circuit, inputs, outputs, bounds });
  const txs = [api.tx.models.register(model, bytes.length, 'OnChain', terms, circuit)];
  for (let index = 0; index * chunkSize < bytes.length; index++) {
    // Bytes arguments go as hex: polkadot.js reads a Uint8Array as already SCALE-encoded.
    txs.push(api.tx.models.uploadChunk(model, index, u8aToHex(bytes.subarray(index * chunkSize, (index + 1) * chunkSize))));
  }
  const nonce = await nextNonce(api, owner.address);
  const outcomes = await Promise.allSettled(txs.map((tx, i) => sendTx(api, owner, tx, { nonce: nonce + i, timeoutMs })));
  const failed = outcomes.find((o) => o.status === 'rejected');
  if (failed) throw failed.reason;
  const receipts = outcomes.map((o) => o.value);
  if (!receipts.some((r) => eventOf(r, 'models', 'Activated'))) throw new Error(`model ${model} was not activated`);
  return {
    model,
    deposit: eventOf(receipts[0], 'models', 'Registered').data.deposit.toBigInt(),
    fees: receipts.reduce((sum, r) => sum + r.fee, 0n),
    receipts,
  };
}

/**
 * Registers a model kept off chain, of any size: `models.register` under the blake2-256
 * hash of the ONNX bytes with their size and `locators`, the `http://` or `https://` URIs
 * (up to `MaxLocators`, each at most `MaxLocatorLen` bytes) that serve the file. The model is
 * active at once. Executors and verifiers that serve or audit it (`setServedModels`) fetch
 * it by its hash: first from their peers, nodes that hold it already, then from the
 * locators in order; they keep only bytes of this size and hash. The owner pays a deposit
 * of `BaseDeposit + ByteDeposit * (locator bytes)`.
 * @param {ApiPromise} api
 * @param {import('@polkadot/keyring/types').KeyringPair} owner
 * @param {object} model
 * @param {Uint8Array} model.onnx The ONNX file's bytes (hashed and measured here, not sent).
 * @param {string[]} model.locators Where the file is served, tried in order.
 * @param {bigint|number|string} model.fee Fee per inference run.
 * @param {object} [model.modes] As for `registerModel`.
 * @param {number} [model.toleranceUlps=0]
 * @param {object} [model.graph] The dispute graph, as for `registerModel`.
 * @param {string} [model.circuit] The circuit, as for `registerModel`.
 * @param {object[]} [model.inputs] Input specs; read from the ONNX graph by default.
 * @param {object[]} [model.outputs] Output specs; read from the ONNX graph by default.
 * @param {Record<string, number>} [model.bounds] Sizes of the graph's named dimensions.
 * @param {number} [model.timeoutMs=120000]
 * @returns {Promise<{model: string, deposit: bigint, fee: bigint, receipt: Receipt}>}
 */
export async function registerOffChainModel(api, owner, { onnx, locators, fee, modes, toleranceUlps = 0, graph = null, circuit = null, inputs, outputs, bounds, timeoutMs = 120_000 }) {
  const bytes = u8aToU8a(onnx);
  const model = blake2AsHex(bytes, 256);
  const terms = modelTerms(bytes, { fee, modes, toleranceUlps, graph, circuit, inputs, outputs, bounds });
  // Bytes arguments go as hex: polkadot.js reads a Uint8Array as already SCALE-encoded.
  const source = { OffChain: locators.map((uri) => stringToHex(uri)) };
  const receipt = await sendTx(api, owner, api.tx.models.register(model, bytes.length, source, terms, circuit), { timeoutMs });
  if (!eventOf(receipt, 'models', 'Activated')) throw new Error(`model ${model} was not activated`);
  return {
    model,
    deposit: eventOf(receipt, 'models', 'Registered').data.deposit.toBigInt(),
    fee: receipt.fee,
    receipt,
  };
}

/**
 * A registration's terms: the given specs, or those read from the ONNX graph; the modes
 * given, or every mode the circuit (if any) allows.
 */
function modelTerms(bytes, { fee, modes, toleranceUlps, graph, circuit, inputs, outputs, bounds }) {
  const specs = inputs && outputs ? { inputs, outputs } : readOnnxSpecs(bytes, { bounds });
  const accepted = modes ?? (circuit ? MODES.ALL : MODES.ATTESTED_OR_QUORUM);
  return { inputs: specs.inputs, outputs: specs.outputs, modes: accepted, fee, toleranceUlps, graph };
}
