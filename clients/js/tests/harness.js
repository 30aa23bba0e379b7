// Test support: starts the real haca-node (`--dev --executor`) on free ports with its own
// temporary base path, and stops exactly that process by its pid.

import { execFileSync, spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

/** The node binary: `$HACA_NODE`, else the workspace's debug build. */
export function nodeBinary() {
  if (process.env.HACA_NODE) return process.env.HACA_NODE;
  const target = process.env.CARGO_TARGET_DIR || join(homedir(), '.cache', 'haca-target');
  return join(target, 'debug', 'haca-node');
}

/**
 * `haca-node inspect --model <path> <args>`: the terms it prints to register the model with
 * (`{inputs, outputs, graph}`).
 */
export function inspectModel(path, args = []) {
  const stdout = execFileSync(nodeBinary(), ['inspect', '--model', path, ...args], { encoding: 'utf8' });
  return JSON.parse(stdout.trim().split('\n').at(-1));
}

/** `haca-node trust-anchor --chain <chain>`: what receipts of that chain verify against. */
export function trustAnchor(chain = 'dev') {
  return JSON.parse(execFileSync(nodeBinary(), ['trust-anchor', '--chain', chain], { encoding: 'utf8' }));
}

/**
 * `haca-node verify-receipt --chain <chain> <file>`: `{ok: true, verified}` with what it
 * printed, or `{ok: false, error}` with its message.
 */
export function verifyReceiptFile(file, chain = 'dev') {
  try {
    const stdout = execFileSync(nodeBinary(), ['verify-receipt', '--chain', chain, file], { encoding: 'utf8', stdio: 'pipe' });
    return { ok: true, verified: JSON.parse(stdout) };
  } catch (error) {
    return { ok: false, error: `${error.stderr}` };
  }
}

/** `count` distinct ports that were free a moment ago (the OS picks them). */
async function freePorts(count) {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve(server));
    })),
  );
  const ports = servers.map((s) => s.address().port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

/** Resolves after `ms`; does not keep the process alive by itself. */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref());

/** Every node started by this process, to kill on an unexpected exit. */
const running = new Set();
process.on('exit', () => {
  for (const child of running) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/**
 * Starts a development node with the executor role (and `extraArgs`) and waits until it
 * has imported a block (bounded by `timeoutMs`). With `webSocketP2p`, its peer-to-peer port
 * takes WebSocket connections (what a light client in a browser dials) instead of TCP.
 * @returns {Promise<{url: string, p2p: string, pid: number, log: () => string, stop: () => Promise<void>}>}
 */
export async function startNode({ timeoutMs = 90_000, extraArgs = [], webSocketP2p = false } = {}) {
  const binary = nodeBinary();
  try {
    accessSync(binary, constants.X_OK);
  } catch {
    throw new Error(`no haca-node binary at ${binary}: build it (cargo build -p haca-node) or set HACA_NODE`);
  }
  const basePath = mkdtempSync(join(tmpdir(), 'haca-js-'));
  const logPath = join(basePath, 'node.log');
  const [rpc, p2p, prometheus] = await freePorts(3);
  const p2pAddress = webSocketP2p ? `/ip4/127.0.0.1/tcp/${p2p}/ws` : `/ip4/127.0.0.1/tcp/${p2p}`;
  const child = spawn(
    binary,
    [
      '--dev', '--executor', '--base-path', basePath, '--no-mdns', '--no-telemetry',
      '--rpc-port', String(rpc), '--prometheus-port', String(prometheus),
      ...(webSocketP2p ? ['--listen-addr', p2pAddress] : ['--port', String(p2p)]),
      ...extraArgs,
    ],
    { stdio: ['ignore', 'ignore', openSync(logPath, 'w')] },
  );
  running.add(child);
  let exited = null;
  const exit = new Promise((resolve) => child.once('exit', (code, signal) => resolve((exited = { code, signal }))));
  const log = () => {
    try {
      return readFileSync(logPath, 'utf8');
    } catch {
      return '';
    }
  };
  const tail = () => log().split('\n').slice(-40).join('\n');

  const stop = async () => {
    if (!exited) {
      child.kill('SIGINT'); // this child only, by its pid
      const timedOut = await Promise.race([exit.then(() => false), sleep(20_000).then(() => true)]);
      if (timedOut) {
        child.kill('SIGKILL');
        await Promise.race([exit, sleep(5_000)]);
      }
    }
    running.delete(child);
    rmSync(basePath, { recursive: true, force: true });
  };

  const started = Date.now();
  for (;;) {
    if (exited) {
      const output = tail();
      await stop();
      throw new Error(`haca-node exited (${JSON.stringify(exited)}) during start-up:\n${output}`);
    }
    if (Date.now() - started > timeoutMs) {
      const output = tail();
      await stop();
      throw new Error(`haca-node did not import a block within ${timeoutMs} ms:\n${output}`);
    }
    try {
      const response = await fetch(`http://127.0.0.1:${rpc}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'chain_getHeader', params: [] }),
        signal: AbortSignal.timeout(5_000),
      });
      const { result } = await response.json();
      if (result && parseInt(result.number, 16) >= 1) break;
    } catch {
      // not listening yet
    }
    // Kept alive by this wait (not `sleep`): a node that exits during start-up is reported.
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return { url: `ws://127.0.0.1:${rpc}`, p2p: p2pAddress, pid: child.pid, log, tail, stop };
}
