"""The k-nearest-neighbour searches of the people clustering (galprof.analysis.neighbours) on generated
unit vectors: the exact search against a plain sort of all distances, the bound-based selection on
awkward rows, the inverted-file search's recall, and the clustering with either search."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from galprof.analysis import density, neighbours
from galprof.analysis.face_clusters import cluster_faces


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def people(rng, n: int, centres: int, d: int = 128, spread: float = 0.025) -> np.ndarray:
    c = unit(rng.normal(size=(centres, d)))
    return unit(c[rng.integers(0, centres, n)] + rng.normal(scale=spread, size=(n, d)))


def brute_force(x: np.ndarray, k: int) -> np.ndarray:
    dots = x.astype(np.float64) @ x.T.astype(np.float64)
    np.fill_diagonal(dots, -np.inf)
    return np.argsort(-dots, axis=1, kind="stable")[:, :k]


@pytest.mark.parametrize("n, d, block_bytes", [(50, 8, 1 << 25), (700, 32, 1 << 25), (3000, 64, 4 * 3000 * 7)])
def test_exact_neighbours_are_the_k_nearest(monkeypatch, n, d, block_bytes):
    # 50 points take the partition (fewer groups than k), 3000 the bound, in blocks of 7 rows
    monkeypatch.setattr(neighbours, "BLOCK_BYTES", block_bytes)
    x = unit(np.random.default_rng(n).normal(size=(n, d)))
    found, dots = neighbours.exact_neighbours(x, 10)
    expected = brute_force(x, 10)
    assert found.shape == (n, 10)
    assert all(set(a) == set(b) for a, b in zip(found.tolist(), expected.tolist(), strict=True))
    assert np.allclose(dots, np.einsum("ij,ikj->ik", x, x[found]), atol=1e-5)


def test_top_k_with_many_equal_values_and_nan():
    rng = np.random.default_rng(1)
    block = np.round(rng.normal(size=(6, 2000)), 1).astype(np.float32)  # many ties
    block[1] = 0.5  # every entry equal: the bound keeps the whole row
    block[2, 7] = np.nan
    best, values = neighbours.top_k(block, 10)
    for r in (0, 3, 4, 5):
        assert np.allclose(np.sort(values[r]), np.sort(block[r])[-10:])
        assert np.array_equal(block[r, best[r]], values[r])
    assert np.all(values[1] == 0.5) and len(set(best[1].tolist())) == 10


def test_the_inverted_file_finds_nearly_every_neighbour(monkeypatch):
    monkeypatch.setattr(neighbours, "CELL_SIZE", 50)
    rng = np.random.default_rng(2)
    x = people(rng, 6000, 600)
    found, dots = neighbours.approximate_neighbours(x, 10)
    exact, exact_dots = neighbours.exact_neighbours(x, 10)
    recall = np.mean([len(set(a) & set(b)) for a, b in zip(found.tolist(), exact.tolist(), strict=True)]) / 10
    assert recall > 0.9
    nearest = exact[np.arange(len(x)), np.argmax(exact_dots, axis=1)]
    assert np.mean(np.any(found == nearest[:, None], axis=1)) > 0.99  # the nearest one almost always
    assert np.all(found >= 0)
    assert not np.any(found == np.arange(len(x))[:, None])  # never a point itself
    assert all(len(set(row)) == 10 for row in found.tolist())
    assert np.allclose(dots, np.einsum("ij,ikj->ik", x, x[found]), atol=1e-5)


def test_the_inverted_file_is_exact_when_cells_are_few(monkeypatch):
    monkeypatch.setattr(neighbours, "CELL_SIZE", 1000)
    x = unit(np.random.default_rng(4).normal(size=(2500, 16)))
    found, _ = neighbours.approximate_neighbours(x, 5)  # 2 cells, fewer than the probes: all pairs
    assert all(set(a) == set(b) for a, b in zip(found.tolist(), brute_force(x, 5).tolist(), strict=True))


def test_the_search_is_the_same_on_every_run():
    x = people(np.random.default_rng(6), 3000, 300)
    first = neighbours.approximate_neighbours(x, 10)[0]
    assert np.array_equal(first, neighbours.approximate_neighbours(x, 10)[0])


def test_clustering_with_the_approximate_search_equals_the_exact_one(monkeypatch):
    x = people(np.random.default_rng(5), 6000, 600)
    frames = [f"f{i}" for i in range(len(x))]
    exact = cluster_faces(x, frame_ids=frames)
    monkeypatch.setattr(neighbours, "APPROXIMATE_ABOVE", 0)
    monkeypatch.setattr(neighbours, "CELL_SIZE", 50)
    approximate = cluster_faces(x, frame_ids=frames)
    assert len(x) > density.GRAPH_ABOVE
    assert adjusted_rand_score(exact, approximate) == 1.0
    assert exact.max() + 1 >= 500


def test_hdbscan_on_the_spanning_tree_equals_hdbscan_on_the_whole_graph():
    hdbscan = pytest.importorskip("hdbscan")
    rng = np.random.default_rng(8)
    x = people(rng, 2500, 150, d=32, spread=0.08)
    graph = density.neighbour_graph(x, 10)
    tree = density.spanning_tree(graph)
    assert tree.nnz == 2 * (len(x) - 1) and (tree != tree.T).nnz == 0
    options = {"min_cluster_size": 3, "min_samples": 1, "metric": "precomputed", "cluster_selection_method": "leaf",
               "allow_single_cluster": True}
    whole = hdbscan.HDBSCAN(**options).fit_predict(graph)
    assert len(set(whole.tolist())) > 50
    assert np.array_equal(whole, hdbscan.HDBSCAN(**options).fit_predict(tree))


def test_the_inverted_file_with_many_identical_faces(monkeypatch):
    monkeypatch.setattr(neighbours, "CELL_SIZE", 20)
    rng = np.random.default_rng(9)
    x = np.concatenate([np.repeat(unit(rng.normal(size=(1, 32))), 1500, axis=0), unit(rng.normal(size=(500, 32)))])
    found, dots = neighbours.approximate_neighbours(x, 10)  # many tied centroids and dot products
    assert np.all(found >= 0) and not np.any(found == np.arange(len(x))[:, None])
    assert np.allclose(dots[:1500], 1.0, atol=1e-5)  # a copy's neighbours are copies
