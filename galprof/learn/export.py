"""Write an AggregatorModel as an ONNX graph over a variable number of photos (needs `onnx`: the train extra).

Inputs f (N, 1280), p (N, 1000) and o (N, 80) as `galprof features` gives them; outputs
`probabilities` (C,) and `weights` (N,) (each photo's share of the descriptor). The standardisation
is part of the graph. Metadata (`galprof.*` keys) names the categories and the aggregation, so a scan
can check the file before using it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from galprof.learn.aggregate import AggregatorModel

FORMAT = "galprof-aggregator"
FORMAT_VERSION = 1
OPSET = 17


def _onnx():
    try:
        import onnx
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:
        from galprof.errors import UsageError

        raise UsageError("writing an aggregator needs the onnx package: pip install 'galprof[train]'") from None
    return onnx, TensorProto, helper, numpy_helper


def _pooling_nodes(helper, model: AggregatorModel, init: dict[str, np.ndarray]) -> list:
    """Nodes from S (N, K~) to the descriptor d (1, K~) and the photo weights w (N, 1)."""
    P = model.params

    def attend(query: str, weights: str, out: str) -> list:
        return [helper.make_node("MatMul", ["S", query], [weights + "_logits"]),
                helper.make_node("Softmax", [weights + "_logits"], [weights], axis=0),
                helper.make_node("Mul", ["S", weights], [weights + "_S"]),
                helper.make_node("ReduceSum", [weights + "_S", "axis0"], [out], keepdims=1)]

    init["axis0"] = np.array([0], dtype=np.int64)
    if model.aggregation == "average":
        return [helper.make_node("ReduceMean", ["S"], ["d"], axes=[0], keepdims=1),
                helper.make_node("Shape", ["S"], ["S_shape"]),
                helper.make_node("Gather", ["S_shape", "axis0"], ["n_photos"]),
                helper.make_node("Cast", ["n_photos"], ["n_float"], to=1),
                helper.make_node("Reciprocal", ["n_float"], ["one_over_n"]),
                helper.make_node("ReduceSum", ["S", "axis1"], ["S_rows"], keepdims=1),
                helper.make_node("Mul", ["S_rows", "zero"], ["zeros"]),
                helper.make_node("Add", ["zeros", "one_over_n"], ["w"])]
    if model.aggregation == "attention":
        init["q"] = P["q"].reshape(-1, 1)
        return attend("q", "w", "d")
    init["q0"] = P["q0"].reshape(-1, 1)
    init["A_T"] = P["A"].T
    init["b"] = P["b"].reshape(1, -1)
    return attend("q0", "w0", "r0") + [
        helper.make_node("MatMul", ["r0", "A_T"], ["h_pre0"]),
        helper.make_node("Add", ["h_pre0", "b"], ["h_pre"]),
        helper.make_node("Tanh", ["h_pre"], ["h"]),
        helper.make_node("Transpose", ["h"], ["q1"], perm=[1, 0]),
    ] + attend("q1", "w", "d")


def to_onnx(model: AggregatorModel, dims: dict[str, int], category_labels: list[str], summary: dict) -> bytes:
    """The serialized ONNX model. dims: the widths of f, p and o (their sum is the model's input)."""
    onnx, TensorProto, helper, numpy_helper = _onnx()
    if sum(dims.values()) != model.input_dim:
        raise ValueError(f"feature widths {dims} do not add up to the model's input {model.input_dim}")
    P = model.params
    init: dict[str, np.ndarray] = {
        "mean": model.mean.reshape(1, -1), "inv_scale": (1.0 / model.scale).reshape(1, -1),
        "Ws_T": P["Ws"].T, "Wc_T": P["Wc"].T, "bc": P["bc"].reshape(1, -1),
        "axis1": np.array([1], dtype=np.int64), "zero": np.zeros((1, 1)), "flat": np.array([-1], dtype=np.int64),
    }
    nodes = [helper.make_node("Concat", list(dims), ["x_raw"], axis=1),
             helper.make_node("Sub", ["x_raw", "mean"], ["x_centred"]),
             helper.make_node("Mul", ["x_centred", "inv_scale"], ["x"]),
             helper.make_node("MatMul", ["x", "Ws_T"], ["S"])]
    nodes += _pooling_nodes(helper, model, init)
    nodes += [helper.make_node("MatMul", ["d", "Wc_T"], ["logits0"]),
              helper.make_node("Add", ["logits0", "bc"], ["logits"]),
              helper.make_node("Sigmoid", ["logits"], ["probabilities_2d"]),
              helper.make_node("Reshape", ["probabilities_2d", "flat"], ["probabilities"]),
              helper.make_node("Reshape", ["w", "flat"], ["weights"])]
    initializers = [numpy_helper.from_array(v if v.dtype == np.int64 else v.astype(np.float32), name)
                    for name, v in init.items()]
    inputs = [helper.make_tensor_value_info(name, TensorProto.FLOAT, ["photos", width])
              for name, width in dims.items()]
    outputs = [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [len(model.categories)]),
               helper.make_tensor_value_info("weights", TensorProto.FLOAT, ["photos"])]
    graph = helper.make_graph(nodes, f"galprof_{model.aggregation}", inputs, outputs, initializers)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="galprof", ir_version=8)
    meta = {"galprof.format": FORMAT, "galprof.format_version": str(FORMAT_VERSION),
            "galprof.aggregation": model.aggregation, "galprof.categories": json.dumps(model.categories),
            "galprof.category_labels": json.dumps(category_labels), "galprof.features": json.dumps(dims),
            "galprof.training": json.dumps(summary), "galprof.classifier": "lite0"}
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(proto)
    return proto.SerializeToString()


def write_onnx(model: AggregatorModel, dims: dict[str, int], category_labels: list[str], summary: dict,
               path: str | Path) -> None:
    from galprof.render.output import write_output

    write_output(to_onnx(model, dims, category_labels, summary), path)
