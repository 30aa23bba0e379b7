// Submitting jobs.

import { u8aToHex, u8aToU8a } from '@polkadot/util';

import { quote } from './api.js';
import { ATTESTED } from './connect.js';
import { encodeTensors } from './tensor.js';
import { receipt, sendTx } from './tx.js';
import { blockTime } from './watch.js';

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
  const r = await sendTx(api, client, api.tx.jobs.submit(model, inputHex(api, input), mode, fee), { nonce, timeoutMs });
  const [job] = await submittedJobs(api, r);
  return job;
}

/**
 * Submits one job per input in one transaction (`jobs.submitBatch`): the same model, mode
 * and maximum fee for each, at a lower transaction cost per job than one `submitJob` each.
 * The jobs get consecutive ids (an attested batch of two or more starts a new span of 64: it
 * is one group on chain, drawn to one executor). One bad input fails the whole batch with its
 * `jobs` error (e.g. `WrongInputShape`; `EmptyBatch` for no inputs): nothing is held or
 * created.
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
  const tx = api.tx.jobs.submitBatch(model, inputs.map((input) => inputHex(api, input)), mode, fee);
  return submittedJobs(api, await sendTx(api, client, tx, { nonce, timeoutMs }));
}

/**
 * A job input as a hex string (polkadot.js reads a Uint8Array argument as already
 * SCALE-encoded, length prefix included). Refuses an input longer than `jobs.MaxInputLen`,
 * which the chain would refuse (`InputTooLong`) after charging the transaction fee.
 */
function inputHex(api, input) {
  const bytes = Array.isArray(input) ? encodeTensors(input) : u8aToU8a(input);
  const max = api.consts.jobs.maxInputLen.toNumber();
  if (bytes.length > max) throw new Error(`the input is ${bytes.length} bytes, longer than jobs.MaxInputLen (${max})`);
  return u8aToHex(bytes);
}

/** The jobs a submission's receipt reports, in id order. */
async function submittedJobs(api, r) {
  const time = await blockTime(api, r.blockHash);
  return r.events
    .filter((e) => e.section === 'jobs' && e.method === 'Submitted')
    .map((e) => ({
      job: e.data.job.toNumber(),
      block: r.blockNumber,
      time,
      maxFee: e.data.maxFee.toBigInt(),
      fee: r.fee,
      receipt: r,
    }));
}
