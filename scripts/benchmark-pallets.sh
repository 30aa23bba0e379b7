#!/usr/bin/env bash
# Regenerates the runtime's weights, run in the real wasm runtime by a release `haca-node`
# built with the `runtime-benchmarks` feature (host functions unoptimised in a debug build
# would inflate every weight): the block and extrinsic base weights
# (`benchmark overhead` -> runtime/src/weights/) and each HACA pallet's weights.rs
# (`benchmark pallet`).
# Usage: scripts/benchmark-pallets.sh [STEPS] [REPEAT]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
steps=${1:-20}
repeat=${2:-5}

cargo build --release -p haca-node --features runtime-benchmarks
node="${CARGO_TARGET_DIR:-$HOME/.cache/haca-target}/release/haca-node"
"$node" benchmark overhead --chain dev --weight-path runtime/src/weights
cargo fmt --all # the overhead template's files are formatted like the rest
# The settlement pallet's `verify_proof` proves the widest 1,024-row trace in its set-up,
# in the runtime: more heap than the other benchmarks.
for pallet in models executors jobs settlement; do
	heap_pages=4096
	[ "$pallet" = settlement ] && heap_pages=16384
	"$node" benchmark pallet --chain dev --pallet "pallet_$pallet" --extrinsic '*' \
		--steps "$steps" --repeat "$repeat" --heap-pages "$heap_pages" \
		--template scripts/weight-template.hbs --output "pallets/$pallet/src/weights.rs"
done
echo "weights written; the runtime's balances.transfer_keep_alive for comparison:"
"$node" benchmark pallet --chain dev --pallet pallet_balances --extrinsic transfer_keep_alive \
	--steps 2 --repeat "$repeat" 2>&1 | grep -E "Time|Median|ref_time|µs" || true
