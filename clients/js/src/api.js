// The runtime API (`InferenceApi`): quotes, job status, pending work, disputes.

import { modeOf } from './connect.js';

/**
 * The fee a job on `model` in `mode` costs (fee per run times runs), or null if the model
 * takes no such job now: inactive, not accepting the mode, or (attested) audited by too
 * few verifiers (`InferenceApi_quote`).
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
 * What a job on `model` puts at stake of each executor's bond (`InferenceApi_job_stake`):
 * the slash of an executor that lies on it. An executor takes jobs only while its bond
 * covers the stakes of all its unsettled jobs. Null for a model that takes no jobs.
 * @param {ApiPromise} api
 * @param {string} model
 * @returns {Promise<bigint|null>}
 */
export async function jobStake(api, model) {
  const stake = await api.call.inferenceApi.jobStake(model);
  return stake.isSome ? stake.unwrap().toBigInt() : null;
}

/**
 * A job that has not ended, with its phase and provisional result (`InferenceApi_job`);
 * null once it settled, failed or was cancelled (see the events then).
 * @param {ApiPromise} api
 * @param {number} job
 * @returns {Promise<null|{client: string, model: string, inputHash: string, mode: object,
 *   maxFee: bigint, fee: bigint, stake: bigint, executors: string[], phase: string, phaseUntil: number|null,
 *   outputHash: string|null, outputs: Uint8Array|null}>} `phase` is `Waiting`, `Running`
 *   (`phaseUntil`: deadline), `Revealing`, `Provisional` (until: end of the challenge
 *   window), `Publishing` (until: the executor's last block to publish outputs too large
 *   for its statement, which a verifier asked for), `Disputed` (a committee decides), or,
 *   in a dispute the chain decides, `TraceDue` (until: the executor's last block for its
 *   trace) and `Proving` (until: the last block to prove a step of it wrong; see
 *   {@link disputeGame}). `outputs` are the result's outputs while on chain: carried by its
 *   statement, or published.
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
    mode: modeOf(r.mode),
    maxFee: r.maxFee.toBigInt(),
    fee: r.fee.toBigInt(),
    stake: r.stake.toBigInt(),
    executors: r.executors.map((a) => a.toString()),
    phase: r.phase.type,
    phaseUntil: phaseValue,
    outputHash: r.outputHash.isSome ? r.outputHash.unwrap().toHex() : null,
    outputs: r.outputs.isSome ? r.outputs.unwrap().toU8a(true) : null,
  };
}

/**
 * How an ended job ended (`InferenceApi_outcome`), for the chain's `jobs.MaxOutcomes` most
 * recently ended jobs. Null for a job that has not ended (see {@link jobStatus}), ended
 * longer ago (its `settlement.Settled`, `jobs.Failed` or `jobs.Cancelled` event remains:
 * an indexer keeps those), or never existed (ids from `jobs.nextJobId` on, and those an attested
 * batch skipped: its ids start a new span of 64).
 * @param {ApiPromise} api
 * @param {number} job
 * @returns {Promise<null|{client: string, model: string, inputHash: string, mode: string|object,
 *   submittedAt: number, endedAt: number, end: 'Settled'|'Failed'|'Cancelled', refunded: bigint,
 *   paid?: bigint, outputHash?: string, outputs?: Uint8Array|null, executors?: string[],
 *   groupRoot?: string|null}>}
 *   `outputs` are null when too large to be kept on chain (their hash remains); `groupRoot`
 *   is the Merkle root the executor signed when the result came in a group statement (an
 *   attested batch's results, answered at once), null otherwise.
 */
export async function jobOutcome(api, job) {
  const found = await api.call.inferenceApi.outcome(job);
  if (found.isNone) return null;
  const o = found.unwrap();
  const ended = o.end.value;
  const outcome = {
    client: o.client.toString(),
    model: o.model.toHex(),
    inputHash: o.inputHash.toHex(),
    mode: modeOf(o.mode),
    submittedAt: o.submittedAt.toNumber(),
    endedAt: o.endedAt.toNumber(),
    end: o.end.type,
    refunded: ended.refunded.toBigInt(),
  };
  if (!o.end.isSettled) return outcome;
  return {
    ...outcome,
    paid: ended.paid.toBigInt(),
    outputHash: ended.outputHash.toHex(),
    outputs: ended.outputs.isSome ? ended.outputs.unwrap().toU8a(true) : null,
    executors: ended.attestations.map((a) => a.executor.toString()),
    groupRoot: ended.attestations.find((a) => a.inclusion.isSome)?.inclusion.unwrap().root.toHex() ?? null,
  };
}

/**
 * The statements the executor (or spot checker) with session key `key` owes
 * (`InferenceApi_pending_work`).
 * @param {ApiPromise} api
 * @param {string} key The executor's `infr` public key.
 * @returns {Promise<Array<{job: number, model: string, inputHash: string, attempt: number, due: 'Output'|'Commitment'|'Reveal'|'OutputPages'|'Proof', spotCheck: boolean, group: number|null}>>}
 *   `group` is the first job id of the group whose results are owed in one group statement.
 */
export async function pendingWork(api, key) {
  const items = await api.call.inferenceApi.pendingWork(key);
  return items.map((item) => ({
    job: item.job.toNumber(),
    model: item.model.toHex(),
    inputHash: item.inputHash.toHex(),
    attempt: item.attempt.toNumber(),
    due: item.due.type,
    spotCheck: item.spotCheck.isTrue,
    group: item.group.isSome ? item.group.unwrap().toNumber() : null,
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

/**
 * The dispute the chain decides over `job`'s result, if one is open (`settlement.Games`,
 * `settlement.Traces`): who challenged with which output hash, the phase (`Trace`: the
 * executor owes its trace; `Proofs`: anyone may prove a step of it wrong) and its last
 * block, and the executor's trace (a hash per operator of the model's dispute graph) once
 * submitted. Follow its end with `settlement.StepProvenWrong` (the operator the trace got
 * wrong) and `settlement.DisputeResolved`.
 * @param {ApiPromise} api
 * @param {number} job
 * @param {string} [at] A block hash to read at (default: the best block).
 * @returns {Promise<null|{challenger: string, outputHash: string, phase: 'Trace'|'Proofs', until: number, trace: string[]|null}>}
 */
export async function disputeGame(api, job, at) {
  const state = at ? await api.at(at) : api;
  const [game, trace] = await Promise.all([state.query.settlement.games(job), state.query.settlement.traces(job)]);
  if (game.isNone) return null;
  const { challenger, outputHash, phase } = game.unwrap();
  return {
    challenger: challenger.toString(),
    outputHash: outputHash.toHex(),
    phase: phase.type,
    until: phase.value.until.toNumber(),
    trace: trace.isSome ? trace.unwrap().leaves.map((leaf) => leaf.toHex()) : null,
  };
}
