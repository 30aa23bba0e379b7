// An executor dies holding a job (run while the node of "dave" is stopped: `dave: pause`).
// Bob submits attested jobs through Alice's RPC until one is assigned to Dave (assignment
// is random among the eligible executors; the chain does not know Dave's node is down;
// jobs that go to Charlie simply run). Then: Dave delivers nothing, misses the deadline
// (`jobs.DeadlineMissed`), loses `LatenessSlash` of the job's stake to Bob, the client
// (`executors.Slashed`, in the same block), and the job is re-assigned to Charlie
// (`jobs.Assigned`, attempt 2). Saves the job for `executor-down-settles.cjs`. Returns the job's attempt (2).
// Arg: the stopped executor's name (default Dave).

async function run(nodeName, networkInfo, args) {
  const lib = await require('./load.cjs')();
  const { haca, assert, DEMO_INPUT } = lib;
  const log = lib.logger('executor-down');
  const accs = await lib.accounts();
  const downName = args[0] || 'Dave';
  const down = accs[downName].address;
  const other = [accs.Charlie.address, accs.Dave.address].find((a) => a !== down);

  return lib.withApis(networkInfo, [nodeName], async (api) => {
    const timeout = api.consts.jobs.resultTimeout.toNumber();
    const start = await lib.finalBlock(api);
    const tracker = lib.trackEvents(api, start.number + 1);
    // Attested jobs need three verifiers: one slashed by an earlier step tops up first.
    await lib.topUpVerifiers(api, accs);
    const others = [];
    let target;
    for (let attempt = 1; attempt <= 12 && !target; attempt++) {
      const job = await haca.submitJob(api, accs.Bob, { model: haca.DEMO_MODEL, input: [DEMO_INPUT] });
      const drawn = await tracker.waitFor('jobs.Assigned', (e) => lib.jobOf(e) === job.job, 60_000);
      const [executor] = lib.addresses(drawn.data.executors);
      if (executor === down) target = { ...job, assigned: drawn };
      else others.push(job);
      log(`job ${job.job} (#${job.block}) drawn at #${drawn.block} for ${lib.nameOf(accs, executor)}`);
    }
    assert.ok(target, `a job was assigned to ${downName} within 12 submissions`);
    const deadline = target.assigned.data.deadline.toNumber();
    assert.equal(deadline, target.assigned.block + timeout, 'deadline is ResultTimeout blocks after the draw');
    // The other jobs settle from their own submission on, possibly before the target's.
    const from = Math.min(target.block, ...others.map((j) => j.block));
    lib.saveState(networkInfo, 'executor-down', { job: target.job, block: target.block, from, maxFee: target.maxFee, others: others.map((j) => j.job), down, other });
    log(`job ${target.job} assigned to ${downName} (down) at #${target.block}, deadline #${deadline}`);

    const missed = await tracker.waitFor('jobs.DeadlineMissed', (e) => lib.jobOf(e) === target.job, (timeout + 12) * 6_000 + 60_000);
    assert.deepEqual(lib.addresses(missed.data.executors), [down], `${downName} missed the deadline`);
    const lateness = (api.consts.jobs.latenessSlash.toBigInt() * (await haca.jobStake(api, haca.DEMO_MODEL))) / 1_000_000_000n;
    const slashed = await tracker.waitFor('executors.Slashed', (e) => e.data.who.toString() === down, 10_000);
    assert.equal(slashed.block, missed.block, 'slashed when the deadline passed');
    assert.equal(slashed.data.amount.toBigInt(), lateness, "LatenessSlash of the job's stake");
    assert.equal(slashed.data.rewarded.toBigInt(), lateness, 'all of it to the client');
    const reassigned = await tracker.waitFor('jobs.Assigned', (e) => lib.jobOf(e) === target.job && e.data.attempt.toNumber() === 2, 60_000);
    assert.deepEqual(lib.addresses(reassigned.data.executors), [other], 're-assigned to the other executor');
    assert.equal(tracker.all('settlement.ResultSubmitted', (e) => lib.jobOf(e) === target.job && e.data.executor.toString() === down).length, 0,
      `${downName} delivered nothing`);
    log(`#${missed.block}: ${downName} missed the deadline; job ${target.job} re-assigned to ${lib.nameOf(accs, other)} (attempt 2) at #${reassigned.block}`);
    tracker.stop();
    return reassigned.data.attempt.toNumber();
  });
}

module.exports = { run };
