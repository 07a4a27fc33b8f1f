"""HDBSCAN for face clustering, at gallery sizes.

HDBSCAN needs the minimum spanning tree of the points under mutual reachability. In 128 dimensions
its tree searches fall back to Prim's algorithm over all pairs (quadratic: 20 000 faces took 74 s), and
a k-d tree does not help there. With min_samples = 1 the tree is the plain Euclidean one, whose edges
almost all join near neighbours: above `GRAPH_ABOVE` points the spanning tree is taken from the
graph of each point's `GRAPH_NEIGHBOURS` nearest neighbours (`galprof.analysis.neighbours`: exact up to
20 000 points, an inverted file above), with the graph's separate parts chained by edges longer than
any real distance, which only changes the top of the tree where leaf selection never looks. HDBSCAN is
handed only that graph's minimum spanning tree (the same tree, a fifth of the edges for its sparse path).
On synthetic galleries the labels equal the all-pairs ones (adjusted Rand index 1.0 at 5 000 faces);
see benchmarks/cluster_scale.py.
"""

from __future__ import annotations

import numpy as np

from galprof.analysis.neighbours import nearest_neighbours

GRAPH_ABOVE = 2000  # points; below, the all-pairs tree is fast enough and exact by construction
GRAPH_NEIGHBOURS = 10
FAR = 4.0  # longer than any distance between unit vectors (at most 2)


def uses_graph(n: int, min_samples: int, graph_above: int | None = None) -> bool:
    """Whether `hdbscan_labels` takes the neighbour graph for n points (it computes in float32 then, so
    a caller may hand it float32 points and save a copy)."""
    return n > (GRAPH_ABOVE if graph_above is None else graph_above) and min_samples <= 1


def hdbscan_labels(points: np.ndarray, min_size: int, min_samples: int, epsilon: float, method: str,
                   graph_above: int | None = None) -> np.ndarray:
    """HDBSCAN labels (-1 = noise) of L2-normalised `points`, with the `hdbscan` package or else
    scikit-learn's port (ARM has no hdbscan wheel)."""
    n = len(points)
    options = {"min_cluster_size": min_size, "cluster_selection_epsilon": float(epsilon),
               "cluster_selection_method": method, "allow_single_cluster": True}
    try:
        import hdbscan
    except ImportError:
        from sklearn.cluster import HDBSCAN

        # scikit-learn counts a point among its own min_samples neighbours and the package does not. Its
        # sparse-graph path gives other clusters (adjusted Rand 0.31 against its own all-pairs labels on
        # 5 000 synthetic faces), so it always takes all pairs: quadratic on ARM.
        model = HDBSCAN(min_samples=max(1, min(min_samples + 1, n)), metric="euclidean", copy=True, **options)
        return np.asarray(model.fit_predict(points), dtype=np.int64)
    data, metric = points, "euclidean"
    if uses_graph(n, min_samples, graph_above):
        data, metric = spanning_tree(neighbour_graph(points, GRAPH_NEIGHBOURS)), "precomputed"
    model = hdbscan.HDBSCAN(min_samples=max(1, min(min_samples, n - 1)), metric=metric, **options)
    return np.asarray(model.fit_predict(data), dtype=np.int64)


def neighbour_graph(points: np.ndarray, k: int):
    """A symmetric sparse matrix of the Euclidean distances from every point to its k nearest
    neighbours (`galprof.analysis.neighbours`), its connected parts chained by FAR edges so that it
    spans every point."""
    from scipy import sparse
    from scipy.sparse.csgraph import connected_components

    x = np.ascontiguousarray(points, dtype=np.float32)
    n = len(x)
    nearest, dots = nearest_neighbours(x, k)
    found = nearest >= 0
    rows = np.broadcast_to(np.arange(n)[:, None], nearest.shape)[found]
    # an exact duplicate is a zero, which sparse drops
    dists = np.maximum(np.sqrt(np.maximum(2.0 - 2.0 * dots[found], 0.0)), 1e-9)
    graph = sparse.csr_matrix((dists, (rows, nearest[found])), shape=(n, n))
    graph = graph.maximum(graph.T)
    parts, part_of = connected_components(graph, directed=False)
    if parts > 1:
        heads = np.unique(part_of, return_index=True)[1]
        chain = sparse.csr_matrix((np.full(parts - 1, FAR), (heads[:-1], heads[1:])), shape=(n, n))
        graph = graph.maximum(chain).maximum(chain.T)
    return graph.tocsr()


def spanning_tree(graph):
    """The minimum spanning tree of a symmetric graph, as a symmetric matrix. With min_samples = 1 it
    gives HDBSCAN the same tree as the whole graph (a point's nearest edge, its core distance, is in the
    tree, and no edge is shorter than either end's core distance), at a fifth of the edges for its
    sparse path to convert and scan."""
    from scipy.sparse.csgraph import minimum_spanning_tree

    tree = minimum_spanning_tree(graph)
    return tree.maximum(tree.T).tocsr()
