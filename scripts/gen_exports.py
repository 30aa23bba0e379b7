#!/usr/bin/env python3
"""Exports scikit-learn models as their users do (skl2onnx, ZipMap off) and writes each with
an input and onnxruntime's outputs for it, in the ONNX backend layout:
OUT/<name>/model.onnx and OUT/<name>/test_data_set_0/{input,output}_<i>.pb.

Deterministic: fixed seeds and data. onnxruntime is the reference HACA's engine is held
against (`offchain-workers/engine/tests/exports.rs`).
Usage: scripts/gen_exports.py OUT_DIR
"""
import sys
from pathlib import Path

import numpy as np
import onnxruntime
from onnx import numpy_helper
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


def main():
    out = Path(sys.argv[1])
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
