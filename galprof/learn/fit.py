"""Training an aggregator: Adam on mini-batches of galleries, early stopping on held-out galleries.

Each epoch every training gallery contributes a random subset of at most `photos_per_gallery` photos
(large galleries cost no more than small ones, and the model sees varied subsets, as a phone would).
The number of epochs is chosen on a validation share of the galleries (lowest loss), then the model
of that epoch is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from galprof.learn.aggregate import AggregatorModel, init_params, loss_and_grads, pad

MIN_SCALE = 0.1  # rare classes of p and o (std ~0.001-0.02) are not blown up to values of 100s


@dataclass
class FitOptions:
    aggregation: str = "attention"
    descriptor_dim: int = 128
    epochs: int = 60
    batch: int = 16
    learning_rate: float = 1e-3
    l2: float = 1e-2
    photos_per_gallery: int = 64
    validation: float = 0.2  # share of galleries held out to choose the epoch (0: use every epoch)
    patience: int = 12
    seed: int = 0


@dataclass
class FitReport:
    best_epoch: int
    train_loss: float
    validation_loss: float | None
    epochs_run: int


class Adam:
    def __init__(self, params: dict[str, np.ndarray], learning_rate: float, beta1: float = 0.9,
                 beta2: float = 0.999, eps: float = 1e-8):
        self.lr, self.b1, self.b2, self.eps = learning_rate, beta1, beta2, eps
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}
        self.t = 0

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        self.t += 1
        for k, g in grads.items():
            self.m[k] = self.b1 * self.m[k] + (1 - self.b1) * g
            self.v[k] = self.b2 * self.v[k] + (1 - self.b2) * g * g
            m_hat = self.m[k] / (1 - self.b1 ** self.t)
            v_hat = self.v[k] / (1 - self.b2 ** self.t)
            params[k] -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


def standardisation(galleries: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and scale over every photo of the training galleries."""
    photos = np.concatenate(galleries)
    return photos.mean(axis=0), np.maximum(photos.std(axis=0), MIN_SCALE)


def _subsample(gallery: np.ndarray, limit: int, rng: np.random.Generator) -> np.ndarray:
    if gallery.shape[0] <= limit:
        return gallery
    return gallery[rng.choice(gallery.shape[0], limit, replace=False)]


def _mean_loss(model: AggregatorModel, galleries: list[np.ndarray], Y: np.ndarray, batch: int) -> float:
    total = 0.0
    for start in range(0, len(galleries), batch):
        X, mask = pad(galleries[start:start + batch])
        loss, _ = loss_and_grads(model, X, mask, Y[start:start + batch], l2=0.0, standardised=True)
        total += loss * X.shape[0]
    return total / max(1, len(galleries))


def fit(galleries: list[np.ndarray], labels: np.ndarray, categories: list[str], options: FitOptions,
        progress: Callable[[int, float, float | None], None] | None = None,
        validation_set: tuple[list[np.ndarray], np.ndarray] | None = None) -> tuple[AggregatorModel, FitReport]:
    """Train on galleries (each (M_i, K), M_i >= 1) with multi-hot labels (N, C). The epoch is chosen
    on `validation_set` when given (galleries made of other photos than the training ones), else on
    `options.validation` of the galleries."""
    if len(galleries) < 2:
        raise ValueError("training needs at least 2 labelled galleries")
    rng = np.random.default_rng(options.seed)
    order = rng.permutation(len(galleries))
    n_val = round(options.validation * len(galleries)) if options.validation > 0 else 0
    n_val = 0 if validation_set is not None else min(n_val, len(galleries) - 1)
    val_idx, train_idx = order[:n_val], order[n_val:]
    Y = labels.astype(np.float64)
    if validation_set is not None:
        n_val = len(validation_set[0])
        val_idx = np.arange(len(galleries), len(galleries) + n_val)
        galleries = list(galleries) + list(validation_set[0])
        Y = np.concatenate([Y, np.asarray(validation_set[1], dtype=np.float64)])
    mean, scale = standardisation([galleries[i] for i in train_idx])
    z = [(g - mean) / scale for g in galleries]
    model = AggregatorModel(options.aggregation,
                            init_params(options.aggregation, z[0].shape[1], options.descriptor_dim,
                                        Y.shape[1], rng), mean, scale, list(categories))
    adam = Adam(model.params, options.learning_rate)
    best = (np.inf, 0, {k: v.copy() for k, v in model.params.items()})
    val_sets = [z[i] for i in val_idx]
    epoch = train_loss = 0
    for epoch in range(1, options.epochs + 1):
        losses = []
        for start in range(0, len(train_idx), options.batch):
            chosen = train_idx[start:start + options.batch]
            X, mask = pad([_subsample(z[i], options.photos_per_gallery, rng) for i in chosen])
            loss, grads = loss_and_grads(model, X, mask, Y[chosen], options.l2, standardised=True)
            adam.step(model.params, grads)
            losses.append(loss)
        train_idx = rng.permutation(train_idx)
        train_loss = float(np.mean(losses))
        val_loss = _mean_loss(model, val_sets, Y[val_idx], options.batch) if n_val else None
        if progress:
            progress(epoch, train_loss, val_loss)
        score = val_loss if val_loss is not None else train_loss
        if score < best[0]:
            best = (score, epoch, {k: v.copy() for k, v in model.params.items()})
        elif n_val and epoch - best[1] >= options.patience:
            break
    model.params = best[2]
    return model, FitReport(best[1], train_loss, best[0] if n_val else None, epoch)
