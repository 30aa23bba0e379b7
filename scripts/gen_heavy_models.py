#!/usr/bin/env python3
"""Generates the heavy models HACA is tested and benchmarked on: real users' sizes, too large
to keep on chain (4 MiB) or in the repository, so executors fetch them by content hash.

- `resnet18`: a ResNet-18 (11.2 M parameters, 45 MB) on 224x224 images, as torchvision's
  `resnet18` exports with its batch norms folded into the convolutions, taking the raw
  grey-scale image as bytes ([1, 1, 224, 224] u8: 49 KiB, within a job's 64 KiB input) and
  normalising it in the graph, as deployed image models do;
- `bert_tiny`: a BERT-tiny encoder (2 layers, width 128, 2 heads, feed-forward 512, a
  30,522-token vocabulary: 4.4 M parameters, 18 MB) with its pooler and a two-class head,
  on 128 token ids.

Written node for node as `torch.onnx.export` writes them (opset 17), with the onnx package's
helper; weights drawn from fixed seeds at their architectures' initial scales. Each goes to
OUT/<name>/model.onnx with an input and onnxruntime's outputs for it, in the ONNX backend
layout (OUT/<name>/test_data_set_0/{input,output}_0.pb), like `gen_exports.py`.
Usage: scripts/gen_heavy_models.py OUT_DIR
"""
import sys
from pathlib import Path

import numpy as np
import onnxruntime
from onnx import TensorProto, numpy_helper

from gen_exports import Graph


def resnet18():
    g = Graph(seed=70)

    def conv(x, name, inputs, outputs, kernel, stride):
        fan_in = inputs * kernel * kernel
        weight = g.weight(f"{name}.weight", (outputs, inputs, kernel, kernel),
                          np.sqrt(2.0 / fan_in))
        bias = g.weight(f"{name}.bias", (outputs,), 0.05)
        pad = kernel // 2
        return g.node("Conv", [x, weight, bias], kernel_shape=[kernel, kernel],
                      pads=[pad] * 4, strides=[stride, stride], dilations=[1, 1], group=1)

    def block(x, name, inputs, outputs, stride):
        y = g.node("Relu", [conv(x, f"{name}.conv1", inputs, outputs, 3, stride)])
        y = conv(y, f"{name}.conv2", outputs, outputs, 3, 1)
        if stride != 1 or inputs != outputs:
            x = conv(x, f"{name}.downsample.0", inputs, outputs, 1, stride)
        return g.node("Relu", [g.node("Add", [y, x])])

    x = g.node("Cast", ["image"], to=TensorProto.FLOAT)
    x = g.node("Div", [x, g.constant("scale", np.float32(255.0))])
    x = g.node("Sub", [x, g.constant("mean", np.float32(0.449))])
    x = g.node("Div", [x, g.constant("std", np.float32(0.226))])
    x = g.node("Relu", [conv(x, "conv1", 1, 64, 7, 2)])
    x = g.node("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
               ceil_mode=0, dilations=[1, 1])
    width = 64
    for stage, outputs in enumerate([64, 128, 256, 512], start=1):
        stride = 1 if stage == 1 else 2
        x = block(x, f"layer{stage}.0", width, outputs, stride)
        x = block(x, f"layer{stage}.1", outputs, outputs, 1)
        width = outputs
    x = g.node("GlobalAveragePool", [x])
    x = g.node("Flatten", [x], axis=1)
    x = g.node("Gemm", [x, g.weight("fc.weight", (1000, 512), np.sqrt(1.0 / 512)),
                        g.weight("fc.bias", (1000,), 0.01)], alpha=1.0, beta=1.0, transB=1)
    g.nodes[-1].output[0] = "logits"
    sample = np.random.default_rng(71).integers(0, 256, (1, 1, 224, 224)).astype(np.uint8)
    model = g.model("main_graph", "image", [1, 1, 224, 224], "logits", [1, 1000],
                    input_type=TensorProto.UINT8)
    return model, sample


def bert_tiny():
    g = Graph(seed=80)
    vocabulary, tokens, width, heads, feed_forward, layers = 30522, 128, 128, 2, 512, 2
    head = width // heads

    def linear(x, name, inputs, outputs):
        x = g.node("MatMul", [x, g.weight(f"{name}.weight", (inputs, outputs), 0.02)])
        return g.node("Add", [x, g.weight(f"{name}.bias", (outputs,), 0.02)])

    def layer_norm(x, name):
        scale = g.constant(f"{name}.weight", np.ones(width, np.float32))
        bias = g.constant(f"{name}.bias", np.zeros(width, np.float32))
        return g.node("LayerNormalization", [x, scale, bias], axis=-1, epsilon=1e-12)

    def split_heads(x):
        x = g.node("Reshape", [x, g.constant(f"shape_{g.count}", [0, 0, heads, head])])
        return g.node("Transpose", [x], perm=[0, 2, 1, 3])

    words = g.node("Gather", [g.weight("embeddings.word_embeddings.weight",
                                       (vocabulary, width), 0.02), "input_ids"])
    positions = g.weight("embeddings.position_embeddings.weight", (1, tokens, width), 0.02)
    token_type = g.weight("embeddings.token_type_embeddings.weight", (width,), 0.02)
    x = g.node("Add", [g.node("Add", [words, positions]), token_type])
    x = layer_norm(x, "embeddings.LayerNorm")
    for layer in range(layers):
        name = f"encoder.layer.{layer}"
        q = split_heads(linear(x, f"{name}.attention.self.query", width, width))
        k = split_heads(linear(x, f"{name}.attention.self.key", width, width))
        v = split_heads(linear(x, f"{name}.attention.self.value", width, width))
        scores = g.node("MatMul", [q, g.node("Transpose", [k], perm=[0, 1, 3, 2])])
        scores = g.node("Div", [scores, g.constant(f"sqrt_head_{layer}",
                                                   np.float32(np.sqrt(head)))])
        context = g.node("MatMul", [g.node("Softmax", [scores], axis=-1), v])
        context = g.node("Transpose", [context], perm=[0, 2, 1, 3])
        context = g.node("Reshape", [context, g.constant(f"merge_{layer}", [0, 0, width])])
        attention = linear(context, f"{name}.attention.output.dense", width, width)
        x = layer_norm(g.node("Add", [attention, x]), f"{name}.attention.output.LayerNorm")
        hidden = linear(x, f"{name}.intermediate.dense", width, feed_forward)
        # GELU as torch.onnx writes it at opset 17: x * 0.5 * (1 + erf(x / sqrt(2))).
        erf = g.node("Erf", [g.node("Div", [hidden, g.constant(f"sqrt2_{layer}",
                                                               np.float32(np.sqrt(2)))])])
        gelu = g.node("Mul", [g.node("Mul", [hidden, g.node("Add", [
            erf, g.constant(f"one_{layer}", np.float32(1))])]),
            g.constant(f"half_{layer}", np.float32(0.5))])
        output = linear(gelu, f"{name}.output.dense", feed_forward, width)
        x = layer_norm(g.node("Add", [output, x]), f"{name}.output.LayerNorm")
    first = g.node("Gather", [x, g.constant("cls_index", np.int64(0))], axis=1)
    pooled = g.node("Tanh", [linear(first, "pooler.dense", width, width)])
    linear(pooled, "classifier", width, 2)
    g.nodes[-1].output[0] = "logits"
    sample = np.random.default_rng(81).integers(0, vocabulary, (1, tokens)).astype(np.int64)
    model = g.model("main_graph", "input_ids", [1, tokens], "logits", [1, 2],
                    input_type=TensorProto.INT64)
    return model, sample


def main():
    out = Path(sys.argv[1])
    for name, build in [("resnet18", resnet18), ("bert_tiny", bert_tiny)]:
        model, sample = build()
        bytes_ = model.SerializeToString()
        directory = out / name
        data = directory / "test_data_set_0"
        data.mkdir(parents=True, exist_ok=True)
        session = onnxruntime.InferenceSession(bytes_, providers=["CPUExecutionProvider"])
        input_name = session.get_inputs()[0].name
        outputs = session.run(None, {input_name: sample})
        (data / "input_0.pb").write_bytes(
            numpy_helper.from_array(sample, input_name).SerializeToString())
        for index, (info, value) in enumerate(zip(session.get_outputs(), outputs)):
            (data / f"output_{index}.pb").write_bytes(
                numpy_helper.from_array(np.asarray(value), info.name).SerializeToString())
        (directory / "model.onnx").write_bytes(bytes_)
        parameters = sum(np.prod(weight.dims) for weight in model.graph.initializer)
        print(f"{directory}: {len(bytes_)} bytes, {parameters / 1e6:.1f} M parameters")


if __name__ == "__main__":
    main()
