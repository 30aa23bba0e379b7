// The job of `executor-down.cjs` settles on the executor it was re-assigned to: that
// executor's result is the reference output, it alone is paid, Bob pays one model fee (the
// executor that died gets nothing). The other jobs submitted meanwhile settle too.
// Returns the number of jobs settled.

async function run(nodeName, networkInfo) {
  const lib = await require('./load.cjs')();
  const { haca, assert } = lib;
  const log = lib.logger('executor-down');
  const accs = await lib.accounts();
  const state = lib.loadState(networkInfo, 'executor-down');

  return lib.withApis(networkInfo, [nodeName], async (api) => {
    const fee = await haca.quote(api, haca.DEMO_MODEL, haca.ATTESTED);
    const tracker = lib.trackEvents(api, state.from);
    const result = await tracker.waitFor('settlement.ResultSubmitted', (e) => lib.jobOf(e) === state.job, 120_000);
    assert.equal(result.data.executor.toString(), state.other, 'the result came from the new executor');
    assert.ok(lib.matchesReference(lib.eventOutputs(result)), 'reference outputs');
    const settled = await tracker.waitFor('settlement.Settled', (e) => lib.jobOf(e) === state.job, 180_000);
    const ended = await tracker.waitFor('settlement.Settled', (e) => lib.jobOf(e) === state.job, 60_000);
    assert.deepEqual(lib.addresses(settled.data.executors), [state.other], 'only the new executor was paid');
    assert.equal(ended.data.paid.toBigInt(), fee, 'one model fee paid');
    log(`job ${state.job}: result from ${lib.nameOf(accs, state.other)} at #${result.block}, settled at #${settled.block} ` +
      `(${settled.block - state.block} blocks after submission), paid ${lib.haca4(fee)}`);
    for (const job of state.others) {
      const end = await tracker.waitFor('settlement.Settled', (e) => lib.jobOf(e) === job, 180_000);
      assert.equal(end.data.paid.toBigInt(), fee, `job ${job} paid one fee`);
    }
    tracker.stop();
    return 1 + state.others.length;
  });
}

module.exports = { run };
