#!/usr/bin/env bash
# Engine benchmark (issue: executor path vs raw tract): generates the project's models,
# large ones included, into the target directory and runs the `inference` bench target
# (release profile), which prints throughput of both paths and their ratio per model.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

models="${CARGO_TARGET_DIR:-$HOME/.cache/haca-target}/haca-bench-models"
python=python3
if ! python3 -c 'import onnx, numpy' 2>/dev/null; then
	# The generator's packages, in a virtual environment of their own.
	venv="${CARGO_TARGET_DIR:-$HOME/.cache/haca-target}/haca-venv"
	[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
	"$venv/bin/pip" install --quiet onnx==1.23.2 numpy
	python="$venv/bin/python"
fi
"$python" scripts/gen_models.py "$models" --large >/dev/null
cargo bench --locked -p haca-engine --bench inference -- "$models"
