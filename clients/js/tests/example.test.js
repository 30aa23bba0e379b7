// The README's example (examples/submit-demo-job.mjs) runs the demo job to settlement on a
// node of its own.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';

import { startNode } from './harness.js';

let node;
before(async () => {
  node = await startNode();
}, { timeout: 120_000 });
after(() => node?.stop(), { timeout: 60_000 });

test('examples/submit-demo-job.mjs submits the demo job and follows it until it settles', { timeout: 240_000 }, async () => {
  const script = fileURLToPath(new URL('../examples/submit-demo-job.mjs', import.meta.url));
  const child = spawn(process.execPath, [script, node.url], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), 200_000);
  const code = await new Promise((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
  assert.equal(code, 0, output);
  for (const line of ['jobs.Assigned', 'settlement.ResultSubmitted', 'settlement.Settled', 'job 0 settled']) {
    assert.ok(output.includes(line), `"${line}" missing from:\n${output}`);
  }
  // The demo MLP's output for the README input (three softmax probabilities).
  assert.match(output, /result \(block #\d+\): F32\[1,3\] 0\.085031\d*, 0\.527263\d*, 0\.387704\d*/);
  console.log(output.trim().split('\n').at(-1));
});
