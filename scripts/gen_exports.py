#!/usr/bin/env python3
"""Exports models as their users do and writes each with an input and onnxruntime's outputs
for it, in the ONNX backend layout: OUT/<name>/model.onnx and
OUT/<name>/test_data_set_0/{input,output}_<i>.pb.

- scikit-learn estimators through skl2onnx (ZipMap off), their batch dimension dynamic and
  unnamed, as skl2onnx writes it;
- a small CNN, a small transformer encoder and a bag-of-embeddings text classifier
  (Gather, Slice, Concat) written node for node as `torch.onnx.export` writes such PyTorch
  modules (opset 17, `dynamic_axes` naming the batch dimension `batch`), with the onnx
  package's helper: PyTorch's wheel is too large for the project's set-up;
- int8 networks in the forms onnxruntime's quantisation tool writes: an MLP in operator
  form (QuantizeLinear, QLinearMatMul), a CNN in operator form (QLinearConv, QLinearMatMul:
  integer from its input's quantiser to its output's dequantiser, so provable), the same CNN
  giving each sample's class (ArgMax), and a CNN
  mixing the dynamic form (ConvInteger, Cast) with the QDQ form (DequantizeLinear of
  per-row weights).

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

    def model(self, name, input_name, input_dims, output, output_dims,
              input_type=TensorProto.FLOAT, producer="pytorch", output_type=TensorProto.FLOAT):
        graph = helper.make_graph(
            self.nodes,
            name,
            [helper.make_tensor_value_info(input_name, input_type, input_dims)],
            [helper.make_tensor_value_info(output, output_type, output_dims)],
            self.weights,
        )
        model = helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", 17)], producer_name=producer
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


def quantised(g, name, values, scale, dtype=np.int8, axis=None):
    """`values` quantised by `scale` (a scalar, or one per index of `axis`) into `dtype`,
    rounded to even and saturated, as a weight of `g`."""
    info = np.iinfo(dtype)
    shape = [-1 if a == axis else 1 for a in range(values.ndim)] if axis is not None else []
    q = np.clip(np.rint(values / np.reshape(scale, shape)), info.min, info.max).astype(dtype)
    return g.constant(name, q)


def int8_mlp():
    """A digits-size (64-64-10) int8 MLP in onnxruntime's operator form: the input quantised
    to u8, two QLinearMatMuls with per-tensor int8 weights, ReLU as a Clip at the hidden
    layer's zero point, and the logits dequantised."""
    g = Graph(seed=30)
    rng = g.rng
    w1 = (rng.standard_normal((64, 64)) * 0.2).astype(np.float32)
    w2 = (rng.standard_normal((64, 10)) * 0.3).astype(np.float32)
    scales = {"x": 0.0392, "w1": float(np.abs(w1).max() / 127), "h": 0.0617,
              "w2": float(np.abs(w2).max() / 127), "y": 0.0873}
    s = {k: g.constant(f"{k}_scale", np.float32(v)) for k, v in scales.items()}
    x_zero, h_zero, y_zero = (g.constant(f"{k}_zero_point", np.uint8(v))
                              for k, v in [("x", 0), ("h", 128), ("y", 128)])
    w_zero = g.constant("w_zero_point", np.int8(0))
    x = g.node("QuantizeLinear", ["input", s["x"], x_zero])
    x = g.node("QLinearMatMul", [x, s["x"], x_zero, quantised(g, "fc1.weight", w1, scales["w1"]),
                                 s["w1"], w_zero, s["h"], h_zero])
    x = g.node("Clip", [x, h_zero, g.constant("u8_max", np.uint8(255))])
    x = g.node("QLinearMatMul", [x, s["h"], h_zero, quantised(g, "fc2.weight", w2, scales["w2"]),
                                 s["w2"], w_zero, s["y"], y_zero])
    x = g.node("DequantizeLinear", [x, s["y"], y_zero])
    g.nodes[-1].output[0] = "logits"
    sample = np.random.default_rng(31).uniform(0, 8, (BATCH, 64)).astype(np.float32)
    model = g.model("main_graph", "input", ["batch", 64], "logits", ["batch", 10],
                    producer="onnx.quantize")
    return model, sample


def int8_qcnn(classes=False):
    """A digits-size (1x8x8) int8 CNN in onnxruntime's operator form: the input quantised to
    u8, two 3x3 stride-2 QLinearConvs with int8 weights (per-channel scales and i32 biases in
    the second) and ReLU as a Clip at each one's zero point, flattened, a QLinearMatMul head
    and the logits dequantised (with `classes`, then each sample's class, an ArgMax): integer
    from end to end, so its runs can be proven."""
    g = Graph(seed=60)
    rng = g.rng
    w1 = (rng.standard_normal((4, 1, 3, 3)) * 0.4).astype(np.float32)
    w2 = (rng.standard_normal((8, 4, 3, 3)) * 0.2).astype(np.float32)
    w3 = (rng.standard_normal((32, 10)) * 0.3).astype(np.float32)
    w2_scales = (np.abs(w2).reshape(8, -1).max(axis=1) / 127).astype(np.float32)
    scales = {"x": 0.0392, "w1": float(np.abs(w1).max() / 127), "h1": 0.0451, "h2": 0.0533,
              "w3": float(np.abs(w3).max() / 127), "y": 0.0873}
    s = {k: g.constant(f"{k}_scale", np.float32(v)) for k, v in scales.items()}
    x_zero, h1_zero, h2_zero, y_zero = (g.constant(f"{k}_zero_point", np.uint8(v))
                                        for k, v in [("x", 0), ("h1", 128), ("h2", 128),
                                                     ("y", 128)])
    w_zero = g.constant("w_zero_point", np.int8(0))
    u8_max = g.constant("u8_max", np.uint8(255))
    conv = dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2], dilations=[1, 1],
                group=1)
    x = g.node("QuantizeLinear", ["input", s["x"], x_zero])
    x = g.node("QLinearConv", [x, s["x"], x_zero, quantised(g, "conv1.weight", w1, scales["w1"]),
                               s["w1"], w_zero, s["h1"], h1_zero], **conv)
    x = g.node("Clip", [x, h1_zero, u8_max])
    bias2 = (rng.standard_normal(8) * 0.1 / (scales["h1"] * w2_scales)).round().astype(np.int32)
    x = g.node("QLinearConv", [x, s["h1"], h1_zero, quantised(g, "conv2.weight", w2, w2_scales,
                                                              axis=0),
                               g.constant("w2_scale", w2_scales),
                               g.constant("w2_zero_point", np.zeros(8, np.int8)), s["h2"],
                               h2_zero, g.constant("conv2.bias", bias2)], **conv)
    x = g.node("Clip", [x, h2_zero, u8_max])
    x = g.node("Flatten", [x], axis=1)
    x = g.node("QLinearMatMul", [x, s["h2"], h2_zero, quantised(g, "fc.weight", w3, scales["w3"]),
                                 s["w3"], w_zero, s["y"], y_zero])
    x = g.node("DequantizeLinear", [x, s["y"], y_zero])
    if classes:
        x = g.node("ArgMax", [x], axis=1, keepdims=0)
    output = "classes" if classes else "logits"
    g.nodes[-1].output[0] = output
    sample = np.random.default_rng(61).uniform(0, 8, (BATCH, 1, 8, 8)).astype(np.float32)
    model = g.model("main_graph", "input", ["batch", 1, 8, 8], output,
                    ["batch"] if classes else ["batch", 10], producer="onnx.quantize",
                    output_type=TensorProto.INT64 if classes else TensorProto.FLOAT)
    return model, sample


def int8_cnn():
    """An inception-style int8 CNN on 1x8x8 images: the input quantised to u8, a 1x1 and a
    3x3 ConvInteger branch with u8 weights (onnxruntime's dynamic form: Cast to float, Mul
    by the scales, Add the bias) joined by Concat, ReLU6 as a Clip, 2x2 average pooling,
    and a linear head whose int8 weights are dequantised per row (the QDQ form)."""
    g = Graph(seed=40)
    rng = g.rng
    x_scale = 0.0213
    x_zero = g.constant("x_zero_point", np.uint8(100))
    x = g.node("QuantizeLinear", ["input", g.constant("x_scale", np.float32(x_scale)), x_zero])
    branches = []
    for name, kernel, pad in [("branch1x1", 1, 0), ("branch3x3", 3, 1)]:
        weights = rng.uniform(0, 1, (2, 1, kernel, kernel)).astype(np.float32)
        w_scale = 1 / 255
        w = g.constant(f"{name}.weight", np.rint(weights / w_scale).astype(np.uint8))
        y = g.node("ConvInteger", [x, w, x_zero, g.constant(f"{name}.zero_point", np.uint8(128))],
                   kernel_shape=[kernel, kernel], pads=[pad] * 4, strides=[1, 1], dilations=[1, 1],
                   group=1)
        y = g.node("Cast", [y], to=TensorProto.FLOAT)
        y = g.node("Mul", [y, g.constant(f"{name}.scale", np.float32(x_scale * w_scale))])
        bias = (rng.standard_normal((1, 2, 1, 1)) * 0.1).astype(np.float32)
        branches.append(g.node("Add", [y, g.constant(f"{name}.bias", bias)]))
    x = g.node("Concat", branches, axis=1)
    x = g.node("Clip", [x, g.constant("zero", np.float32(0)), g.constant("six", np.float32(6))])
    x = g.node("AveragePool", [x], kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 0, 0],
               ceil_mode=0, count_include_pad=0)
    x = g.node("Flatten", [x], axis=1)
    head = (rng.standard_normal((3, 64)) * 0.2).astype(np.float32)
    head_scales = (np.abs(head).max(axis=1) / 127).astype(np.float32)
    w = g.node("DequantizeLinear", [quantised(g, "head.weight", head, head_scales, axis=0),
                                    g.constant("head.scale", head_scales),
                                    g.constant("head.zero_point", np.zeros(3, np.int8))], axis=0)
    x = g.node("Gemm", [x, w, g.weight("head.bias", (3,), 0.1)], alpha=1.0, beta=1.0, transB=1)
    g.nodes[-1].output[0] = "logits"
    sample = np.random.default_rng(41).uniform(-2, 3, (BATCH, 1, 8, 8)).astype(np.float32)
    model = g.model("main_graph", "input", ["batch", 1, 8, 8], "logits", ["batch", 3],
                    producer="onnx.quantize")
    return model, sample


def text_classifier():
    """A bag-of-embeddings classifier of 8-token sequences (a vocabulary of 50, width 16):
    the embeddings gathered, the first token's (the class token, a Gather at index 0)
    joined to the mean of the others' (a Slice from token 1), a linear head and softmax."""
    g = Graph(seed=50)
    vocabulary, tokens, width = 50, 8, 16
    x = g.node("Gather", [g.weight("embedding.weight", (vocabulary, width), 1.0), "input_ids"],
               axis=0)
    first = g.node("Gather", [x, g.constant("first_token", np.int64(0))], axis=1)
    rest = g.node("Slice", [x, g.constant("rest_start", [1]), g.constant("rest_end", [tokens]),
                            g.constant("rest_axes", [1]), g.constant("rest_steps", [1])])
    mean = g.node("ReduceMean", [rest], axes=[1], keepdims=0)
    x = g.node("Concat", [first, mean], axis=-1)
    x = g.node("Gemm", [x, g.weight("head.weight", (5, 2 * width)), g.weight("head.bias", (5,))],
               alpha=1.0, beta=1.0, transB=1)
    x = g.node("Softmax", [x], axis=-1)
    g.nodes[-1].output[0] = "probabilities"
    sample = np.random.default_rng(51).integers(0, vocabulary, (BATCH, tokens)).astype(np.int64)
    model = g.model("main_graph", "input_ids", ["batch", tokens], "probabilities", ["batch", 5],
                    input_type=TensorProto.INT64)
    return model, sample


def networks():
    cnn_model, cnn_sample = cnn()
    yield "cnn", cnn_model, cnn_sample
    encoder, encoder_sample = transformer_encoder()
    yield "transformer_encoder", encoder, encoder_sample
    for name, build in [("int8_mlp", int8_mlp), ("int8_qcnn", int8_qcnn),
                        ("int8_qcnn_classes", lambda: int8_qcnn(classes=True)),
                        ("int8_cnn", int8_cnn),
                        ("text_classifier", text_classifier)]:
        model, sample = build()
        yield name, model, sample


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
