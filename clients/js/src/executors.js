// Executors' and verifiers' keys and registrations.

import { Keyring } from '@polkadot/api';
import { u8aToHex, u8aToString } from '@polkadot/util';
import { cryptoWaitReady, mnemonicGenerate } from '@polkadot/util-crypto';

import { INFERENCE_KEY_TYPE } from './connect.js';
import { sendTx } from './tx.js';

/**
 * Puts an executor session key (`infr`, sr25519) into the node's keystore with
 * `author_insertKey` (an unsafe RPC: local or `--rpc-methods unsafe` nodes only). The
 * node's off-chain worker serves every registered executor whose key it holds.
 * @param {ApiPromise} api
 * @param {string} [suri] The key's secret URI; a fresh mnemonic by default.
 * @returns {Promise<{publicKey: string, suri: string}>} The public key to register.
 */
export async function insertInferenceKey(api, suri = mnemonicGenerate()) {
  await cryptoWaitReady();
  const pair = new Keyring({ type: 'sr25519' }).addFromUri(suri);
  const publicKey = u8aToHex(pair.publicKey);
  await api.rpc.author.insertKey(INFERENCE_KEY_TYPE, suri, publicKey);
  return { publicKey, suri };
}

/**
 * Makes the node generate new session keys (`author_rotateKeys`: BABE, GRANDPA and `infr`)
 * and returns the `infr` public key, found with the runtime's `SessionKeys` API.
 * @param {ApiPromise} api
 * @returns {Promise<string>} The new executor session key.
 */
export async function rotateInferenceKey(api) {
  const keys = await api.rpc.author.rotateKeys();
  const decoded = await api.call.sessionKeys.decodeSessionKeys(keys);
  const entry = decoded.unwrapOr([]).find(([, type]) => u8aToString(type.toU8a()) === INFERENCE_KEY_TYPE);
  if (!entry) throw new Error('the runtime has no infr session key');
  return entry[0].toHex();
}

/**
 * Registers an account as an executor (`executors.register`), holding its bond.
 * @param {ApiPromise} api
 * @param {import('@polkadot/keyring/types').KeyringPair} account
 * @param {object} options
 * @param {string} options.key Its `infr` session public key.
 * @param {string[]} options.models Active models it serves.
 * @param {number} [options.capacity=8] Most jobs it runs at once.
 * @param {bigint} [options.bond] Bond; `MinExecutorBond` by default.
 * @param {boolean} [options.verifier=false] Also register as a verifier.
 * @param {number} [options.nonce] Transaction nonce; the next by default.
 * @param {number} [options.timeoutMs] How long to wait for inclusion.
 * @returns {Promise<Receipt>}
 */
export async function registerExecutor(api, account, { key, models, capacity = 8, bond, verifier = false, nonce, timeoutMs }) {
  const roles = { executor: true, verifier };
  const amount = bond ?? api.consts.executors.minExecutorBond.toBigInt();
  return sendTx(api, account, api.tx.executors.register(roles, key, amount, capacity, models), { nonce, timeoutMs });
}

/**
 * Replaces the models an executor serves (`executors.setModels`).
 * @param {ApiPromise} api
 * @param {import('@polkadot/keyring/types').KeyringPair} executor
 * @param {string[]} models Active model hashes.
 * @param {{nonce?: number, timeoutMs?: number}} [options]
 * @returns {Promise<Receipt>}
 */
export async function setServedModels(api, executor, models, { nonce, timeoutMs } = {}) {
  return sendTx(api, executor, api.tx.executors.setModels(models), { nonce, timeoutMs });
}

/**
 * Adds to an executor's or verifier's bond (`executors.bondExtra`): an executor slashed below
 * `MinExecutorBond` gets no jobs until it tops up.
 * @param {ApiPromise} api
 * @param {import('@polkadot/keyring/types').KeyringPair} account
 * @param {bigint} amount Planck to hold in addition.
 * @param {{nonce?: number, timeoutMs?: number}} [options]
 * @returns {Promise<Receipt>}
 */
export async function bondExtra(api, account, amount, { nonce, timeoutMs } = {}) {
  return sendTx(api, account, api.tx.executors.bondExtra(amount), { nonce, timeoutMs });
}

// ---------------------------------------------------------------------------------------
// Jobs

/**
 * A submitted job.
 * @typedef {object} SubmittedJob
 * @property {number} job Job id.
 * @property {number} block Block that includes the submission.
 * @property {number} time That block's timestamp (ms).
 * @property {bigint} maxFee Most the client pays (held with the deposit until the end).
 * @property {bigint} fee Transaction fee paid (a batch's, for all its jobs).
 * @property {Receipt} receipt
 */
