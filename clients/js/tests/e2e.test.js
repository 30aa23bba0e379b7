// End to end against the real node: a dev chain with the executor role (`--dev --executor`).
// Accounts: Alice validates, executes (genesis) and owns the demo model; Bob, Charlie and Dave verify;
// Charlie is the client of test A; Two (//Two) becomes a second executor; Eve owns the models test A
// registers; Ferdie is the client of test B. The two tests run at once on one node. Then, on a
// node of its own, One (//One) owns, serves and pays for the proven job of test P.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { hexToU8a, u8aToHex } from '@polkadot/util';
import { blake2AsHex } from '@polkadot/util-crypto';

import * as haca from '../src/index.js';
import { inspectModel, startNode, trustAnchor, verifyReceiptFile } from './harness.js';

const models = new URL('../../../offchain-workers/models/', import.meta.url);
const file = (name) => readFileSync(new URL(name, models));
const path = (name) => new URL(name, models).pathname;

/** Fee per run of the models test A registers: 0.05 HACA. */
const INT_FEE = 50_000_000_000n;
/** The exports test A registers and runs (their float outputs are held to
 * onnxruntime's within `EXPORT_TOLERANCE_ULPS`, as in `engine/tests/exports.rs`). */
const EXPORTS = [
  'logistic_regression',
  'random_forest_classifier',
  'gradient_boosting_regressor',
  'mlp_classifier',
  'svc',
  'scaler_logistic_pipeline',
  // Trained on named classes: its labels are strings.
  'logistic_regression_names',
  'cnn',
  'transformer_encoder',
];
/** The exports written as torch.onnx writes PyTorch modules, their batch dimension named. */
const NETWORKS = ['cnn', 'transformer_encoder'];
/** An export the engine refuses (a binary SVC): registered and served all the same, its job
 * fails with the executors' reason and a full refund. */
const UNRUNNABLE = 'svc_binary';
const EXPORT_TOLERANCE_ULPS = 256;
/** The largest batch the exports are registered for; their stored inputs are batches of 4
 * rows, which pay half the fee. */
const EXPORT_BATCH = 8;
const BILLION = 1_000_000_000n;

let node;
let api;

/** The receipt of settled `job`, once its block is final. */
async function receiptOf(job) {
  for (let tries = 0; ; tries += 1) {
    try {
      return await haca.buildReceipt(api, job);
    } catch (error) {
      if (tries >= 30) throw error;
      await new Promise((resolve) => setTimeout(resolve, 2_000));
    }
  }
}

/**
 * Checks `job`'s receipt with the JS client and with `haca-node verify-receipt` (both against
 * the dev chain spec's anchor), and that each kind of tampering fails both by name.
 */
async function checkReceipt(job, { outputHash, executors }) {
  const anchor = trustAnchor('dev');
  const receipt = await receiptOf(job);
  const verified = await haca.verifyReceipt(receipt, anchor);
  assert.equal(verified.outputHash, outputHash);
  assert.deepEqual(new Set(verified.executors), new Set(executors));
  assert.ok(verified.finalized[0] >= verified.block[0]);
  const dir = mkdtempSync(join(tmpdir(), 'haca-receipt-'));
  try {
    const file = join(dir, `job-${job}.json`);
    writeFileSync(file, JSON.stringify(receipt));
    const cli = verifyReceiptFile(file);
    assert.ok(cli.ok, cli.error);
    assert.equal(cli.verified.outputHash, outputHash);
    assert.deepEqual(cli.verified.block, verified.block);

    const flip = (hex, at) => {
      const bytes = Buffer.from(hex.slice(2), 'hex');
      bytes[at < 0 ? bytes.length + at : at] ^= 1;
      return `0x${bytes.toString('hex')}`;
    };
    const tampered = [
      ['OutputsMismatch', 'outputs hash to', { outputs: flip(receipt.outputs, -1) }],
      ['NotInState', "not in the block's state", { outcome: flip(receipt.outcome, -1) }],
      ['NotFinalized', 'finality proof does not verify', { finality: flip(receipt.finality, 60) }],
      ['NotFinalized', 'finality proof does not verify', { header: flip(receipt.header, 40) }],
      ['OtherChain', 'the receipt is of the chain with genesis', { genesisHash: `0x${'00'.repeat(32)}` }],
    ];
    for (const [reason, message, change] of tampered) {
      const bad = { ...receipt, ...change };
      await assert.rejects(haca.verifyReceipt(bad, anchor), (error) => error.reason === reason, `${reason}: ${Object.keys(change)}`);
      writeFileSync(file, JSON.stringify(bad));
      const refused = verifyReceiptFile(file);
      assert.ok(!refused.ok && refused.error.includes(message), `${reason}: ${refused.error}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return receipt;
}

/** Runs `body`, printing the end of the node's log if it fails. */
async function withNodeLog(body) {
  try {
    await body();
  } catch (error) {
    console.error(`--- end of the node log ---\n${node?.tail()}`);
    throw error;
  }
}

describe('the JS client against a dev node', { concurrency: true }, () => {
  before(async () => {
    node = await startNode();
    api = await haca.connect(node.url);
  }, { timeout: 120_000 });

  after(async () => {
    await api?.disconnect();
    await node?.stop();
  }, { timeout: 60_000 });

  it('A: registers models, bonds an executor, runs attested and quorum jobs to settlement', { timeout: 720_000 }, () =>
    withNodeLog(async () => {
      const [alice, bob, charlie, dave, two, eve] = await Promise.all(
        ['Alice', 'Bob', 'Charlie', 'Dave', 'Two', 'Eve'].map(haca.devAccount),
      );
      haca.checkElementTypes(api);

      // Eve registers the integer model from its ONNX file (specs read from the graph), with
      // the dispute graph `haca-node inspect` lowers it to: the executors lower it too
      // before they serve it.
      const onnx = file('int_matmul.onnx');
      const { graph } = inspectModel(path('int_matmul.onnx'));
      const registered = await haca.registerModel(api, eve, { onnx, fee: INT_FEE, modes: haca.MODES.ATTESTED_OR_QUORUM, graph });
      const intModel = registered.model;
      const { baseDeposit, byteDeposit } = api.consts.models;
      assert.equal(registered.deposit, baseDeposit.toBigInt() + byteDeposit.toBigInt() * BigInt(onnx.length));
      // Eve also registers scikit-learn models as skl2onnx exports them, with the input and
      // onnxruntime's outputs stored next to each (offchain-workers/models/exports/). Their
      // batch dimension is dynamic (and unnamed) in the graph: the specs come from the
      // stored tensors, the batch variable up to EXPORT_BATCH rows.
      const exports = await [...EXPORTS, UNRUNNABLE].reduce(async (done, name) => {
        const list = await done;
        const data = `exports/${name}/test_data_set_0/`;
        const tensors = (kind) =>
          [0, 1].map((i) => `${data}${kind}_${i}.pb`).filter((f) => existsSync(new URL(f, models)))
            .map((f) => haca.readTensorProto(file(f)));
        const [inputs, outputs] = [tensors('input'), tensors('output')];
        const spec = ({ name: tensorName, type, shape }) =>
          ({ name: tensorName, elementType: type, shape: [EXPORT_BATCH, ...shape.slice(1)], variableAxes: 1 });
        // The networks name their batch dimension, as torch.onnx does: the specs come from
        // the graph, `batch` bounded.
        // Their dispute graphs as `haca-node inspect` prints them.
        const specs = NETWORKS.includes(name)
          ? {
            bounds: { batch: EXPORT_BATCH },
            graph: inspectModel(path(`exports/${name}/model.onnx`), ['--bound', `batch=${EXPORT_BATCH}`]).graph,
          }
          : { inputs: inputs.map(spec), outputs: outputs.map(spec) };
        const { model } = await haca.registerModel(api, eve, {
          onnx: file(`exports/${name}/model.onnx`),
          fee: INT_FEE,
          modes: haca.MODES.ATTESTED,
          toleranceUlps: EXPORT_TOLERANCE_ULPS,
          ...specs,
        });
        return [...list, { name, model, inputs, outputs }];
      }, Promise.resolve([]));
      const exportModels = exports.map((e) => e.model);
      const info = (await api.query.models.models(intModel)).unwrap();
      assert.equal(info.status.type, 'Active');
      assert.equal(info.owner.toString(), eve.address);
      assert.deepEqual(info.graph.toJSON(), graph);
      assert.deepEqual(info.inputs.toJSON(), [{ name: '0x696e707574', elementType: 'U8', shape: [1, 8], variableAxes: 0 }]);
      assert.deepEqual(info.outputs.toJSON(), [{ name: '0x6f7574707574', elementType: 'I32', shape: [1, 4], variableAxes: 0 }]);

      // Two bonds as a second executor with a fresh `infr` key in this node's keystore (its
      // off-chain worker serves every executor key it holds); Alice adds the new model.
      // Each key comes with its proof of possession for Two: nobody registers a key it does not hold.
      const { publicKey: twoKey, proof: twoProof } = await haca.insertInferenceKey(api, two.address);
      assert.ok((await api.rpc.author.hasKey(twoKey, haca.INFERENCE_KEY_TYPE)).isTrue);
      const rotated = await haca.rotateInferenceKey(api, two.address);
      assert.match(rotated.publicKey, /^0x[0-9a-f]{64}$/);
      assert.ok((await api.rpc.author.hasKey(rotated.publicKey, haca.INFERENCE_KEY_TYPE)).isTrue);
      await assert.rejects(
        haca.registerExecutor(api, two, { key: twoKey, keyProof: rotated.proof, models: [haca.DEMO_MODEL], capacity: 8 }),
        (error) => error.message.includes('BadKeyProof'),
      );
      // Attested jobs on the new model wait for verifiers that audit it: the dev chain's
      // three (Bob, Charlie, Dave) add it.
      assert.equal(await haca.quote(api, intModel, haca.ATTESTED), null);
      await Promise.all([
        haca.setServedModels(api, alice, [haca.DEMO_MODEL, intModel, ...exportModels]),
        haca.registerExecutor(api, two, { key: twoKey, keyProof: twoProof, models: [haca.DEMO_MODEL, intModel, ...exportModels], capacity: 8 }),
        ...[bob, charlie, dave].map((verifier) => haca.setServedModels(api, verifier, [haca.DEMO_MODEL, intModel, ...exportModels])),
      ]);
      const servers = (await api.query.executors.modelServers(intModel)).map(String);
      assert.deepEqual(new Set(servers), new Set([alice.address, two.address]));
      const auditors = (await api.query.executors.modelVerifiers(intModel)).map(String);
      assert.deepEqual(new Set(auditors), new Set([bob.address, charlie.address, dave.address]));
      const minBond = api.consts.executors.minExecutorBond.toBigInt();
      await haca.bondExtra(api, two, BILLION);
      assert.equal((await api.query.executors.executors(two.address)).unwrap().bond.toBigInt(), minBond + BILLION);
      assert.deepEqual(await haca.pendingWork(api, twoKey), []);
      assert.deepEqual(await haca.openDisputes(api), []);
      // The node's own key for Two (made with its proof on the node) replaces the inserted one.
      await haca.setInferenceKey(api, two, rotated);
      assert.equal((await api.query.executors.executors(two.address)).unwrap().key.toHex(), rotated.publicKey);

      // Prices from the chain: fee per run times runs; the owner's share per run.
      const demoFee = (await api.query.models.models(haca.DEMO_MODEL)).unwrap().fee.toBigInt();
      const demoTolerance = (await api.query.models.models(haca.DEMO_MODEL)).unwrap().toleranceUlps.toNumber();
      const ownerShare = api.consts.settlement.ownerShare.toBigInt(); // Perbill: parts per billion
      const split = (fee) => {
        assert.equal((fee * ownerShare) % BILLION, 0n, 'choose fees the owner share divides exactly');
        const owner = (fee * ownerShare) / BILLION;
        return { owner, executor: fee - owner };
      };
      assert.equal(await haca.quote(api, intModel, haca.ATTESTED), INT_FEE);
      assert.equal(await haca.quote(api, intModel, haca.quorum(2, 2)), 2n * INT_FEE);
      assert.equal(await haca.quote(api, haca.DEMO_MODEL, haca.quorum(2, 2)), 2n * demoFee);

      const plans = [
        { name: 'int attested', model: intModel, fee: INT_FEE, ref: 'int_matmul', mode: haca.ATTESTED, runs: 1, overpay: BILLION },
        { name: 'int quorum 2/2', model: intModel, fee: INT_FEE, ref: 'int_matmul', mode: haca.quorum(2, 2), runs: 2, overpay: 0n },
        { name: 'mlp attested', model: haca.DEMO_MODEL, fee: demoFee, ref: 'mlp', mode: haca.ATTESTED, runs: 1, overpay: 0n },
        { name: 'mlp quorum 2/2', model: haca.DEMO_MODEL, fee: demoFee, ref: 'mlp', mode: haca.quorum(2, 2), runs: 2, overpay: 0n },
        { name: 'mlp batch of 2', model: haca.DEMO_MODEL, fee: demoFee, ref: 'mlp', mode: haca.ATTESTED, runs: 1, overpay: 0n, batch: 2 },
      ].map((plan) => ({
        ...plan,
        input: [haca.readNpy(file(`${plan.ref}.input.npy`))],
        reference: [haca.readNpy(file(`${plan.ref}.output.npy`))],
        tolerance: plan.model === intModel ? 0 : demoTolerance,
      }));
      for (const { name, model, inputs, outputs } of exports) {
        const fee = (INT_FEE * BigInt(inputs[0].shape[0])) / BigInt(EXPORT_BATCH);
        plans.push({
          name, model, fee, mode: haca.ATTESTED, runs: 1, overpay: 0n,
          input: inputs, reference: outputs, tolerance: EXPORT_TOLERANCE_ULPS,
          fails: name === UNRUNNABLE ? { reason: 'InvalidModel', detail: /SVMClassifier: a binary classifier is not supported/ } : undefined,
        });
      }
      const owners = { [intModel]: eve.address, [haca.DEMO_MODEL]: alice.address };
      for (const model of exportModels) owners[model] = eve.address;
      const people = { alice, charlie, two, eve };
      const balancesBefore = Object.fromEntries(
        await Promise.all(Object.entries(people).map(async ([n, p]) => [n, await haca.balanceOf(api, p.address)])),
      );
      const expected = { alice: 0n, charlie: 0n, two: 0n, eve: 0n };

      // Charlie submits all the jobs at once (consecutive nonces): they run concurrently. The
      // batch is one transaction of two jobs.
      const nonce = await haca.nextNonce(api, charlie.address);
      const submissions = await Promise.all(
        plans.map(async (plan, i) => {
          const { input } = plan;
          const maxFee = plan.fee * BigInt(plan.runs) + plan.overpay;
          const job = { model: plan.model, mode: plan.mode, maxFee, nonce: nonce + i };
          if (plan.batch) return haca.submitJobs(api, charlie, { ...job, inputs: Array(plan.batch).fill(input) });
          return [await haca.submitJob(api, charlie, { ...job, input })];
        }),
      );
      const batch = submissions[plans.findIndex((p) => p.batch)];
      assert.equal(batch.length, 2);
      assert.equal(batch[1].job, batch[0].job + 1, 'a batch gets consecutive ids');
      for (const jobs of submissions) expected.charlie -= jobs[0].fee; // one transaction fee each
      // One entry per job from here on.
      const submitted = submissions.flat();
      const jobPlans = submissions.flatMap((jobs, i) => jobs.map(() => plans[i]));
      const watches = submitted.map((s) => haca.watchJob(api, s.job, { fromBlock: s.block, timeoutMs: 240_000 }));
      // Executors are drawn after inclusion, from randomness nobody knew when submitting.
      const assignments = await Promise.all(submitted.map((s) => haca.waitAssigned(api, s.job, { fromBlock: s.block })));
      assignments.forEach((assigned, i) => assert.ok(assigned.block >= submitted[i].block + 2, 'drawn two blocks after inclusion at the earliest'));

      // The attested result is readable through the runtime API while provisional.
      const provisional = await watches[0].result;
      const status = await haca.jobStatus(api, submitted[0].job);
      assert.equal(status.phase, 'Provisional');
      assert.equal(status.client, charlie.address);
      assert.equal(status.mode, haca.ATTESTED);
      assert.equal(status.outputHash, provisional.outputHash);
      assert.deepEqual(status.outputs, provisional.outputs);
      assert.equal(status.stake, await haca.jobStake(api, status.model), "each executor's stake comes from the model's fee");

      const outcomes = await Promise.all(watches.map((w) => w.settled));
      const { jobDeposit, inputByteDeposit } = api.consts.jobs;
      const byAddress = Object.fromEntries(Object.entries(people).map(([n, p]) => [p.address, n]));
      outcomes.forEach((outcome, i) => {
        const plan = jobPlans[i];
        const inputLength = haca.encodeTensors(plan.input).length;
        const deposit = jobDeposit.toBigInt() + inputByteDeposit.toBigInt() * BigInt(inputLength);
        if (plan.fails) {
          // Each attempt's executor reported why it could not run the job; the client got
          // everything back.
          assert.equal(outcome.status, 'failed', plan.name);
          assert.ok(outcome.failures.length > 0, plan.name);
          for (const { reason, detail } of outcome.failures) {
            assert.equal(reason, plan.fails.reason, plan.name);
            assert.match(detail ?? '', plan.fails.detail, plan.name);
          }
          assert.equal(outcome.refunded, plan.fee + deposit, plan.name);
          return;
        }
        assert.equal(outcome.status, 'settled', plan.name);
        // Outputs: exactly the reference for integers, within the model's tolerance for floats
        // (NumPy's references for the project's models, onnxruntime's for the exports).
        assert.equal(outcome.tensors.length, plan.reference.length, plan.name);
        outcome.tensors.forEach((output, j) => {
          const reference = plan.reference[j];
          assert.equal(output.type, reference.type, plan.name);
          assert.deepEqual(output.shape, reference.shape, plan.name);
          if (!reference.type.startsWith('F')) {
            assert.deepEqual(Array.from(output.data), Array.from(reference.data), plan.name);
          } else {
            assert.ok(haca.tensorsAgree([output], [reference], plan.tolerance), `${plan.name}: ${output.data} vs ${reference.data}`);
            output.data.forEach((v, k) => assert.ok(Math.abs(v - reference.data[k]) < 1e-4, plan.name));
          }
        });
        // Executors: the one assigned, or both in a 2-of-2 quorum.
        assert.equal(outcome.executors.length, plan.runs, plan.name);
        assert.deepEqual(new Set(outcome.executors), new Set(assignments[i].executors), plan.name);
        // Payment: fee per run out of the escrow; deposit and overpayment back.
        assert.equal(outcome.paid, plan.fee * BigInt(plan.runs), plan.name);
        assert.equal(outcome.refunded, deposit + plan.overpay, plan.name);
        const { owner, executor } = split(plan.fee);
        for (const who of outcome.executors) expected[byAddress[who]] += executor;
        expected[byAddress[owners[plan.model]]] += owner * BigInt(plan.runs);
        expected.charlie -= plan.fee * BigInt(plan.runs);
      });
      for (const job of submitted) assert.equal(await haca.jobStatus(api, job.job), null, 'ended jobs leave the runtime API');
      // ...for their outcome, settled outputs (quorum ones too) and executors.
      for (const [i, { job }] of submitted.entries()) {
        const ended = await haca.jobOutcome(api, job);
        assert.equal(ended.end, jobPlans[i].fails ? 'Failed' : 'Settled', jobPlans[i].name);
        if (jobPlans[i].fails) continue;
        assert.equal(ended.outputHash, outcomes[i].outputHash, jobPlans[i].name);
        assert.deepEqual(ended.outputs, outcomes[i].outputs, jobPlans[i].name);
        assert.deepEqual(new Set(ended.executors), new Set(outcomes[i].executors), jobPlans[i].name);
      }
      assert.equal(await haca.jobOutcome(api, 1_000_000), null, 'a job that never existed has none');

      // The batch's results came in one group statement: each outcome names its signed root.
      const batchRoots = await Promise.all(batch.map(async ({ job }) => (await haca.jobOutcome(api, job)).groupRoot));
      assert.ok(batchRoots[0] && batchRoots[0] === batchRoots[1], 'one signed root for the batch');
      assert.equal((await haca.jobOutcome(api, submitted[0].job)).groupRoot, null, 'a job of its own');

      // Receipts of an attested job, a quorum job and a batch member (its executor's
      // signature of the group's root, and its inclusion proof) verify without trusting the
      // node.
      for (const kind of ['attested', 'quorum', 'batch']) {
        const i = jobPlans.findIndex((plan, k) => !plan.fails && outcomes[k].status === 'settled' && (
          kind === 'batch' ? plan.batch : !plan.batch && (kind === 'attested') === (plan.mode === haca.ATTESTED)));
        const receipt = await checkReceipt(submitted[i].job, outcomes[i]);
        console.log(`receipt of ${jobPlans[i].name} job ${submitted[i].job}: ${JSON.stringify(receipt).length} bytes`);
      }

      // Balances moved exactly as the fees say (transaction fees are burnt on this chain; the
      // executors' statements are fee-less; nobody else touched these accounts meanwhile).
      for (const [name, person] of Object.entries(people)) {
        const now = await haca.balanceOf(api, person.address);
        assert.equal(now.total - balancesBefore[name].total, expected[name], `${name}'s balance`);
        assert.equal(now.reserved, balancesBefore[name].reserved, `${name}'s held balance`);
      }

      console.log('latency from job inclusion (on-chain timestamps):');
      outcomes.forEach((outcome, i) => {
        if (jobPlans[i].fails) return;
        const l = haca.latency(submitted[i], outcome);
        console.log(
          `  ${jobPlans[i].name.padEnd(15)} job ${submitted[i].job}: result after ${l.resultBlocks} blocks (${l.resultSeconds} s), ` +
            `settled after ${l.settleBlocks} blocks (${l.settleSeconds} s)`,
        );
      });
    }));

  it('B: bad submissions and batches fail with named jobs errors and cost only the transaction fee', { timeout: 120_000 }, () =>
    withNodeLog(async () => {
      const ferdie = await haca.devAccount('Ferdie');
      const demoFee = (await api.query.models.models(haca.DEMO_MODEL)).unwrap().fee.toBigInt();
      const good = { type: 'F32', shape: [1, 4], data: [0.5, -1, 2, 0.25] };
      const demo = { model: haca.DEMO_MODEL, input: [good], mode: haca.ATTESTED, maxFee: demoFee };
      const long = new Uint8Array(64 * 1024 + 1);
      const cases = [
        { error: 'WrongInputShape', job: { ...demo, input: [{ type: 'F32', shape: [1, 3], data: [1, 2, 3] }] } },
        { error: 'WrongInputType', job: { ...demo, input: [{ type: 'I32', shape: [1, 4], data: [1, 2, 3, 4] }] } },
        { error: 'WrongInputCount', job: { ...demo, input: [good, good] } },
        { error: 'MalformedInput', job: { ...demo, input: new Uint8Array([...haca.encodeTensors([good]), 0]) } },
        { error: 'UnknownModel', job: { ...demo, model: `0x${'11'.repeat(32)}` } },
        { error: 'FeeTooLow', job: { ...demo, maxFee: demoFee - 1n } },
        { error: 'InvalidQuorum', job: { ...demo, mode: haca.quorum(1, 2), maxFee: 2n * demoFee } },
        // One bad input fails a whole batch; the good one before it is not submitted either.
        { error: 'WrongInputShape', batch: { ...demo, inputs: [[good], [{ type: 'F32', shape: [4, 1], data: [1, 2, 3, 4] }]] } },
        { error: 'EmptyBatch', batch: { ...demo, inputs: [] } },
        // Longer than MaxInputLen (64 KiB), sent as raw calls (the client refuses them before
        // sending): a named error, not a transaction the pool cannot decode.
        { error: 'InputTooLong', tx: () => api.tx.jobs.submit(demo.model, u8aToHex(long), demo.mode, demo.maxFee) },
        { error: 'InputTooLong', tx: () => api.tx.jobs.submitBatch(demo.model, [u8aToHex(haca.encodeTensors([good])), u8aToHex(long)], demo.mode, demo.maxFee) },
        { error: 'TooManyInputs', batch: { ...demo, inputs: Array(65).fill([good]) } },
      ];
      await assert.rejects(haca.submitJob(api, ferdie, { ...demo, input: long }), /longer than jobs.MaxInputLen \(65536\)/);
      const before = await haca.balanceOf(api, ferdie.address);
      const nonce = await haca.nextNonce(api, ferdie.address);
      const outcomes = await Promise.allSettled(
        cases.map(({ job, batch, tx }, i) => {
          if (tx) return haca.sendTx(api, ferdie, tx(), { nonce: nonce + i });
          return job ? haca.submitJob(api, ferdie, { ...job, nonce: nonce + i }) : haca.submitJobs(api, ferdie, { ...batch, nonce: nonce + i });
        }),
      );
      let fees = 0n;
      outcomes.forEach((outcome, i) => {
        assert.equal(outcome.status, 'rejected', cases[i].error);
        const error = outcome.reason;
        assert.ok(error instanceof haca.TxError, `${cases[i].error}: ${error}`);
        assert.equal(`${error.section}.${error.method}`, `jobs.${cases[i].error}`);
        assert.ok(error.receipt.fee > 0n);
        assert.ok(!error.receipt.events.some((e) => e.section === 'jobs'), 'no job events');
        fees += error.receipt.fee;
      });
      const now = await haca.balanceOf(api, ferdie.address);
      assert.equal(now.total, before.total - fees, 'only the transaction fees were charged');
      // Before registering: the node's dry run names what stops executors, or gives the specs.
      const refused = await haca.checkModel(api, file(`exports/${UNRUNNABLE}/model.onnx`), { unnamedBound: 4 });
      assert.equal(refused.runs, false);
      assert.match(refused.reason, /SVMClassifier: a binary classifier is not supported/);
      const runs = await haca.checkModel(api, file('exports/cnn/model.onnx'), { bounds: { batch: EXPORT_BATCH } });
      assert.equal(runs.runs, true, runs.reason);
      assert.equal(runs.inputs.length, 1);
      assert.equal(now.reserved, before.reserved, 'nothing held');
      const jobs = await api.query.jobs.jobs.entries();
      assert.ok(!jobs.some(([, job]) => job.unwrap().client.toString() === ferdie.address), 'no job created');
    }));
});

// A proven job, on a node of its own, after the other tests.
describe('a proven job against a dev node', () => {
  before(async () => {
    node = await startNode();
    api = await haca.connect(node.url);
  }, { timeout: 120_000 });

  after(async () => {
    await api?.disconnect();
    await node?.stop();
  }, { timeout: 60_000 });

  it('P: a proven job on an int8 MLP settles in the block that verifies its proof; its receipt verifies', { timeout: 300_000 }, () =>
    withNodeLog(async () => {
      const one = await haca.devAccount('One');
      // `haca-node inspect` proves the sample's run and prints the circuit to register.
      const name = 'exports/int8_mlp/model.onnx';
      const inspected = inspectModel(path(name), ['--bound', 'batch=4']);
      assert.match(inspected.circuit, /^0x[0-9a-f]+$/);
      const { model } = await haca.registerModel(api, one, {
        onnx: file(name),
        fee: INT_FEE,
        bounds: { batch: 4 },
        graph: inspected.graph,
        circuit: inspected.circuit,
      });
      const info = (await api.query.models.models(model)).unwrap();
      assert.ok(info.modes.proven.isTrue);
      // (`.hash` of a polkadot.js value is the hash of its encoding: the field is read from JSON.)
      assert.equal(info.circuit.unwrap().toJSON().hash, blake2AsHex(hexToU8a(inspected.circuit)));
      // One bonds as its executor, with a key in this node's keystore.
      const { publicKey, proof } = await haca.insertInferenceKey(api, one.address);
      await haca.registerExecutor(api, one, { key: publicKey, keyProof: proof, models: [model], capacity: 4 });

      const input = haca.readTensorProto(file('exports/int8_mlp/test_data_set_0/input_0.pb'));
      const maxFee = await haca.quote(api, model, haca.PROVEN);
      const submitted = await haca.submitJob(api, one, { model, input: [input], mode: haca.PROVEN, maxFee });
      const events = [];
      const watch = haca.watchJob(api, submitted.job, { fromBlock: submitted.block, onEvent: (event) => events.push(event) });
      const outcome = await watch.settled;
      assert.equal(outcome.status, 'settled', JSON.stringify(outcome.failures));
      const proven = events.find((event) => event.method === 'ResultProven');
      const settled = events.find((event) => event.method === 'Settled');
      assert.ok(proven, 'settlement.ResultProven');
      // Final in the block that verified the proof: no window.
      assert.equal(proven.block, settled.block);
      assert.equal(proven.data.outputHash, outcome.outputHash);
      assert.deepEqual(outcome.tensors[0].shape, [4, 10]);
      assert.equal((await haca.jobOutcome(api, submitted.job)).mode, haca.PROVEN);
      await checkReceipt(submitted.job, { outputHash: outcome.outputHash, executors: [one.address] });
    }));
});
