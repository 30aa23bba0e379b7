// Executors' and verifiers' keys and registrations.

import { Keyring } from '@polkadot/api';
import { hexToU8a, stringToU8a, u8aConcat, u8aToHex, u8aToString } from '@polkadot/util';
import { cryptoWaitReady, decodeAddress, mnemonicGenerate } from '@polkadot/util-crypto';

import { INFERENCE_KEY_TYPE } from './connect.js';
import { sendTx } from './tx.js';

/**
 * What a session key signs to prove that `address` holds it on this chain: the account and
 * the genesis hash (the executors pallet's `key_owner_statement`). A key's proof of
 * possession is its signature of `POP_` followed by this statement.
 * @param {ApiPromise} api
 * @param {string} address The account that registers the key.
 * @returns {Uint8Array}
 */
export function keyOwnerStatement(api, address) {
  return u8aConcat(decodeAddress(address), api.genesisHash.toU8a());
}

/**
 * Puts an executor session key (`infr`, sr25519) into the node's keystore with
 * `author_insertKey` (an unsafe RPC: local or `--rpc-methods unsafe` nodes only), and makes
 * its proof of possession for `owner`. The node's off-chain worker serves every registered
 * executor whose key it holds.
 * @param {ApiPromise} api
 * @param {string} owner The account that will register the key.
 * @param {string} [suri] The key's secret URI; a fresh mnemonic by default.
 * @returns {Promise<{publicKey: string, proof: string, suri: string}>} What to register.
 */
export async function insertInferenceKey(api, owner, suri = mnemonicGenerate()) {
  await cryptoWaitReady();
  const pair = new Keyring({ type: 'sr25519' }).addFromUri(suri);
  const publicKey = u8aToHex(pair.publicKey);
  await api.rpc.author.insertKey(INFERENCE_KEY_TYPE, suri, publicKey);
  const proof = u8aToHex(pair.sign(u8aConcat(stringToU8a('POP_'), keyOwnerStatement(api, owner))));
  return { publicKey, proof, suri };
}

/**
 * Makes the node generate new session keys for `owner` (`author_rotateKeysWithOwner`: BABE,
 * GRANDPA and `infr`, each with its proof of possession) and returns the `infr` key and its
 * proof, found with the runtime's `SessionKeys` API. The secret never leaves the node.
 * @param {ApiPromise} api
 * @param {string} owner The account that will register the key.
 * @returns {Promise<{publicKey: string, proof: string}>} What to register.
 */
export async function rotateInferenceKey(api, owner) {
  const statement = u8aToHex(keyOwnerStatement(api, owner));
  const { keys, proof } = (await api.rpc.author.rotateKeysWithOwner(statement)).toJSON();
  if (!proof) throw new Error('the node made no proofs of possession');
  const decoded = (await api.call.sessionKeys.decodeSessionKeys(keys)).unwrapOr([]);
  const index = decoded.findIndex(([, type]) => u8aToString(type.toU8a()) === INFERENCE_KEY_TYPE);
  if (index < 0) throw new Error('the runtime has no infr session key');
  // The proof is one 64-byte signature per key, in the keys' order.
  const proofs = hexToU8a(proof);
  return { publicKey: decoded[index][0].toHex(), proof: u8aToHex(proofs.subarray(64 * index, 64 * (index + 1))) };
}

/**
 * Registers an account as an executor (`executors.register`), holding its bond.
 * @param {ApiPromise} api
 * @param {import('@polkadot/keyring/types').KeyringPair} account
 * @param {object} options
 * @param {string} options.key Its `infr` session public key.
 * @param {string} options.keyProof The key's proof of possession for `account`
 *   ({@link insertInferenceKey}, {@link rotateInferenceKey}).
 * @param {string[]} options.models Active models it serves.
 * @param {number} [options.capacity=8] Most jobs it runs at once.
 * @param {bigint} [options.bond] Bond; `MinExecutorBond` by default.
 * @param {boolean} [options.verifier=false] Also register as a verifier.
 * @param {number} [options.nonce] Transaction nonce; the next by default.
 * @param {number} [options.timeoutMs] How long to wait for inclusion.
 * @returns {Promise<Receipt>}
 */
export async function registerExecutor(api, account, { key, keyProof, models, capacity = 8, bond, verifier = false, nonce, timeoutMs }) {
  const roles = { executor: true, verifier };
  const amount = bond ?? api.consts.executors.minExecutorBond.toBigInt();
  return sendTx(api, account, api.tx.executors.register(roles, key, keyProof, amount, capacity, models), { nonce, timeoutMs });
}

/**
 * Replaces an executor's or verifier's session key (`executors.setKey`).
 * @param {ApiPromise} api
 * @param {import('@polkadot/keyring/types').KeyringPair} account
 * @param {{publicKey: string, proof: string}} key The new key and its proof of possession
 *   for `account`.
 * @param {{nonce?: number, timeoutMs?: number}} [options]
 * @returns {Promise<Receipt>}
 */
export async function setInferenceKey(api, account, { publicKey, proof }, { nonce, timeoutMs } = {}) {
  return sendTx(api, account, api.tx.executors.setKey(publicKey, proof), { nonce, timeoutMs });
}

/**
 * Replaces the models an account's node runs (`executors.setModels`): an executor serves
 * them, a verifier audits them and sits on committees over their jobs only.
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
