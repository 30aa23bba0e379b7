// Writes src/anchor.json: the trust anchor receipts are verified against in the page (the
// genesis hash and GRANDPA authorities of the chain spec `$HACA_CHAIN`, `dev` by default),
// as `haca-node trust-anchor` derives it from the spec alone, never from a node's RPC.

import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

const target = process.env.CARGO_TARGET_DIR || join(homedir(), '.cache', 'haca-target');
const binary = process.env.HACA_NODE || join(target, 'debug', 'haca-node');
const chain = process.env.HACA_CHAIN || 'dev';
let anchor;
try {
  anchor = execFileSync(binary, ['trust-anchor', '--chain', chain], { encoding: 'utf8' });
} catch (error) {
  console.error(`cannot derive the trust anchor of chain ${chain} with ${binary}: build the node first (cargo build -p haca-node) or set HACA_NODE\n${error.message}`);
  process.exit(1);
}
const out = new URL('../src/anchor.json', import.meta.url);
writeFileSync(out, anchor);
console.log(`trust anchor of chain ${chain}: ${JSON.parse(anchor).genesisHash}`);
