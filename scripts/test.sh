#!/usr/bin/env bash
# The whole test suite: set-up (idempotent), formatting, then every test of the workspace
# against the real node binary and wasm runtime. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

./scripts/setup.sh
cargo fmt --all --check
# Without backtraces a failing test's message (with the node's log) ends the output.
RUST_BACKTRACE=0 cargo test --workspace --locked
# A subset of the ONNX backend node tests through `haca-node infer`, each of which must pass
# (the whole report: scripts/onnx-conformance.sh).
./scripts/onnx-conformance.sh --smoke
# The JavaScript client's end-to-end tests, against the haca-node binary just built.
(cd clients/js && npm test)
# The web page in headless Chromium against a dev node: submit, settle, receipt verified.
(cd clients/web && npm test)
# Multi-node networks (zombienet, native provider): validators, executors and a verifier as
# separate processes; an executor dying mid-job; a dishonest executor slashed.
./zombienet/run.sh
# The pallets' benchmarks, run once each against their mock runtimes (keeps them compiling
# and checks their set-up); the wasm runtime is not needed for these.
SKIP_WASM_BUILD=1 cargo test --locked --features runtime-benchmarks \
	-p pallet-models -p pallet-executors -p pallet-jobs -p pallet-settlement benchmarking
# Lints on every target, warnings denied (no wasm needed to lint the runtime's code).
SKIP_WASM_BUILD=1 cargo clippy --locked --workspace --all-targets -- -D warnings
# The dispute kernels build without std, as the runtime will run them.
cargo check --locked -p haca-kernels --no-default-features
