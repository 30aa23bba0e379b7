// A dishonest executor (Dave's node runs --dishonest-executor) is caught and slashed, and
// the client pays nothing for its lie.
//  1. Charlie stops serving the demo model for a moment (`executors.setModels([])`), so that
//     Bob's attested job (submitted to Alice's RPC) is drawn for Dave; Charlie serves it
//     again right after the draw.
//  2. Dave's result is wrong (not the reference output). The verifier nodes (Eve, Ferdie,
//     One, each its own node) re-run it and one challenges (`settlement.Challenged`). The
//     demo model has a dispute graph, so the chain decides, with no committee: Dave owes
//     the trace of his run (`settlement.TraceDue`); his node traces the job through the
//     model's dispute graph and submits a trace that ends at his lie
//     (`settlement.TraceSubmitted`); a verifier node traces the job too and proves the
//     first node whose output Dave's trace got wrong, which the runtime re-executes with
//     its own kernels (`settlement.StepProvenWrong`); the dispute is decided against Dave
//     in that block (`settlement.DisputeResolved { executor_was_right: false }`).
//  3. Dave is slashed the job's stake (`InferenceApi_job_stake`) from his bond (`executors.Slashed`):
//     `SlashRewardShare` of it to the prover; the challenger's bond is released.
//  4. The job is re-run on Charlie (attempt 2, Dave excluded), whose result is the reference
//     output (and the challenger's output hash); it settles after its own challenge window,
//     not at the end of Dave's.
//  5. Bob (the client) paid exactly one model fee (for Charlie's correct result) plus the
//     transaction fee; everything else he had put up (the job deposit) came back.
// Returns the number of slashes of Dave (1).

async function run(nodeName, networkInfo) {
  const lib = await require('./load.cjs')();
  const { haca, assert, DEMO_INPUT } = lib;
  const log = lib.logger('dishonest');
  const accs = await lib.accounts();
  const [charlie, dave] = [accs.Charlie.address, accs.Dave.address];
  const verifiers = ['Eve', 'Ferdie', 'One'].map((name) => accs[name].address);

  return lib.withApis(networkInfo, [nodeName], async (api) => {
    const fee = await haca.quote(api, haca.DEMO_MODEL, haca.ATTESTED);
    const slash = await haca.jobStake(api, haca.DEMO_MODEL);
    const perbill = (name) => BigInt(api.consts.settlement[name].toNumber());
    const reward = (slash * perbill('slashRewardShare')) / 1_000_000_000n;
    const challengeBond = api.consts.settlement.challengeBond.toBigInt();

    await haca.setServedModels(api, accs.Charlie, []);
    const start = await lib.finalBlock(api);
    const tracker = lib.trackEvents(api, start.number + 1);
    const before = {
      bob: await haca.balanceOf(api, accs.Bob.address, start.hash),
      dave: await haca.balanceOf(api, dave, start.hash),
      daveBond: (await (await api.at(start.hash)).query.executors.executors(dave)).unwrap().bond.toBigInt(),
      verifiers: Object.fromEntries(await Promise.all(verifiers.map(async (v) => [v, await haca.balanceOf(api, v, start.hash)]))),
    };
    const job = await haca.submitJob(api, accs.Bob, { model: haca.DEMO_MODEL, input: [DEMO_INPUT] });
    const drawn = await tracker.waitFor('jobs.Assigned', (e) => lib.jobOf(e) === job.job, 60_000);
    assert.deepEqual(lib.addresses(drawn.data.executors), [dave], 'with Charlie not serving, the job goes to Dave');
    await haca.setServedModels(api, accs.Charlie, [haca.DEMO_MODEL]);
    log(`job ${job.job} (#${job.block}) assigned to Dave; Charlie serves the model again`);
    // Read at the finalised block of the submission: the block the receipt names can lose a fork.
    const submitted = await tracker.waitFor('jobs.Submitted', (e) => lib.jobOf(e) === job.job, 10_000);
    const escrow = (await haca.balanceOf(api, accs.Bob.address, submitted.hash)).reserved - before.bob.reserved;

    const lie = await tracker.waitFor('settlement.ResultSubmitted', (e) => lib.jobOf(e) === job.job, 120_000);
    assert.equal(lie.data.executor.toString(), dave, 'Dave delivered');
    const lieOutputs = lib.eventOutputs(lie);
    assert.ok(lieOutputs && !lib.matchesReference(lieOutputs), "Dave's outputs are wrong");
    log(`#${lie.block}: Dave's result ${lie.data.outputHash.toHex().slice(0, 18)}..: [${Array.from(lieOutputs[0].data).map((v) => v.toPrecision(4))}] (wrong)`);

    const challenge = await tracker.waitFor('settlement.Challenged', (e) => lib.jobOf(e) === job.job, 120_000);
    const challenger = challenge.data.challenger.toString();
    assert.ok(verifiers.includes(challenger), 'a verifier challenged');
    assert.ok(challenge.block <= lie.data.challengeUntil.toNumber(), 'challenged within the window');
    const due = await tracker.waitFor('settlement.TraceDue', (e) => lib.jobOf(e) === job.job, 10_000);
    assert.equal(due.block, challenge.block, 'the challenge opened a game the chain decides');
    log(`#${challenge.block}: ${lib.nameOf(accs, challenger)} challenged with ${challenge.data.outputHash.toHex().slice(0, 18)}..; Dave's trace due by #${due.data.until}`);

    const traced = await tracker.waitFor('settlement.TraceSubmitted', (e) => lib.jobOf(e) === job.job, 120_000);
    assert.ok(traced.block <= due.data.until.toNumber(), "Dave's node submitted its trace in time");
    const game = await haca.disputeGame(api, job.job, traced.hash);
    assert.equal(game.phase, 'Proofs', 'open to proofs');
    assert.equal(game.challenger, challenger);
    const graph = (await api.query.models.models(haca.DEMO_MODEL)).unwrap().graph.unwrap();
    assert.equal(game.trace.length, graph.nodes.toNumber(), 'a hash per operator of the dispute graph');
    const proven = await tracker.waitFor('settlement.StepProvenWrong', (e) => lib.jobOf(e) === job.job, 120_000);
    const prover = proven.data.prover.toString();
    assert.ok(verifiers.includes(prover), 'a verifier node proved the wrong step');
    assert.ok(proven.block <= traced.data.proofsUntil.toNumber(), 'within the proof window');
    const resolved = await tracker.waitFor('settlement.DisputeResolved', (e) => lib.jobOf(e) === job.job, 10_000);
    assert.equal(resolved.data.executorWasRight.isTrue, false, 'the chain decided against Dave');
    assert.equal(resolved.block, proven.block, 'decided by the proof');
    assert.equal(tracker.all('settlement.CommitteeDrawn', (e) => lib.jobOf(e) === job.job).length, 0, 'no committee');
    assert.equal(tracker.all('settlement.VoteCommitted', (e) => lib.jobOf(e) === job.job).length, 0, 'no votes');
    const slashed = await tracker.waitFor('executors.Slashed', (e) => e.data.who.toString() === dave, 10_000);
    assert.equal(slashed.block, resolved.block, 'slashed when the dispute was decided');
    assert.equal(slashed.data.amount.toBigInt(), slash, "Dave lost the job's stake");
    assert.equal(slashed.data.rewarded.toBigInt(), reward, 'SlashRewardShare of it to the prover');
    log(`#${traced.block}: Dave's trace; #${proven.block}: ${lib.nameOf(accs, prover)} proved node ${proven.data.node} wrong, ` +
      `${resolved.block - challenge.block} blocks after the challenge; Dave slashed ${lib.haca4(slash)}, ${lib.haca4(reward)} to ${lib.nameOf(accs, prover)}`);

    const rerun = await tracker.waitFor('jobs.Assigned', (e) => lib.jobOf(e) === job.job && e.data.attempt.toNumber() === 2, 60_000);
    assert.deepEqual(lib.addresses(rerun.data.executors), [charlie], 're-run on Charlie');
    const honest = await tracker.waitFor('settlement.ResultSubmitted', (e) => lib.jobOf(e) === job.job && e.data.executor.toString() === charlie, 120_000);
    assert.ok(lib.matchesReference(lib.eventOutputs(honest)), "Charlie's outputs are the reference");
    assert.equal(honest.data.outputHash.toHex(), challenge.data.outputHash.toHex(), "the challenger's output was the right one");
    const settled = await tracker.waitFor('settlement.Settled', (e) => lib.jobOf(e) === job.job, 180_000);
    const ended = await tracker.waitFor('settlement.Settled', (e) => lib.jobOf(e) === job.job, 60_000);
    assert.deepEqual(lib.addresses(settled.data.executors), [charlie], 'only Charlie was paid');
    assert.ok(settled.block > honest.data.challengeUntil.toNumber(), "the re-run settled only after its own challenge window");
    assert.equal(ended.data.paid.toBigInt(), fee, 'one model fee paid, for the correct result');
    assert.equal(ended.data.refunded.toBigInt(), escrow - fee, 'the rest of the escrow returned to Bob');
    log(`#${honest.block}: Charlie's result is the reference; settled at #${settled.block}, paid ${lib.haca4(fee)}, refunded ${lib.haca4(escrow - fee)} to Bob`);

    // Balances at the end, from the same block.
    const at = ended.hash;
    const after = {
      bob: await haca.balanceOf(api, accs.Bob.address, at),
      dave: await haca.balanceOf(api, dave, at),
      daveBond: (await (await api.at(at)).query.executors.executors(dave)).unwrap().bond.toBigInt(),
      verifiers: Object.fromEntries(await Promise.all(verifiers.map(async (v) => [v, await haca.balanceOf(api, v, at)]))),
    };
    assert.equal(before.bob.total - after.bob.total, fee + job.fee, 'Bob paid one model fee and the transaction fee, nothing for the lie');
    assert.equal(after.bob.reserved, before.bob.reserved, 'nothing of Bob stays held');
    assert.equal(before.daveBond - after.daveBond, slash, "Dave's bond shrank by the slash");
    assert.equal(before.dave.total - after.dave.total, slash, 'Dave lost exactly the slash');
    for (const verifier of verifiers) {
      // Fee-less moves: a verifier's balance moves only by the prover's reward.
      const gained = after.verifiers[verifier].total - before.verifiers[verifier].total;
      assert.equal(gained, verifier === prover ? reward : 0n, `${lib.nameOf(accs, verifier)}'s balance`);
      assert.equal(after.verifiers[verifier].reserved, before.verifiers[verifier].reserved, `no bond of ${lib.nameOf(accs, verifier)} stays held (${lib.haca4(challengeBond)} for a challenge)`);
    }
    log(`balances: Bob -${lib.haca4(before.bob.total - after.bob.total)} (fee ${lib.haca4(fee)} + tx ${lib.haca4(job.fee)}), ` +
      `Dave bond ${lib.haca4(before.daveBond)} -> ${lib.haca4(after.daveBond)}, ${lib.nameOf(accs, prover)} +${lib.haca4(reward)}`);
    const slashes = tracker.all('executors.Slashed', (e) => e.data.who.toString() === dave).length;
    tracker.stop();
    return slashes;
  });
}

module.exports = { run };
