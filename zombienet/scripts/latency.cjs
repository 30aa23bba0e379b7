// Per-mode latency and cost (a benchmark: it fails only when a job does not settle).
//
// Set-up: the executors Charlie, Dave and Two (registered here with the key its node holds)
// serve, and the verifiers Eve, Ferdie and One audit, three models: the demo MLP (float), a
// provable int8 MLP (`offchain-workers/models/exports/int8_mlp`, registered with the circuit
// `haca-node inspect` prints) and the heavy ResNet-18 (registered off chain, fetched from
// Alice by the chain's network). One warm-up job per model loads it on the executors.
//
// Then, one configuration (model, mode) after the other, each from its own account: JOBS
// jobs, one sent every SPACING ms, until all have settled and the chain is idle again. Per
// configuration:
//  - latency from sending `jobs.submit` to the block that holds the result, and to the
//    block that settles the job, as Alice's node (the RPC the client uses) imported them:
//    p50 and p99 (nearest rank; with 40 jobs the p99 is the slowest job), in seconds and
//    in blocks after the inclusion. The result is the attested `ResultSubmitted` (still
//    provisional for the challenge window), the proven `ResultProven`, or a quorum's
//    deciding reveal;
//  - on-chain weight per settled job: every block's weight (all classes, hooks included)
//    from the first inclusion to the idle chain after the last settlement, less an idle
//    block's, over the jobs;
//  - cost per inference: the submission's transaction fee and what the job paid out of
//    the escrow (executors, model owner; the deposit comes back). Executors' and
//    verifiers' statements are authorized transactions without a fee.
// The baseline, in the same run: `balances.transferKeepAlive`, its latency to inclusion, its
// weight (dispatch and the extrinsic base weight) and its fee.
// Figures go to `latency.json` and `latency.md` in the results directory.
//
// Environment: ZN_LATENCY_JOBS (default 40), ZN_LATENCY_SPACING_MS (default 2000).

const { execFileSync } = require('node:child_process');
const { readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const JOBS = Number(process.env.ZN_LATENCY_JOBS || 40);
const SPACING_MS = Number(process.env.ZN_LATENCY_SPACING_MS || 2000);
const MODELS = join(__dirname, '..', '..', 'offchain-workers', 'models');
const CAPACITY = 64;
/** Consecutive blocks at an idle block's weight (within 1%) that end a configuration's window. */
const QUIET_BLOCKS = 3;
/** Most blocks a configuration's window runs past its last settlement. */
const MAX_TAIL = 40;
const TRANSFERS = 5;

async function run(nodeName, networkInfo) {
  const lib = await require('./load.cjs')();
  const { quantile } = await import('../../clients/js/bench/stats.mjs');
  const percentile = (values, p) => quantile(values, p / 100);
  const median = (values) => quantile(values, 0.5);
  const { haca, assert, UNIT } = lib;
  const log = lib.logger('latency');
  const accs = await lib.accounts();
  const two = await haca.devAccount('Two');
  const executors = [accs.Charlie, accs.Dave, two];
  const verifiers = [accs.Eve, accs.Ferdie, accs.One];

  return lib.withApis(networkInfo, [nodeName], async (api) => {
    // When Alice's node imported each block (best or not), by hash.
    const arrival = new Map();
    const unsubscribeHeads = await api.rpc.chain.subscribeAllHeads((header) => {
      const hash = header.hash.toHex();
      if (!arrival.has(hash)) arrival.set(hash, Date.now());
    });
    const start = await lib.finalBlock(api);
    const tracker = lib.trackEvents(api, start.number + 1);
    const seen = async (block) => arrival.get(block.hash) ?? haca.blockTime(api, block.hash);
    const blockRef = async (number) => ({ number, hash: (await api.rpc.chain.getBlockHash(number)).toHex() });
    const blockWeight = async (number) => {
      const { normal, operational, mandatory } = await (await api.at((await blockRef(number)).hash)).query.system.blockWeight();
      return [normal, operational, mandatory].reduce((sum, w) => sum + w.refTime.toBigInt(), 0n);
    };
    const finalised = async () => lib.finalizedBlock(api);

    // --- set-up: models, executors, verifiers ----------------------------------------
    const heavy = join(MODELS, 'heavy', 'resnet18');
    const resnetOnnx = readFileSync(join(heavy, 'model.onnx'));
    const { model: resnet } = await haca.registerOffChainModel(api, accs.Eve, {
      onnx: resnetOnnx,
      locators: ['http://127.0.0.1:9/resnet18.onnx'],
      fee: UNIT / 20n,
      toleranceUlps: 4096,
    });
    const int8Path = join(MODELS, 'exports', 'int8_mlp', 'model.onnx');
    const inspected = JSON.parse(execFileSync(process.env.HACA_NODE, ['inspect', '--model', int8Path, '--bound', 'batch=4'], { encoding: 'utf8' })
      .trim().split('\n').at(-1));
    const { model: int8 } = await haca.registerModel(api, accs.Ferdie, {
      onnx: readFileSync(int8Path),
      fee: UNIT / 20n,
      bounds: { batch: 4 },
      graph: inspected.graph,
      circuit: inspected.circuit,
    });
    const served = [haca.DEMO_MODEL, int8, resnet];
    const statement = Buffer.concat([Buffer.from('POP_'), Buffer.from(haca.keyOwnerStatement(api, two.address))]);
    await haca.registerExecutor(api, two, {
      key: `0x${Buffer.from(two.publicKey).toString('hex')}`,
      keyProof: `0x${Buffer.from(two.sign(statement)).toString('hex')}`,
      models: served,
      capacity: CAPACITY,
      bond: 10_000n * UNIT,
    });
    await Promise.all([accs.Charlie, accs.Dave, ...verifiers].map(async (who) => {
      await haca.setServedModels(api, who, served);
      if (who === accs.Charlie || who === accs.Dave) await haca.sendTx(api, who, api.tx.executors.setCapacity(CAPACITY));
    }));
    // Clients without a role, funded by Alice (zombienet gives the nodes' stash accounts
    // only a little), one per configuration and one sending the baseline's transfers.
    const clients = await Promise.all(Array.from({ length: 7 }, (_, i) => haca.devAccount(`//latency//${i}`)));
    const aliceNonce = await haca.nextNonce(api, accs.Alice.address);
    await Promise.all(clients.map((who, i) =>
      haca.sendTx(api, accs.Alice, api.tx.balances.transferKeepAlive(who.address, 10_000n * UNIT), { nonce: aliceNonce + i })));
    log(`models: demo ${haca.DEMO_MODEL}, int8 MLP ${int8}, ResNet-18 ${resnet}; executors Charlie, Dave, Two (capacity ${CAPACITY}); verifiers Eve, Ferdie, One`);

    const input = (dir) => [haca.readTensorProto(readFileSync(join(dir, 'test_data_set_0', 'input_0.pb')))];
    const inputs = { demo: [lib.DEMO_INPUT], int8: input(join(MODELS, 'exports', 'int8_mlp')), resnet: input(heavy) };
    const hashes = { demo: haca.DEMO_MODEL, int8, resnet };
    const names = { demo: 'demo MLP (4-16-3, float)', int8: 'int8 MLP (64-64-10, 4 samples)', resnet: 'ResNet-18 (float, 1.8 GMAC)' };
    const quorum23 = haca.quorum(2, 3);
    const configs = [
      { model: 'demo', mode: haca.ATTESTED, label: 'attested' },
      { model: 'demo', mode: quorum23, label: 'quorum 2 of 3' },
      { model: 'int8', mode: haca.ATTESTED, label: 'attested' },
      { model: 'int8', mode: haca.PROVEN, label: 'proven' },
      { model: 'resnet', mode: haca.ATTESTED, label: 'attested' },
      { model: 'resnet', mode: quorum23, label: 'quorum 2 of 3' },
    ];
    for (const config of configs) {
      while ((await haca.quote(api, hashes[config.model], config.mode)) === null) await lib.sleep(1000);
    }

    // Warm-up: each model once on the executors; everything settles before measuring.
    const nonce = await haca.nextNonce(api, accs.Alice.address);
    const warmed = ['demo', 'int8', 'resnet'];
    await Promise.all(warmed.map((m, i) =>
      haca.submitJob(api, accs.Alice, { model: hashes[m], input: inputs[m], nonce: nonce + i })));
    const warmJobs = await lib.finalisedJobs(tracker, accs.Alice.address, { count: warmed.length, timeoutMs: 120_000 });
    await Promise.all(warmJobs.map(({ job }) => tracker.waitFor('settlement.Settled', (e) => lib.jobOf(e) === job, 300_000)));
    log(`warm-up: jobs ${warmJobs.map((j) => j.job).join(', ')} settled`);

    // --- idle block weight and the transfer baseline -----------------------------------
    const waitFinalised = async (number) => { while ((await finalised()) < number) await lib.sleep(500); };
    const idleFrom = (await finalised()) + 2;
    await waitFinalised(idleFrom + 4);
    const idleWeights = await Promise.all([0, 1, 2, 3, 4].map((i) => blockWeight(idleFrom + i)));
    const idle = idleWeights.reduce((a, b) => (a < b ? a : b));
    log(`idle block: ${Number(idle) / 1e9} ms of weight (blocks #${idleFrom}-#${idleFrom + 4}: ${idleWeights.map((w) => Number(w) / 1e9).join(', ')})`);

    const baseExtrinsic = api.consts.system.blockWeights.perClass.normal.baseExtrinsic.refTime.toBigInt();
    const [sender, receiver] = [clients.at(-1), clients.at(-2)];
    const transfers = [];
    const blockMs = api.consts.babe.expectedBlockTime.toNumber();
    for (let i = 0; i < TRANSFERS; i++) {
      // Sent at a random point of a block's time, as the jobs are.
      await lib.sleep(Math.random() * blockMs);
      const sent = Date.now();
      const r = await haca.sendTx(api, sender, api.tx.balances.transferKeepAlive(receiver.address, UNIT));
      const success = r.events.find((e) => e.section === 'system' && e.method === 'ExtrinsicSuccess');
      transfers.push({
        seconds: (await seen({ hash: r.blockHash })) / 1000 - sent / 1000,
        weight: success.data.dispatchInfo.weight.refTime.toBigInt() + baseExtrinsic,
        fee: r.fee,
      });
    }
    const transfer = {
      inclusionSeconds: median(transfers.map((t) => t.seconds)),
      weightMs: Number(transfers[0].weight) / 1e9,
      fee: transfers[0].fee,
    };
    log(`transfer: in a block ${transfer.inclusionSeconds.toFixed(2)} s after sending (median of ${TRANSFERS}), ${transfer.weightMs.toFixed(3)} ms of weight, fee ${lib.haca4(transfer.fee)}`);

    // --- the configurations, one after the other -----------------------------------------
    const rows = [];
    for (const [index, config] of configs.entries()) {
      const client = clients[index];
      // A verifier slashed in an earlier configuration (a spot check it missed) is topped up,
      // or attested jobs would meet `jobs.TooFewVerifiers`.
      await lib.topUpVerifiers(api, accs);
      const isQuorum = typeof config.mode === 'object';
      const first = await haca.nextNonce(api, client.address);
      const sent = [];
      const submissions = [];
      for (let i = 0; i < JOBS; i++) {
        sent.push(Date.now());
        submissions.push(haca.submitJob(api, client, { model: hashes[config.model], input: inputs[config.model], mode: config.mode, nonce: first + i, timeoutMs: 300_000 }));
        await lib.sleep(SPACING_MS);
      }
      const receipts = await Promise.all(submissions);
      // Ids and blocks as the finalised chain has them, in nonce order.
      const jobs = await lib.finalisedJobs(tracker, client.address, { quorum: isQuorum, count: JOBS, timeoutMs: 300_000 });
      const ended = (job) => tracker.all('settlement.Settled', (e) => lib.jobOf(e) === job)[0]
        ?? tracker.all('jobs.Failed', (e) => lib.jobOf(e) === job)[0];
      const deadline = Date.now() + 900_000;
      while (!jobs.every(({ job }) => ended(job))) {
        assert.ok(Date.now() < deadline, `${names[config.model]}, ${config.label}: not every job ended within 900 s`);
        await lib.sleep(1000);
      }
      const failed = jobs.filter(({ job }) => ended(job).method === 'Failed').map(({ job }) => job);
      assert.deepEqual(failed, [], `${names[config.model]}, ${config.label}: jobs failed`);

      const samples = [];
      for (const [i, { job, block, hash }] of jobs.entries()) {
        const settled = ended(job);
        let result;
        if (config.mode === haca.ATTESTED) result = tracker.all('settlement.ResultSubmitted', (e) => lib.jobOf(e) === job)[0];
        else if (config.mode === haca.PROVEN) result = tracker.all('settlement.ResultProven', (e) => lib.jobOf(e) === job)[0];
        else result = tracker.all('settlement.Revealed', (e) => lib.jobOf(e) === job)[config.mode.Quorum.agree - 1];
        assert.ok(result, `job ${job}: no result event`);
        samples.push({
          job,
          included: block,
          resultSeconds: ((await seen(result)) - sent[i]) / 1000,
          resultBlocks: result.block - block,
          settleSeconds: ((await seen(settled)) - sent[i]) / 1000,
          settleBlocks: settled.block - block,
          outputHash: settled.data.outputHash.toHex(),
          cost: receipts[i].fee + settled.data.paid.toBigInt(),
          hash,
        });
      }
      assert.equal(new Set(samples.map((s) => s.outputHash)).size, 1, 'every job of the same input settled on the same output');

      // Weight: from the first inclusion to the first of QUIET_BLOCKS idle blocks after the
      // last settlement (a quorum's spot checks and late statements end there too).
      const from = Math.min(...samples.map((s) => s.included));
      let to = Math.max(...jobs.map(({ job }) => ended(job).block));
      let total = 0n;
      for (let n = from; n <= to; n++) total += (await blockWeight(n)) - idle;
      const last = to;
      for (let quiet = 0; quiet < QUIET_BLOCKS;) {
        to += 1;
        assert.ok(to - last <= MAX_TAIL, `the chain was not idle within ${MAX_TAIL} blocks of the last settlement`);
        await waitFinalised(to);
        const excess = (await blockWeight(to)) - idle;
        total += excess;
        quiet = excess * 100n <= idle ? quiet + 1 : 0;
      }
      // What went wrong on the way, over the window: deadlines missed (a statement that never
      // reached a block), re-assignments, honest parties slashed, statements rejected.
      const inWindow = (name) => tracker.all(name, (e) => e.block >= from && e.block <= to);
      const incidents = {
        deadlinesMissed: inWindow('jobs.DeadlineMissed').length,
        reassigned: inWindow('jobs.Assigned').filter((e) => e.data.attempt.toNumber() > 1).length,
        slashed: inWindow('executors.Slashed').length,
        spotChecksFailed: inWindow('settlement.SpotCheckFailed').length,
        statementsRejected: inWindow('settlement.StatementRejected').length,
      };
      const weightMs = Number(total) / 1e9 / JOBS;
      const cost = samples.reduce((sum, s) => sum + s.cost, 0n) / BigInt(JOBS);
      const row = {
        model: names[config.model],
        mode: config.label,
        jobs: JOBS,
        resultP50: median(samples.map((s) => s.resultSeconds)),
        resultP99: percentile(samples.map((s) => s.resultSeconds), 99),
        resultBlocksP50: median(samples.map((s) => s.resultBlocks)),
        resultBlocksP99: percentile(samples.map((s) => s.resultBlocks), 99),
        settleP50: median(samples.map((s) => s.settleSeconds)),
        settleP99: percentile(samples.map((s) => s.settleSeconds), 99),
        settleBlocksP50: median(samples.map((s) => s.settleBlocks)),
        settleBlocksP99: percentile(samples.map((s) => s.settleBlocks), 99),
        weightMs,
        weightVsTransfer: weightMs / transfer.weightMs,
        cost,
        costVsTransfer: Number(cost) / Number(transfer.fee),
        blocks: [from, to],
        incidents,
      };
      rows.push(row);
      log(`${row.model}, ${row.mode}: result p50 ${row.resultP50.toFixed(1)} s / p99 ${row.resultP99.toFixed(1)} s; ` +
        `settled p50 ${row.settleP50.toFixed(1)} s / p99 ${row.settleP99.toFixed(1)} s; ${weightMs.toFixed(3)} ms of weight a job ` +
        `(${row.weightVsTransfer.toFixed(1)}x a transfer); ${lib.haca4(cost)} an inference (${row.costVsTransfer.toFixed(0)}x a transfer's fee); blocks #${from}-#${to}; ${JSON.stringify(incidents)}`);
    }
    tracker.stop();
    unsubscribeHeads();

    const s = (x) => x.toFixed(1);
    const lines = [
      `Baseline, the same run: a \`balances.transferKeepAlive\` is in a block ${transfer.inclusionSeconds.toFixed(1)} s after it is sent (median of ${TRANSFERS}), weighs ${transfer.weightMs.toFixed(3)} ms and costs ${lib.haca4(transfer.fee)}. ${JOBS} jobs per row, one sent every ${SPACING_MS / 1000} s; p99 is the nearest rank.`,
      '',
      '| model | mode | to result p50 / p99 | to settlement p50 / p99 | weight per settled job | cost per inference | deadlines missed / slashes |',
      '|---|---|---:|---:|---:|---:|---:|',
      ...rows.map((r) => `| ${r.model} | ${r.mode} | ${s(r.resultP50)} s / ${s(r.resultP99)} s (${r.resultBlocksP50} / ${r.resultBlocksP99} blocks) | ` +
        `${s(r.settleP50)} s / ${s(r.settleP99)} s (${r.settleBlocksP50} / ${r.settleBlocksP99} blocks) | ` +
        `${r.weightMs.toFixed(2)} ms (${r.weightVsTransfer.toFixed(1)}x) | ${lib.haca4(r.cost)} (${r.costVsTransfer.toFixed(0)}x) | ` +
        `${r.incidents.deadlinesMissed} / ${r.incidents.slashed} |`),
    ];
    writeFileSync(lib.resultsPath(networkInfo, 'latency.json'), `${lib.json({ transfer, rows })}\n`);
    writeFileSync(lib.resultsPath(networkInfo, 'latency.md'), `${lines.join('\n')}\n`);
    for (const line of lines) log(line);
    return rows.length;
  });
}

module.exports = { run };
