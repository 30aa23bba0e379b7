#!/usr/bin/env python3
"""Exports models as their users do and writes each with an input and onnxruntime's outputs
for it, in the ONNX backend layout: OUT/<name>/model.onnx and
OUT/<name>/test_data_set_0/{input,output}_<i>.pb.

- scikit-learn estimators through skl2onnx (ZipMap off), their batch dimension dynamic and
  unnamed, as skl2onnx writes it;
- a small CNN and a small transformer encoder written node for node as
  `torch.onnx.export` writes such PyTorch modules (opset 17, `dynamic_axes` naming the batch
  dimension `batch`), with the onnx package's helper: PyTorch's wheel is too large for the
  project's set-up.

Deterministic: fixed seeds and data. onnxruntime is the reference HACA's engine is held
against (`offchain-workers/engine/tests/exports.rs`).
Usage: scripts/gen_exports.py OUT_DIR
"""
import sys
from pathlib import Path

import numpy as np
import onnxruntime
from onnx import TensorProto, helper, numpy_helper
from skl2onnx import to_onnx
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import GradientBoostingRegressor, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

FEATURES = 6
BATCH = 4


def estimators():
    x, y = make_classification(
        n_samples=200, n_features=FEATURES, n_informative=4, n_classes=3, random_state=0
    )
    x = x.astype(np.float32)
    xr, yr = make_regression(n_samples=200, n_features=FEATURES, random_state=1)
    xr = xr.astype(np.float32)
    yield "logistic_regression", LogisticRegression(max_iter=500).fit(x, y), x
    yield "random_forest_classifier", RandomForestClassifier(
        n_estimators=8, max_depth=4, random_state=2
    ).fit(x, y), x
    yield "gradient_boosting_regressor", GradientBoostingRegressor(
        n_estimators=12, max_depth=3, random_state=3
    ).fit(xr, yr), xr
    yield "mlp_classifier", MLPClassifier(
        hidden_layer_sizes=(16,), max_iter=400, random_state=4
    ).fit(x, y), x
    yield "svc", SVC(random_state=5).fit(x, y), x
    yield "svc_linear", SVC(kernel="linear", random_state=6).fit(x, y), x
    yield "svc_poly", SVC(kernel="poly", degree=2, random_state=7).fit(x, y), x
    yield "svc_binary", SVC(random_state=8).fit(x, y % 2), x
    yield "scaler_logistic_pipeline", make_pipeline(
        StandardScaler(), LogisticRegression(max_iter=500)
    ).fit(x, y), x
    # Classifiers of named classes: their label output is a string tensor.
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    yield "logistic_regression_names", LogisticRegression(max_iter=500).fit(x, names), x
    yield "random_forest_names", RandomForestClassifier(
        n_estimators=8, max_depth=4, random_state=2
    ).fit(x, names), x
    yield "svc_names", SVC(random_state=5).fit(x, names), x


def scikit_learn_exports():
    for name, estimator, x in estimators():
        sample = x[:BATCH]
        model = to_onnx(
            estimator, sample, options={"zipmap": False} if hasattr(estimator, "classes_") else None,
            target_opset={"": 17, "ai.onnx.ml": 3},
        )
        # skl2onnx lists the opsets in a set's order: sorted, the bytes are the same each run.
        opsets = sorted(model.opset_import, key=lambda opset: opset.domain)
        del model.opset_import[:]
        model.opset_import.extend(opsets)
        yield name, model, sample


class Graph:
    """Nodes and weights of a graph under construction, named as torch.onnx names them."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes = []
        self.weights = []
        self.count = 0

    def weight(self, name, shape, scale=0.3):
        values = (self.rng.standard_normal(shape) * scale).astype(np.float32)
        self.weights.append(numpy_helper.from_array(values, name))
        return name

    def constant(self, name, values):
        self.weights.append(numpy_helper.from_array(np.asarray(values), name))
        return name

    def node(self, op, inputs, **attributes):
        self.count += 1
        output = f"/{op}_{self.count}_output_0"
        self.nodes.append(
            helper.make_node(op, inputs, [output], name=f"/{op}_{self.count}", **attributes)
        )
        return output

    def model(self, name, input_name, input_dims, output, output_dims):
        graph = helper.make_graph(
            self.nodes,
            name,
            [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, input_dims)],
            [helper.make_tensor_value_info(output, TensorProto.FLOAT, output_dims)],
            self.weights,
        )
        model = helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="pytorch"
        )
        model.ir_version = 8
        return model


def cnn():
    """Conv-ReLU-MaxPool, Conv-ReLU, global average pooling and a linear head on 1x8x8
    images: `nn.Sequential(Conv2d(1, 4, 3, padding=1), ReLU(), MaxPool2d(2), Conv2d(4, 8, 3,
    padding=1), ReLU(), AdaptiveAvgPool2d(1), Flatten(), Linear(8, 3))`."""
    g = Graph(seed=10)
    x = g.node("Conv", ["input", g.weight("0.weight", (4, 1, 3, 3)), g.weight("0.bias", (4,))],
               kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1], dilations=[1, 1], group=1)
    x = g.node("Relu", [x])
    x = g.node("MaxPool", [x], kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 0, 0],
               ceil_mode=0, dilations=[1, 1])
    x = g.node("Conv", [x, g.weight("3.weight", (8, 4, 3, 3)), g.weight("3.bias", (8,))],
               kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1], dilations=[1, 1], group=1)
    x = g.node("Relu", [x])
    x = g.node("GlobalAveragePool", [x])
    x = g.node("Flatten", [x], axis=1)
    x = g.node("Gemm", [x, g.weight("7.weight", (3, 8)), g.weight("7.bias", (3,))],
               alpha=1.0, beta=1.0, transB=1)
    g.nodes[-1].output[0] = "logits"
    sample = np.random.default_rng(11).standard_normal((BATCH, 1, 8, 8)).astype(np.float32)
    return g.model("main_graph", "input", ["batch", 1, 8, 8], "logits", ["batch", 3]), sample


def transformer_encoder():
    """One post-norm encoder layer and a mean-pooled linear head on sequences of 6 tokens of
    16 features: `TransformerEncoderLayer(d_model=16, nhead=2, dim_feedforward=32,
    activation="gelu", batch_first=True)`, then `x.mean(1)` and `Linear(16, 4)`."""
    g = Graph(seed=20)
    seq, width, heads = 6, 16, 2
    head = width // heads

    def linear(x, name, inputs, outputs):
        x = g.node("MatMul", [x, g.weight(f"{name}.weight", (inputs, outputs))])
        return g.node("Add", [x, g.weight(f"{name}.bias", (outputs,), 0.1)])

    def split_heads(x):
        x = g.node("Reshape", [x, g.constant(f"shape_{g.count}", [0, 0, heads, head])])
        return g.node("Transpose", [x], perm=[0, 2, 1, 3])

    def layer_norm(x, name):
        scale = g.constant(f"{name}.weight", np.ones(width, np.float32))
        bias = g.constant(f"{name}.bias", np.zeros(width, np.float32))
        return g.node("LayerNormalization", [x, scale, bias], axis=-1, epsilon=1e-5)

    x = "src"
    q = split_heads(linear(x, "self_attn.q", width, width))
    k = split_heads(linear(x, "self_attn.k", width, width))
    v = split_heads(linear(x, "self_attn.v", width, width))
    scores = g.node("MatMul", [q, g.node("Transpose", [k], perm=[0, 1, 3, 2])])
    scores = g.node("Div", [scores, g.constant("sqrt_head", np.float32(np.sqrt(head)))])
    attention = g.node("MatMul", [g.node("Softmax", [scores], axis=-1), v])
    attention = g.node("Transpose", [attention], perm=[0, 2, 1, 3])
    attention = g.node("Reshape", [attention, g.constant("merge_shape", [0, 0, width])])
    attention = linear(attention, "self_attn.out_proj", width, width)
    x = layer_norm(g.node("Add", [x, attention]), "norm1")
    hidden = linear(x, "linear1", width, 2 * width)
    # GELU as torch.onnx writes it at opset 17: x * 0.5 * (1 + erf(x / sqrt(2))).
    erf = g.node("Erf", [g.node("Div", [hidden, g.constant("sqrt2", np.float32(np.sqrt(2)))])])
    gelu = g.node("Mul", [g.node("Mul", [hidden, g.node("Add", [erf, g.constant("one", np.float32(1))])]),
                          g.constant("half", np.float32(0.5))])
    x = layer_norm(g.node("Add", [x, linear(gelu, "linear2", 2 * width, width)]), "norm2")
    pooled = g.node("ReduceMean", [x], axes=[1], keepdims=0)
    linear(pooled, "head", width, 4)
    g.nodes[-1].output[0] = "logits"
    sample = np.random.default_rng(21).standard_normal((BATCH, seq, width)).astype(np.float32)
    model = g.model("main_graph", "src", ["batch", seq, width], "logits", ["batch", 4])
    return model, sample


def networks():
    cnn_model, cnn_sample = cnn()
    yield "cnn", cnn_model, cnn_sample
    encoder, encoder_sample = transformer_encoder()
    yield "transformer_encoder", encoder, encoder_sample


def main():
    out = Path(sys.argv[1])
    for name, model, sample in [*scikit_learn_exports(), *networks()]:
        directory = out / name
        data = directory / "test_data_set_0"
        data.mkdir(parents=True, exist_ok=True)
        (directory / "model.onnx").write_bytes(model.SerializeToString())
        session = onnxruntime.InferenceSession(
            model.SerializeToString(), providers=["CPUExecutionProvider"]
        )
        input_name = session.get_inputs()[0].name
        outputs = session.run(None, {input_name: sample})
        (data / "input_0.pb").write_bytes(
            numpy_helper.from_array(sample, input_name).SerializeToString()
        )
        for index, (info, value) in enumerate(zip(session.get_outputs(), outputs)):
            (data / f"output_{index}.pb").write_bytes(
                numpy_helper.from_array(np.asarray(value), info.name).SerializeToString()
            )
        print(f"{directory}: {len(model.SerializeToString())} bytes")


if __name__ == "__main__":
    main()
