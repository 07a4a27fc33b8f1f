"""Clustering quality measures used by the LFW benchmark and the people tests.

Noise (label -1) counts as singletons: a face the clustering left alone is a person of its own, which
is what a user sees and what pairwise recall should penalise.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from sklearn.metrics import adjusted_mutual_info_score, adjusted_rand_score


def singletons_for_noise(labels: np.ndarray) -> np.ndarray:
    """Labels with every -1 replaced by a fresh label of its own."""
    labels = np.asarray(labels).copy()
    noise = labels < 0
    start = labels.max() + 1 if labels.size and labels.max() >= 0 else 0
    labels[noise] = np.arange(start, start + int(noise.sum()))
    return labels


def _pairs(counts: np.ndarray) -> float:
    counts = counts.astype(np.float64)
    return float((counts * (counts - 1) / 2).sum())


def pairwise_scores(truth: np.ndarray, predicted: np.ndarray) -> tuple[float, float, float]:
    """Pairwise precision, recall and F-measure: over all pairs of faces, same person in truth vs.
    same cluster in the prediction (noise = singletons)."""
    truth = np.asarray(truth)
    predicted = singletons_for_noise(predicted)
    _, t = np.unique(truth, return_inverse=True)
    _, p = np.unique(predicted, return_inverse=True)
    contingency = np.zeros((t.max() + 1, p.max() + 1), dtype=np.int64)
    np.add.at(contingency, (t, p), 1)
    together = _pairs(contingency.ravel())
    predicted_pairs = _pairs(contingency.sum(axis=0))
    true_pairs = _pairs(contingency.sum(axis=1))
    precision = together / predicted_pairs if predicted_pairs else 1.0
    recall = together / true_pairs if true_pairs else 1.0
    f = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f


@dataclass
class ClusterScores:
    precision: float
    recall: float
    f: float
    ari: float
    ami: float
    clusters: int  # clusters found (noise excluded)
    people: int  # true identities
    found_ratio: float  # clusters / people
    noise: float  # fraction of faces left unclustered

    def as_dict(self) -> dict:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()}


def score_clustering(truth: np.ndarray, predicted: np.ndarray) -> ClusterScores:
    """All measures for one clustering of labelled faces."""
    truth = np.asarray(truth)
    predicted = np.asarray(predicted)
    precision, recall, f = pairwise_scores(truth, predicted)
    filled = singletons_for_noise(predicted)
    clusters = len(set(predicted[predicted >= 0].tolist()))
    people = len(set(truth.tolist()))
    return ClusterScores(
        precision=precision,
        recall=recall,
        f=f,
        ari=float(adjusted_rand_score(truth, filled)),
        ami=float(adjusted_mutual_info_score(truth, filled)),
        clusters=clusters,
        people=people,
        found_ratio=clusters / people if people else 0.0,
        noise=float((predicted < 0).mean()) if predicted.size else 0.0,
    )
