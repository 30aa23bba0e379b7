// The HACA chain from JavaScript with @polkadot/api. Every call, event, error, constant
// and runtime API is read from the chain's metadata: no type definitions here.

import { ApiPromise, Keyring, WsProvider } from '@polkadot/api';
import { u8aToHex, u8aToString, u8aToU8a } from '@polkadot/util';
import { blake2AsHex, cryptoWaitReady, mnemonicGenerate } from '@polkadot/util-crypto';

import { decodeTensors, encodeTensors } from './tensor.js';
import { readOnnxSpecs } from './onnx.js';

/** Content hash of the demo model (an MLP, 4 float inputs, 3 outputs) on the dev chains. */
export const DEMO_MODEL = '0x22246ca7ba2a2815eb026b4719e9abaef8a23ef63207f57635d126bb49417e80';

/** The verification mode kinds a model accepts (`ModeSet` bit flags). */
export const MODES = Object.freeze({ ATTESTED: 1, QUORUM: 2, ALL: 3 });

/** Attested mode: one executor; the result settles after the challenge window. */
export const ATTESTED = 'Attested';

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
  const api = new ApiPromise({ provider, noInitWarn: true });
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

/**
 * Decodes a `DispatchError` into its pallet and error name with the metadata.
 * @param {ApiPromise} api
 * @param {import('@polkadot/types/interfaces').DispatchError} dispatchError
 * @returns {{section: string, method: string, docs: string}} E.g.
 *   `{ section: 'jobs', method: 'FeeTooLow', docs: 'The maximum fee is below ...' }`.
 */
export function decodeDispatchError(api, dispatchError) {
  if (dispatchError.isModule) {
    const { section, method, docs } = api.registry.findMetaError(dispatchError.asModule);
    return { section, method, docs: docs.join(' ') };
  }
  if (dispatchError.isToken) return { section: 'token', method: dispatchError.asToken.type, docs: '' };
  if (dispatchError.isArithmetic) {
    return { section: 'arithmetic', method: dispatchError.asArithmetic.type, docs: '' };
  }
  return { section: 'dispatch', method: dispatchError.type, docs: dispatchError.toString() };
}

/**
 * A transaction that was included but whose call failed. `section`/`method` name the
 * pallet error (e.g. `jobs`/`FeeTooLow`); `receipt` has the block, events and fee paid.
 */
export class TxError extends Error {
  /**
   * @param {{section: string, method: string, docs: string}} error The decoded error.
   * @param {Receipt} receipt The failed transaction's receipt.
   */
  constructor(error, receipt) {
    super(`${error.section}.${error.method}${error.docs ? `: ${error.docs}` : ''}`);
    this.name = 'TxError';
    this.section = error.section;
    this.method = error.method;
    // `receipt` (a Receipt) is not enumerable, so that printing the error stays short.
    Object.defineProperty(this, 'receipt', { value: receipt, enumerable: false });
  }
}

/**
 * What a transaction did once in a block.
 * @typedef {object} Receipt
 * @property {string} blockHash Block that includes it.
 * @property {number} blockNumber Its number.
 * @property {Array<{section: string, method: string, data: any}>} events Its events
 *   (`data` is the polkadot.js event data: named fields, `.toJSON()`, `.toHuman()`).
 * @property {bigint} fee Transaction fee paid (`transactionPayment.TransactionFeePaid`,
 *   actual fee plus tip).
 * @property {{section: string, method: string, docs: string}|null} error Why the call
 *   failed, or null.
 */

/**
 * The next nonce of an account, counting its transactions in the pool. To send several
 * transactions from one account without waiting for each, give them consecutive nonces.
 * @param {ApiPromise} api
 * @param {string} address
 * @returns {Promise<number>}
 */
export async function nextNonce(api, address) {
  return (await api.rpc.system.accountNextIndex(address)).toNumber();
}

/**
 * Signs and sends a transaction and waits until it is in a block. Resolves with its
 * receipt; rejects with a {@link TxError} when the call failed (the fee is still paid),
 * or an Error when the pool rejects it or it is not included within `timeoutMs`.
 * @param {ApiPromise} api
 * @param {import('@polkadot/keyring/types').KeyringPair} signer
 * @param {import('@polkadot/api/types').SubmittableExtrinsic<'promise'>} tx
 * @param {{nonce?: number, timeoutMs?: number}} [options] `nonce` defaults to the next.
 * @returns {Promise<Receipt>}
 */
export function sendTx(api, signer, tx, { nonce = -1, timeoutMs = 120_000 } = {}) {
  return new Promise((resolve, reject) => {
    let unsubscribe;
    let done = false;
    const finish = (settle, value) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (unsubscribe) unsubscribe();
      settle(value);
    };
    const timer = setTimeout(
      () => finish(reject, new Error(`${tx.method.section}.${tx.method.method} not in a block within ${timeoutMs} ms`)),
      timeoutMs,
    );
    tx.signAndSend(signer, { nonce }, (result) => {
      const { status } = result;
      if (status.isInBlock) {
        receipt(api, status.asInBlock, result).then(
          (r) => finish(r.error ? reject : resolve, r.error ? new TxError(r.error, r) : r),
          (error) => finish(reject, error),
        );
      } else if (status.isInvalid || status.isDropped || status.isUsurped) {
        finish(reject, new Error(`${tx.method.section}.${tx.method.method}: transaction ${status.type}`));
      }
    })
      .then((unsub) => {
        unsubscribe = unsub;
        if (done) unsub();
      })
      .catch((error) => finish(reject, error));
  });
}

async function receipt(api, blockHash, result) {
  const header = await api.rpc.chain.getHeader(blockHash);
  const events = result.events.map(({ event }) => ({ section: event.section, method: event.method, data: event.data }));
  const feePaid = events.find((e) => e.section === 'transactionPayment' && e.method === 'TransactionFeePaid');
  const fee = feePaid ? feePaid.data.actualFee.toBigInt() + feePaid.data.tip.toBigInt() : 0n;
  return {
    blockHash: blockHash.toHex(),
    blockNumber: header.number.toNumber(),
    events,
    fee,
    error: result.dispatchError ? decodeDispatchError(api, result.dispatchError) : null,
  };
}

/** The first event `section.method` of a receipt. */
function eventOf(receipt, section, method) {
  return receipt.events.find((e) => e.section === section && e.method === method);
}

/**
 * Free, reserved (held: bonds, deposits, job escrow) and total balance of an account.
 * @param {ApiPromise} api
 * @param {string} address
 * @param {string} [at] Block hash; the best block by default.
 * @returns {Promise<{free: bigint, reserved: bigint, total: bigint}>}
 */
export async function balanceOf(api, address, at) {
  const query = at ? (await api.at(at)).query : api.query;
  const { data } = await query.system.account(address);
  const free = data.free.toBigInt();
  const reserved = data.reserved.toBigInt();
  return { free, reserved, total: free + reserved };
}

// ---------------------------------------------------------------------------------------
// Models

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
 * @param {number} [model.modes=MODES.ALL] Accepted verification modes ({@link MODES}).
 * @param {number} [model.toleranceUlps=0] Float tolerance in units of least precision.
 * @param {object[]} [model.inputs] Input specs (`{name, elementType, shape}`); read from the
 *   ONNX graph by default.
 * @param {object[]} [model.outputs] Output specs; read from the ONNX graph by default.
 * @param {number} [model.timeoutMs=120000]
 * @returns {Promise<{model: string, deposit: bigint, fees: bigint, receipts: Receipt[]}>}
 *   The model hash, deposit held, transaction fees paid in all and the receipts.
 */
export async function registerModel(api, owner, { onnx, fee, modes = MODES.ALL, toleranceUlps = 0, inputs, outputs, timeoutMs = 120_000 }) {
  const bytes = u8aToU8a(onnx);
  const specs = inputs && outputs ? { inputs, outputs } : readOnnxSpecs(bytes);
  const model = blake2AsHex(bytes, 256);
  const chunkSize = api.consts.models.chunkSize.toNumber();
  const txs = [
    api.tx.models.register(model, bytes.length, 'OnChain', {
      inputs: inputs ?? specs.inputs,
      outputs: outputs ?? specs.outputs,
      modes,
      fee,
      toleranceUlps,
    }),
  ];
  for (let index = 0; index * chunkSize < bytes.length; index++) {
    // Bytes arguments go as hex: polkadot.js reads a Uint8Array as already SCALE-encoded.
    txs.push(api.tx.models.uploadChunk(model, index, u8aToHex(bytes.subarray(index * chunkSize, (index + 1) * chunkSize))));
  }
  const nonce = await nextNonce(api, owner.address);
  const outcomes = await Promise.allSettled(txs.map((tx, i) => sendTx(api, owner, tx, { nonce: nonce + i, timeoutMs })));
  const failed = outcomes.find((o) => o.status === 'rejected');
  if (failed) throw failed.reason;
  const receipts = outcomes.map((o) => o.value);
  if (!receipts.some((r) => eventOf(r, 'models', 'ModelActivated'))) throw new Error(`model ${model} was not activated`);
  return {
    model,
    deposit: eventOf(receipts[0], 'models', 'ModelRegistered').data.deposit.toBigInt(),
    fees: receipts.reduce((sum, r) => sum + r.fee, 0n),
    receipts,
  };
}

// ---------------------------------------------------------------------------------------
// Executors

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
 * Makes the node generate new session keys (`author_rotateKeys`: Aura, GRANDPA and `infr`)
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

// ---------------------------------------------------------------------------------------
// Jobs

/**
 * A submitted job.
 * @typedef {object} SubmittedJob
 * @property {number} job Job id.
 * @property {number} block Block that includes the submission.
 * @property {number} time That block's timestamp (ms).
 * @property {bigint} maxFee Most the client pays (held with the deposit until the end).
 * @property {string[]|null} executors Executors assigned at once (null: queued).
 * @property {bigint} fee Transaction fee paid (a batch's, for all its jobs).
 * @property {Receipt} receipt
 */

/**
 * Submits an inference job (`jobs.submit`). The chain checks the input against the model's
 * input specs before holding anything; a bad submission fails with a `jobs` error (e.g.
 * `WrongInputShape`, `UnknownModel`, `FeeTooLow`) and costs only the transaction fee.
 * @param {ApiPromise} api
 * @param {import('@polkadot/keyring/types').KeyringPair} client
 * @param {object} job
 * @param {string} job.model Model hash.
 * @param {import('./tensor.js').Tensor[]|Uint8Array|string} job.input Input tensors, or
 *   their canonical encoding (bytes or hex).
 * @param {string|object} [job.mode=ATTESTED] {@link ATTESTED} or {@link quorum}`(k, n)`.
 * @param {bigint} [job.maxFee] Most to pay; the chain's quote by default.
 * @param {number} [job.nonce] Transaction nonce (for several submissions at once).
 * @param {number} [job.timeoutMs] How long to wait for inclusion.
 * @returns {Promise<SubmittedJob>}
 */
export async function submitJob(api, client, { model, input, mode = ATTESTED, maxFee, nonce, timeoutMs }) {
  const fee = maxFee ?? (await quote(api, model, mode)) ?? 0n;
  const r = await sendTx(api, client, api.tx.jobs.submit(model, inputHex(input), mode, fee), { nonce, timeoutMs });
  const [job] = await submittedJobs(api, r);
  return job;
}

/**
 * Submits one job per input in one transaction (`jobs.submitBatch`): the same model, mode
 * and maximum fee for each, at a lower transaction cost per job than one `submitJob` each.
 * The jobs get consecutive ids. One bad input fails the whole batch with its `jobs` error
 * (e.g. `WrongInputShape`; `EmptyBatch` for no inputs): nothing is held or created.
 * @param {ApiPromise} api
 * @param {import('@polkadot/keyring/types').KeyringPair} client
 * @param {object} batch
 * @param {string} batch.model Model hash.
 * @param {Array<import('./tensor.js').Tensor[]|Uint8Array|string>} batch.inputs Each job's
 *   input tensors, or their canonical encoding (bytes or hex).
 * @param {string|object} [batch.mode=ATTESTED] {@link ATTESTED} or {@link quorum}`(k, n)`.
 * @param {bigint} [batch.maxFee] Most to pay per job; the chain's quote by default.
 * @param {number} [batch.nonce] Transaction nonce.
 * @param {number} [batch.timeoutMs] How long to wait for inclusion.
 * @returns {Promise<SubmittedJob[]>} In input order; `fee` and `receipt` are the whole
 *   transaction's, the same on every job.
 */
export async function submitJobs(api, client, { model, inputs, mode = ATTESTED, maxFee, nonce, timeoutMs }) {
  const fee = maxFee ?? (await quote(api, model, mode)) ?? 0n;
  const tx = api.tx.jobs.submitBatch(model, inputs.map(inputHex), mode, fee);
  return submittedJobs(api, await sendTx(api, client, tx, { nonce, timeoutMs }));
}

/** A job input as a hex string: polkadot.js reads a Uint8Array as already SCALE-encoded. */
function inputHex(input) {
  return u8aToHex(Array.isArray(input) ? encodeTensors(input) : u8aToU8a(input));
}

/** The jobs a submission's receipt reports, in id order. */
async function submittedJobs(api, r) {
  const time = await blockTime(api, r.blockHash);
  const assigned = new Map(
    r.events
      .filter((e) => e.section === 'jobs' && e.method === 'JobAssigned')
      .map((e) => [e.data.job.toNumber(), e.data.executors.map((a) => a.toString())]),
  );
  return r.events
    .filter((e) => e.section === 'jobs' && e.method === 'JobSubmitted')
    .map((e) => ({
      job: e.data.job.toNumber(),
      block: r.blockNumber,
      time,
      maxFee: e.data.maxFee.toBigInt(),
      executors: assigned.get(e.data.job.toNumber()) ?? null,
      fee: r.fee,
      receipt: r,
    }));
}

/** Timestamp (ms) of a block. */
async function blockTime(api, hash) {
  return (await (await api.at(hash)).query.timestamp.now()).toNumber();
}

/**
 * How a job ended, as {@link watchJob} reports it.
 * @typedef {object} JobOutcome
 * @property {number} job Job id.
 * @property {'settled'|'failed'|'cancelled'} status
 * @property {string} [outputHash] Hash of the settled output tensors.
 * @property {Uint8Array|null} [outputs] The settled output tensors (canonical encoding),
 *   when they were carried on chain; their blake2-256 is checked against `outputHash`.
 * @property {import('./tensor.js').Tensor[]|null} [tensors] `outputs`, decoded.
 * @property {string[]} [executors] Executors paid.
 * @property {bigint} [paid] Paid out of the escrow (executors and model owner).
 * @property {bigint} refunded Returned to the client (deposit and unused fee).
 * @property {number} [resultBlock] Block of the result: the attested result, or the
 *   deciding reveal of a quorum.
 * @property {number} [resultTime] Its timestamp (ms).
 * @property {number} endBlock Block in which the job ended.
 * @property {number} endTime Its timestamp (ms).
 */

/**
 * Follows a job from block `fromBlock` on and reports its events as they happen.
 * `result` resolves when the job's result is known (an attested `settlement.ResultSubmitted`,
 * which is provisional until the challenge window closes, or a quorum's agreeing reveals at
 * settlement); `settled` when the job ends (`jobs.JobSettled`, or `JobFailed`/`JobCancelled`).
 * Both reject after `timeoutMs`.
 * @param {ApiPromise} api
 * @param {number} job Job id.
 * @param {object} [options]
 * @param {number} [options.fromBlock] First block to look at (the submission's block);
 *   the best block by default.
 * @param {number} [options.timeoutMs=300000]
 * @param {(event: {block: number, section: string, method: string, data: object}) => void} [options.onEvent]
 *   Called with each of the job's events (`data` as JSON with the field names).
 * @returns {{result: Promise<{outputHash: string, outputs: Uint8Array|null, tensors: object[]|null, block: number, time: number}>,
 *   settled: Promise<JobOutcome>, stop: () => void}}
 */
export function watchJob(api, job, { fromBlock, timeoutMs = 300_000, onEvent } = {}) {
  const reveals = new Map(); // output hash -> outputs carried by a reveal
  let attested = null;
  let resolveResult;
  let rejectResult;
  const result = new Promise((res, rej) => {
    resolveResult = res;
    rejectResult = rej;
  });
  result.catch(() => {}); // callers may only await `settled`
  let stop;
  const settled = followBlocks(
    api,
    fromBlock,
    async (number, hash) => {
      const at = await api.at(hash);
      const records = await at.query.system.events();
      const mine = records
        .map(({ event }) => event)
        .filter((e) => ['jobs', 'settlement'].includes(e.section) && e.data.job?.toNumber?.() === job);
      let outcome;
      for (const event of mine) {
        const data = event.data;
        onEvent?.({ block: number, section: event.section, method: event.method, data: eventJson(data) });
        const time = () => blockTime(api, hash);
        switch (`${event.section}.${event.method}`) {
          case 'settlement.ResultSubmitted': {
            const outputs = data.outputs.isSome ? checkedOutputs(data.outputs.unwrap(), data.outputHash.toHex()) : null;
            attested = { outputHash: data.outputHash.toHex(), outputs, block: number, time: await time() };
            resolveResult({ ...attested, tensors: outputs && decodeTensors(outputs) });
            break;
          }
          case 'settlement.Revealed':
            for (const [outputHash, outputs] of await revealedOutputs(api, hash, job)) reveals.set(outputHash, outputs);
            break;
          case 'settlement.Settled': {
            const outputHash = data.outputHash.toHex();
            const outputs = attested?.outputHash === outputHash ? attested.outputs : reveals.get(outputHash) ?? null;
            const found = attested?.outputHash === outputHash ? attested : { block: number, time: await time() };
            const tensors = outputs && decodeTensors(outputs);
            resolveResult({ outputHash, outputs, tensors, block: found.block, time: found.time });
            outcome = {
              ...outcome,
              outputHash,
              outputs,
              tensors,
              executors: data.executors.map((a) => a.toString()),
              resultBlock: found.block,
              resultTime: found.time,
            };
            break;
          }
          case 'jobs.JobSettled':
            outcome = { ...outcome, status: 'settled', paid: data.paid.toBigInt(), refunded: data.refunded.toBigInt() };
            break;
          case 'jobs.JobFailed':
          case 'jobs.JobCancelled':
            outcome = { ...outcome, status: event.method === 'JobFailed' ? 'failed' : 'cancelled', refunded: data.refunded.toBigInt() };
            break;
          default:
        }
      }
      if (outcome?.status) {
        if (outcome.status !== 'settled') rejectResult(new Error(`job ${job} ${outcome.status}`));
        return { job, ...outcome, endBlock: number, endTime: await blockTime(api, hash) };
      }
      return undefined;
    },
    { timeoutMs, label: `job ${job}`, onStop: (s) => (stop = s) },
  );
  settled.catch((error) => rejectResult(error));
  return { result, settled, stop: () => stop?.() };
}

/** Event data as a JSON object with its field names (`{ job: 3, executor: '5Grw...' }`). */
function eventJson(data) {
  const json = data.toJSON();
  return data.names ? Object.fromEntries(data.names.map((name, i) => [name, json[i]])) : json;
}

/** Outputs whose blake2-256 must be `outputHash`. */
function checkedOutputs(bytes, outputHash) {
  const outputs = bytes.toU8a(true);
  if (blake2AsHex(outputs, 256) !== outputHash) throw new Error(`outputs do not hash to ${outputHash}`);
  return outputs;
}

/** The outputs of a job's quorum reveals in block `hash`, from its statement extrinsics. */
async function revealedOutputs(api, hash, job) {
  const { block } = await api.rpc.chain.getBlock(hash);
  const found = [];
  for (const xt of block.extrinsics) {
    const { section, method, args } = xt.method;
    if (section !== 'settlement' || !method.startsWith('submitStatements')) continue;
    for (const [statement] of args[0]) {
      if (statement.job.toNumber() !== job || !statement.claim.isReveal || statement.outputs.isNone) continue;
      const outputHash = statement.claim.asReveal.outputHash.toHex();
      found.push([outputHash, checkedOutputs(statement.outputs.unwrap(), outputHash)]);
    }
  }
  return found;
}

/**
 * Calls `onBlock(number, hash)` for each block of the best chain from `fromBlock` on, in
 * order, until it returns a value (the promise resolves with it) or `timeoutMs` passes.
 */
function followBlocks(api, fromBlock, onBlock, { timeoutMs, label, onStop }) {
  return new Promise((resolve, reject) => {
    let next = fromBlock;
    let best = -1;
    let busy = false;
    let done = false;
    let unsubscribe;
    const finish = (settle, value) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (unsubscribe) unsubscribe();
      settle(value);
    };
    const timer = setTimeout(() => finish(reject, new Error(`${label}: not done within ${timeoutMs} ms`)), timeoutMs);
    onStop(() => finish(reject, new Error(`${label}: stopped`)));
    const pump = async () => {
      if (busy) return;
      busy = true;
      try {
        while (!done && next <= best) {
          const hash = await api.rpc.chain.getBlockHash(next);
          const value = await onBlock(next, hash);
          next += 1;
          if (value !== undefined) finish(resolve, value);
        }
      } catch (error) {
        finish(reject, error);
      } finally {
        busy = false;
      }
      if (!done && next <= best) pump();
    };
    api.rpc.chain
      .subscribeNewHeads((header) => {
        best = header.number.toNumber();
        if (next === undefined) next = best;
        pump();
      })
      .then((unsub) => {
        unsubscribe = unsub;
        if (done) unsub();
      })
      .catch((error) => finish(reject, error));
  });
}

/**
 * Blocks and seconds (from block timestamps) from a job's inclusion to its result and to
 * its end.
 * @param {SubmittedJob} submitted
 * @param {JobOutcome} outcome
 * @returns {{resultBlocks: number, resultSeconds: number, settleBlocks: number, settleSeconds: number}}
 */
export function latency(submitted, outcome) {
  return {
    resultBlocks: outcome.resultBlock - submitted.block,
    resultSeconds: (outcome.resultTime - submitted.time) / 1000,
    settleBlocks: outcome.endBlock - submitted.block,
    settleSeconds: (outcome.endTime - submitted.time) / 1000,
  };
}

// ---------------------------------------------------------------------------------------
// Runtime API (`InferenceApi`)

/**
 * The fee a job on `model` in `mode` costs (fee per run times runs), or null if the model
 * takes no jobs in that mode (`InferenceApi_quote`).
 * @param {ApiPromise} api
 * @param {string} model
 * @param {string|object} mode
 * @returns {Promise<bigint|null>}
 */
export async function quote(api, model, mode) {
  const price = await api.call.inferenceApi.quote(model, mode);
  return price.isSome ? price.unwrap().toBigInt() : null;
}

/**
 * A job that has not ended, with its phase and provisional result (`InferenceApi_job`);
 * null once it settled, failed or was cancelled (see the events then).
 * @param {ApiPromise} api
 * @param {number} job
 * @returns {Promise<null|{client: string, model: string, inputHash: string, mode: object,
 *   maxFee: bigint, executors: string[], phase: string, phaseUntil: number|null,
 *   outputHash: string|null, outputs: Uint8Array|null}>} `phase` is `Waiting`, `Running`
 *   (`phaseUntil`: deadline), `Revealing`, `Provisional` (until: end of the challenge
 *   window) or `Disputed`.
 */
export async function jobStatus(api, job) {
  const report = await api.call.inferenceApi.job(job);
  if (report.isNone) return null;
  const r = report.unwrap();
  const phaseValue = r.phase.isWaiting || r.phase.isDisputed ? null : Object.values(r.phase.value.toJSON())[0];
  return {
    client: r.client.toString(),
    model: r.model.toHex(),
    inputHash: r.inputHash.toHex(),
    mode: r.mode.isAttested ? ATTESTED : quorum(r.mode.asQuorum.agree.toNumber(), r.mode.asQuorum.of.toNumber()),
    maxFee: r.maxFee.toBigInt(),
    executors: r.executors.map((a) => a.toString()),
    phase: r.phase.type,
    phaseUntil: phaseValue,
    outputHash: r.outputHash.isSome ? r.outputHash.unwrap().toHex() : null,
    outputs: r.outputs.isSome ? r.outputs.unwrap().toU8a(true) : null,
  };
}

/**
 * The statements the executor with session key `key` owes (`InferenceApi_pending_work`).
 * @param {ApiPromise} api
 * @param {string} key The executor's `infr` public key.
 * @returns {Promise<Array<{job: number, model: string, inputHash: string, due: 'Output'|'Commitment'|'Reveal'}>>}
 */
export async function pendingWork(api, key) {
  const items = await api.call.inferenceApi.pendingWork(key);
  return items.map((item) => ({
    job: item.job.toNumber(),
    model: item.model.toHex(),
    inputHash: item.inputHash.toHex(),
    due: item.due.type,
  }));
}

/**
 * Open disputes and their committees (`InferenceApi_open_disputes`).
 * @param {ApiPromise} api
 * @returns {Promise<Array<{job: number, committee: string[]}>>}
 */
export async function openDisputes(api) {
  const disputes = await api.call.inferenceApi.openDisputes();
  return disputes.map(([job, committee]) => ({ job: job.toNumber(), committee: committee.map((a) => a.toString()) }));
}
