#!/usr/bin/env bash
# The whole test suite: set-up (idempotent), formatting, then every test of the workspace
# against the real node binary and wasm runtime. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

./scripts/setup.sh
cargo fmt --all --check
cargo test --workspace --locked
