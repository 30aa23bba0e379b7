#!/usr/bin/env node
// Submits the demo job of the README as Charlie and prints its events until it settles.
//
//   node examples/submit-demo-job.mjs [ws://127.0.0.1:9944] [--quorum]
//
// The node must run a chain with an executor of the demo model: the README's main job
// (`haca-node --dev --executor --verifier`). `--quorum` submits a 2-of-2 quorum job, which
// needs two executors (the testnet chain has Charlie and Dave).
// Environment: HACA_WS (endpoint), HACA_SURI (signer, default //Charlie).

import {
  ATTESTED,
  DEMO_MODEL,
  connect,
  devAccount,
  jobStatus,
  latency,
  quorum,
  submitJob,
  watchJob,
} from '../src/index.js';

const url = process.argv.slice(2).find((a) => !a.startsWith('--')) ?? process.env.HACA_WS ?? 'ws://127.0.0.1:9944';
const mode = process.argv.includes('--quorum') ? quorum(2, 2) : ATTESTED;
const HACA = 10n ** 12n;
const format = (plancks) => `${plancks / HACA}.${(plancks % HACA).toString().padStart(12, '0')} HACA`;

let api;
try {
  api = await connect(url);
  const client = await devAccount(process.env.HACA_SURI ?? '//Charlie');
  // One f32 tensor of shape [1, 4]; encoded 0x0400080100000004000000400000003f000080bf000000400000803e.
  const input = [{ type: 'F32', shape: [1, 4], data: [0.5, -1, 2, 0.25] }];

  console.log(`submitting the demo job (${JSON.stringify(mode)}) as ${client.address} to ${url}`);
  const job = await submitJob(api, client, { model: DEMO_MODEL, input, mode });
  console.log(`#${job.block} jobs.submit: job ${job.job}, max fee ${format(job.maxFee)}, transaction fee ${format(job.fee)}`);
  for (const { section, method, data } of job.receipt.events) {
    if (section === 'jobs') console.log(`#${job.block} ${section}.${method} ${JSON.stringify(data.toHuman())}`);
  }
  console.log('status (runtime API):', JSON.stringify(await jobStatus(api, job.job), (_, v) => (typeof v === 'bigint' ? v.toString() : v)));

  const watch = watchJob(api, job.job, {
    fromBlock: job.block + 1,
    timeoutMs: 180_000,
    onEvent: ({ block, section, method, data }) => console.log(`#${block} ${section}.${method} ${JSON.stringify(data)}`),
  });
  const result = await watch.result;
  console.log(`result (block #${result.block}):`, result.tensors.map((t) => `${t.type}[${t.shape}] ${Array.from(t.data).join(', ')}`).join('; '));
  const outcome = await watch.settled;
  const l = latency(job, outcome);
  console.log(
    `job ${job.job} ${outcome.status}: paid ${format(outcome.paid)} to ${outcome.executors.join(', ')} and the model owner, ` +
      `refunded ${format(outcome.refunded)}; result after ${l.resultBlocks} blocks (${l.resultSeconds} s), ` +
      `settled after ${l.settleBlocks} blocks (${l.settleSeconds} s)`,
  );
} catch (error) {
  console.error(`error: ${error.message}`); // e.g. "jobs.FeeTooLow: The maximum fee is below ..."
  process.exitCode = 1;
} finally {
  await api?.disconnect();
}
