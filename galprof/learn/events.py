"""Event recognition of albums, the paper's Algorithm 2.

Three classifiers (multinomial logistic regression on standardised inputs) are trained on the photos'
f, p and o separately, each photo labelled with its album's event. On a validation split the weights
(w_f, w_p, w_o) on the simplex (step 0.05) that maximise the accuracy of the weighted sum of their
outputs are searched; then the classifiers are trained again on every photo. An album is decided by
pooling its photos' fused scores: averaging, or attention (weights softmax(beta * the photo's largest
fused score), so confident photos count more), beta searched on the validation photos of each album.

The validation split holds out whole albums when every event has at least two, else a share of each
album's photos. The model file is a numpy .npz read with allow_pickle=False (a model is input: it
cannot run code), checked when loaded.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from galprof.errors import UsageError
from galprof.learn.datasets import PhotoGroup
from galprof.render.safe import safe_text

FEATURES = ("f", "p", "o")
FORMAT = "galprof-events"
FORMAT_VERSION = 1
WEIGHT_STEP = 0.05
REGULARISATION = 1.0  # sklearn's C; the paper's method has no hyper-parameters beyond the weights
BETAS = (0.0, 2.0, 5.0, 10.0, 20.0)  # attention sharpness searched for album pooling (0 = averaging)


class EventTrainingError(ValueError):
    """The albums cannot train a model (too few events or photos)."""


@dataclass
class LinearClassifier:
    """softmax(((x - mean) / scale) @ coef.T + intercept) over the events."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray  # (E, D)
    intercept: np.ndarray  # (E,)

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        logits = ((x - self.mean) / self.scale) @ self.coef.T + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(axis=1, keepdims=True)


def fit_linear(x: np.ndarray, y: np.ndarray, classes: int) -> LinearClassifier:
    from sklearn.linear_model import LogisticRegression

    mean = x.mean(axis=0)
    scale = np.maximum(x.std(axis=0), 1e-3)
    clf = LogisticRegression(C=REGULARISATION, max_iter=2000)
    clf.fit((x - mean) / scale, y)
    coef = np.zeros((classes, x.shape[1]))
    intercept = np.zeros(classes)
    if len(clf.classes_) == 2:  # sklearn's binary form: p(second) = sigmoid(z) = softmax([0, z])[1]
        coef[clf.classes_[1]], intercept[clf.classes_[1]] = clf.coef_[0], clf.intercept_[0]
    else:
        coef[clf.classes_], intercept[clf.classes_] = clf.coef_, clf.intercept_
        intercept[np.setdiff1d(np.arange(classes), clf.classes_)] = -1e4  # never seen: never chosen
    return LinearClassifier(mean, scale, coef, intercept)


def weight_grid(step: float = WEIGHT_STEP) -> list[tuple[float, float, float]]:
    n = round(1 / step)
    return [(i / n, j / n, (n - i - j) / n) for i in range(n + 1) for j in range(n + 1 - i)]


def search_weights(scores: dict[str, np.ndarray], y: np.ndarray) -> tuple[dict[str, float], float]:
    """Algorithm 2's search: the weights with the best validation accuracy (ties: the most even weights)."""
    best = (-1.0, np.inf, None)
    for w in weight_grid():
        fused = sum(wi * scores[k] for wi, k in zip(w, FEATURES, strict=True))
        accuracy = float((fused.argmax(axis=1) == y).mean())
        unevenness = float(np.var(w))
        if (accuracy, -unevenness) > (best[0], -best[1]):
            best = (accuracy, unevenness, w)
    return dict(zip(FEATURES, best[2], strict=True)), best[0]


def _split(groups: list[PhotoGroup], events: list[str], share: float, rng: np.random.Generator):
    """Boolean validation masks, one per album."""
    albums_per_event = {e: [g for g in groups if g.key[0] == e] for e in events}
    masks = [np.zeros(len(g.paths), dtype=bool) for g in groups]
    if all(len(a) >= 2 for a in albums_per_event.values()):
        for albums in albums_per_event.values():
            n_val = max(1, round(share * len(albums)))
            for g in rng.permutation(len(albums))[:n_val]:
                masks[groups.index(albums[g])][:] = True
        return masks, "albums"
    for mask in masks:
        n_val = max(1, round(share * len(mask))) if len(mask) >= 2 else 0
        mask[rng.permutation(len(mask))[:n_val]] = True
    return masks, "photos"


@dataclass
class EventModel:
    events: list[str]
    classifiers: dict[str, LinearClassifier]
    fusion_weights: dict[str, float]
    validation_accuracy: float
    validation_split: str
    sharpness: float = 0.0  # album pooling: 0 averages the photos, > 0 attends to confident ones

    def photo_scores(self, group: PhotoGroup, parts: tuple[str, ...] = FEATURES) -> np.ndarray:
        """Fused scores (photos, E); `parts` limits the fusion to some of f, p, o (equal weights then
        only when their searched weights are all zero)."""
        total = np.zeros((len(group.paths), len(self.events)))
        weights = {k: self.fusion_weights[k] for k in parts}
        if sum(weights.values()) == 0:
            weights = {k: 1.0 for k in parts}
        for k, w in weights.items():
            if w:
                total += w * self.classifiers[k].probabilities(np.stack(getattr(group, k)))
        return total / sum(weights.values())

    def album_scores(self, group: PhotoGroup, parts: tuple[str, ...] = FEATURES,
                     sharpness: float | None = None) -> dict[str, float]:
        pooled = pool_album(self.photo_scores(group, parts), self.sharpness if sharpness is None else sharpness)
        return {e: float(s) for e, s in zip(self.events, pooled, strict=True)}

    def save(self, path: str | Path) -> None:
        from galprof.render.output import write_output

        arrays = {"fusion": np.array([self.fusion_weights[k] for k in FEATURES])}
        for k, c in self.classifiers.items():
            arrays.update({f"{k}_mean": c.mean, f"{k}_scale": c.scale, f"{k}_coef": c.coef,
                           f"{k}_intercept": c.intercept})
        meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "events": self.events,
                "validation_accuracy": self.validation_accuracy, "validation_split": self.validation_split,
                "sharpness": self.sharpness}
        buffer = io.BytesIO()
        np.savez_compressed(buffer, meta=np.array(json.dumps(meta)), **arrays)
        write_output(buffer.getvalue(), path)

    @classmethod
    def load(cls, path: str | Path) -> EventModel:
        where = f"the event model {safe_text(path)}"
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
            meta = json.loads(str(arrays.pop("meta")))
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
            reason = getattr(exc, "strerror", None) or "not a galprof event model (.npz)"
            raise UsageError(f"{where}: {reason}") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise UsageError(f"{where}: not a galprof event model (write one with `galprof train events`)")
        if meta.get("format_version") != FORMAT_VERSION:
            raise UsageError(f"{where}: format version {safe_text(meta.get('format_version'))} is not {FORMAT_VERSION}")
        return cls._from_arrays(arrays, meta, where)

    @classmethod
    def _from_arrays(cls, arrays: dict[str, np.ndarray], meta: dict, where: str) -> EventModel:
        events = meta.get("events")
        try:
            if not isinstance(events, list) or len(events) < 2 or not all(isinstance(e, str) for e in events):
                raise ValueError
            classifiers = {}
            for k in FEATURES:
                c = LinearClassifier(*(np.asarray(arrays[f"{k}_{n}"], dtype=np.float64)
                                       for n in ("mean", "scale", "coef", "intercept")))
                dim = c.mean.shape[0]
                if (c.mean.shape, c.scale.shape, c.coef.shape, c.intercept.shape) != (
                        (dim,), (dim,), (len(events), dim), (len(events),)) or (c.scale <= 0).any():
                    raise ValueError
                classifiers[k] = c
            fusion = np.asarray(arrays["fusion"], dtype=np.float64)
            if fusion.shape != (3,) or (fusion < 0).any() or not np.isclose(fusion.sum(), 1.0):
                raise ValueError
            if not all(np.isfinite(a).all() for a in arrays.values()):
                raise ValueError
            sharpness = float(meta.get("sharpness", 0.0))
            if not np.isfinite(sharpness) or sharpness < 0:
                raise ValueError
        except (KeyError, ValueError, TypeError):
            raise UsageError(f"{where}: damaged (missing or inconsistent arrays)") from None
        return cls(events, classifiers, dict(zip(FEATURES, map(float, fusion), strict=True)),
                   float(meta.get("validation_accuracy", 0.0)), str(meta.get("validation_split", "")), sharpness)


def pool_album(scores: np.ndarray, sharpness: float) -> np.ndarray:
    """One album's scores (E,) from its photos' (photos, E): softmax(sharpness * confidence) weights."""
    logits = sharpness * scores.max(axis=1)
    weights = np.exp(logits - logits.max())
    return (weights / weights.sum()) @ scores


def search_sharpness(model: EventModel, groups: list[PhotoGroup], masks: list[np.ndarray]) -> float:
    """The attention sharpness with the best accuracy on each album's validation photos (ties: the
    smallest, i.e. the closest to averaging)."""
    best = (-1, 0.0)
    for beta in BETAS:
        right = 0
        for g, mask in zip(groups, masks, strict=True):
            if mask.any():
                held = PhotoGroup(g.key, [p for p, m in zip(g.paths, mask, strict=True) if m],
                                  *([x for x, m in zip(getattr(g, k), mask, strict=True) if m] for k in FEATURES))
                right += int(pool_album(model.photo_scores(held), beta).argmax() == model.events.index(g.key[0]))
        if right > best[0]:
            best = (right, beta)
    return best[1]


def _photos(groups: list[PhotoGroup], events: list[str], masks: list[np.ndarray] | None, take: bool):
    xs = {k: [] for k in FEATURES}
    ys = []
    for i, g in enumerate(groups):
        chosen = np.ones(len(g.paths), dtype=bool) if masks is None else (masks[i] == take)
        for k in FEATURES:
            xs[k].extend(np.asarray(getattr(g, k))[chosen])
        ys.extend([events.index(g.key[0])] * int(chosen.sum()))
    return {k: np.array(v) for k, v in xs.items()}, np.array(ys)


def train_event_model(groups: list[PhotoGroup], validation: float = 0.3, seed: int = 0,
                      pooling: str = "average") -> EventModel:
    """Algorithm 2 on albums grouped as (event, album); pooling "attention" searches the sharpness."""
    groups = [g for g in groups if g.paths]
    events = sorted({g.key[0] for g in groups})
    if len(events) < 2:
        raise EventTrainingError("training needs albums of at least 2 events (<event>/<album>/photos)")
    masks, split = _split(groups, events, validation, np.random.default_rng(seed))
    x_train, y_train = _photos(groups, events, masks, take=False)
    x_val, y_val = _photos(groups, events, masks, take=True)
    if len(set(y_train.tolist())) < 2 or len(y_val) == 0:
        raise EventTrainingError("too few photos to split into training and validation")
    first = {k: fit_linear(x_train[k], y_train, len(events)) for k in FEATURES}
    weights, accuracy = search_weights({k: first[k].probabilities(x_val[k]) for k in FEATURES}, y_val)
    sharpness = 0.0
    if pooling == "attention":
        sharpness = search_sharpness(EventModel(events, first, weights, accuracy, split), groups, masks)
    x_all, y_all = _photos(groups, events, None, take=True)
    final = {k: fit_linear(x_all[k], y_all, len(events)) for k in FEATURES}
    return EventModel(events, final, weights, accuracy, split, sharpness)
