"""galprof.vision.onnx_model: the sessions every model runs in."""

from __future__ import annotations

import numpy as np
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
