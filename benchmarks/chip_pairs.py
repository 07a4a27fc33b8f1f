"""Pair separation of two face caches of benchmarks/cluster_lfw.py (e.g. keypoint against mesh chips):
ROC AUC of same- against different-person distances and their means, over each photo's central face.

    PYTHONPATH=. python benchmarks/cluster_lfw.py --chips keypoints --cache /tmp/lfw-keypoints.npz
    PYTHONPATH=. python benchmarks/cluster_lfw.py --chips mesh --cache /tmp/lfw-mesh.npz
    PYTHONPATH=. python benchmarks/chip_pairs.py /tmp/lfw-keypoints.npz /tmp/lfw-mesh.npz
"""

from __future__ import annotations

import sys

import numpy as np
from sklearn.metrics import roc_auc_score


def pair_figures(path: str) -> str:
    data = np.load(path)
    central = data["main"]
    embedding, name = data["embedding"][central], data["name"][central]
    embedding = embedding / np.linalg.norm(embedding, axis=1, keepdims=True)
    distance = np.linalg.norm(embedding[:, None] - embedding[None], axis=2)
    upper = np.triu(np.ones(distance.shape, bool), 1)
    same = (name[:, None] == name[None])[upper]
    d = distance[upper]
    return (f"{path}: {len(name)} faces, pair AUC {roc_auc_score(same, -d):.4f}, same-person mean "
            f"{d[same].mean():.3f}, different-person mean {d[~same].mean():.3f}")


if __name__ == "__main__":
    for cache in sys.argv[1:]:
        print(pair_figures(cache))
