// Writes what the page knows of its chain before it talks to any node, both derived from
// the chain spec `$HACA_CHAIN` (`dev` by default, the chain `haca-node --dev` runs; a built-in
// name or a spec file such as chain-specs/testnet.json) by the node binary's own commands,
// never from a node's RPC:
// - src/anchor.json: the trust anchor receipts are verified against (`haca-node
//   trust-anchor`: the genesis hash and the GRANDPA authorities);
// - src/chain-spec.json: the raw spec the page's light client starts from (`haca-node
//   export-chain-spec --raw`).

import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

const target = process.env.CARGO_TARGET_DIR || join(homedir(), '.cache', 'haca-target');
const binary = process.env.HACA_NODE || join(target, 'debug', 'haca-node');
const chain = process.env.HACA_CHAIN || 'dev';

function node(args) {
  try {
    return execFileSync(binary, [...args, '--chain', chain], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
  } catch (error) {
    console.error(`cannot run \`haca-node ${args.join(' ')} --chain ${chain}\` with ${binary}: build the node first (cargo build -p haca-node) or set HACA_NODE\n${error.stderr || error.message}`);
    process.exit(1);
  }
}

const anchor = node(['trust-anchor']);
writeFileSync(new URL('../src/anchor.json', import.meta.url), anchor);
writeFileSync(new URL('../src/chain-spec.json', import.meta.url), node(['export-chain-spec', '--raw']));
console.log(`chain ${chain}: genesis ${JSON.parse(anchor).genesisHash}; trust anchor and raw chain spec written to src/`);
