"""Distances between unit vectors (L2-normalised face embeddings) at gallery sizes: from dot products
in place, a block of rows at a time, and the mean vector of each group without one mask per group."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# Cells of one distance product (float64: 8 MB), whatever the gallery size.
BLOCK_CELLS = 1 << 20


def chord_distances(dots: np.ndarray) -> np.ndarray:
    """Distances sqrt(2 - 2 a.b) between unit vectors from their dot products, computed in place (the
    same values as the expression, without its three temporaries of the block's size)."""
    np.multiply(dots, -2.0, out=dots)
    dots += 2.0
    np.maximum(dots, 0.0, out=dots)
    return np.sqrt(dots, out=dots)


def group_means(x: np.ndarray, labels: np.ndarray, groups: Sequence[int]) -> np.ndarray:
    """The mean row of `x` for each label in `groups`: one weighted count per column instead of one
    mask per group (quadratic at gallery sizes) and without a copy of `x`."""
    groups = np.asarray(groups, dtype=np.int64)
    slot = np.full(int(max(labels.max(initial=-1), groups.max(initial=-1))) + 2, -1, dtype=np.int64)
    slot[groups + 1] = np.arange(len(groups))
    index = slot[labels + 1]
    mine = index >= 0
    counts = np.bincount(index[mine], minlength=len(groups)).astype(np.float64)
    sums = np.stack([np.bincount(index[mine], weights=x[mine, j], minlength=len(groups))
                     for j in range(x.shape[1])], axis=1)
    return sums / np.maximum(counts, 1)[:, None]


def close_pairs(rows: np.ndarray, limit: float) -> list[tuple[float, int, int]]:
    """(distance, a, b) with a < b for every pair of `rows` closer than `limit` (sqrt(2 - 2 a.b), as for
    unit vectors), found a block of rows at a time."""
    pairs: list[tuple[float, int, int]] = []
    step = max(1, BLOCK_CELLS // max(1, len(rows)))
    for start in range(0, len(rows), step):
        d = chord_distances(rows[start:start + step] @ rows.T)
        for r, b in zip(*np.nonzero(d < limit), strict=True):
            a = start + int(r)
            if a < b:
                pairs.append((float(d[r, b]), a, int(b)))
    return pairs


def members_of(labels: np.ndarray, people: Sequence[int]) -> list[np.ndarray]:
    """The face indices of each of `people`, in one sort instead of one scan per person."""
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], [(p, p + 1) for p in people])
    return [order[lo:hi] for lo, hi in bounds]
