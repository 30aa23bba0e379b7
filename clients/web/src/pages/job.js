// A job, live: its timeline (submitted → assigned → result → challenge window → settled, or
// a dispute and its outcome; submitted → assigned → proven and settled for a proven job), its events, its outputs (a table, and a bar chart for a
// classifier's scores), and its receipt, verified in the browser against the chain spec's
// trust anchor: nothing the node says is taken on trust.

import * as haca from '@haca/client';
import { hexToString } from '@polkadot/util';

import anchor from '../anchor.json';
import { state } from '../chain.js';
import { amount, barChart, h, hash, note, specText, table } from '../ui.js';
import { lightCheck } from './light-check.js';

const ATTESTED_STEPS = ['Submitted', 'Assigned', 'Result', 'Challenge window', 'Settled'];
const QUORUM_STEPS = ['Submitted', 'Assigned', 'Commitments', 'Reveals', 'Settled'];
const PROVEN_STEPS = ['Submitted', 'Assigned', 'Proven and settled'];

/** A mode as people read it, and its timeline's steps. */
function modeView(mode) {
  if (mode === haca.ATTESTED) return ['Attested', ATTESTED_STEPS];
  if (mode === haca.PROVEN) return ['Proven (the runtime verified its proof)', PROVEN_STEPS];
  return [`Quorum ${mode.Quorum.agree} of ${mode.Quorum.of}`, QUORUM_STEPS];
}

/** The step a live phase is at, and how it reads. */
function liveStep(status, best, blockSeconds) {
  const left = (until) => `${Math.max(until - best, 0)} blocks (~${Math.max(until - best, 0) * blockSeconds} s)`;
  switch (status.phase) {
    case 'Waiting': return [1, 'waiting for executors to be drawn'];
    case 'Running': return [2, `executors running it; results due within ${left(status.phaseUntil)}`];
    case 'Revealing': return [3, `executors revealing their results; ${left(status.phaseUntil)} left`];
    case 'Provisional': return [3, `result provisional; the challenge window closes in ${left(status.phaseUntil)}`];
    case 'Publishing': return [3, `a verifier asked for the outputs; the executor publishes them within ${left(status.phaseUntil)}`, true];
    case 'Disputed': return [3, 'challenged: a committee of verifiers decides', true];
    case 'TraceDue': return [3, `challenged: the chain decides; the executor owes its trace within ${left(status.phaseUntil)}`, true];
    case 'Proving': return [3, `challenged: anyone may prove a step of the trace wrong within ${left(status.phaseUntil)}`, true];
    default: return [2, status.phase];
  }
}

function timeline(steps, current, { bad = false, done = false } = {}) {
  return h('ol', { class: 'timeline', id: 'timeline' }, steps.map((step, i) => {
    let kind = '';
    if (done || i < current) kind = 'done';
    else if (i === current) kind = bad ? 'bad' : 'current';
    return h('li', { class: kind }, step);
  }));
}

/** The outputs as a table, with a chart of a classifier's scores. */
function outputsView(bytes) {
  const tensors = haca.decodeTensors(bytes);
  return h('div', { id: 'outputs' }, tensors.map((tensor, i) => {
    const values = Array.from(tensor.data, (v) => (typeof v === 'bigint' ? Number(v) : v));
    const scores = tensor.type.startsWith('F') && values.length > 1 && values.length <= 32 && tensor.shape.filter((d) => d > 1).length === 1;
    let chart = null;
    if (scores) {
      const sum = values.reduce((a, b) => a + b, 0);
      const probabilities = values.every((v) => v >= 0 && v <= 1) && Math.abs(sum - 1) < 1e-3;
      const shown = probabilities ? values : softmax(values);
      chart = h('div', {}, h('p', { class: 'muted' }, probabilities ? 'Class probabilities' : 'Class probabilities (softmax of the scores)'),
        barChart(shown.map((_, k) => `class ${k}`), shown, { title: `output ${i}` }));
    }
    return h('div', { class: 'card' },
      h('strong', {}, `Output ${i}: ${specText(tensor)}`),
      table(['Index', 'Value'], values.slice(0, 64).map((v, k) => [String(k), String(v)]), { class: 'output-values' }),
      values.length > 64 ? note('muted', `… ${values.length - 64} more`) : null,
      chart);
  }));
}

function softmax(values) {
  const max = Math.max(...values);
  const exps = values.map((v) => Math.exp(v - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

export async function jobPage(job, fromBlock) {
  const { api, token } = state;
  const blockSeconds = Number(api.consts.babe.expectedBlockTime.toBigInt() / 1000n);
  const head = h('div');
  const line = h('div');
  const phase = h('p', { id: 'phase' });
  const outputs = h('div');
  const receiptBox = h('div', { class: 'card', id: 'receipt' }, note('muted', 'The receipt can be checked once the job has settled and its block is final.'));
  const events = h('tbody');
  let verified = false;
  let verifying = false;

  async function verify() {
    verifying = true;
    receiptBox.replaceChildren(note('muted', 'Building the receipt from the node and checking it…'));
    try {
      const receipt = await haca.buildReceipt(api, job);
      const result = await haca.verifyReceipt(receipt, anchor);
      const text = JSON.stringify(receipt, null, 2);
      const link = h('a', { href: URL.createObjectURL(new Blob([text], { type: 'application/json' })), download: `haca-job-${job}-receipt.json`, id: 'download' }, `Download the receipt (${text.length} bytes)`);
      receiptBox.replaceChildren(
        h('p', { class: 'ok', id: 'receipt-status' }, 'Receipt verified in this browser'),
        h('ul', { class: 'checks' },
          h('li', {}, `block #${result.block[0]} is final: GRANDPA justification of #${result.finalized[0]} signed by the chain spec's authorities`),
          h('li', {}, 'the job\'s outcome is in that block\'s state (storage proof against its state root)'),
          h('li', {}, `the outputs hash to the settled ${result.outputHash.slice(0, 18)}…`),
          h('li', {}, `signed by the executor session key${result.executors.length > 1 ? 's' : ''} of ${result.executors.join(', ')}`),
          result.group ? h('li', { id: 'receipt-group' }, `in the batch's group statement: result ${result.group.index + 1} of ${result.group.count} under the Merkle root ${result.group.root.slice(0, 18)}… the executor signed (inclusion proof checked)`) : null,
          lightCheck(receipt, result.block[0])),
        link, ' ', h('span', { class: 'muted' }, 'Re-check it with `haca-node verify-receipt` or the JS client\'s verifyReceipt.'));
      verified = true;
    } catch (error) {
      const failed = error instanceof haca.ReceiptError;
      receiptBox.replaceChildren(note(failed ? 'error' : 'muted', failed ? `The receipt does not verify: ${error.message}` : `No receipt yet: ${error.message}`));
    } finally {
      verifying = false;
    }
  }

  async function refresh(best) {
    const status = await haca.jobStatus(api, job);
    const outcome = status ? null : await haca.jobOutcome(api, job);
    if (!status && !outcome) {
      const next = (await api.query.jobs.nextJobId()).toNumber();
      line.replaceChildren(note('error', job >= next
        ? `There is no job ${job} yet: the next job gets id ${next}.`
        : `Job ${job} ended more than jobs.MaxOutcomes jobs ago (only its events remain: an indexer keeps them), or was never given (an attested batch's ids start a new span of 64).`));
      return;
    }
    const view = status ?? outcome;
    const [modeText, steps] = modeView(view.mode);
    head.replaceChildren(table(['Model', 'Client', 'Mode', 'Input hash'], [[
      hash(view.model), hash(view.client), modeText, hash(view.inputHash)]]));
    if (status) {
      const [current, text, bad] = liveStep(status, best, blockSeconds);
      line.replaceChildren(timeline(steps, current, { bad }));
      phase.textContent = `${text}.${status.executors.length ? ` Executors: ${status.executors.join(', ')}.` : ''}`;
      if (status.outputs) outputs.replaceChildren(h('h2', {}, 'Provisional outputs'), outputsView(status.outputs));
      return;
    }
    if (outcome.end === 'Settled') {
      line.replaceChildren(timeline(steps, steps.length, { done: true }));
      phase.textContent = `Settled in block #${outcome.endedAt}: ${amount(outcome.paid, token)} paid, ${amount(outcome.refunded, token)} returned. Executors: ${outcome.executors.join(', ')}.`;
      phase.className = 'ok';
      outputs.replaceChildren(h('h2', {}, 'Outputs'), outcome.outputs ? outputsView(outcome.outputs) : note('muted', `Too large to keep on chain; their hash is ${outcome.outputHash}.`));
      const finalized = (await api.rpc.chain.getHeader(await api.rpc.chain.getFinalizedHead())).number.toNumber();
      if (!verified && !verifying && finalized >= outcome.endedAt) await verify();
      else if (!verified && finalized < outcome.endedAt) receiptBox.replaceChildren(note('muted', `Waiting for block #${outcome.endedAt} to be final (finalized: #${finalized}).`));
    } else {
      line.replaceChildren(timeline(steps, steps.length - 1, { bad: true }));
      phase.textContent = `${outcome.end} in block #${outcome.endedAt}: ${amount(outcome.refunded, token)} returned to the client.`;
      phase.className = 'error';
    }
  }

  // The job's events, from its submission block (when known) on.
  let watch = null;
  const start = fromBlock ?? (await haca.jobOutcome(api, job))?.submittedAt;
  if (start) {
    watch = haca.watchJob(api, job, {
      fromBlock: start,
      timeoutMs: 3_600_000,
      onEvent: ({ block, section, method, data }) => {
        // A failure's explanation is the executor's engine's words: shown as text, whole.
        const text = (k, v) => (k === 'detail' && v ? hexToString(v) : JSON.stringify(v).slice(0, 120));
        const details = Object.entries(data).filter(([k]) => k !== 'job').map(([k, v]) => `${k}: ${text(k, v)}`).join('; ');
        events.append(h('tr', {}, h('td', {}, `#${block}`), h('td', {}, `${section}.${method}`), h('td', { class: 'muted' }, details)));
      },
    });
    watch.settled.catch(() => {});
  }

  let busy = false;
  const unsubscribe = await api.rpc.chain.subscribeNewHeads(async (header) => {
    if (busy) return;
    busy = true;
    try {
      await refresh(header.number.toNumber());
    } catch (error) {
      phase.textContent = `Could not read the job: ${error.message}`;
    } finally {
      busy = false;
    }
  });
  await refresh((await api.rpc.chain.getHeader()).number.toNumber());

  return {
    element: h('section', {},
      h('h1', {}, `Job ${job}`), head, line, phase, outputs,
      h('h2', {}, 'Receipt'), receiptBox,
      h('h2', {}, 'Events'), start ? h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Block'), h('th', {}, 'Event'), h('th', {}, 'Details'))), events)
        : note('muted', 'Open the job from its submission to follow its events.')),
    leave: () => {
      unsubscribe();
      watch?.stop();
    },
  };
}
