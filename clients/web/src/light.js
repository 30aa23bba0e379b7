// The page's light client: smoldot, started from the raw chain spec built into the page
// (`npm run chain-spec` derives it with the node binary). It follows the chain's finalized
// blocks itself, checking each GRANDPA justification from the spec's authorities on, and every
// storage value read through it against the state root of such a block. The RPC node is
// asked only where to find a peer (its WebSocket listen addresses, and `?bootnode=` adds
// more): a wrong answer can keep the light client from syncing, never make it accept a block
// or a value the validators did not finalize.

import { outcomeKey } from '@haca/client';
import { compactFromU8a, hexToU8a, u8aToHex, u8aToU8a } from '@polkadot/util';

/** What the light client knows, for the header and the pages. */
export const light = {
  /** `off`, `syncing`, `synced` or `failed`. */
  status: 'off',
  error: null,
  /** The latest finalized block it verified: `{ number, hash }`. */
  finalized: null,
};

const listeners = new Set();

/** Calls `listener` whenever the light client's state changes; returns the undo. */
export function onLightChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function changed() {
  for (const listener of listeners) listener(light);
}

let chain = null;
let follow = null;
let nextId = 1;
/** JSON-RPC requests awaiting their response, by id. */
const requests = new Map();
/** chainHead operations awaiting their events, by operation id. */
const operations = new Map();
/** Blocks the light client pinned for us, and the reads using each. */
const pinned = new Map();

/** WebSocket addresses a light client can dial, with the peer id, from `addresses`. */
export function webSocketAddresses(addresses) {
  return addresses.filter((a) => /\/wss?\/p2p\//.test(a));
}

/**
 * Starts the light client with `bootNodes` (multiaddresses over WebSocket, `/p2p/<peer>`
 * included) besides the spec's own. Resolves once it follows the chain; `light` tells the
 * rest.
 */
export async function startLight(bootNodes) {
  // Loaded on demand (the spec holds the runtime, smoldot its own wasm): pages render first.
  const [{ start }, { default: chainSpec }] = await Promise.all([import('smoldot'), import('./chain-spec.json?raw')]);
  const spec = JSON.parse(chainSpec);
  spec.bootNodes = [...new Set([...(spec.bootNodes ?? []), ...bootNodes])];
  if (!spec.bootNodes.length) {
    fail('no peer to sync from: start the node with a WebSocket listen address (--listen-addr /ip4/127.0.0.1/tcp/30333/ws) or pass ?bootnode=');
    return;
  }
  light.status = 'syncing';
  changed();
  try {
    const client = start({
      // Errors only: its warnings are about the spec's deprecated fields, its own scheduling,
      // and the runtime's inference host functions, which only executors' and verifiers'
      // off-chain workers call.
      maxLogLevel: 1,
      logCallback: (_level, target, message) => console.error(`[smoldot ${target}] ${message}`),
    });
    chain = await client.addChain({ chainSpec: JSON.stringify(spec) });
    pump();
    await followChain();
  } catch (error) {
    fail(error.message);
  }
}

function fail(message) {
  light.status = 'failed';
  light.error = message;
  changed();
}

/** Reads the light client's JSON-RPC responses and notifications, for as long as it runs. */
async function pump() {
  for (;;) {
    let message;
    try {
      message = JSON.parse(await chain.nextJsonRpcResponse());
    } catch (error) {
      fail(`the light client stopped: ${error.message}`);
      return;
    }
    if (message.id !== undefined && requests.has(message.id)) {
      const { resolve, reject } = requests.get(message.id);
      requests.delete(message.id);
      if (message.error) reject(new Error(message.error.message));
      else resolve(message.result);
    } else if (message.method === 'chainHead_v1_followEvent' && message.params.subscription === follow) {
      onFollowEvent(message.params.result);
    }
  }
}

function request(method, params) {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    requests.set(id, { resolve, reject });
    chain.sendJsonRpc(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
  });
}

async function followChain() {
  follow = await request('chainHead_v1_follow', [false]);
}

/** The latest finalized block the light client reported. */
let current = null;

/** Unpins `hashes`, but for blocks being read, the latest finalized and `light.finalized`. */
function unpin(hashes) {
  const free = hashes.filter((hash) => pinned.get(hash) === 0 && hash !== current && hash !== light.finalized?.hash);
  for (const hash of free) pinned.delete(hash);
  if (free.length) request('chainHead_v1_unpin', [follow, free]).catch(() => {});
}

async function onFollowEvent(event) {
  switch (event.event) {
    case 'initialized':
      for (const hash of event.finalizedBlockHashes) pinned.set(hash, 0);
      current = event.finalizedBlockHashes.at(-1);
      unpin(event.finalizedBlockHashes);
      break;
    case 'newBlock':
      pinned.set(event.blockHash, 0);
      break;
    case 'finalized': {
      for (const hash of event.finalizedBlockHashes) if (!pinned.has(hash)) pinned.set(hash, 0);
      const previous = current;
      const hash = event.finalizedBlockHashes.at(-1);
      current = hash;
      unpin([...event.finalizedBlockHashes, ...event.prunedBlockHashes, previous]);
      const header = hexToU8a(await request('chainHead_v1_header', [follow, hash]));
      if (current !== hash) {
        unpin([hash]); // a later block was finalized meanwhile
        break;
      }
      const shown = light.finalized?.hash;
      light.finalized = { number: compactFromU8a(header.subarray(32))[1].toNumber(), hash };
      unpin([shown]);
      light.status = 'synced';
      light.error = null;
      changed();
      break;
    }
    case 'operationStorageItems':
    case 'operationStorageDone':
    case 'operationError':
    case 'operationInaccessible': {
      const operation = operations.get(event.operationId);
      if (!operation) {
        operations.set(event.operationId, { events: [event] });
        break;
      }
      operation.events.push(event);
      operation.wake?.();
      break;
    }
    case 'stop':
      // The light client dropped the subscription (it fell behind): follow anew.
      pinned.clear();
      current = null;
      followChain().catch((error) => fail(error.message));
      break;
    default:
      break;
  }
}

/**
 * The value of storage `key` (bytes) in the state of the latest finalized block the light
 * client verified: `{ block: { number, hash }, value }` (hex, or null when absent).
 */
export async function readFinalized(key) {
  if (light.status !== 'synced') throw new Error('the light client has not verified a finalized block yet');
  const block = light.finalized;
  pinned.set(block.hash, (pinned.get(block.hash) ?? 0) + 1);
  try {
    const started = await request('chainHead_v1_storage', [follow, block.hash, [{ key: u8aToHex(key), type: 'value' }], null]);
    if (started.result !== 'started') throw new Error(`the light client refused the read (${started.result})`);
    const operation = operations.get(started.operationId) ?? { events: [] };
    operations.set(started.operationId, operation);
    let value = null;
    for (;;) {
      const event = operation.events.shift();
      if (!event) {
        await new Promise((resolve) => {
          operation.wake = resolve;
        });
        operation.wake = null;
        continue;
      }
      if (event.event === 'operationStorageItems') value = event.items[0]?.value ?? null;
      else if (event.event === 'operationStorageDone') break;
      else throw new Error(event.event === 'operationError' ? event.error : 'no peer could serve the read');
    }
    operations.delete(started.operationId);
    return { block, value };
  } finally {
    pinned.set(block.hash, pinned.get(block.hash) - 1);
    unpin([block.hash]);
  }
}

/** Resolves once the light client has verified a finalized block at `number` or later. */
function finalizedAtLeast(number) {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (light.status === 'failed') reject(new Error(light.error));
      else if (light.status === 'synced' && light.finalized.number >= number) resolve();
      else return false;
      listeners.delete(check);
      return true;
    };
    if (!check()) listeners.add(check);
  });
}

/**
 * Whether the chain, as the light client verified it, holds outcome `outcome` (SCALE, hex
 * or bytes) for `job`, ended in block `endedAt`: read in the latest finalized block once that
 * is `endedAt` or later. `{ agreed: true|false, block }`, or `agreed: null` when the outcome
 * has left the chain's ring of recent outcomes since.
 */
export async function confirmOutcome(job, outcome, endedAt) {
  await finalizedAtLeast(endedAt);
  const { block, value } = await readFinalized(outcomeKey(job));
  return { agreed: value === null ? null : value === u8aToHex(u8aToU8a(outcome)), block };
}
