#!/usr/bin/env python3
"""Generates the ONNX models HACA's tests, demo chain and benchmarks use.

Deterministic: fixed seeds, so the same bytes (and content hashes) come out every run.
Next to each small model it writes a reference input and the output NumPy computes for it
(`<name>.input.npy`, `<name>.output.npy`): an implementation independent of tract; the
same tensors also as ONNX `TensorProto` files (`<name>.input.pb`, `<name>.output.pb`, the
format of the ONNX backend test data), written by the `onnx` package.
Usage: scripts/gen_models.py OUT_DIR [--large]  (--large adds the benchmark-only models:
mlp_large, cnn_large, an MNIST-style cnn_mnist and a transformer-style block)
"""
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = [helper.make_opsetid("", 17)]


def save(graph, path):
    model = helper.make_model(graph, opset_imports=OPSET, producer_name="haca-gen-models")
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())
    print(f"{path}: {path.stat().st_size} bytes")


def init(name, array):
    return numpy_helper.from_array(array, name)


def mlp(rng, inputs, hidden, outputs):
    """float32 MLP: Gemm -> Relu -> Gemm -> Softmax."""
    w1 = (rng.standard_normal((inputs, hidden)) / np.sqrt(inputs)).astype(np.float32)
    b1 = (rng.standard_normal(hidden) * 0.1).astype(np.float32)
    w2 = (rng.standard_normal((hidden, outputs)) / np.sqrt(hidden)).astype(np.float32)
    b2 = (rng.standard_normal(outputs) * 0.1).astype(np.float32)
    nodes = [
        helper.make_node("Gemm", ["input", "w1", "b1"], ["h"]),
        helper.make_node("Relu", ["h"], ["hr"]),
        helper.make_node("Gemm", ["hr", "w2", "b2"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["output"], axis=1),
    ]
    return helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, inputs])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, outputs])],
        [init("w1", w1), init("b1", b1), init("w2", w2), init("b2", b2)],
    )


def int_matmul(rng):
    """Quantised-style integer model: MatMulInteger (u8 x u8 -> i32), exact everywhere."""
    w = rng.integers(0, 255, size=(8, 4), dtype=np.uint8)
    nodes = [helper.make_node("MatMulInteger", ["input", "w"], ["output"])]
    return helper.make_graph(
        nodes,
        "int_matmul",
        [helper.make_tensor_value_info("input", TensorProto.UINT8, [1, 8])],
        [helper.make_tensor_value_info("output", TensorProto.INT32, [1, 4])],
        [init("w", w)],
    )


def quotient():
    """int32 `input / input`: tract divides integers with Rust's `/`, which panics on a zero
    divisor. A model that makes tract panic on some inputs, for the tests that a panic fails
    that one job alone."""
    nodes = [helper.make_node("Div", ["input", "input"], ["output"])]
    return helper.make_graph(
        nodes,
        "quotient",
        [helper.make_tensor_value_info("input", TensorProto.INT32, [1, 4])],
        [helper.make_tensor_value_info("output", TensorProto.INT32, [1, 4])],
    )


def noisy(op, **seed):
    """float32 `input + noise`, the noise drawn by the random operator `op` (with `seed=`
    reproducible, without it different on every run): for the tests that models which do
    not run reproducibly are refused."""
    nodes = [
        helper.make_node(op, [], ["noise"], shape=[1, 4], **seed),
        helper.make_node("Add", ["input", "noise"], ["output"]),
    ]
    return helper.make_graph(
        nodes,
        "noisy",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 4])],
    )


def cnn(rng, size, channels):
    """float32 CNN: Conv -> Relu -> Conv -> Relu -> GlobalAveragePool -> Flatten -> Gemm."""
    c1 = rng.standard_normal((channels, 3, 3, 3)).astype(np.float32) * 0.2
    c2 = rng.standard_normal((channels, channels, 3, 3)).astype(np.float32) * 0.1
    fc = rng.standard_normal((channels, 10)).astype(np.float32) * 0.1
    fb = np.zeros(10, dtype=np.float32)
    nodes = [
        helper.make_node("Conv", ["input", "c1"], ["a"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["a"], ["ar"]),
        helper.make_node("Conv", ["ar", "c2"], ["b"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["b"], ["br"]),
        helper.make_node("GlobalAveragePool", ["br"], ["p"]),
        helper.make_node("Flatten", ["p"], ["f"]),
        helper.make_node("Gemm", ["f", "fc", "fb"], ["output"]),
    ]
    return helper.make_graph(
        nodes,
        "cnn",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, size, size])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 10])],
        [init("c1", c1), init("c2", c2), init("fc", fc), init("fb", fb)],
    )


def cnn_mnist(rng):
    """float32 MNIST-style CNN on a 28x28 grey-scale image: Conv 5x5 (32) -> Relu -> MaxPool
    2x2 -> Conv 5x5 (64) -> Relu -> MaxPool 2x2 -> Flatten -> Gemm (128) -> Relu -> Gemm
    (10), about 11 M multiply-adds."""
    c1 = rng.standard_normal((32, 1, 5, 5)).astype(np.float32) * 0.2
    b1 = rng.standard_normal(32).astype(np.float32) * 0.1
    c2 = rng.standard_normal((64, 32, 5, 5)).astype(np.float32) * 0.035
    b2 = rng.standard_normal(64).astype(np.float32) * 0.1
    f1 = rng.standard_normal((64 * 7 * 7, 128)).astype(np.float32) * 0.018
    g1 = np.zeros(128, dtype=np.float32)
    f2 = rng.standard_normal((128, 10)).astype(np.float32) * 0.09
    g2 = np.zeros(10, dtype=np.float32)
    nodes = [
        helper.make_node("Conv", ["input", "c1", "b1"], ["a"], pads=[2, 2, 2, 2]),
        helper.make_node("Relu", ["a"], ["ar"]),
        helper.make_node("MaxPool", ["ar"], ["ap"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["ap", "c2", "b2"], ["b"], pads=[2, 2, 2, 2]),
        helper.make_node("Relu", ["b"], ["br"]),
        helper.make_node("MaxPool", ["br"], ["bp"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["bp"], ["f"]),
        helper.make_node("Gemm", ["f", "f1", "g1"], ["h"]),
        helper.make_node("Relu", ["h"], ["hr"]),
        helper.make_node("Gemm", ["hr", "f2", "g2"], ["output"]),
    ]
    weights = [("c1", c1), ("b1", b1), ("c2", c2), ("b2", b2), ("f1", f1), ("g1", g1)]
    return helper.make_graph(
        nodes,
        "cnn_mnist",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 1, 28, 28])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 10])],
        [init(name, array) for name, array in weights + [("f2", f2), ("g2", g2)]],
    )


def transformer(rng, seq, width, hidden):
    """float32 transformer-style block (one attention head, residuals, ReLU feed-forward)."""
    def weight(rows, cols):
        return (rng.standard_normal((rows, cols)) / np.sqrt(rows)).astype(np.float32)

    weights = {
        "wq": weight(width, width), "wk": weight(width, width), "wv": weight(width, width),
        "wo": weight(width, width), "w1": weight(width, hidden), "w2": weight(hidden, width),
        "b1": np.zeros(hidden, dtype=np.float32), "b2": np.zeros(width, dtype=np.float32),
        "scale": np.array(1.0 / np.sqrt(width), dtype=np.float32),
    }
    nodes = [
        helper.make_node("MatMul", ["input", "wq"], ["q"]),
        helper.make_node("MatMul", ["input", "wk"], ["k"]),
        helper.make_node("MatMul", ["input", "wv"], ["v"]),
        helper.make_node("Transpose", ["k"], ["kt"], perm=[0, 2, 1]),
        helper.make_node("MatMul", ["q", "kt"], ["s"]),
        helper.make_node("Mul", ["s", "scale"], ["ss"]),
        helper.make_node("Softmax", ["ss"], ["a"], axis=-1),
        helper.make_node("MatMul", ["a", "v"], ["c"]),
        helper.make_node("MatMul", ["c", "wo"], ["o"]),
        helper.make_node("Add", ["input", "o"], ["h"]),
        helper.make_node("MatMul", ["h", "w1"], ["f1"]),
        helper.make_node("Add", ["f1", "b1"], ["f1b"]),
        helper.make_node("Relu", ["f1b"], ["f1r"]),
        helper.make_node("MatMul", ["f1r", "w2"], ["f2"]),
        helper.make_node("Add", ["f2", "b2"], ["f2b"]),
        helper.make_node("Add", ["h", "f2b"], ["output"]),
    ]
    return helper.make_graph(
        nodes,
        "transformer",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, seq, width])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, seq, width])],
        [init(name, array) for name, array in weights.items()],
    )


def element_types(out):
    """One model over every element type beyond the first seven, with its reference test
    data in the ONNX backend layout (`element_types/model.onnx`,
    `element_types/test_data_set_0/{input,output}_N.pb`): booleans (`Where`, `Not`), float16
    and bfloat16 arithmetic (bfloat16 weights included), unsigned integers of 16, 32 and 64
    bits, and a `Shape` output (tract's symbolic dimensions, delivered as int64). The
    reference outputs are NumPy's (bfloat16 through ml_dtypes, computed in float32 and
    rounded once)."""
    import ml_dtypes

    bf16 = ml_dtypes.bfloat16
    w = np.array([[0.5, -1.25, 3.0], [2.0, 0.125, -0.75]], dtype=bf16)
    nodes = [
        helper.make_node("Mul", ["x", "x"], ["x2"]),
        helper.make_node("Constant", [], ["zero"], value=numpy_helper.from_array(np.zeros((), np.float16), "zero")),
        helper.make_node("Where", ["mask", "x2", "zero"], ["masked"]),
        helper.make_node("Not", ["mask"], ["unmasked"]),
        helper.make_node("Mul", ["y", "w"], ["yw"]),
        helper.make_node("Add", ["yw", "y"], ["scaled"]),
        helper.make_node("Cast", ["a"], ["a32"], to=TensorProto.UINT32),
        helper.make_node("Add", ["a32", "b"], ["total"]),
        helper.make_node("Mul", ["c", "k"], ["scaled_c"]),
        helper.make_node("Shape", ["x"], ["shape"]),
    ]
    graph = helper.make_graph(
        nodes,
        "element_types",
        [
            helper.make_tensor_value_info("mask", TensorProto.BOOL, [2, 3]),
            helper.make_tensor_value_info("x", TensorProto.FLOAT16, [2, 3]),
            helper.make_tensor_value_info("y", TensorProto.BFLOAT16, [2, 3]),
            helper.make_tensor_value_info("a", TensorProto.UINT16, [3]),
            helper.make_tensor_value_info("b", TensorProto.UINT32, [3]),
            helper.make_tensor_value_info("c", TensorProto.UINT64, [2]),
        ],
        [
            helper.make_tensor_value_info("masked", TensorProto.FLOAT16, [2, 3]),
            helper.make_tensor_value_info("unmasked", TensorProto.BOOL, [2, 3]),
            helper.make_tensor_value_info("scaled", TensorProto.BFLOAT16, [2, 3]),
            helper.make_tensor_value_info("total", TensorProto.UINT32, [3]),
            helper.make_tensor_value_info("scaled_c", TensorProto.UINT64, [2]),
            helper.make_tensor_value_info("shape", TensorProto.INT64, [2]),
        ],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(np.array([3, 1 << 20], np.uint64), "k")],
    )
    directory = out / "element_types"
    (directory / "test_data_set_0").mkdir(parents=True, exist_ok=True)
    save(graph, directory / "model.onnx")

    mask = np.array([[True, False, True], [False, True, True]])
    x = np.array([[1.5, -2.0, 0.1], [200.0, -0.001, 7.25]], dtype=np.float16)
    y = np.array([[1.0, -3.5, 0.3], [1e30, -1e-30, 2.5]], dtype=bf16)
    a = np.array([1, 65535, 40000], dtype=np.uint16)
    b = np.array([4294901760, 1, 7], dtype=np.uint32)
    c = np.array([(1 << 62) + 3, 1 << 40], dtype=np.uint64)
    outputs = [
        np.where(mask, x * x, np.float16(0)),
        np.logical_not(mask),
        (y.astype(np.float32) * w.astype(np.float32) + y.astype(np.float32)).astype(bf16),
        a.astype(np.uint32) + b,
        c * np.array([3, 1 << 20], np.uint64),
        np.array(x.shape, dtype=np.int64),
    ]
    for kind, arrays in (("input", [mask, x, y, a, b, c]), ("output", outputs)):
        for index, array in enumerate(arrays):
            if array.dtype == bf16:
                proto = helper.make_tensor(
                    f"{kind}_{index}", TensorProto.BFLOAT16, array.shape,
                    array.view(np.uint16).tobytes(), raw=True)
            else:
                proto = numpy_helper.from_array(array, f"{kind}_{index}")
            path = directory / "test_data_set_0" / f"{kind}_{index}.pb"
            path.write_bytes(proto.SerializeToString())


def reference(graph, out, name, x):
    """Writes `x` and NumPy's evaluation of the graph on it."""
    weights = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    if name == "mlp":
        h = np.maximum(x @ weights["w1"] + weights["b1"], 0)
        logits = h @ weights["w2"] + weights["b2"]
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        y = (e / e.sum(axis=1, keepdims=True)).astype(np.float32)
    elif name == "int_matmul":
        y = x.astype(np.int32) @ weights["w"].astype(np.int32)
    else:
        raise ValueError(name)
    for kind, array in (("input", x), ("output", y)):
        np.save(out / f"{name}.{kind}.npy", array)
        proto = numpy_helper.from_array(array, f"{name}_{kind}")
        (out / f"{name}.{kind}.pb").write_bytes(proto.SerializeToString())


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    graph = mlp(np.random.default_rng(1), 4, 16, 3)
    save(graph, out / "mlp.onnx")
    reference(graph, out, "mlp", np.array([[0.5, -1.0, 2.0, 0.25]], dtype=np.float32))
    graph = int_matmul(np.random.default_rng(2))
    save(graph, out / "int_matmul.onnx")
    reference(graph, out, "int_matmul", np.arange(1, 9, dtype=np.uint8).reshape(1, 8) * 29)
    save(cnn(np.random.default_rng(3), 16, 8), out / "cnn_small.onnx")
    save(quotient(), out / "quotient.onnx")
    save(noisy("RandomNormal"), out / "random_unseeded.onnx")
    save(noisy("RandomUniform", seed=7.0), out / "random_seeded.onnx")
    element_types(out)
    if "--large" in sys.argv:
        save(mlp(np.random.default_rng(4), 256, 1024, 256), out / "mlp_large.onnx")
        save(cnn(np.random.default_rng(5), 64, 32), out / "cnn_large.onnx")
        save(cnn_mnist(np.random.default_rng(7)), out / "cnn_mnist.onnx")
        save(transformer(np.random.default_rng(6), 256, 512, 2048), out / "transformer.onnx")


if __name__ == "__main__":
    main()
