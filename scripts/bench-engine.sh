#!/usr/bin/env bash
# Engine benchmark (issue: executor path vs raw tract): generates the project's models,
# large ones included, into the target directory and runs the `inference` bench target
# (release profile), which prints throughput of both paths and their ratio per model.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

models="${CARGO_TARGET_DIR:-$HOME/.cache/haca-target}/haca-bench-models"
# The generator's packages, in the virtual environment scripts/setup.sh makes.
python="${CARGO_TARGET_DIR:-$HOME/.cache/haca-target}/haca-venv/bin/python"
[ -x "$python" ] || { echo "run scripts/setup.sh first (it makes $python)" >&2; exit 1; }
"$python" scripts/gen_models.py "$models" --large >/dev/null
cargo bench --locked -p haca-engine --bench inference -- "$models"
