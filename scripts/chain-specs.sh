#!/usr/bin/env bash
# Regenerates the committed chain specs (chain-specs/{dev,local,testnet}.json) from the
# runtime's genesis presets with the node's `export-chain-spec`. Run after any runtime change;
# `cargo test -p haca-node --test chain_specs` fails while they are stale.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

cargo build --locked -p haca-node
node="${CARGO_TARGET_DIR:-$HOME/.cache/haca-target}/debug/haca-node"
for chain in dev local testnet; do
	"$node" export-chain-spec --chain "$chain" >"chain-specs/$chain.json" 2>/dev/null
	echo "chain-specs/$chain.json"
done
