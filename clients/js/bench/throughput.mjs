#!/usr/bin/env node
// Chain throughput benchmark: a burst of N inference jobs next to a burst of balance
// transfers measured in the same run on the same node, reported as ratios (see README.md,
// "Benchmarks"). Not a timed test: it fails only when something does not finish.
//
//   node bench/throughput.mjs [--url ws://host:port] [--jobs 1024] [--batch 64]
//        [--accounts 64] [--mode attested|quorum] [--transfers 9000] [--timeout 1200]
//
// --batch K sends the jobs K per transaction (`jobs.submitBatch`; 1: one `jobs.submit` each).
// --mode quorum submits 2-of-2 quorum jobs: it needs a chain with two executors of the
// demo model (give --url; the dev chain has one).
//
// Without --url it starts its own dev node (`$HACA_NODE --dev --executor`, free ports,
// temporary base path, a transaction pool large enough for both bursts) and stops exactly
// that process, by its pid, when done.

import os from 'node:os';
import { parseArgs } from 'node:util';

import { u8aToHex } from '@polkadot/util';

import { ATTESTED, DEMO_MODEL, connect, decodeDispatchError, devAccount, encodeTensors, jobStake, quorum, quote } from '../src/index.js';
import { nodeBinary, startNode } from '../tests/harness.js';
import { quantile } from './stats.mjs';

const HACA = 10n ** 12n;
const USAGE = `usage: node bench/throughput.mjs [--url ws://host:port] [--jobs N] [--batch K]
       [--accounts K] [--mode attested|quorum] [--transfers N] [--timeout SECONDS]`;

// ---------------------------------------------------------------------------------------
// Options

function options() {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      jobs: { type: 'string', default: '1024' },
      batch: { type: 'string', default: '64' },
      accounts: { type: 'string', default: '64' },
      mode: { type: 'string', default: 'attested' },
      transfers: { type: 'string', default: '9000' },
      timeout: { type: 'string', default: '1200' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const count = (name, value, min) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}\n${USAGE}`);
    return n;
  };
  if (!['attested', 'quorum'].includes(values.mode)) throw new Error(`--mode is attested or quorum\n${USAGE}`);
  const jobs = count('jobs', values.jobs, 1);
  return {
    url: values.url,
    jobs,
    batch: count('batch', values.batch, 1),
    accounts: count('accounts', values.accounts, 1),
    mode: values.mode,
    transfers: count('transfers', values.transfers, 1),
    timeoutMs: count('timeout', values.timeout, 1) * 1000,
  };
}

// ---------------------------------------------------------------------------------------
// Following the chain block by block

/**
 * Loads every block of the best chain from the one current at `start()` on, in order, with
 * its extrinsics (hash, call, statements carried), events (with the extrinsic index),
 * timestamp and weight, and calls the handlers with each.
 */
class Chain {
  constructor(api) {
    this.api = api;
    this.blocks = new Map();
    this.handlers = new Set();
    this.headWaiters = [];
    this.best = -1;
    this.busy = false;
    this.error = null;
  }

  async start() {
    const header = await this.api.rpc.chain.getHeader();
    const current = header.number.toNumber();
    await this.load(current);
    this.next = current + 1;
    this.unsubscribe = await this.api.rpc.chain.subscribeNewHeads((head) => {
      this.best = Math.max(this.best, head.number.toNumber());
      for (const resolve of this.headWaiters.splice(0)) resolve(head.number.toNumber());
      this.pump();
    });
  }

  stop() {
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  /** Resolves when the node announces its next new best block. */
  nextHead() {
    return new Promise((resolve) => this.headWaiters.push(resolve));
  }

  async load(number) {
    const { api } = this;
    const hash = await api.rpc.chain.getBlockHash(number);
    const at = await api.at(hash);
    const [{ block }, records, now, weight] = await Promise.all([
      api.rpc.chain.getBlock(hash),
      at.query.system.events(),
      at.query.timestamp.now(),
      at.query.system.blockWeight(),
    ]);
    const extrinsics = block.extrinsics.map((xt, index) => {
      const { section, method } = xt.method;
      const statements = section !== 'settlement' ? 0
        : method.startsWith('submitStatements') ? xt.method.args[0].length
          : method === 'submitGroupResults' ? xt.method.args[0].results.length : 0;
      return { index, hash: xt.hash.toHex(), section, method, length: xt.encodedLength, statements };
    });
    const events = records.map(({ phase, event }) => ({
      index: phase.isApplyExtrinsic ? phase.asApplyExtrinsic.toNumber() : null,
      section: event.section,
      method: event.method,
      data: event.data,
    }));
    const info = {
      number,
      hash: hash.toHex(),
      time: now.toNumber(),
      extrinsics,
      events,
      normalWeight: weight.normal.refTime.toBigInt(),
      mandatoryWeight: weight.mandatory.refTime.toBigInt(),
      totalWeight: weight.normal.refTime.toBigInt() + weight.operational.refTime.toBigInt() + weight.mandatory.refTime.toBigInt(),
      length: extrinsics.reduce((sum, xt) => sum + xt.length, 0),
    };
    this.blocks.set(number, info);
    return info;
  }

  async pump() {
    if (this.busy || this.error) return;
    this.busy = true;
    try {
      while (this.next <= this.best) {
        const info = await this.load(this.next);
        this.next += 1;
        for (const handler of [...this.handlers]) handler(info);
      }
    } catch (error) {
      this.error = error;
      for (const handler of [...this.handlers]) handler(null, error);
    } finally {
      this.busy = false;
    }
    if (!this.error && this.next <= this.best) this.pump();
  }

  /**
   * Calls `onBlock(info)` for every block loaded from now on until it returns a value other
   * than undefined; resolves with that value.
   */
  until(onBlock) {
    return new Promise((resolve, reject) => {
      const handler = (info, error) => {
        if (error) {
          this.handlers.delete(handler);
          reject(error);
          return;
        }
        try {
          const value = onBlock(info);
          if (value !== undefined) {
            this.handlers.delete(handler);
            resolve(value);
          }
        } catch (e) {
          this.handlers.delete(handler);
          reject(e);
        }
      };
      if (this.error) reject(this.error);
      else this.handlers.add(handler);
    });
  }

  /**
   * Resolves when every extrinsic hash of `hashes` is in a block: hash -> {block, index,
   * ok, error} (`error`: the decoded dispatch error of a failed call).
   */
  included(hashes) {
    const waiting = new Set(hashes);
    const found = new Map();
    return this.until((info) => {
      for (const xt of info.extrinsics) {
        if (!waiting.has(xt.hash)) continue;
        waiting.delete(xt.hash);
        const failed = info.events.find((e) => e.index === xt.index && e.section === 'system' && e.method === 'ExtrinsicFailed');
        found.set(xt.hash, {
          block: info.number,
          index: xt.index,
          ok: !failed,
          error: failed ? decodeDispatchError(this.api, failed.data.dispatchError) : null,
        });
      }
      return waiting.size === 0 ? found : undefined;
    });
  }
}

// ---------------------------------------------------------------------------------------
// Sending

/**
 * Sends pre-signed extrinsics all at once (`author_submitExtrinsic`, no status
 * subscriptions). Resolves with the wall time (ms) until the pool took them all; rejects
 * with the pool's reason if it refused any.
 */
async function sendAll(api, xts) {
  const started = performance.now();
  const outcomes = await Promise.allSettled(xts.map((xt) => api.rpc.author.submitExtrinsic(xt)));
  const refused = outcomes.filter((o) => o.status === 'rejected');
  if (refused.length) {
    throw new Error(`the pool refused ${refused.length} of ${xts.length} transactions: ${refused[0].reason?.message ?? refused[0].reason}`);
  }
  return performance.now() - started;
}

/**
 * Signs one call per item from the accounts round-robin (item i from account i mod K),
 * with explicit consecutive nonces and an immortal era, in the order the items will be
 * sent: every account's first transaction, then every account's second, and so on.
 */
async function presign(api, accounts, count, call) {
  const nonces = await Promise.all(accounts.map(async (a) => (await api.rpc.system.accountNextIndex(a.address)).toNumber()));
  const xts = [];
  for (let i = 0; i < count; i++) {
    const k = i % accounts.length;
    const nonce = nonces[k] + Math.floor(i / accounts.length);
    xts.push(await call(i, accounts[k]).signAsync(accounts[k], { nonce, era: 0 }));
  }
  return xts;
}

// ---------------------------------------------------------------------------------------
// Figures

const fixed = (x, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : '-');
const seconds = (ms) => `${fixed(ms / 1000, 1)} s`;
const pad = (s, n) => String(s).padEnd(n);
const lpad = (s, n) => String(s).padStart(n);

/** The per-second rate of `count` items in blocks `first`..`last`: the interval runs from
 * the timestamp of the block before `first` to that of `last` (whole block intervals). */
function rate(chain, count, first, last) {
  if (!count || !Number.isFinite(first) || !Number.isFinite(last)) return { perSecond: NaN, spanMs: NaN, blocks: NaN };
  const span = chain.blocks.get(last).time - chain.blocks.get(first - 1).time;
  return { perSecond: (count * 1000) / span, spanMs: span, blocks: last - first + 1 };
}

function weightShare(info, maxNormal) {
  return (Number(info.normalWeight) / Number(maxNormal)) * 100;
}

// ---------------------------------------------------------------------------------------
// The benchmark

async function main(opts, state) {
  const wallStart = performance.now();
  const loadStart = os.loadavg();
  let node = null;
  if (!opts.url) {
    state.phase = 'starting the node';
    const poolLimit = String(2 * (opts.jobs + opts.transfers)); // the default 8192 would refuse part of a burst
    node = await startNode({ timeoutMs: 180_000, extraArgs: ['--pool-limit', poolLimit] });
    state.node = node;
    console.log(`started ${nodeBinary()} --dev --executor (pid ${node.pid}) at ${node.url}`);
  }
  const url = opts.url ?? node.url;
  state.phase = `connecting to ${url}`;
  const api = await connect(url, { timeoutMs: 60_000 });
  state.api = api;

  const [chainName, nodeName, nodeVersion] = await Promise.all([
    api.rpc.system.chain(),
    api.rpc.system.name(),
    api.rpc.system.version(),
  ]);
  const { specName, specVersion } = api.runtimeVersion;
  const chain = new Chain(api);
  state.chain = chain;
  await chain.start();

  const maxNormal = api.consts.system.blockWeights.perClass.normal.maxTotal.unwrap().refTime.toBigInt();
  const maxBlock = api.consts.system.blockWeights.maxBlock.refTime.toBigInt();
  const maxCapacity = api.consts.executors.maxCapacity.toNumber();
  const maxPending = api.consts.jobs.maxPendingJobs.toNumber();
  const jobsHookWeight = api.consts.jobs.maxHookWeight.refTime.toBigInt();
  const timerWeight = api.consts.settlement.maxTimerWeight.refTime.toBigInt();
  const maxStatementsPerTx = api.consts.settlement.maxStatementsPerTx.toNumber();
  const maxJobsPerSubmit = api.consts.jobs.maxJobsPerSubmit.toNumber();
  if (opts.batch > maxJobsPerSubmit) throw new Error(`--batch ${opts.batch} is above the chain's MaxJobsPerSubmit (${maxJobsPerSubmit})`);
  const challengeWindow = api.consts.settlement.challengeWindow.toNumber();
  const mode = opts.mode === 'attested' ? ATTESTED : quorum(2, 2);

  // ----- Set-up: accounts, funds, executor capacity.
  state.phase = 'set-up';
  const devs = await Promise.all(['Alice', 'Bob', 'Charlie', 'Dave', 'Eve', 'Ferdie'].map(devAccount));
  const alice = devs[0];
  const funders = devs.slice(1);
  const accounts = await Promise.all(Array.from({ length: opts.accounts }, (_, i) => devAccount(`//bench/${i}`)));

  const price = await quote(api, DEMO_MODEL, mode);
  if (price === null) throw new Error(`the demo model ${DEMO_MODEL} takes no ${opts.mode} jobs on this chain`);
  const input = (i) => [{ type: 'F32', shape: [1, 4], data: [0.5 + (i % 16) / 8, -1, 2, 0.25 + Math.floor(i / 16) / 64] }];
  const inputLength = encodeTensors(input(0)).length;
  const jobDeposit = api.consts.jobs.jobDeposit.toBigInt() + api.consts.jobs.inputByteDeposit.toBigInt() * BigInt(inputLength);
  const transferAmount = HACA / 100n; // 0.01 HACA between bench accounts
  const feeMargin = HACA / 10n; // well above one transaction's fee
  const jobsEach = BigInt(Math.ceil(opts.jobs / opts.accounts));
  const transfersEach = BigInt(Math.ceil(opts.transfers / opts.accounts));
  const need = jobsEach * (price + jobDeposit + feeMargin) + transfersEach * (transferAmount + feeMargin) + 10n * HACA;

  const balances = await Promise.all(accounts.map(async (a) => (await api.query.system.account(a.address)).data.free.toBigInt()));
  const short = accounts.filter((_, i) => balances[i] < need);
  const setup = [];
  if (short.length) {
    const funderNonces = await Promise.all(funders.map(async (f) => (await api.rpc.system.accountNextIndex(f.address)).toNumber()));
    for (let i = 0; i < short.length; i++) {
      const f = i % funders.length;
      const nonce = funderNonces[f]++;
      setup.push(await api.tx.balances.transferKeepAlive(short[i].address, 2n * need).signAsync(funders[f], { nonce, era: 0 }));
    }
  }
  const aliceInfo = await api.query.executors.executors(alice.address);
  let capacityNote;
  if (aliceInfo.isSome && aliceInfo.unwrap().roles.executor.isTrue) {
    const capacity = aliceInfo.unwrap().capacity.toNumber();
    if (capacity < maxCapacity) {
      const nonce = (await api.rpc.system.accountNextIndex(alice.address)).toNumber();
      setup.push(await api.tx.executors.setCapacity(maxCapacity).signAsync(alice, { nonce, era: 0 }));
      capacityNote = `Alice's capacity raised from ${capacity} to ${maxCapacity}`;
    } else {
      capacityNote = `Alice's capacity is already ${capacity}`;
    }
    // Her bond must cover the stakes of every job she may hold unsettled at once.
    const stake = await jobStake(api, DEMO_MODEL);
    const bond = aliceInfo.unwrap().bond.toBigInt();
    const bondNeeded = stake * BigInt(opts.jobs);
    if (bond < bondNeeded) {
      const nonce = (await api.rpc.system.accountNextIndex(alice.address)).toNumber() + (capacity < maxCapacity ? 1 : 0);
      setup.push(await api.tx.executors.bondExtra(bondNeeded - bond).signAsync(alice, { nonce, era: 0 }));
      capacityNote += `, her bond raised from ${fmtHaca(bond)} to ${fmtHaca(bondNeeded)} (${opts.jobs} jobs' stakes)`;
    }
  } else {
    capacityNote = 'Alice is no executor here: capacities left as they are';
  }
  if (setup.length) {
    const included = chain.included(setup.map((xt) => xt.hash.toHex()));
    await sendAll(api, setup);
    const outcomes = await included;
    const failed = [...outcomes.values()].find((o) => !o.ok);
    if (failed) throw new Error(`set-up transaction failed: ${failed.error.section}.${failed.error.method}`);
  }
  const servers = (await api.query.executors.modelServers(DEMO_MODEL)).map(String);
  const capacities = await Promise.all(
    servers.map(async (who) => (await api.query.executors.executors(who)).unwrap().capacity.toNumber()),
  );
  const totalCapacity = capacities.reduce((a, b) => a + b, 0);
  if (opts.jobs > totalCapacity + maxPending) {
    console.log(
      `warning: ${opts.jobs} jobs at once exceed the free executor slots (${totalCapacity}) plus MaxPendingJobs (${maxPending}): ` +
        'expect jobs.QueueFull for the rest',
    );
  }
  console.log(
    `set-up: ${accounts.length} accounts (${short.length} funded now, ${fmtHaca(2n * need)} each), ${capacityNote}; ` +
      `${servers.length} executor(s) of the demo model, total capacity ${totalCapacity}`,
  );

  // ----- Phase 1: transfers.
  state.phase = 'phase 1 (transfers): signing';
  const transfers = await presign(api, accounts, opts.transfers, (i) =>
    api.tx.balances.transferKeepAlive(accounts[(i + 1) % accounts.length].address, transferAmount),
  );
  await chain.nextHead(); // send right after a block, so the pool fills before the next
  state.phase = 'phase 1 (transfers): sending';
  const transferHashes = transfers.map((xt) => xt.hash.toHex());
  const transferSet = new Set(transferHashes);
  const transferIncluded = chain.included(transferHashes);
  const printer1 = blockPrinter(chain, maxNormal, (info) => {
    const n = info.extrinsics.filter((xt) => transferSet.has(xt.hash)).length;
    return n ? `transfers ${n}` : null;
  });
  const t1 = performance.now();
  const transferSendMs = await sendAll(api, transfers);
  state.phase = `phase 1 (transfers): waiting for ${opts.transfers} inclusions`;
  const transferOutcomes = await transferIncluded;
  const transferWallMs = performance.now() - t1;
  printer1.stop();
  const transferFailures = [...transferOutcomes.values()].filter((o) => !o.ok);
  const tBlocks = [...transferOutcomes.values()].map((o) => o.block);
  const tFirst = Math.min(...tBlocks);
  const tLast = Math.max(...tBlocks);
  const transferRate = rate(chain, opts.transfers, tFirst, tLast);
  const transferMaxPerBlock = Math.max(...countPerBlock(tBlocks).values());

  // ----- Phase 2: jobs.
  state.phase = 'phase 2 (jobs): signing';
  const submitTxs = Math.ceil(opts.jobs / opts.batch);
  const submits = await presign(api, accounts, submitTxs, (t) => {
    if (opts.batch === 1) return api.tx.jobs.submit(DEMO_MODEL, u8aToHex(encodeTensors(input(t))), mode, price);
    const ids = Array.from({ length: Math.min(opts.batch, opts.jobs - t * opts.batch) }, (_, k) => t * opts.batch + k);
    return api.tx.jobs.submitBatch(DEMO_MODEL, ids.map((i) => u8aToHex(encodeTensors(input(i)))), mode, price);
  });
  await chain.nextHead();
  state.phase = 'phase 2 (jobs): sending';
  const submitHashes = submits.map((xt) => xt.hash.toHex());
  const submitSet = new Set(submitHashes);
  const jobs = new Map(); // job id -> record
  const counters = { submitFailed: new Map(), deadlineMissed: 0, statementRejected: 0, executionFailed: 0, challenged: 0, reassigned: 0 };
  let included = 0;
  const perBlock = new Map(); // block -> { submits, statementTxs, statements, results, settled }
  const done = chain.until((info) => {
    const row = { submits: 0, statementTxs: 0, statements: 0, results: 0, settled: 0 };
    for (const xt of info.extrinsics) {
      if (submitSet.has(xt.hash)) {
        row.submits += 1;
        included += 1;
        const failed = info.events.find((e) => e.index === xt.index && e.section === 'system' && e.method === 'ExtrinsicFailed');
        if (failed) {
          const { section, method } = decodeDispatchError(api, failed.data.dispatchError);
          const key = `${section}.${method}`;
          counters.submitFailed.set(key, (counters.submitFailed.get(key) ?? 0) + 1);
        }
      }
      if (xt.statements) {
        row.statementTxs += 1;
        row.statements += xt.statements;
      }
    }
    for (const e of info.events) {
      const key = `${e.section}.${e.method}`;
      if (key === 'jobs.Submitted') {
        const xt = info.extrinsics[e.index];
        if (xt && submitSet.has(xt.hash)) {
          jobs.set(e.data.job.toNumber(), { submitted: info.number, submitTime: info.time });
        }
        continue;
      }
      const id = e.data.job?.toNumber?.();
      const job = id === undefined ? undefined : jobs.get(id);
      if (!job) continue;
      switch (key) {
        case 'jobs.Assigned':
          if (job.assigned === undefined) {
            job.assigned = info.number;
            job.assignTime = info.time;
          } else counters.reassigned += 1;
          break;
        case 'settlement.ResultSubmitted':
          job.result = info.number;
          job.resultTime = info.time;
          row.results += 1;
          break;
        case 'settlement.Settled':
          if (job.result === undefined) {
            job.result = info.number; // a quorum's result is its deciding reveal
            job.resultTime = info.time;
            row.results += 1;
          }
          job.end = info.number;
          job.endTime = info.time;
          job.status = e.method;
          row.settled += 1;
          break;
        case 'jobs.Failed':
        case 'jobs.Cancelled':
          job.end = info.number;
          job.endTime = info.time;
          job.status = e.method;
          break;
        case 'jobs.DeadlineMissed':
          counters.deadlineMissed += 1;
          break;
        case 'settlement.StatementRejected':
          counters.statementRejected += 1;
          break;
        case 'settlement.ExecutionFailed':
          counters.executionFailed += 1;
          break;
        case 'settlement.Challenged':
          counters.challenged += 1;
          break;
        default:
      }
    }
    perBlock.set(info.number, row);
    const ended = [...jobs.values()].filter((j) => j.end !== undefined).length;
    state.phase = `phase 2 (jobs): block #${info.number}, ${included}/${submitTxs} submissions included, ${jobs.size} jobs, ` +
      `${[...jobs.values()].filter((j) => j.result !== undefined).length} results, ${ended} ended`;
    return included === submitTxs && ended === jobs.size ? true : undefined;
  });
  const printer2 = blockPrinter(chain, maxNormal, (info) => {
    const row = perBlock.get(info.number);
    if (!row) return null;
    const parts = [];
    if (row.submits) parts.push(`submits ${row.submits}`);
    if (row.statementTxs) parts.push(`statement txs ${row.statementTxs} (${row.statements} statements)`);
    if (row.results) parts.push(`results ${row.results}`);
    if (row.settled) parts.push(`settled ${row.settled}`);
    return parts.length ? parts.join(', ') : 'idle';
  });
  const t2 = performance.now();
  const submitSendMs = await sendAll(api, submits);
  await done;
  const jobsWallMs = performance.now() - t2;
  printer2.stop();
  chain.stop();

  // ----- Figures.
  const records = [...jobs.values()];
  const settled = records.filter((j) => j.status === 'Settled');
  const sBlocks = records.map((j) => j.submitted);
  const jFirst = Math.min(...sBlocks);
  const jLast = Math.max(...sBlocks);
  const submitRate = rate(chain, records.length, jFirst, jLast);
  const withResult = records.filter((j) => j.result !== undefined);
  const resultRate = rate(chain, withResult.length, jFirst, Math.max(...withResult.map((j) => j.result)));
  const settleRate = rate(chain, settled.length, jFirst, Math.max(...settled.map((j) => j.end)));
  // Steady rates: the first and last block of each stream left out (the pool still filling,
  // the burst running out), so that every side is measured on the blocks it fills.
  const transferSteady = steadyRate(chain, tBlocks);
  const submitSteady = steadyRate(chain, sBlocks);
  const resultSteady = steadyRate(chain, withResult.map((j) => j.result));
  const settleSteady = steadyRate(chain, settled.map((j) => j.end));
  const statementRows = [...perBlock.values()];
  const statementTxs = statementRows.reduce((s, r) => s + r.statementTxs, 0);
  const statements = statementRows.reduce((s, r) => s + r.statements, 0);
  const maxResultsPerBlock = Math.max(0, ...statementRows.map((r) => r.results));
  const maxStatementTxsPerBlock = Math.max(0, ...statementRows.map((r) => r.statementTxs));
  const maxSubmitsPerBlock = Math.max(0, ...statementRows.map((r) => r.submits));
  // Drawn later than the second block after inclusion: no executor slot was free.
  const queued = records.filter((j) => j.assigned !== undefined && j.assigned > j.submitted + 2).length;
  // Weight of blocks first..last above an idle block's (the base block weight and
  // inherents): transactions and the hooks' work (a job's assignment and settlement).
  const idleWeight = [...chain.blocks.values()].reduce((min, b) => (b.totalWeight < min ? b.totalWeight : min), chain.blocks.get(tFirst).totalWeight);
  const usedWeight = (first, last, field = 'totalWeight', idle = idleWeight) => {
    let sum = 0n;
    for (let n = first; n <= last; n++) sum += chain.blocks.get(n)[field] - idle;
    return Number(sum) / 1e9; // ms
  };
  const jEnd = Math.max(jLast, ...records.map((j) => j.end ?? j.result ?? j.submitted));
  const transferWeightMs = usedWeight(tFirst, tLast) / opts.transfers;
  const jobWeightMs = usedWeight(jFirst, jEnd) / records.length;
  // Sustained capacity: what one block carries when every stage of every item runs in each
  // block (continuous load), from the measured weights and the chain's limits: normal
  // transactions within the normal class limit, all weight within the block limit.
  const sustained = (normalMs, totalMs) => Math.floor(Math.min(Number(maxNormal) / 1e9 / normalMs, Number(maxBlock - idleWeight) / 1e9 / totalMs));
  const transferCapacity = sustained(usedWeight(tFirst, tLast, 'normalWeight', 0n) / opts.transfers, transferWeightMs);
  const jobCapacity = sustained(usedWeight(jFirst, jEnd, 'normalWeight', 0n) / records.length, jobWeightMs);
  const loadEnd = os.loadavg();
  const wallMs = performance.now() - wallStart;

  const lat = (from, fromTime, to, toTime) => {
    const list = records.filter((j) => j[to] !== undefined);
    return {
      blocks: list.map((j) => j[to] - j[from]),
      secs: list.map((j) => (j[toTime] - j[fromTime]) / 1000),
    };
  };
  const latencies = [
    ['inclusion -> assignment', lat('submitted', 'submitTime', 'assigned', 'assignTime')],
    ['inclusion -> result', lat('submitted', 'submitTime', 'result', 'resultTime')],
    ['inclusion -> settlement', lat('submitted', 'submitTime', 'end', 'endTime')],
  ];

  const cpus = os.cpus();
  console.log('\n=== HACA chain throughput benchmark ===');
  console.log(`machine    ${cpus.length} cores, ${cpus[0]?.model ?? 'unknown CPU'}, ${fixed(os.totalmem() / 2 ** 30, 1)} GiB, ` +
    `load average ${loadStart.map((x) => fixed(x)).join(' ')} (start), ${loadEnd.map((x) => fixed(x)).join(' ')} (end)`);
  console.log(`node       ${node ? `${nodeBinary()} (pid ${node.pid}, started by the benchmark)` : url}: ${nodeName} ${nodeVersion}, ` +
    `chain ${chainName}, runtime ${specName} v${specVersion}`);
  console.log(`chain      normal weight per block ${fixed(Number(maxNormal) / 1e12, 2)} s; demo model executors ${servers.length}, total capacity ${totalCapacity}; ` +
    `jobs MaxHookWeight ${fixed(Number(jobsHookWeight) / 1e9, 0)} ms, settlement MaxTimerWeight ${fixed(Number(timerWeight) / 1e9, 0)} ms, MaxPendingJobs ${maxPending}, settlement MaxStatementsPerTx ${maxStatementsPerTx}, challenge window ${challengeWindow} blocks`);
  console.log(`run        ${opts.transfers} transfers, then ${opts.jobs} ${opts.mode} jobs of the demo MLP (fee ${fmtHaca(price)}), ` +
    `${opts.batch === 1 ? 'one per jobs.submit' : `${opts.batch} per jobs.submitBatch (MaxJobsPerSubmit ${maxJobsPerSubmit})`}, from ${opts.accounts} accounts; ` +
    `wall time ${seconds(wallMs)}`);
  console.log('');
  const table = [
    ['', 'transfers', `jobs (${opts.mode})`],
    ['transactions', `${opts.transfers}`, `${submitTxs} submissions (${records.length} jobs), ${statementTxs} statement txs (${statements} statements)`],
    ['pool took them all in (wall)', seconds(transferSendMs), seconds(submitSendMs)],
    ['blocks to include', `${transferRate.blocks} (#${tFirst}..#${tLast})`, `${submitRate.blocks} (#${jFirst}..#${jLast})`],
    ['most included in one block', `${transferMaxPerBlock}`, `${maxSubmitsPerBlock} submission txs, ${maxStatementTxsPerBlock} statement txs, ${maxResultsPerBlock} results`],
    ['included per second', fixed(transferRate.perSecond), fixed(submitRate.perSecond)],
    ['results per second, from the first submission', '', `${fixed(resultRate.perSecond)} (${resultRate.blocks} blocks)`],
    ['settled per second, from the first submission', '', `${fixed(settleRate.perSecond)} (${settleRate.blocks} blocks)`],
    ['ratio to transfers per second', '1', `settled ${fixed(settleRate.perSecond / transferRate.perSecond, 3)}, results ${fixed(resultRate.perSecond / transferRate.perSecond, 3)}, jobs submitted ${fixed(submitRate.perSecond / transferRate.perSecond, 3)}`],
    ['steady per second (inner blocks)', steadyCell(transferSteady), `jobs submitted ${steadyCell(submitSteady)}, results ${steadyCell(resultSteady)}, settled ${steadyCell(settleSteady)}`],
    ['steady ratio to transfers (job throughput)', '1', `results ${fixed(resultSteady.perSecond / transferSteady.perSecond, 3)}, settled ${fixed(settleSteady.perSecond / transferSteady.perSecond, 3)}, jobs submitted ${fixed(submitSteady.perSecond / transferSteady.perSecond, 3)}`],
    ['sustained per block (all stages in each block)', `${transferCapacity}`, `${jobCapacity} jobs: ratio ${fixed(jobCapacity / transferCapacity, 3)}`],
    ['weight per transfer / job (above idle blocks)', `${fixed(transferWeightMs, 3)} ms`, `${fixed(jobWeightMs, 3)} ms (submission, statements, assignment and settlement hooks; ratio by weight ${fixed(transferWeightMs / jobWeightMs, 3)})`],
    ['wall time, sending to last block', seconds(transferWallMs), seconds(jobsWallMs)],
  ];
  const w0 = Math.max(...table.map((r) => r[0].length)) + 2;
  const w1 = Math.max(...table.map((r) => r[1].length)) + 2;
  for (const [a, b, c] of table) console.log(`${pad(a, w0)}${pad(b, w1)}${c}`);
  console.log('');
  console.log(`${pad('job latency from inclusion', 26)}${lpad('median', 18)}${lpad('p90', 18)}${lpad('max', 18)}`);
  for (const [name, { blocks, secs }] of latencies) {
    const cell = (q) => `${quantile(blocks, q)} bl / ${fixed(quantile(secs, q), 1)} s`;
    console.log(`${pad(name, 26)}${lpad(cell(0.5), 18)}${lpad(cell(0.9), 18)}${lpad(cell(1), 18)}`);
  }
  console.log('');
  const notes = [];
  notes.push(`${queued} of ${records.length} jobs waited past their draw (no free executor slot) for assignment`);
  if (counters.submitFailed.size) notes.push(`failed submissions: ${[...counters.submitFailed].map(([k, v]) => `${v} ${k}`).join(', ')}`);
  if (transferFailures.length) notes.push(`${transferFailures.length} transfers failed: ${transferFailures[0].error.section}.${transferFailures[0].error.method}`);
  const unsettled = records.length - settled.length;
  if (unsettled) notes.push(`${unsettled} jobs did not settle (${records.filter((j) => j.status !== 'Settled').map((j) => j.status).join(', ')})`);
  for (const [key, label] of [['deadlineMissed', 'missed deadlines'], ['reassigned', 're-assignments'], ['statementRejected', 'rejected statements'], ['executionFailed', 'failed executions'], ['challenged', 'challenges']]) {
    if (counters[key]) notes.push(`${counters[key]} ${label}`);
  }
  if (transferRate.blocks === 1) notes.push('the transfers fit in one block: transfers per second is a lower bound of the chain\'s (raise --transfers to fill blocks)');
  for (const note of notes) console.log(`note: ${note}`);
  return unsettled || counters.submitFailed.size || transferFailures.length ? 1 : 0;
}

/** Prints one line per block loaded from now on: number, time since the previous block,
 * extrinsics, length, share of the normal weight limit, and what `describe` says. */
function blockPrinter(chain, maxNormal, describe) {
  let active = true;
  chain.until((info) => {
    if (!active) return true;
    const what = describe(info);
    if (what !== null) {
      const previous = chain.blocks.get(info.number - 1);
      const gap = previous ? `+${fixed((info.time - previous.time) / 1000, 1)} s` : '';
      console.log(`  #${lpad(info.number, 5)} ${lpad(gap, 7)}  ${lpad(info.extrinsics.length, 4)} xts ${lpad(fixed(info.length / 1024, 1), 7)} KiB ` +
        `normal ${lpad(fixed(weightShare(info, maxNormal), 1), 5)}% hooks ${lpad(fixed(Number(info.mandatoryWeight) / 1e9, 0), 4)} ms  ${what}`);
    }
    return undefined;
  }).catch(() => {});
  return { stop: () => (active = false) };
}

/** The rate of items (one block number each) over the blocks that hold them, leaving out
 * the first and the last when there are at least three. */
function steadyRate(chain, blocks) {
  if (!blocks.length) return rate(chain, 0, NaN, NaN);
  let first = Math.min(...blocks);
  let last = Math.max(...blocks);
  if (last - first >= 2) {
    first += 1;
    last -= 1;
  }
  return rate(chain, blocks.filter((b) => b >= first && b <= last).length, first, last);
}

const steadyCell = (r) => `${fixed(r.perSecond)} (${r.blocks} bl)`;

function countPerBlock(blocks) {
  const counts = new Map();
  for (const b of blocks) counts.set(b, (counts.get(b) ?? 0) + 1);
  return counts;
}

function fmtHaca(plancks) {
  const whole = plancks / HACA;
  const frac = (plancks % HACA).toString().padStart(12, '0').replace(/0+$/, '');
  return `${whole}${frac ? `.${frac}` : ''} HACA`;
}

// ---------------------------------------------------------------------------------------

const state = { phase: 'parsing options', node: null, api: null, chain: null };
let exitCode = 1;
let timer;
const cleanup = async () => {
  clearTimeout(timer);
  state.chain?.stop();
  await state.api?.disconnect().catch(() => {});
  await state.node?.stop().catch(() => {});
};
process.once('SIGINT', () => {
  console.error(`\ninterrupted during ${state.phase}`);
  cleanup().finally(() => process.exit(130));
});
process.once('SIGTERM', () => {
  console.error(`\nterminated during ${state.phase}`);
  cleanup().finally(() => process.exit(143));
});

try {
  const opts = options();
  exitCode = await Promise.race([
    main(opts, state),
    new Promise((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`the benchmark did not finish within ${opts.timeoutMs / 1000} s (at ${state.phase}); raise --timeout or lower --jobs`)),
        opts.timeoutMs,
      );
    }),
  ]);
} catch (error) {
  console.error(`error: ${error.message}`);
  if (state.node) console.error(`--- end of the node log ---\n${state.node.tail()}`);
  exitCode = 1;
} finally {
  await cleanup();
}
process.exit(exitCode);
