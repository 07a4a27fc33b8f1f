"""The conversion-free part of models/build/mediapipe_models.py: MediaPipe's custom TFLite op
Convolution2DTransposeBias, which tf2onnx leaves as an unknown node, rewritten as ONNX ConvTranspose
and checked against a numpy transposed convolution."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "models" / "build"))
mediapipe_models = pytest.importorskip("mediapipe_models")


def _custom_op_model(path: Path, weights: np.ndarray, bias: np.ndarray) -> None:
    from onnx import TensorProto, helper, numpy_helper

    node = helper.make_node("TFL_Convolution2DTransposeBias", ["x", "w", "b"], ["y"], name="segment")
    graph = helper.make_graph(
        [node], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 4, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 8, 2])],
        [numpy_helper.from_array(weights, "w"), numpy_helper.from_array(bias, "b")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))


def test_transpose_conv_bias_becomes_conv_transpose(tmp_path):
    import onnxruntime as ort

    rng = np.random.default_rng(0)
    weights = rng.normal(size=(2, 2, 2, 3)).astype(np.float32)  # TFLite layout: out, kh, kw, in
    bias = np.array([0.5, -1.0], np.float32)
    path = tmp_path / "m.onnx"
    _custom_op_model(path, weights, bias)
    assert mediapipe_models._replace_transpose_conv_bias(path, {"y": 2}) == 1
    assert {n.op_type for n in onnx.load(str(path)).graph.node} == {"Transpose", "ConvTranspose"}
    x = rng.normal(size=(1, 4, 4, 3)).astype(np.float32)
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    # stride 2, kernel 2: each input pixel paints its own 2 x 2 block of the output
    expected = np.einsum("ijc,oabc->iajbo", x[0], weights).reshape(8, 8, 2) + bias
    assert got.shape == (1, 8, 8, 2)
    np.testing.assert_allclose(got[0], expected, rtol=1e-5, atol=1e-5)
