// Following a job block by block until it ends.

import { u8aToString } from '@polkadot/util';
import { blake2AsHex } from '@polkadot/util-crypto';

import { decodeTensors } from './tensor.js';
import { settleOnce } from './tx.js';

/** Timestamp (ms) of a block. */
export async function blockTime(api, hash) {
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
 * @property {{reason: string, detail: string|null}[]} failures Why executors could not run
 *   the job, one entry per report (`settlement.ExecutionFailed`): `reason` is `InvalidModel`,
 *   `BadInput`, `Execution`, `Timeout` or `ModelUnavailable`; `detail` the engine's own words,
 *   signed with the claim, for a model it would not load (which operator or type stopped
 *   it). A failed job's `result` error names them.
 * @property {number} [resultBlock] Block of the result: the attested result, or the
 *   deciding reveal of a quorum.
 * @property {number} [resultTime] Its timestamp (ms).
 * @property {number} endBlock Block in which the job ended.
 * @property {number} endTime Its timestamp (ms).
 */

/**
 * Follows a job from block `fromBlock` on and reports its events as they happen.
 * `result` resolves when the job's result is known (an attested `settlement.ResultSubmitted`,
 * which is provisional until the challenge window closes, a proven `settlement.ResultProven`,
 * final at once, or a quorum's agreeing reveals at settlement); `settled` when the job ends (`settlement.Settled`, or `jobs.Failed`/`Cancelled`).
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
  const failures = [];
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
          case 'settlement.ResultProven': {
            const outputs = checkedOutputs(data.outputs, data.outputHash.toHex());
            attested = { outputHash: data.outputHash.toHex(), outputs, block: number, time: await time() };
            resolveResult({ ...attested, tensors: decodeTensors(outputs) });
            break;
          }
          case 'settlement.ExecutionFailed':
            failures.push({ reason: data.reason.type, detail: data.detail.isSome ? u8aToString(data.detail.unwrap()) : null });
            break;
          case 'settlement.Settled': {
            const outputHash = data.outputHash.toHex();
            const outputs = data.outputs.isSome ? checkedOutputs(data.outputs.unwrap(), outputHash) : null;
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
              status: 'settled',
              paid: data.paid.toBigInt(),
              refunded: data.refunded.toBigInt(),
            };
            break;
          }
          case 'jobs.Failed':
          case 'jobs.Cancelled':
            outcome = { ...outcome, status: event.method === 'Failed' ? 'failed' : 'cancelled', refunded: data.refunded.toBigInt() };
            break;
          default:
        }
      }
      if (outcome?.status) {
        const reported = failures.map(({ reason, detail }) => (detail ? `${reason}: ${detail}` : reason));
        const why = failures.length ? ` (executors reported ${[...new Set(reported)].join('; ')})` : '';
        if (outcome.status !== 'settled') rejectResult(new Error(`job ${job} ${outcome.status}${why}`));
        return { job, ...outcome, failures, endBlock: number, endTime: await blockTime(api, hash) };
      }
      return undefined;
    },
    { timeoutMs, label: `job ${job}`, onStop: (s) => (stop = s) },
  );
  settled.catch((error) => rejectResult(error));
  return { result, settled, stop: () => stop?.() };
}

/**
 * Waits for a job's executors to be drawn (`jobs.Assigned`): in the second block after its
 * submission at the earliest, from randomness nobody knew when it was sent, later if no
 * executor was free.
 * @param {ApiPromise} api
 * @param {number} job Job id.
 * @param {object} [options]
 * @param {number} [options.fromBlock] First block to look at (the submission's block);
 *   the best block by default.
 * @param {number} [options.attempt=1] Which assignment (2 and on: re-runs).
 * @param {number} [options.timeoutMs=60000]
 * @returns {Promise<{executors: string[], deadline: number, attempt: number, block: number}>}
 */
export function waitAssigned(api, job, { fromBlock, attempt = 1, timeoutMs = 60_000 } = {}) {
  return followBlocks(
    api,
    fromBlock,
    async (number, hash) => {
      const records = await (await api.at(hash)).query.system.events();
      const assigned = records
        .map(({ event }) => event)
        .find((e) => e.section === 'jobs' && e.method === 'Assigned' && e.data.job.toNumber() === job && e.data.attempt.toNumber() === attempt);
      if (!assigned) return undefined;
      const { executors, deadline } = assigned.data;
      return { executors: executors.map((a) => a.toString()), deadline: deadline.toNumber(), attempt, block: number };
    },
    { timeoutMs, label: `job ${job} assignment ${attempt}`, onStop: () => {} },
  );
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

/**
 * Calls `onBlock(number, hash)` for each block of the best chain from `fromBlock` on, in
 * order, until it returns a value (the promise resolves with it) or `timeoutMs` passes.
 */
function followBlocks(api, fromBlock, onBlock, { timeoutMs, label, onStop }) {
  return settleOnce(timeoutMs, `${label}: not done within ${timeoutMs} ms`, ({ resolve, reject, isDone }) => {
    let next = fromBlock;
    let best = -1;
    let busy = false;
    onStop(() => reject(new Error(`${label}: stopped`)));
    const pump = async () => {
      if (busy) return;
      busy = true;
      try {
        while (!isDone() && next <= best) {
          const hash = await api.rpc.chain.getBlockHash(next);
          const value = await onBlock(next, hash);
          next += 1;
          if (value !== undefined) resolve(value);
        }
      } catch (error) {
        reject(error);
      } finally {
        busy = false;
      }
      if (!isDone() && next <= best) pump();
    };
    return api.rpc.chain.subscribeNewHeads((header) => {
      best = header.number.toNumber();
      if (next === undefined) next = best;
      pump();
    });
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
