// The web dApp in a real browser (Debian's Chromium, driven by playwright-core) against a
// real dev node started here: the page's light client follows the chain from the chain spec;
// a job submitted through the page settles and its receipt verifies in the browser, and the
// light client finds the same outcome in the chain it verified; an edited receipt does not
// verify, and says why; bad input is refused in words before anything is sent; a lost node
// is reported and the page recovers when it is back; a proven job chosen in the form settles
// in the block that verifies its proof, and the page says so. `UPDATE_SCREENSHOTS=1` writes
// the README's screenshots to docs/.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';
import { build } from 'vite';

import * as haca from '../../js/src/index.js';
import { inspectModel, startNode } from '../../js/tests/harness.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const models = fileURLToPath(new URL('../../../offchain-workers/models/', import.meta.url));
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const shots = process.env.UPDATE_SCREENSHOTS ? join(root, 'docs') : mkdtempSync(join(tmpdir(), 'haca-web-shots-'));

let node;
let proxy;
let server;
let browser;
let page;
let outDir;

/** Serves `dir` on a free loopback port (the page's files; unknown paths get index.html). */
function serve(dir) {
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.wasm': 'application/wasm' };
  const httpServer = createServer((request, response) => {
    const path = join(dir, decodeURIComponent(new URL(request.url, 'http://x').pathname));
    const file = path.startsWith(dir) && existsSync(path) && extname(path) ? path : join(dir, 'index.html');
    response.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' });
    response.end(readFileSync(file));
  });
  return new Promise((resolve) => httpServer.listen(0, '127.0.0.1', () => resolve(httpServer)));
}

/**
 * A TCP proxy from a free loopback port to `target`, which can drop its connections and
 * refuse new ones (`cut`) and take them again (`restore`): the node going away and coming
 * back, as the page sees it.
 */
async function tcpProxy(target) {
  const sockets = new Set();
  let open = true;
  const proxyServer = net.createServer((client) => {
    if (!open) return client.destroy();
    const upstream = net.connect(target, '127.0.0.1');
    for (const [a, b] of [[client, upstream], [upstream, client]]) {
      a.pipe(b);
      a.on('error', () => b.destroy());
      a.on('close', () => b.destroy());
      sockets.add(a);
    }
    return undefined;
  });
  await new Promise((resolve) => proxyServer.listen(0, '127.0.0.1', resolve));
  return {
    port: proxyServer.address().port,
    cut() {
      open = false;
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    },
    restore() {
      open = true;
    },
    close: () => new Promise((resolve) => proxyServer.close(resolve)),
  };
}

before(async () => {
  // The page's light client dials the node's peer-to-peer port over WebSocket.
  node = await startNode({ webSocketP2p: true });
  proxy = await tcpProxy(Number(new URL(node.url).port));
  execFileSync(process.execPath, [join(root, 'scripts', 'chain-spec.mjs')], { stdio: 'inherit' });
  outDir = mkdtempSync(join(tmpdir(), 'haca-web-'));
  await build({ root, logLevel: 'warn', build: { outDir, emptyOutDir: true } });
  server = await serve(outDir);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await browser.newPage({ viewport: { width: 1200, height: 900 }, acceptDownloads: true });
  page.on('pageerror', (error) => console.error(`page error: ${error.message}`));
}, { timeout: 180_000 });

after(async () => {
  await browser?.close();
  server?.close();
  await proxy?.close();
  await node?.stop();
  if (outDir) rmSync(outDir, { recursive: true, force: true });
  if (!process.env.UPDATE_SCREENSHOTS) rmSync(shots, { recursive: true, force: true });
}, { timeout: 60_000 });

test('a job submitted in the browser settles and its receipt verifies there; an edited one does not', { timeout: 420_000 }, async () => {
  const url = `http://127.0.0.1:${server.address().port}/?rpc=ws://127.0.0.1:${proxy.port}&account=Charlie`;
  const opened = Date.now();
  await page.goto(`${url}#/models`);
  const submitLink = page.locator(`a[href="#/submit/${haca.DEMO_MODEL}"]`);
  await submitLink.waitFor({ timeout: 60_000 });
  await page.locator('#connection.connected').waitFor();
  console.log(`page opened to models listed: ${Date.now() - opened} ms`);
  await page.locator('#light.light-synced').waitFor({ timeout: 60_000 });
  console.log(`page opened to the light client's first finalized head: ${Date.now() - opened} ms`);
  mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: join(shots, 'models.png') });

  await submitLink.click();
  const values = page.locator('textarea');
  const problems = page.locator('#problems');
  const submit = page.locator('#submit');
  // Bad input is refused in words, and nothing can be sent.
  await values.fill('0.5 -1 2');
  await problems.getByText('has 4 elements, got 3').waitFor();
  assert.ok(await submit.isDisabled());
  await values.fill('0.5 -1 2 0.25');
  await page.locator('input[name=maxFee]').fill('0.000001');
  await problems.getByText('below the quote').waitFor();
  assert.ok(await submit.isDisabled());
  // A wrong-shaped upload: a .npy of 3 values for an input of 4.
  await page.locator('input[type=file]').setInputFiles({ name: 'wrong.npy', mimeType: 'application/octet-stream', buffer: npyF32([1, 3], [1, 2, 3]) });
  await page.getByText('the model takes F32 [1, 4]; the file holds F32 [1, 3]').waitFor();
  await page.locator('input[type=file]').setInputFiles([]);
  const quote = await page.locator('text=/^quote: /').textContent();
  await page.locator('input[name=maxFee]').fill(quote.replace('quote: ', '').split(' ')[0]);
  await page.waitForFunction(() => !document.querySelector('#submit').disabled, null, { timeout: 30_000 });
  await page.screenshot({ path: join(shots, 'submit.png') });

  await submit.click();
  await page.waitForURL(/#\/job\/\d+/, { timeout: 60_000 });
  const job = Number(/#\/job\/(\d+)/.exec(page.url())[1]);
  await page.locator('#phase.ok').waitFor({ timeout: 300_000 });
  const settled = Date.now();
  await page.locator('#receipt-status').getByText('Receipt verified in this browser').waitFor({ timeout: 120_000 });
  console.log(`settled to receipt verified in the page (finality included): ${Date.now() - settled} ms`);
  await page.locator('#light-check.ok').getByText('holds the same outcome').waitFor({ timeout: 60_000 });
  const timeline = await page.locator('#timeline li').allTextContents();
  assert.deepEqual(timeline, ['Submitted', 'Assigned', 'Result', 'Challenge window', 'Settled']);
  assert.equal(await page.locator('#timeline li.done').count(), 5);
  assert.ok((await page.locator('.output-values tr').count()) > 1, 'the outputs are shown');
  await page.screenshot({ path: join(shots, 'job.png'), fullPage: true });

  const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#download').click()]);
  const receipt = JSON.parse(readFileSync(await download.path(), 'utf8'));
  assert.equal(receipt.job, job);
  console.log(`receipt of job ${job}: ${JSON.stringify(receipt).length} bytes`);

  // The verify page: the downloaded receipt verifies; with one output byte changed it does
  // not, and says why.
  await page.goto(`${url}#/verify`);
  const file = page.locator('#receipt-file');
  await file.setInputFiles({ name: 'receipt.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(receipt)) });
  await page.locator('#verify-status').getByText(`Receipt verified: job ${job}`).waitFor();
  await page.locator('#light-check.ok').getByText('holds the same outcome').waitFor({ timeout: 60_000 });
  const outputs = Buffer.from(receipt.outputs.slice(2), 'hex');
  outputs[outputs.length - 1] ^= 1;
  const edited = { ...receipt, outputs: `0x${outputs.toString('hex')}` };
  await file.setInputFiles({ name: 'edited.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(edited)) });
  await page.locator('#verify-status').getByText('The receipt does not verify: the outputs hash to').waitFor();
  await page.screenshot({ path: join(shots, 'verify.png') });

  // The account's jobs and the executors.
  await page.goto(`${url}#/jobs`);
  await page.locator(`#my-jobs a[href="#/job/${job}"]`).waitFor({ timeout: 30_000 });
  await page.goto(`${url}#/executors`);
  await page.locator('#executors tbody tr').first().waitFor({ timeout: 30_000 });
  await page.screenshot({ path: join(shots, 'executors.png') });
});

test('a lost node is reported in words, nothing can be sent, and the page recovers when it is back', { timeout: 120_000 }, async () => {
  const url = `http://127.0.0.1:${server.address().port}/?rpc=ws://127.0.0.1:${proxy.port}&account=Charlie`;
  await page.goto(`${url}#/submit/${haca.DEMO_MODEL}`);
  await page.locator('#connection.connected').waitFor({ timeout: 60_000 });
  await page.locator('textarea').fill('0.5 -1 2 0.25');
  proxy.cut();
  await page.locator('#banner').getByText('lost the connection').waitFor({ timeout: 30_000 });
  await page.locator('#problems').getByText('Not connected to the node.').waitFor();
  assert.ok(await page.locator('#submit').isDisabled());
  proxy.restore();
  await page.locator('#connection.connected').waitFor({ timeout: 60_000 });
  assert.ok(await page.locator('#banner').isHidden());
  // What was typed stands, and can be sent again.
  await page.waitForFunction(() => !document.querySelector('#submit').disabled, null, { timeout: 30_000 });
  assert.equal(await page.locator('textarea').inputValue(), '0.5 -1 2 0.25');
});

test('a proven job chosen in the form settles in the block that verifies its proof; its receipt verifies', { timeout: 300_000 }, async () => {
  // One registers the int8 MLP with the circuit `haca-node inspect` prints, and serves it.
  const api = await haca.connect(node.url);
  let model;
  try {
    const one = await haca.devAccount('One');
    const onnx = join(models, 'exports/int8_mlp/model.onnx');
    const inspected = inspectModel(onnx, ['--bound', 'batch=4']);
    ({ model } = await haca.registerModel(api, one, {
      onnx: readFileSync(onnx),
      fee: 50_000_000_000n,
      bounds: { batch: 4 },
      graph: inspected.graph,
      circuit: inspected.circuit,
    }));
    const { publicKey, proof } = await haca.insertInferenceKey(api, one.address);
    await haca.registerExecutor(api, one, { key: publicKey, keyProof: proof, models: [model], capacity: 4 });
  } finally {
    await api.disconnect();
  }

  const url = `http://127.0.0.1:${server.address().port}/?rpc=ws://127.0.0.1:${proxy.port}&account=Charlie`;
  await page.goto(`${url}#/submit/${model}`);
  await page.locator('#connection.connected').waitFor({ timeout: 60_000 });
  await page.locator('select[name=mode]').selectOption('proven');
  await page.locator('input[type=file]').setInputFiles(join(models, 'exports/int8_mlp/test_data_set_0/input_0.pb'));
  await page.getByText('input_0.pb: F32 [4, 64]').waitFor();
  await page.waitForFunction(() => !document.querySelector('#submit').disabled, null, { timeout: 30_000 });
  await page.locator('#submit').click();
  await page.waitForURL(/#\/job\/\d+/, { timeout: 60_000 });

  await page.locator('#phase.ok').waitFor({ timeout: 180_000 });
  await page.getByText('Proven (the runtime verified its proof)').waitFor();
  assert.deepEqual(await page.locator('#timeline li').allTextContents(), ['Submitted', 'Assigned', 'Proven and settled']);
  assert.equal(await page.locator('#timeline li.done').count(), 3);
  // Final in the block that verified the proof: the result and the settlement share it.
  await page.locator('td', { hasText: /^settlement\.Settled$/ }).waitFor({ timeout: 30_000 });
  const events = await page.locator('tr').evaluateAll((rows) => rows.map((row) => [...row.cells].map((cell) => cell.textContent)));
  const blockOf = (name) => events.find((cells) => cells[1] === name)?.[0];
  assert.ok(blockOf('settlement.ResultProven'), `settlement.ResultProven among ${JSON.stringify(events)}`);
  assert.equal(blockOf('settlement.ResultProven'), blockOf('settlement.Settled'));
  await page.locator('#receipt-status').getByText('Receipt verified in this browser').waitFor({ timeout: 120_000 });
  await page.screenshot({ path: join(shots, 'proven.png'), fullPage: true });
});

/** A .npy file (version 1.0) of little-endian f32 values. */
function npyF32(shape, values) {
  const header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const unpadded = 10 + header.length + 1;
  const padded = header + ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  Buffer.from([0x93, ...Buffer.from('NUMPY'), 1, 0]).copy(head);
  head.writeUInt16LE(padded.length, 8);
  const data = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => data.writeFloatLE(v, i * 4));
  return Buffer.concat([head, Buffer.from(padded), data]);
}
