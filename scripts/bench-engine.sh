#!/usr/bin/env bash
# Engine benchmark: generates the project's models, large ones included, into the target
# directory and runs the `inference` bench target (release profile) on them and on the heavy
# models scripts/setup.sh generates. It prints the executor path's throughput per model
# against raw tract and against onnxruntime (scripts/onnxruntime_bench.py, with the Python
# of the project's virtual environment), and their ratios.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

models="${CARGO_TARGET_DIR:-$HOME/.cache/haca-target}/haca-bench-models"
# The generator's packages, in the virtual environment scripts/setup.sh makes.
python="${CARGO_TARGET_DIR:-$HOME/.cache/haca-target}/haca-venv/bin/python"
[ -x "$python" ] || { echo "run scripts/setup.sh first (it makes $python)" >&2; exit 1; }
"$python" scripts/gen_models.py "$models" --large >/dev/null
HACA_BENCH_PYTHON="$python" cargo bench --locked -p haca-engine --bench inference -- \
	"$models" "$PWD/offchain-workers/models/heavy"
