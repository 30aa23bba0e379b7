#!/usr/bin/env bash
# Per-mode latency and cost benchmark: zombienet's latency.zndsl (2 validators, 3 executors,
# 3 verifiers) on a release node, about 25 minutes. It prints, per model and verification
# mode, p50/p99 latency from submission to result and to settlement, on-chain weight per
# settled job and cost per inference, against a transfer in the same run, and writes the
# table to the run directory's results/latency.md (kept: ZN_KEEP=1).
# Environment: HACA_NODE (a node binary; by default the release node is built),
# ZN_LATENCY_JOBS (jobs per row, 40), ZN_LATENCY_SPACING_MS (2000).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ -z "${HACA_NODE:-}" ]; then
	cargo build --locked --release -p haca-node
	HACA_NODE="${CARGO_TARGET_DIR:-$HOME/.cache/haca-target}/release/haca-node"
fi
export HACA_NODE ZN_KEEP=1 ZN_SUITE_TIMEOUT="${ZN_SUITE_TIMEOUT:-3600}"
exec zombienet/run.sh latency.zndsl
