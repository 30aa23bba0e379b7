// A heavy model through the network's own peers. Alice, a validator, holds a ResNet-18
// (45 MB, scripts/gen_heavy_models.py) in her model store (run.sh put it there); Eve
// registers it off chain with the JS client, at a locator that serves nothing. Charlie and
// Dave serve it and the verifiers audit it: the nodes of Charlie, Dave and Eve fetch it by
// its hash from their peers. An attested job and a 2-of-2 quorum job on it settle, the
// attested outputs onnxruntime's (within the registered tolerance) and the quorum agreeing
// on them; the executors' bytes came from peers. Returns the number of jobs settled.

const { readFileSync } = require('node:fs');
const { join } = require('node:path');

const HEAVY = join(__dirname, '..', '..', 'offchain-workers', 'models', 'heavy', 'resnet18');
const TOLERANCE_ULPS = 4096;

async function run(nodeName, networkInfo) {
  const lib = await require('./load.cjs')();
  const { haca, assert, UNIT } = lib;
  const log = lib.logger('models');
  const accs = await lib.accounts();
  const onnx = readFileSync(join(HEAVY, 'model.onnx'));
  const input = haca.readTensorProto(readFileSync(join(HEAVY, 'test_data_set_0', 'input_0.pb')));
  const reference = haca.readTensorProto(readFileSync(join(HEAVY, 'test_data_set_0', 'output_0.pb')));
  const executors = [accs.Charlie.address, accs.Dave.address];

  return lib.withApis(networkInfo, ['alice'], async (alice) => {
    const t0 = Date.now();
    const start = await lib.finalBlock(alice);
    const tracker = lib.trackEvents(alice, start.number + 1);
    const { model, deposit } = await haca.registerOffChainModel(alice, accs.Eve, {
      onnx,
      locators: ['http://127.0.0.1:9/resnet18.onnx'],
      fee: UNIT / 20n,
      toleranceUlps: TOLERANCE_ULPS,
    });
    log(`ResNet-18 ${model} (${onnx.length} bytes) registered off chain, deposit ${lib.haca4(deposit)}`);
    // The executors serve it; the genesis verifiers audit it (attested jobs need three), a
    // verifier slashed by an earlier step topped up first.
    const verifiers = await lib.topUpVerifiers(alice, accs);
    await Promise.all([accs.Charlie, accs.Dave, ...verifiers].map((who) =>
      haca.setServedModels(alice, who, [haca.DEMO_MODEL, model])));
    while ((await haca.quote(alice, model, haca.ATTESTED)) === null) await lib.sleep(1000);

    const nonce = await haca.nextNonce(alice, accs.Ferdie.address);
    const [attested, quorumJob] = await Promise.all([
      haca.submitJob(alice, accs.Ferdie, { model, input: [input], mode: haca.ATTESTED, nonce }),
      haca.submitJob(alice, accs.Ferdie, { model, input: [input], mode: haca.quorum(2, 2), nonce: nonce + 1 }),
    ]);
    // Ids as the finalised chain has them (a fork may renumber jobs).
    const [[finalAttested], [finalQuorum]] = await Promise.all([
      lib.finalisedJobs(tracker, accs.Ferdie.address),
      lib.finalisedJobs(tracker, accs.Ferdie.address, { quorum: true }),
    ]);
    Object.assign(attested, finalAttested);
    Object.assign(quorumJob, finalQuorum);
    const result = await tracker.waitFor('settlement.ResultSubmitted', (e) => lib.jobOf(e) === attested.job, 240_000);
    const outputs = lib.eventOutputs(result);
    assert.ok(outputs && haca.tensorsAgree(outputs, [reference], TOLERANCE_ULPS), 'the attested outputs are onnxruntime\'s');
    log(`attested job ${attested.job}: result ${((Date.now() - t0) / 1000).toFixed(0)} s after the registration was sent`);

    const quorumSettled = await tracker.waitFor('settlement.Settled', (e) => lib.jobOf(e) === quorumJob.job, 240_000);
    assert.deepEqual(lib.addresses(quorumSettled.data.executors).sort(), [...executors].sort(), 'both executors paid');
    assert.equal(quorumSettled.data.outputHash.toHex(), result.data.outputHash.toHex(), 'the quorum agreed on the attested output');
    lib.checkSpotCheck(tracker, accs, quorumJob.job, log);
    const settled = await tracker.waitFor('settlement.Settled', (e) => lib.jobOf(e) === attested.job, 240_000);
    log(`quorum job ${quorumJob.job} settled at #${quorumSettled.block}, attested job ${attested.job} at #${settled.block}`);
    assert.equal(tracker.all('settlement.ExecutionFailed').length, 0, 'no executor failed to get the model');
    tracker.stop();

    // The executors' bytes came from their peers: nobody served the locator.
    for (const name of ['charlie', 'dave']) {
      const text = await lib.metricsText(networkInfo, name);
      const peer = text.match(/^haca_model_fetch_bytes_total\{[^}]*source="peer"[^}]*\} (\d+)$/m);
      assert.equal(Number(peer?.[1]), onnx.length, `${name} fetched the model from peers`);
    }
    return 2;
  });
}

module.exports = { run };
