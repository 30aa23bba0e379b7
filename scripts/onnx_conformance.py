#!/usr/bin/env python3
"""ONNX backend node-test conformance of `haca-node infer` against raw tract-onnx.

Writes the node test cases of the installed `onnx` package (each a one-operator model with
inputs and expected outputs, in the ONNX backend layout) into CASES once, then runs every
case through `haca-node infer` and through tract alone (`tract_infer`, the engine's
example), compares each with the expected outputs as the ONNX backend runner does (floats
within rtol 1e-3 and atol 1e-7, NaNs equal; everything else exact; same types and shapes)
and prints both pass counts, the cases tract passes and HACA fails (there should be none)
and the cases HACA passes and tract fails; with onnxruntime installed, its pass count on the
same cases and comparison too.

Usage: onnx_conformance.py --haca NODE --tract TRACT_INFER --cases DIR
                           [--only NAME ... | --smoke] [--strict] [--jobs N]
--only restricts the run to the named cases; --strict exits 1 if a case tract passes
fails through HACA, or (with --only) if a named case fails through HACA; --smoke is
--strict --only with the SMOKE cases.
"""
import argparse
import concurrent.futures
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
from onnx import TensorProto, numpy_helper

RTOL, ATOL = 1e-3, 1e-7
TIMEOUT_SECONDS = 120

# The test suite's subset: every element type (strings too), a model without inputs,
# symbolic shapes (Shape), outputs whose shape the data sets (NonZero, TopK with k an input)
# and common operators; each must pass through HACA.
SMOKE = [
    "test_abs", "test_add_uint8", "test_and2d", "test_argmax_default_axis_example",
    "test_bitshift_left_uint32", "test_bitshift_right_uint16", "test_bitshift_right_uint64",
    "test_cast_BFLOAT16_to_FLOAT", "test_cast_FLOAT_to_BFLOAT16", "test_cast_FLOAT_to_FLOAT16",
    "test_clip_default_int8_min", "test_constant", "test_conv_with_strides_padding",
    "test_einsum_sum_bfloat16", "test_equal", "test_equal_string", "test_gather_0",
    "test_gemm_default_single_elem_vector_bias", "test_matmul_2d", "test_mul_uint8",
    "test_nonzero_example", "test_not_2d", "test_relu", "test_shape", "test_softmax_example",
    "test_top_k", "test_where_example",
]


def write_cases(cases_dir):
    """The node test cases of the installed onnx package, in the backend layout."""
    import onnx.backend.test.case.node as node_cases

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = node_cases.collect_testcases()
    for case in cases:
        directory = cases_dir / case.name
        for index, (inputs, outputs) in enumerate(case.data_sets):
            data_set = directory / f"test_data_set_{index}"
            data_set.mkdir(parents=True, exist_ok=True)
            for kind, values, infos in (
                ("input", inputs, case.model.graph.input),
                ("output", outputs, case.model.graph.output),
            ):
                for position, value in enumerate(values):
                    (data_set / f"{kind}_{position}.pb").write_bytes(
                        proto_of(value, infos[position]).SerializeToString()
                    )
        (directory / "model.onnx").write_bytes(case.model.SerializeToString())
    (cases_dir / ".complete").write_text(f"{len(cases)}\n")


def proto_of(value, info):
    if isinstance(value, TensorProto):
        return value
    kind = info.type.WhichOneof("value")
    if kind == "sequence_type":
        return numpy_helper.from_list(value, info.name)
    if kind == "map_type":
        return numpy_helper.from_dict(value, info.name)
    if kind == "optional_type":
        return numpy_helper.from_optional(value, info.name)
    return numpy_helper.from_array(np.asarray(value), info.name)


def load(path):
    proto = TensorProto()
    proto.ParseFromString(path.read_bytes())
    return numpy_helper.to_array(proto)


def agree(expected, actual):
    if expected.dtype != actual.dtype or expected.shape != actual.shape:
        return False
    if expected.dtype.kind in "fc" or expected.dtype.name == "bfloat16":
        try:
            np.testing.assert_allclose(
                actual.astype(np.float64), expected.astype(np.float64), rtol=RTOL, atol=ATOL
            )
            return True
        except AssertionError:
            return False
    return np.array_equal(expected, actual)


def passes(command, case_dir):
    """Whether every data set of the case gives its expected outputs through `command`
    (a function of the model, the inputs and the output directory), and why not."""
    for data_set in sorted(case_dir.glob("test_data_set_*")):
        inputs = sorted(data_set.glob("input_*.pb"), key=lambda p: int(p.stem.split("_")[1]))
        expected = sorted(data_set.glob("output_*.pb"), key=lambda p: int(p.stem.split("_")[1]))
        with tempfile.TemporaryDirectory() as out:
            out = Path(out)
            try:
                run = subprocess.run(
                    command(case_dir / "model.onnx", inputs, out),
                    capture_output=True, text=True, timeout=TIMEOUT_SECONDS,
                )
            except subprocess.TimeoutExpired:
                return False, "timed out"
            if run.returncode != 0:
                lines = (run.stderr or run.stdout).strip().splitlines()
                return False, lines[-1] if lines else f"exit {run.returncode}"
            for index, path in enumerate(expected):
                produced = out / f"output_{index}.pb"
                try:
                    if not agree(load(path), load(produced)):
                        return False, f"output {index} differs"
                except Exception as error:  # unreadable expected data counts as a failure
                    return False, f"output {index}: {error}"
    return True, ""


def onnxruntime_passes(case_dir):
    """Whether onnxruntime gives every data set of the case its expected outputs."""
    import onnxruntime

    onnxruntime.set_default_logger_severity(4)  # its refusals count, not its log
    try:
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        session = onnxruntime.InferenceSession(
            str(case_dir / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
        for data_set in sorted(case_dir.glob("test_data_set_*")):
            count = len(list(data_set.glob("input_*.pb")))
            feeds = {
                info.name: load(data_set / f"input_{index}.pb")
                for index, info in zip(range(count), session.get_inputs())
            }
            outputs = session.run(None, feeds)
            for index, actual in enumerate(outputs):
                path = data_set / f"output_{index}.pb"
                if path.exists() and not agree(load(path), np.asarray(actual)):
                    return False
    except Exception:  # a model or data onnxruntime refuses counts as a failure
        return False
    return True


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--haca", required=True)
    parser.add_argument("--tract", required=True)
    parser.add_argument("--cases", required=True, type=Path)
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--strict", action="store_true")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    if args.smoke:
        args.only, args.strict = SMOKE, True

    if not (args.cases / ".complete").exists():
        print(f"writing the onnx package's node test cases into {args.cases}", flush=True)
        write_cases(args.cases)
    names = sorted(p.name for p in args.cases.iterdir() if (p / "model.onnx").exists())
    if args.only:
        unknown = sorted(set(args.only) - set(names))
        if unknown:
            sys.exit(f"no such cases: {' '.join(unknown)}")
        names = sorted(args.only)

    def haca(model, inputs, out):
        command = [args.haca, "infer", "--model", str(model)]
        for path in inputs:
            command += ["--input", str(path)]
        return command + ["--output-format", "pb", "--output-dir", str(out)]

    def tract(model, inputs, out):
        return [args.tract, str(model), str(out)] + [str(path) for path in inputs]

    try:
        import onnxruntime  # noqa: F401
        with_onnxruntime = not args.only
    except ImportError:
        with_onnxruntime = False

    def judge(name):
        return name, passes(haca, args.cases / name), passes(tract, args.cases / name)

    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(judge, names))

    haca_passes = {name for name, (ok, _), _ in results if ok}
    tract_passes = {name for name, _, (ok, _) in results if ok}
    why = {name: reason for name, (_, reason), _ in results}
    lost = sorted(tract_passes - haca_passes)
    gained = sorted(haca_passes - tract_passes)
    print(f"cases:                {len(results)}")
    print(f"haca-node infer:      {len(haca_passes)} pass")
    print(f"raw tract-onnx:       {len(tract_passes)} pass")
    if with_onnxruntime:
        with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
            ort = dict(zip(names, pool.map(lambda n: onnxruntime_passes(args.cases / n), names)))
        print(f"onnxruntime:          {sum(ort.values())} pass (HACA passes "
              f"{len(haca_passes - {n for n, ok in ort.items() if ok})} cases it fails)")
    print(f"tract passes, HACA fails ({len(lost)}):")
    for name in lost:
        print(f"  {name}: {why[name]}")
    print(f"HACA passes, tract fails ({len(gained)}):")
    for name in gained:
        print(f"  {name}")
    failed_named = sorted(set(names) - haca_passes) if args.only else []
    for name in failed_named:
        print(f"named case fails through HACA: {name}: {why[name]}")
    if args.strict and (lost or failed_named):
        sys.exit(1)


if __name__ == "__main__":
    main()
