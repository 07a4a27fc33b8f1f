"""galprof.vision.onnx_model: the sessions every model runs in."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from galprof.vision.onnx_model import OnnxModel


def _int8_product_model(path, depth: int, outputs: int) -> None:
    weights = numpy_helper.from_array(np.full((depth, outputs), 127, np.int8), "w")
    graph = helper.make_graph([helper.make_node("MatMulInteger", ["a", "w"], ["y"])], "u8s8",
                              [helper.make_tensor_value_info("a", TensorProto.UINT8, [1, depth])],
                              [helper.make_tensor_value_info("y", TensorProto.INT32, [1, outputs])], [weights])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path.write_bytes(model.SerializeToString())


def test_uint8_by_int8_products_are_exact_on_every_cpu(tmp_path):
    # 255 x 127 twice is over 32 767: x86 AVX2 kernels without VNNI saturate such pairs (the sum came out
    # 1 048 544 instead of 2 072 640 on an AMD EPYC before galprof asked onnxruntime for exact kernels)
    depth = 64
    _int8_product_model(tmp_path / "u8s8.onnx", depth, outputs=16)
    model = OnnxModel(tmp_path / "u8s8.onnx")
    (products,) = model.run(np.full((1, depth), 255, np.uint8))
    assert products.tolist() == [[255 * 127 * depth] * 16]


def _expanding_model(path) -> None:
    """x (1, 1) float -> the sum of x expanded to a 64 MB tensor: a run holds 64 MB of intermediates."""
    shape = numpy_helper.from_array(np.array([2048, 8192], np.int64), "shape")
    graph = helper.make_graph([helper.make_node("Expand", ["x", "shape"], ["big"]),
                               helper.make_node("ReduceSum", ["big"], ["y"], keepdims=0)], "expand",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [])], [shape])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path.write_bytes(model.SerializeToString())


_RSS_OF_TWO_SESSIONS = """
import sys, numpy as np
from galprof.vision.onnx_model import OnnxModel
def rss():
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmRSS")) / 1024
first, second = OnnxModel(sys.argv[1]), OnnxModel(sys.argv[2])
x = np.ones((1, 1), np.float32)
start = rss(); first.run(x); after_first = rss(); second.run(x); after_second = rss()
print(after_first - start, after_second - after_first)
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmRSS from /proc")
def test_sessions_run_one_after_another_share_one_arena(tmp_path):
    # with an arena per session the second model's 64 MB would stay beside the first one's
    for name in ("a.onnx", "b.onnx"):
        _expanding_model(tmp_path / name)
    repo = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", _RSS_OF_TWO_SESSIONS, str(tmp_path / "a.onnx"),
                           str(tmp_path / "b.onnx")], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(repo)}, check=True)
    first, second = map(float, done.stdout.split())
    assert first > 50 and second < first / 4, done.stdout


def test_run_in_batches_gives_the_whole_batch_answer_at_most_batch_rows_a_run(tmp_path):
    two = numpy_helper.from_array(np.array(2.0, np.float32), "two")
    axis = numpy_helper.from_array(np.array([1], np.int64), "axis")
    graph = helper.make_graph([helper.make_node("Mul", ["x", "two"], ["doubled"]),
                               helper.make_node("ReduceSum", ["x", "axis"], ["sums"], keepdims=0)], "rows",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 4])],
                              [helper.make_tensor_value_info("doubled", TensorProto.FLOAT, ["n", 4]),
                               helper.make_tensor_value_info("sums", TensorProto.FLOAT, ["n"])], [two, axis])
    model_proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model_proto.ir_version = 8
    (tmp_path / "rows.onnx").write_bytes(model_proto.SerializeToString())
    model = OnnxModel(tmp_path / "rows.onnx")
    x = np.arange(37 * 4, dtype=np.float32).reshape(37, 4)
    whole = model.run(x)
    rows_per_run = []
    real_run = model.run
    model.run = lambda tensor: rows_per_run.append(len(tensor)) or real_run(tensor)
    batched = model.run_in_batches(x, batch=16)
    assert rows_per_run == [16, 16, 5]
    assert all(np.array_equal(a, b) for a, b in zip(whole, batched, strict=True))
    assert [len(out) for out in model.run_in_batches(x[:0])] == [0, 0]
