"""The ONNX aggregator: the graph computes what the numpy model computes, and bad files are refused."""

from __future__ import annotations

import numpy as np
import pytest

from galprof.errors import UsageError
from galprof.learn.aggregate import AGGREGATIONS, AggregatorModel, forward, init_params
from galprof.learn.export import write_onnx
from galprof.learn.runtime import Aggregator

DIMS = {"f": 6, "p": 4, "o": 3}


def _model(aggregation: str, rng: np.random.Generator) -> AggregatorModel:
    params = init_params(aggregation, 13, 5, 2, rng)
    for v in params.values():
        v += rng.normal(0, 0.5, v.shape)
    return AggregatorModel(aggregation, params, rng.normal(size=13), rng.uniform(0.5, 2, 13), ["food", "animals"])


@pytest.mark.parametrize("aggregation", AGGREGATIONS)
def test_onnx_graph_matches_numpy_for_any_number_of_photos(tmp_path, aggregation):
    rng = np.random.default_rng(4)
    model = _model(aggregation, rng)
    path = tmp_path / "agg.onnx"
    write_onnx(model, DIMS, ["food", "pets/animals"], {"users": 3}, path)
    assert (path.stat().st_mode & 0o777) == 0o600
    agg = Aggregator.load(path)
    assert agg.aggregation == aggregation and agg.categories == ["food", "animals"]
    for photos in (1, 3, 17):
        x = rng.normal(size=(photos, 13))
        probs, weights = agg.run(x[:, :6], x[:, 6:10], x[:, 10:])
        expected, cache = forward(model, x[None], np.ones((1, photos), dtype=bool))
        assert np.allclose(probs, expected[0], atol=1e-5)
        assert np.allclose(weights, cache["w"][0], atol=1e-5) and np.isclose(weights.sum(), 1.0, atol=1e-5)


def test_bad_aggregator_files_are_refused_in_one_line(tmp_path):
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"\x08\x07not a model at all")
    with pytest.raises(UsageError, match="garbage.onnx: not a readable ONNX model"):
        Aggregator.load(garbage)
    with pytest.raises(UsageError, match="missing.onnx: not a file"):
        Aggregator.load(tmp_path / "missing.onnx")
    from galprof.vision.registry import load_manifest

    other = load_manifest()["nanodet"].path()  # a real ONNX model, but not an aggregator
    with pytest.raises(UsageError, match="not a galprof aggregator"):
        Aggregator.load(other)


def test_an_aggregator_refuses_other_classifier_features(tmp_path):
    from galprof.config import Settings

    path = tmp_path / "agg.onnx"
    write_onnx(_model("attention", np.random.default_rng(5)), DIMS, ["food", "pets/animals"], {}, path)
    agg = Aggregator.load(path)
    with pytest.raises(UsageError, match="expects 4 classifier and 3 detector classes"):
        agg.check_labels(["x"] * 1000, ["y"] * 80)
    with pytest.raises(UsageError, match="trained on features of the lite0 classifier; this scan uses lite2"):
        agg.check_settings(Settings(classifier_tier="lite2"))
