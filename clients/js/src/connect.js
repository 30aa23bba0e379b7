// Connecting to a HACA node, the chain's constants, and development accounts.

import { ApiPromise, Keyring, WsProvider } from '@polkadot/api';
import { cryptoWaitReady } from '@polkadot/util-crypto';

/** Content hash of the demo model (an MLP, 4 float inputs, 3 outputs) on the dev chains. */
export const DEMO_MODEL = '0x22246ca7ba2a2815eb026b4719e9abaef8a23ef63207f57635d126bb49417e80';

/**
 * The verification modes a model accepts (`ModeSet`: one flag per mode kind). Proven mode
 * needs the model's circuit (`haca-node inspect` prints it).
 */
export const MODES = Object.freeze({
  ATTESTED: Object.freeze({ attested: true, quorum: false, proven: false }),
  QUORUM: Object.freeze({ attested: false, quorum: true, proven: false }),
  PROVEN: Object.freeze({ attested: false, quorum: false, proven: true }),
  ATTESTED_OR_QUORUM: Object.freeze({ attested: true, quorum: true, proven: false }),
  ALL: Object.freeze({ attested: true, quorum: true, proven: true }),
});

/** Attested mode: one executor; the result settles after the challenge window. */
export const ATTESTED = 'Attested';

/**
 * Proven mode: one executor proves its result (a STARK of the model's integer layers); the
 * runtime verifies the proof and the job settles in the block that includes it.
 */
export const PROVEN = 'Proven';

/** A `VerificationMode` as the client's constants give it ({@link ATTESTED}, {@link PROVEN} or {@link quorum}). */
export function modeOf(mode) {
  if (mode.isAttested) return ATTESTED;
  if (mode.isProven) return PROVEN;
  return quorum(mode.asQuorum.agree.toNumber(), mode.asQuorum.of.toNumber());
}

/**
 * Quorum mode: `of` executors run the job, `agree` matching results settle it.
 * @param {number} agree Executors that must agree (a majority of `of`).
 * @param {number} of Executors the job is assigned to.
 * @returns {{Quorum: {agree: number, of: number}}} The `VerificationMode` value.
 */
export function quorum(agree, of) {
  return { Quorum: { agree, of } };
}

/** Session key type of executors. */
export const INFERENCE_KEY_TYPE = 'infr';

/** RPC methods of the node that polkadot.js does not know yet. */
const NODE_RPC = {
  author: {
    rotateKeysWithOwner: {
      description: 'Generates session keys and their proofs of possession for an owner statement',
      params: [{ name: 'owner', type: 'Bytes' }],
      type: 'Json',
    },
  },
  haca: {
    checkModel: {
      description: "Whether the node's engine reads and runs an ONNX model, and the specs to register, or what stops executors",
      params: [
        { name: 'onnx', type: 'Bytes' },
        { name: 'bounds', type: 'Option<BTreeMap<Text, u32>>', isOptional: true },
        { name: 'unnamedBound', type: 'Option<u32>', isOptional: true },
      ],
      type: 'Json',
    },
  },
};

/**
 * Connects to a node. Rejects if the connection fails, or after `timeoutMs` if the node
 * does not answer.
 * @param {string} [url='ws://127.0.0.1:9944'] The node's WebSocket RPC endpoint.
 * @param {{timeoutMs?: number}} [options]
 * @returns {Promise<ApiPromise>} A ready API; call `api.disconnect()` when done.
 */
export async function connect(url = 'ws://127.0.0.1:9944', { timeoutMs = 30_000 } = {}) {
  await cryptoWaitReady();
  const provider = new WsProvider(url, 1_000);
  const api = new ApiPromise({ provider, noInitWarn: true, rpc: NODE_RPC });
  let timer;
  try {
    return await Promise.race([
      api.isReadyOrError,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer from ${url} within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (error) {
    await api.disconnect().catch(() => {});
    // A failed WebSocket connection rejects with an ErrorEvent, not an Error.
    throw error instanceof Error ? error : new Error(`cannot connect to ${url}: ${error?.message ?? error}`);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A development account's key pair (`//Alice`, `//Bob`, ... `//Ferdie`), or any other
 * secret URI (`mnemonic//derivation`). For signing in a browser use the extension's signer
 * instead (`web3FromAddress(...).signer`, passed to `tx.signAndSend`).
 * @param {string} nameOrSuri `'Alice'` or a secret URI.
 * @returns {Promise<import('@polkadot/keyring/types').KeyringPair>}
 */
export async function devAccount(nameOrSuri) {
  await cryptoWaitReady();
  const suri = /^[A-Z][a-z]+$/.test(nameOrSuri) ? `//${nameOrSuri}` : nameOrSuri;
  return new Keyring({ type: 'sr25519', ss58Format: 42 }).addFromUri(suri);
}
