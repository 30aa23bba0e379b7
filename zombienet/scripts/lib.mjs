// Shared helpers of the zombienet suites' JS scripts (ES module, loaded by the `.cjs`
// entry points that zombienet's `js-script` requires). Everything chain-specific comes from
// the HACA JavaScript client in clients/js (metadata only, no type definitions).

import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

import * as haca from '../../clients/js/src/index.js';

export { haca, assert };

const here = dirname(fileURLToPath(import.meta.url));
const models = join(here, '..', '..', 'offchain-workers', 'models');

/** 1 HACA in plancks. */
export const UNIT = 10n ** 12n;

/** The demo MLP's reference input and output tensors (NumPy files next to the ONNX model). */
export const DEMO_INPUT = haca.readNpy(readFileSync(join(models, 'mlp.input.npy')));
export const DEMO_OUTPUT = haca.readNpy(readFileSync(join(models, 'mlp.output.npy')));

/** Prints a line prefixed with the script name, so the zombienet output stays readable. */
export function logger(name) {
  return (...parts) => console.log(`      [${name}]`, ...parts);
}

/** Connects to a node of the network by name (its WebSocket RPC on loopback). */
export async function connectTo(networkInfo, name) {
  const node = networkInfo.nodesByName[name];
  assert.ok(node, `no node ${name} in the network`);
  return haca.connect(node.wsUri, { timeoutMs: 60_000 });
}

/** The development accounts by name, and their addresses. */
export async function accounts() {
  const names = ['Alice', 'Bob', 'Charlie', 'Dave', 'Eve', 'Ferdie', 'One'];
  const pairs = await Promise.all(names.map((n) => haca.devAccount(n)));
  return Object.fromEntries(names.map((n, i) => [n, pairs[i]]));
}

/** Name of a development account by address (for messages). */
export function nameOf(accs, address) {
  const found = Object.entries(accs).find(([, pair]) => pair.address === address);
  return found ? found[0] : address;
}

/** The node's Prometheus text. */
export async function metricsText(networkInfo, name) {
  const uri = networkInfo.nodesByName[name].prometheusUri;
  const response = await fetch(uri);
  assert.ok(response.ok, `${name}: GET ${uri} answered ${response.status}`);
  return response.text();
}

/** Sum of the samples of a metric (any prefix, any labels); null when the node has none. */
export function metricValue(text, metric) {
  const re = new RegExp(`^(?:\\w+_)?${metric}(?:\\{[^}]*\\})? (\\S+)$`, 'gm');
  let sum = null;
  for (const match of text.matchAll(re)) sum = (sum ?? 0) + Number(match[1]);
  return sum;
}

/** Whether the decoded outputs match the demo model's reference outputs. */
export function matchesReference(tensors) {
  if (!tensors || tensors.length !== 1) return false;
  const [out] = tensors;
  const ref = DEMO_OUTPUT;
  if (out.type !== ref.type || JSON.stringify(out.shape) !== JSON.stringify(ref.shape)) return false;
  return Array.from(out.data).every((v, i) => Math.abs(v - ref.data[i]) < 1e-6);
}

/**
 * The first `count` jobs `client` submitted (quorum ones or not) as the finalised chain
 * numbers them, from `tracker`'s `jobs.Submitted` events: `{job, block, hash}` each (the
 * finalised block that included it), in order.
 */
export async function finalisedJobs(tracker, client, { quorum = false, count = 1, timeoutMs = 60_000 } = {}) {
  const matches = (e) => e.data.client.toString() === client && e.data.mode.isQuorum === quorum;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = tracker.all('jobs.Submitted', matches);
    if (found.length >= count) return found.slice(0, count).map((e) => ({ job: jobOf(e), block: e.block, hash: e.hash }));
    assert.ok(Date.now() < deadline, `${count} jobs of ${client} not finalised within ${timeoutMs} ms`);
    await sleep(500);
  }
}

/**
 * Checks the spot check of a settled quorum `job`, if one was drawn (on a tenth of quorum
 * assignments): Eve's node answers hers and passes; the genesis verifiers without a node in
 * the network miss theirs and fail (and are slashed).
 */
export function checkSpotCheck(tracker, accs, job, log) {
  const [check] = tracker.all('jobs.SpotCheckDrawn', (e) => jobOf(e) === job);
  if (!check) {
    log(`quorum job ${job}: no spot check drawn`);
    return;
  }
  const checker = check.data.checker.toString();
  const expected = checker === accs.Eve.address ? 'settlement.SpotCheckPassed' : 'settlement.SpotCheckFailed';
  const judged = tracker.all(expected, (e) => jobOf(e) === job && e.data.checker.toString() === checker);
  assert.equal(judged.length, 1, `the spot checker ${nameOf(accs, checker)}: ${expected}`);
  log(`quorum job ${job}: spot-checked by ${nameOf(accs, checker)}: ${expected}`);
}

/**
 * Tops the genesis verifiers (Eve, Ferdie, One) up to the minimum verifier bond. One has no
 * node: it misses every spot check drawn for it (random) and is slashed below the minimum,
 * where it no longer counts towards the verifiers attested jobs need (`jobs.TooFewVerifiers`).
 * Returns the verifiers' accounts.
 */
export async function topUpVerifiers(api, accs) {
  const verifiers = [accs.Eve, accs.Ferdie, accs.One];
  const minimum = api.consts.executors.minVerifierBond.toBigInt();
  await Promise.all(verifiers.map(async (who) => {
    const bond = (await api.query.executors.executors(who.address)).unwrap().bond.toBigInt();
    if (bond < minimum) await haca.bondExtra(api, who, minimum - bond);
  }));
  return verifiers;
}

/** Decodes the `outputs` of a `settlement.ResultSubmitted` event (null when not on chain). */
export function eventOutputs(event) {
  const outputs = event.data.outputs;
  return outputs.isSome ? haca.decodeTensors(outputs.unwrap().toU8a(true)) : null;
}

/**
 * Follows the finalised chain from block `fromBlock` on and keeps every `jobs`, `settlement`
 * and `executors` event, with its block. `waitFor(predicate)` resolves with the first kept
 * event that matches (already seen or still to come). Finalised blocks only: a block read
 * from the best chain can be replaced by a fork of the same number (BABE forks), and its
 * events with it.
 */
export function trackEvents(api, fromBlock, { sections = ['jobs', 'settlement', 'executors'] } = {}) {
  const events = [];
  const waiters = new Set();
  let next = fromBlock;
  let best = -1; // the last finalised block
  let busy = false;
  let stopped = false;
  let unsubscribe;
  let failure = null;

  const check = () => {
    for (const waiter of waiters) {
      const found = events.find(waiter.predicate);
      if (found) {
        waiters.delete(waiter);
        clearTimeout(waiter.timer);
        waiter.resolve(found);
      } else if (failure) {
        waiters.delete(waiter);
        clearTimeout(waiter.timer);
        waiter.reject(failure);
      }
    }
  };

  const pump = async () => {
    if (busy || stopped) return;
    busy = true;
    try {
      while (!stopped && next <= best) {
        const hash = await api.rpc.chain.getBlockHash(next);
        const records = await (await api.at(hash)).query.system.events();
        for (const { event } of records) {
          if (!sections.includes(event.section)) continue;
          events.push({ block: next, hash: hash.toHex(), section: event.section, method: event.method, data: event.data });
        }
        next += 1;
        check();
      }
    } catch (error) {
      failure = error;
      check();
    } finally {
      busy = false;
    }
    if (!stopped && next <= best) pump();
  };

  api.rpc.chain
    .subscribeFinalizedHeads((header) => {
      best = header.number.toNumber();
      pump();
    })
    .then((unsub) => {
      unsubscribe = unsub;
      if (stopped) unsub();
    })
    .catch((error) => {
      failure = error;
      check();
    });

  return {
    events,
    /** Kept events matching `section.method` and `filter`. */
    all(name, filter = () => true) {
      const [section, method] = name.split('.');
      return events.filter((e) => e.section === section && e.method === method && filter(e));
    },
    /** The first event `section.method` matching `filter`, waiting up to `timeoutMs`. */
    waitFor(name, filter = () => true, timeoutMs = 180_000) {
      const [section, method] = name.split('.');
      const predicate = (e) => e.section === section && e.method === method && filter(e);
      return new Promise((resolve, reject) => {
        const waiter = { predicate, resolve, reject };
        waiter.timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`no ${name} (matching) within ${timeoutMs / 1000} s; seen up to block #${next - 1}`));
        }, timeoutMs);
        waiters.add(waiter);
        check();
      });
    },
    stop() {
      stopped = true;
      if (unsubscribe) unsubscribe();
      for (const waiter of waiters) clearTimeout(waiter.timer);
      waiters.clear();
    },
  };
}

/** Job id of an event (`data.job`), as a number. */
export const jobOf = (e) => e.data.job.toNumber();

/** Addresses in a `BoundedVec<AccountId>` event field. */
export const addresses = (field) => field.map((a) => a.toString());

/** Best block number and hash of a node. */
export async function bestBlock(api) {
  const header = await api.rpc.chain.getHeader();
  return { number: header.number.toNumber(), hash: header.hash.toHex() };
}

/** Finalised block number of a node. */
export async function finalizedBlock(api) {
  const hash = await api.rpc.chain.getFinalizedHead();
  return (await api.rpc.chain.getHeader(hash)).number.toNumber();
}

/**
 * The block at the node's best height once that height is final: its number and canonical
 * hash. State is read at such blocks only: a best block that loses a fork has its state
 * discarded at finality, and reads at it fail.
 */
export async function finalBlock(api) {
  const { number } = await bestBlock(api);
  while ((await finalizedBlock(api)) < number) await sleep(500);
  const hash = await api.rpc.chain.getBlockHash(number);
  return { number, hash: hash.toHex() };
}

/** Resolves after `ms`. */
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** JSON with bigints as strings. */
export const json = (value) => JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? v.toString() : v));

/** `X.YYYY HACA` for messages. */
export const haca4 = (plancks) => `${(Number(plancks) / 1e12).toFixed(4)} HACA`;

/** Where a suite's figures go: `$ZN_RESULTS_DIR` (set by run.sh), else the network's dir. */
export function resultsPath(networkInfo, file) {
  const dir = process.env.ZN_RESULTS_DIR || networkInfo.tmpDir;
  mkdirSync(dir, { recursive: true });
  return join(dir, file);
}

/** Shared state between the scripts of one suite, in the network's directory. */
export function saveState(networkInfo, key, value) {
  writeFileSync(join(networkInfo.tmpDir, `${key}.json`), json(value));
}

export function loadState(networkInfo, key) {
  return JSON.parse(readFileSync(join(networkInfo.tmpDir, `${key}.json`), 'utf8'));
}

/**
 * Runs `body(api...)` with connections to the named nodes and closes them afterwards,
 * whatever happens.
 */
export async function withApis(networkInfo, names, body) {
  const apis = [];
  try {
    for (const name of names) apis.push(await connectTo(networkInfo, name));
    return await body(...apis);
  } finally {
    await Promise.all(apis.map((api) => api.disconnect().catch(() => {})));
  }
}
