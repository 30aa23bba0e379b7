#!/usr/bin/env bash
# ONNX conformance report: runs the node test cases of the `onnx` Python package (about
# 1,900 one-operator models with inputs and expected outputs) through `haca-node infer` and
# through raw tract-onnx (the engine's `tract_infer` example), compares both with the
# expected outputs as the ONNX backend runner does, and prints both pass counts, the cases
# tract passes and HACA fails (there should be none) and the reverse. A report, not a test:
# it exits 0 whatever the counts, unless given --strict. --only NAME ... runs the named
# cases; --smoke (test.sh) runs a small subset strictly. The whole suite takes under a
# minute once built (the first run writes the cases, 56 MB, into the target directory).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

target="${CARGO_TARGET_DIR:-$HOME/.cache/haca-target}"
python="$target/haca-venv/bin/python"
[ -x "$python" ] || { echo "run scripts/setup.sh first (it makes $python)" >&2; exit 1; }
cargo build --locked --quiet -p haca-node
cargo build --locked --quiet -p haca-engine --example tract_infer
"$python" scripts/onnx_conformance.py --haca "$target/debug/haca-node" \
	--tract "$target/debug/examples/tract_infer" --cases "$target/onnx-node-cases" "$@"
