"""Each point's k nearest neighbours among unit vectors (L2-normalised face embeddings), in bounded
memory, for the neighbour graph of `galprof.analysis.density`.

- `exact_neighbours`: all pairs, a block of rows at a time, the block's rows set by a memory budget
  (`BLOCK_BYTES`) rather than a fixed count; each row's k largest dot products are found by a bound
  instead of a partition of the whole row (`top_k`).
- `approximate_neighbours`: an inverted file. The points are split into cells around centroids (a
  seeded sample of the points, moved `LLOYD_STEPS` times to the mean of their cell); every point is
  listed in the cells of its `PROBE_CELLS` nearest centroids, and its neighbours are searched, with
  exact distances in the full dimension, among the points listed in its own nearest cell. About
  n x `PROBE_CELLS` x `CELL_SIZE` dot products instead of n^2; neighbours it misses are replaced by
  farther points, so the graph's edges are never shorter than the true ones.

`nearest_neighbours` takes the exact search up to `APPROXIMATE_ABOVE` points. The recall and the
labels against the exact search: benchmarks/cluster_scale.py --exact-up-to, benchmarks/README.md.
"""

from __future__ import annotations

import numpy as np

from galprof.analysis.unit_distances import group_means

APPROXIMATE_ABOVE = 20_000  # points; up to here the exact search costs a few seconds
BLOCK_BYTES = 32 << 20  # one product block of float32 dot products, whatever the gallery size
GROUP = 64  # entries of a row bounded by one maximum in `top_k`
# Chosen on generated faces with the real embeddings' spread (see benchmarks/README.md): 400 x 64
# candidates per point found 99.5 % of the exact 10 neighbours of 100 000 faces.
CELL_SIZE = 400  # points per cell, on average
PROBE_CELLS = 64  # cells each point is listed in
LLOYD_STEPS = 5
SEED = 0  # the centroids' sample: the same gallery always gives the same graph


def nearest_neighbours(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(indices, dot products), n x k, of each row's k nearest other rows; -1 where fewer were found."""
    if len(x) > APPROXIMATE_ABOVE:
        return approximate_neighbours(x, k)
    return exact_neighbours(x, k)


def exact_neighbours(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    n = len(x)
    k = max(0, min(k, n - 1))
    indices = np.full((n, k), -1, dtype=np.int64)
    dots = np.full((n, k), -np.inf, dtype=np.float32)
    if k == 0:
        return indices, dots
    rows = max(1, min(n, BLOCK_BYTES // (4 * n)))
    for start in range(0, n, rows):
        stop = min(start + rows, n)
        block = x[start:stop] @ x.T
        block[np.arange(stop - start), np.arange(start, stop)] = -np.inf  # not its own neighbour
        indices[start:stop], dots[start:stop] = top_k(block, k)
    return indices, dots


def approximate_neighbours(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    from threadpoolctl import threadpool_limits  # a scikit-learn dependency

    # Its products are small (a cell's points against the points listed in it): BLAS threads woken for
    # each one cost more CPU than they save (4.6x the CPU and no wall time gained, 20 000 points here).
    with threadpool_limits(limits=1, user_api="blas"):
        return _inverted_file_search(x, k)


def _inverted_file_search(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    n = len(x)
    probes = PROBE_CELLS
    cells = max(1, n // CELL_SIZE)
    if cells <= probes:
        return exact_neighbours(x, k)
    centroids = _centroids(x, cells)
    nearest, own = _nearest_cells(x, centroids, probes)
    listed_cell = nearest.ravel()
    # the points listed in each cell, ascending (int32: 25 MB for 100 000 points x 64 cells)
    listed = (np.argsort(listed_cell, kind="stable") // probes).astype(np.int32)
    list_bounds = np.concatenate([[0], np.cumsum(np.bincount(listed_cell, minlength=cells))])
    queries = np.argsort(own, kind="stable")
    query_bounds = np.searchsorted(own[queries], np.arange(cells + 1))
    indices = np.full((n, k), -1, dtype=np.int64)
    dots = np.full((n, k), -np.inf, dtype=np.float32)
    for c in range(cells):
        candidates = listed[list_bounds[c]:list_bounds[c + 1]]
        mine = queries[query_bounds[c]:query_bounds[c + 1]]
        found = min(k, len(candidates) - 1)
        if not len(mine) or found <= 0:
            continue
        step = max(1, BLOCK_BYTES // (4 * len(candidates)))
        against = x[candidates].T
        for lo in range(0, len(mine), step):
            q = mine[lo:lo + step]
            block = x[q] @ against
            block[np.arange(len(q)), np.searchsorted(candidates, q)] = -np.inf  # each is listed in its own cell
            best, values = top_k(block, found)
            indices[q, :found], dots[q, :found] = candidates[best], values
    return indices, dots


def _centroids(x: np.ndarray, cells: int) -> np.ndarray:
    """`cells` unit centroids: a random sample of the points, moved `LLOYD_STEPS` times to the mean
    direction of the points nearest to each (a centroid left without points stays where it was)."""
    rng = np.random.default_rng(SEED)
    centroids = x[np.sort(rng.choice(len(x), cells, replace=False))].astype(np.float32)
    for _ in range(LLOYD_STEPS):
        sums = group_means(x, _nearest_cells(x, centroids, 1)[1], range(cells))
        norms = np.linalg.norm(sums, axis=1)
        moved = norms > 0
        centroids[moved] = sums[moved] / norms[moved, None]
    return centroids


def _nearest_cells(x: np.ndarray, centroids: np.ndarray, probes: int) -> tuple[np.ndarray, np.ndarray]:
    """The `probes` nearest centroids of every point (n x probes, in no order) and the nearest one."""
    n = len(x)
    nearest = np.empty((n, probes), dtype=np.int32)
    own = np.empty(n, dtype=np.int64)
    rows = max(1, BLOCK_BYTES // (4 * len(centroids)))
    for start in range(0, n, rows):
        block = x[start:start + rows] @ centroids.T
        if probes < len(centroids):
            top = np.argpartition(block, -probes, axis=1)[:, -probes:]
        else:
            top = np.broadcast_to(np.arange(len(centroids)), (len(block), len(centroids)))
        nearest[start:start + rows] = top
        # the nearest among those listed (argmax of the whole row could differ where centroids tie)
        own[start:start + rows] = np.take_along_axis(
            top, np.argmax(np.take_along_axis(block, top, axis=1), axis=1)[:, None], axis=1)[:, 0]
    return nearest, own


def top_k(block: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Column indices and values of each row's k largest entries (in no order).

    The rows' columns are cut into groups of `GROUP` entries; the k-th largest of a row's group maxima
    is at most its k-th largest entry (k groups each hold an entry at least that large), so only the
    entries at or above it are ranked: a few per row, against a partition of every entry (about 4x the
    time of the comparisons and maxima)."""
    r, n = block.shape
    groups = n // GROUP
    if groups < k:
        return _partition_top_k(block, k)
    maxima = block[:, :groups * GROUP].reshape(r, GROUP, groups).max(axis=1)
    if groups * GROUP < n:
        np.maximum(maxima[:, 0], block[:, groups * GROUP:].max(axis=1), out=maxima[:, 0])
    bound = np.partition(maxima, -k, axis=1)[:, -k]
    kept = np.flatnonzero(block >= bound[:, None])
    row = kept // n
    if len(kept) > 4 * r * max(k, GROUP) or np.any(np.bincount(row, minlength=r) < k):
        return _partition_top_k(block, k)  # many equal values (duplicates), or NaN
    values = block.ravel()[kept]
    order = np.lexsort((-values, row))  # by row, then largest first
    first = np.searchsorted(row, np.arange(r))  # `kept` is ascending, so its rows are sorted
    take = order[first[:, None] + np.arange(k)]
    return kept[take] % n, values[take]


def _partition_top_k(block: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    best = np.argpartition(block, -k, axis=1)[:, -k:]
    return best, np.take_along_axis(block, best, axis=1)
