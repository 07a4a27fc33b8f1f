"""Applying a trained aggregator at scan time: onnxruntime only (no training dependency).

`Aggregator.load(path)` opens and checks the file (a model is input: a bad one is a UsageError that
names it and says why); `learned_section(media)` runs it over a gallery's (f, p, o) and gives the
`interests.learned` section of the profile.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from galprof.errors import UsageError
from galprof.facts import MediaFacts
from galprof.learn.export import FORMAT, FORMAT_VERSION
from galprof.render.safe import safe_text

FEATURES = ("f", "p", "o")
TOP_K = 5
TRAINING_CLASSIFIER = "lite0"  # training scans with the default settings


@dataclass
class Aggregator:
    path: Path
    session: Any
    aggregation: str
    categories: list[str]
    category_labels: list[str]
    dims: dict[str, int]
    classifier: str  # the classifier whose f and p the model was trained on

    @classmethod
    def load(cls, path: str | Path) -> Aggregator:
        from galprof.vision.onnx_model import OnnxModel

        path = Path(path)
        where = f"the aggregator {safe_text(path)}"
        if not path.is_file():
            raise UsageError(f"{where}: not a file")
        try:
            session = OnnxModel(path).session
        except Exception as exc:  # noqa: BLE001 - onnxruntime's errors for a damaged or foreign file
            first = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
            raise UsageError(f"{where}: not a readable ONNX model ({first})") from None
        meta = session.get_modelmeta().custom_metadata_map
        if meta.get("galprof.format") != FORMAT:
            raise UsageError(f"{where}: not a galprof aggregator (write one with `galprof train aggregate`)")
        if meta.get("galprof.format_version") != str(FORMAT_VERSION):
            raise UsageError(f"{where}: format version {safe_text(meta.get('galprof.format_version'))} "
                             f"is not {FORMAT_VERSION}")
        try:
            categories = [str(c) for c in json.loads(meta["galprof.categories"])]
            labels = [str(c) for c in json.loads(meta["galprof.category_labels"])]
            dims = {str(k): int(v) for k, v in json.loads(meta["galprof.features"]).items()}
        except (KeyError, ValueError, TypeError, AttributeError):
            raise UsageError(f"{where}: damaged metadata (categories, labels or feature widths)") from None
        inputs = {i.name: i.shape for i in session.get_inputs()}
        outputs = {o.name for o in session.get_outputs()}
        if (tuple(dims) != FEATURES or set(inputs) != set(FEATURES) or len(labels) != len(categories)
                or any(inputs[k][-1] != dims[k] for k in FEATURES) or not {"probabilities", "weights"} <= outputs):
            raise UsageError(f"{where}: its inputs or outputs are not those of a galprof aggregator")
        return cls(path, session, meta.get("galprof.aggregation", "?"), categories, labels, dims,
                   meta.get("galprof.classifier", TRAINING_CLASSIFIER))

    def check_settings(self, settings) -> None:
        """f and p must come from the classifier the model was trained on."""
        used = "your --classifier-model" if settings.classifier_model else settings.classifier_tier
        if settings.classifier_model or used != self.classifier:
            raise UsageError(f"the aggregator {safe_text(self.path)} was trained on features of the "
                             f"{self.classifier} classifier; this scan uses {used}")

    def check_labels(self, class_labels: list[str], object_labels: list[str]) -> None:
        """The scan's classifier and detector must be the ones the model was trained on (same widths)."""
        if (self.dims["p"], self.dims["o"]) != (len(class_labels), len(object_labels)):
            raise UsageError(f"the aggregator {safe_text(self.path)} expects {self.dims['p']} classifier and "
                             f"{self.dims['o']} detector classes; this scan has {len(class_labels)} and "
                             f"{len(object_labels)}")

    def run(self, f: np.ndarray, p: np.ndarray, o: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(probabilities (C,), photo weights (N,)) of one gallery of N >= 1 photos."""
        probs, weights = self.session.run(["probabilities", "weights"], {
            "f": np.asarray(f, np.float32), "p": np.asarray(p, np.float32), "o": np.asarray(o, np.float32)})
        return probs, weights

    def learned_section(self, media: Iterable[MediaFacts], class_labels: list[str],
                        object_labels: list[str]) -> dict[str, Any]:
        """The `interests.learned` section: probability per category, the top ones, the photos weighted most."""
        from galprof.analysis.interests import photo_features

        self.check_labels(class_labels, object_labels)
        fs, ps, os_, paths = [], [], [], []
        for m in media:
            f, p, o = photo_features(m, class_labels, object_labels, self.dims["f"])
            if f.shape[0] != self.dims["f"]:
                continue
            fs.append(f), ps.append(p), os_.append(o), paths.append(m.path)
        section: dict[str, Any] = {"model": self.path.name, "aggregation": self.aggregation, "media": len(paths)}
        if not paths:
            return {**section, "probabilities": {}, "top": [], "labels": {}, "weighted_photos": [], "seconds": 0.0}
        started = time.perf_counter()
        probs, weights = self.run(np.stack(fs), np.stack(ps), np.stack(os_))
        seconds = time.perf_counter() - started
        ranked = sorted(range(len(self.categories)), key=lambda i: (-float(probs[i]), self.categories[i]))
        heavy = np.argsort(-weights, kind="stable")[:TOP_K]
        return {
            **section,
            "probabilities": {self.categories[i]: round(float(probs[i]), 4) for i in ranked},
            "top": [self.categories[i] for i in ranked[:TOP_K] if probs[i] >= 0.5] or [self.categories[ranked[0]]],
            "labels": dict(zip(self.categories, self.category_labels, strict=True)),
            "weighted_photos": [{"path": paths[i], "weight": round(float(weights[i]), 4)} for i in heavy],
            "seconds": round(seconds, 4),
        }


def add_learned_interests(document: dict[str, Any], aggregator: Aggregator, media: Iterable[MediaFacts]) -> None:
    """Put the aggregator's section under document["interests"]["learned"]."""
    from galprof.learn.datasets import feature_labels

    class_labels, object_labels = feature_labels()
    document["interests"]["learned"] = aggregator.learned_section(media, class_labels, object_labels)
