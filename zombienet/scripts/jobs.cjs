// Jobs through the validators' RPC, run by the executor nodes:
//  - an attested job submitted to Alice's RPC (a validator) by Bob: one executor (Charlie
//    or Dave) runs it, its result is the reference output, it settles after the challenge
//    window with exact payments (Bob pays the model fee and the transaction fee, nothing
//    else; the job deposit comes back); the verifier audits it and does not challenge;
//  - a 2-of-2 quorum job submitted to Bob's RPC by Ferdie: both executors commit and reveal
//    the same output (the reference), both are paid;
//  - a batch of attested jobs from Ferdie at once (throughput), all settle.
// Returns the number of jobs settled.

const BATCH = Number(process.env.ZN_BATCH || 8);

async function run(nodeName, networkInfo) {
  const lib = await require('./load.cjs')();
  const { haca, assert, UNIT, DEMO_INPUT } = lib;
  const log = lib.logger('jobs');
  const accs = await lib.accounts();
  const executors = [accs.Charlie.address, accs.Dave.address];

  return lib.withApis(networkInfo, ['alice', 'bob'], async (alice, bob) => {
    const fee = await haca.quote(alice, haca.DEMO_MODEL, haca.ATTESTED);
    const quorumFee = await haca.quote(alice, haca.DEMO_MODEL, haca.quorum(2, 2));
    assert.equal(quorumFee, 2n * fee, 'a 2-of-2 quorum costs two runs');
    const window = alice.consts.settlement.challengeWindow.toNumber();

    const start = await lib.finalBlock(alice);
    const tracker = lib.trackEvents(alice, start.number + 1);
    const bobBefore = await haca.balanceOf(alice, accs.Bob.address, start.hash);
    const t0 = Date.now();

    // Everything at once: Bob's attested job via Alice, Ferdie's quorum job and batch via Bob.
    const ferdieNonce = await haca.nextNonce(bob, accs.Ferdie.address);
    const [attested, quorumJob, ...batch] = await Promise.all([
      haca.submitJob(alice, accs.Bob, { model: haca.DEMO_MODEL, input: [DEMO_INPUT], mode: haca.ATTESTED }),
      haca.submitJob(bob, accs.Ferdie, { model: haca.DEMO_MODEL, input: [DEMO_INPUT], mode: haca.quorum(2, 2), nonce: ferdieNonce }),
      ...Array.from({ length: BATCH }, (_, i) =>
        haca.submitJob(bob, accs.Ferdie, { model: haca.DEMO_MODEL, input: [DEMO_INPUT], mode: haca.ATTESTED, nonce: ferdieNonce + 1 + i }),
      ),
    ]);
    // Ids and blocks as the finalised chain has them: the receipts come from the blocks that
    // first included each submission, and a fork may have included those sent to Alice and
    // to Bob in another order (another job id each), and pruned the receipts' blocks.
    const [[bobs], [ferdiesQuorum], ferdiesBatch] = await Promise.all([
      lib.finalisedJobs(tracker, accs.Bob.address),
      lib.finalisedJobs(tracker, accs.Ferdie.address, { quorum: true }),
      lib.finalisedJobs(tracker, accs.Ferdie.address, { count: BATCH }),
    ]);
    Object.assign(attested, bobs);
    Object.assign(quorumJob, ferdiesQuorum);
    batch.forEach((job, i) => Object.assign(job, ferdiesBatch[i]));
    log(`submitted: attested job ${attested.job} (#${attested.block}) via alice, quorum job ${quorumJob.job} (#${quorumJob.block}) and ${batch.length} batch jobs via bob`);

    // --- attested job ---------------------------------------------------------------
    const drawn = await tracker.waitFor('jobs.Assigned', (e) => lib.jobOf(e) === attested.job, 60_000);
    assert.ok(drawn.block >= attested.block + 2, 'executors are drawn after inclusion, from a later block\'s randomness');
    const drawnExecutors = lib.addresses(drawn.data.executors);
    assert.equal(drawnExecutors.length, 1, `job ${attested.job} assigned to one executor`);
    const [executor] = drawnExecutors;
    assert.ok(executors.includes(executor), `job ${attested.job} assigned to an executor (got ${lib.nameOf(accs, executor)})`);
    log(`attested job ${attested.job} assigned to ${lib.nameOf(accs, executor)}`);
    const submittedAt = await haca.balanceOf(alice, accs.Bob.address, attested.hash);
    const escrow = submittedAt.reserved - bobBefore.reserved;

    const result = await tracker.waitFor('settlement.ResultSubmitted', (e) => lib.jobOf(e) === attested.job, 120_000);
    assert.equal(result.data.executor.toString(), executor, 'the assigned executor delivered the result');
    assert.ok(lib.matchesReference(lib.eventOutputs(result)), `job ${attested.job}: outputs are the reference outputs`);
    assert.equal(result.data.challengeUntil.toNumber(), result.block + window, 'provisional for the challenge window');
    log(`attested job ${attested.job}: result from ${lib.nameOf(accs, executor)} at #${result.block} (${result.block - attested.block} blocks), provisional until #${result.data.challengeUntil.toNumber()}`);

    // --- quorum job -------------------------------------------------------------------
    const quorumDrawn = await tracker.waitFor('jobs.Assigned', (e) => lib.jobOf(e) === quorumJob.job, 60_000);
    assert.deepEqual(lib.addresses(quorumDrawn.data.executors).sort(), [...executors].sort(), 'the quorum job went to both executors');
    const quorumSettled = await tracker.waitFor('settlement.Settled', (e) => lib.jobOf(e) === quorumJob.job, 180_000);
    const commits = tracker.all('settlement.Committed', (e) => lib.jobOf(e) === quorumJob.job);
    const reveals = tracker.all('settlement.Revealed', (e) => lib.jobOf(e) === quorumJob.job);
    assert.deepEqual(commits.map((e) => e.data.executor.toString()).sort(), [...executors].sort(), 'both executors committed');
    assert.deepEqual(reveals.map((e) => e.data.executor.toString()).sort(), [...executors].sort(), 'both executors revealed');
    const revealedHashes = new Set(reveals.map((e) => e.data.outputHash.toHex()));
    assert.equal(revealedHashes.size, 1, 'both executors revealed the same output');
    assert.deepEqual(lib.addresses(quorumSettled.data.executors).sort(), [...executors].sort(), 'both executors paid');
    assert.equal(quorumSettled.data.outputHash.toHex(), result.data.outputHash.toHex(), 'the quorum agreed on the attested output');
    const quorumEnd = await tracker.waitFor('settlement.Settled', (e) => lib.jobOf(e) === quorumJob.job, 60_000);
    assert.equal(quorumEnd.data.paid.toBigInt(), quorumFee, 'the quorum job paid two runs');
    log(`quorum job ${quorumJob.job}: committed and revealed by both executors, settled at #${quorumSettled.block} (${quorumSettled.block - quorumJob.block} blocks)`);
    lib.checkSpotCheck(tracker, accs, quorumJob.job, log);

    // --- the attested job settles after its challenge window ----------------------------
    const settled = await tracker.waitFor('settlement.Settled', (e) => lib.jobOf(e) === attested.job, 180_000);
    const ended = await tracker.waitFor('settlement.Settled', (e) => lib.jobOf(e) === attested.job, 60_000);
    assert.equal(settled.block, result.data.challengeUntil.toNumber() + 1, 'settled right after the challenge window');
    assert.deepEqual(lib.addresses(settled.data.executors), [executor], 'the executor was paid');
    assert.equal(ended.data.paid.toBigInt(), fee, 'paid exactly the model fee');
    assert.equal(ended.data.refunded.toBigInt(), escrow - fee, 'the rest of the escrow (deposit) was returned');
    const bobAfter = await haca.balanceOf(alice, accs.Bob.address, ended.hash);
    assert.equal(bobBefore.total - bobAfter.total, fee + attested.fee, 'Bob paid the model fee and the transaction fee, nothing else');
    assert.equal(bobAfter.reserved, bobBefore.reserved, 'nothing of Bob stays held');
    const challenged = tracker.all('settlement.Challenged');
    assert.equal(challenged.length, 0, 'the verifier challenged no honest result');
    log(`attested job ${attested.job} settled at #${settled.block}: paid ${lib.haca4(fee)}, refunded ${lib.haca4(escrow - fee)}; Bob paid ${lib.haca4(fee + attested.fee)} in all`);

    // --- the batch --------------------------------------------------------------------
    const batchEnds = await Promise.all(batch.map((j) => tracker.waitFor('settlement.Settled', (e) => lib.jobOf(e) === j.job, 240_000)));
    for (const j of batch) {
      const s = tracker.all('settlement.Settled', (e) => lib.jobOf(e) === j.job);
      assert.equal(s.length, 1, `batch job ${j.job} settled once`);
      assert.ok(lib.addresses(s[0].data.executors).every((a) => executors.includes(a)), `batch job ${j.job} paid an executor`);
      const r = tracker.all('settlement.ResultSubmitted', (e) => lib.jobOf(e) === j.job);
      assert.ok(r.length === 1 && lib.matchesReference(lib.eventOutputs(r[0])), `batch job ${j.job}: reference outputs`);
    }
    const perExecutor = {};
    for (const j of batch) {
      const [paid] = lib.addresses(tracker.all('settlement.Settled', (e) => lib.jobOf(e) === j.job)[0].data.executors);
      perExecutor[lib.nameOf(accs, paid)] = (perExecutor[lib.nameOf(accs, paid)] ?? 0) + 1;
    }
    const lastBlock = Math.max(...batchEnds.map((e) => e.block), settled.block);
    log(`batch of ${batch.length} settled by #${lastBlock} (${JSON.stringify(perExecutor)}); ` +
      `${2 + batch.length} jobs in ${((Date.now() - t0) / 1000).toFixed(0)} s wall, ${lastBlock - start.number} blocks`);
    assert.equal(tracker.all('settlement.Challenged').length, 0, 'no challenge against honest executors');
    tracker.stop();
    return 2 + batch.length;
  });
}

module.exports = { run };
