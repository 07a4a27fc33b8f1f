"""The aggregator of eqs. 1-3: exact gradients (finite differences), masks, and learning a planted signal."""

from __future__ import annotations

import numpy as np
import pytest

from galprof.learn.aggregate import (
    AGGREGATIONS,
    AggregatorModel,
    forward,
    init_params,
    loss_and_grads,
    pad,
    predict,
)
from galprof.learn.fit import FitOptions, fit


def _tiny_model(aggregation: str, rng: np.random.Generator, K: int = 7, Kt: int = 4, C: int = 3):
    params = init_params(aggregation, K, Kt, C, rng)
    for v in params.values():  # queries start at zero: move them so every path has a gradient
        v += rng.normal(0, 0.3, v.shape)
    return AggregatorModel(aggregation, params, np.zeros(K), np.ones(K), ["a", "b", "c"][:C])


@pytest.mark.parametrize("aggregation", AGGREGATIONS)
def test_gradients_match_finite_differences(aggregation):
    rng = np.random.default_rng(1)
    model = _tiny_model(aggregation, rng)
    X, mask = pad([rng.normal(size=(m, 7)) for m in (5, 2, 3)])
    Y = (rng.random((3, 3)) > 0.5).astype(float)
    _, grads = loss_and_grads(model, X, mask, Y, l2=0.01)
    eps = 1e-6
    for name, value in model.params.items():
        numeric = np.zeros_like(value)
        for idx in np.ndindex(value.shape):
            old = value[idx]
            value[idx] = old + eps
            up, _ = loss_and_grads(model, X, mask, Y, l2=0.01)
            value[idx] = old - eps
            down, _ = loss_and_grads(model, X, mask, Y, l2=0.01)
            value[idx] = old
            numeric[idx] = (up - down) / (2 * eps)
        assert np.allclose(grads[name], numeric, rtol=1e-4, atol=1e-8), name


@pytest.mark.parametrize("aggregation", ["attention", "nan"])
def test_padding_does_not_change_a_gallery(aggregation):
    rng = np.random.default_rng(2)
    model = _tiny_model(aggregation, rng)
    short, long = rng.normal(size=(2, 7)), rng.normal(size=(6, 7))
    alone, _ = forward(model, *pad([short]))
    together, cache = forward(model, *pad([short, long]))
    assert np.allclose(alone[0], together[0])
    assert np.allclose(cache["w"][0, 2:], 0.0) and np.isclose(cache["w"][0].sum(), 1.0)


def _planted(rng: np.random.Generator, users: int, K: int = 8):
    """Galleries where category c is present when a few photos carry a spike on feature c; the rest are
    noise photos. Averaging dilutes the spike in big galleries; attention can pick those photos out."""
    galleries, labels = [], []
    for _ in range(users):
        y = (rng.random(3) < 0.4).astype(float)
        m = int(rng.integers(20, 40))
        g = rng.normal(0, 1, (m, K))
        for c in np.flatnonzero(y):
            rows = rng.choice(m, 2, replace=False)
            g[rows, c] += 8.0
        galleries.append(g)
        labels.append(y)
    return galleries, np.array(labels)


def test_attention_learns_a_planted_signal_that_averaging_dilutes():
    rng = np.random.default_rng(3)
    train_g, train_y = _planted(rng, 300)
    test_g, test_y = _planted(rng, 60)
    accuracy = {}
    for aggregation in ("average", "attention"):
        options = FitOptions(aggregation=aggregation, descriptor_dim=8, epochs=150, learning_rate=3e-2, seed=0)
        model, report = fit(train_g, train_y, ["a", "b", "c"], options)
        assert 1 <= report.best_epoch <= report.epochs_run
        accuracy[aggregation] = ((predict(model, test_g) > 0.5) == test_y.astype(bool)).mean()
    assert accuracy["attention"] > 0.95, accuracy
    assert accuracy["attention"] > accuracy["average"] + 0.04, accuracy


def test_the_epoch_is_chosen_on_the_given_validation_galleries():
    rng = np.random.default_rng(5)
    train_g, train_y = _planted(rng, 120)
    val_g, val_y = _planted(rng, 30)
    options = FitOptions(aggregation="attention", descriptor_dim=8, epochs=30, learning_rate=3e-2, patience=30)
    _, honest = fit(train_g, train_y, ["a", "b", "c"], options, validation_set=(val_g, val_y))
    _, flipped = fit(train_g, train_y, ["a", "b", "c"], options, validation_set=(val_g, 1 - val_y))
    assert honest.best_epoch > 5 and honest.validation_loss < 0.3
    assert flipped.best_epoch <= 2 and flipped.validation_loss > 0.69
