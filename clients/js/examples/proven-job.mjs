#!/usr/bin/env node
// Registers the int8 MLP with its circuit, lets the dev chain's executor serve it, and runs a
// proven job as Charlie: the executor proves its run, the runtime verifies the proof, and the
// job settles in that block.
//
//   cargo run -p haca-node -- inspect --bound batch=4 \
//     --model offchain-workers/models/exports/int8_mlp/model.onnx | tail -1 > /tmp/int8_mlp.json
//   node examples/proven-job.mjs /tmp/int8_mlp.json [ws://127.0.0.1:9944]
//
// The first argument is `haca-node inspect`'s JSON for the model (its specs, dispute graph and
// circuit). The node must run the README's main job (`haca-node --dev --executor --verifier`).

import { readFileSync } from 'node:fs';

import { blake2AsHex } from '@polkadot/util-crypto';

import {
  DEMO_MODEL,
  PROVEN,
  connect,
  devAccount,
  latency,
  quote,
  readTensorProto,
  registerModel,
  setServedModels,
  submitJob,
  watchJob,
} from '../src/index.js';

const [inspected, url = process.env.HACA_WS ?? 'ws://127.0.0.1:9944'] = process.argv.slice(2);
if (!inspected) {
  console.error('usage: node examples/proven-job.mjs <haca-node inspect JSON> [ws endpoint]');
  process.exit(2);
}
const models = new URL('../../../offchain-workers/models/exports/int8_mlp/', import.meta.url);
const { inputs, outputs, graph, circuit } = JSON.parse(readFileSync(inspected, 'utf8'));
const HACA = 10n ** 12n;
const format = (plancks) => `${plancks / HACA}.${(plancks % HACA).toString().padStart(12, '0')} HACA`;

let api;
try {
  api = await connect(url);
  const [alice, charlie] = await Promise.all(['Alice', 'Charlie'].map(devAccount));
  const onnx = readFileSync(new URL('model.onnx', models));
  // Registered by Alice (a model's hash registers once: a second run finds it there).
  const { model } = await registerModel(api, alice, { onnx, fee: 50_000_000_000n, inputs, outputs, graph, circuit })
    .catch(async (error) => {
      if (!error.message.includes('AlreadyRegistered')) throw error;
      return { model: blake2AsHex(onnx, 256) };
    });
  console.log(`model ${model}: registered with its circuit (${(circuit.length - 2) / 2} bytes)`);
  await setServedModels(api, alice, [DEMO_MODEL, model]);

  const input = readTensorProto(readFileSync(new URL('test_data_set_0/input_0.pb', models)));
  const maxFee = await quote(api, model, PROVEN);
  const job = await submitJob(api, charlie, { model, input: [input], mode: PROVEN, maxFee });
  console.log(`#${job.block} jobs.submit: job ${job.job} (Proven), max fee ${format(job.maxFee)}`);
  const watch = watchJob(api, job.job, {
    fromBlock: job.block + 1,
    timeoutMs: 180_000,
    onEvent: ({ block, section, method, data }) => {
      const shown = method === 'ResultProven' ? { outputHash: data.outputHash } : data;
      console.log(`#${block} ${section}.${method} ${JSON.stringify(shown)}`);
    },
  });
  const outcome = await watch.settled;
  const l = latency(job, outcome);
  console.log(
    `job ${job.job} ${outcome.status}: proven and settled after ${l.settleBlocks} blocks (${l.settleSeconds} s); ` +
      `logits of sample 0: ${Array.from(outcome.tensors[0].data).slice(0, 10).join(', ')}`,
  );
} catch (error) {
  console.error(`error: ${error.message}`);
  process.exitCode = 1;
} finally {
  await api?.disconnect();
}
