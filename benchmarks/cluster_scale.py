"""People clustering at gallery sizes: CPU and wall time of `cluster_faces` on synthetic 128-d faces
(people seen about 10 times each, unit vectors with noise at LFW-like same-person distances), the
growth exponent between sizes, the peak RSS of the process so far (it only grows: read each size's
figure as the peak up to that size), and, at the sizes the all-pairs tree still handles, the agreement
of the neighbour-graph labels with the all-pairs ones (adjusted Rand index). --exact-up-to N clusters
sizes up to N again with the exact neighbour search (galprof.analysis.neighbours) and gives the
agreement of the two searches' labels.

    .venv/bin/python benchmarks/cluster_scale.py [--sizes 5000,10000,20000] [--compare-up-to 5000]
        [--exact-up-to 0]
"""

from __future__ import annotations

import argparse
import math
import resource
import time

import numpy as np
from sklearn.metrics import adjusted_rand_score

from galprof.analysis import density, neighbours
from galprof.analysis.face_clusters import cluster_faces


def synthetic_faces(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(max(1, n // 10), 128))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    x = centres[rng.integers(0, len(centres), n)] + rng.normal(scale=0.025, size=(n, 128))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def timed(x: np.ndarray) -> tuple[np.ndarray, float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    labels = cluster_faces(x, frame_ids=[f"f{i}" for i in range(len(x))])
    return labels, time.process_time() - cpu, time.perf_counter() - wall


def agreement_with(labels, x, module, threshold: str) -> str:
    """ARI of `labels` against a rerun with `module.threshold` raised out of reach (the exact path)."""
    saved = getattr(module, threshold)
    setattr(module, threshold, 10**12)
    try:
        reference, ref_cpu, _ = timed(x)
    finally:
        setattr(module, threshold, saved)
    return f"{adjusted_rand_score(reference, labels):.4f} ({ref_cpu:.1f} s)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="5000,10000,20000")
    parser.add_argument("--compare-up-to", type=int, default=5000)
    parser.add_argument("--exact-up-to", type=int, default=0)
    args = parser.parse_args()
    cluster_faces(synthetic_faces(50), frame_ids=[f"f{i}" for i in range(50)])  # imports out of the timing
    print(f"{'faces':>8} {'CPU s':>8} {'wall s':>8} {'peak MB':>8} {'people':>7} {'exponent':>9} "
          f"{'ARI vs all pairs':>17} {'ARI vs exact search':>20}")
    previous = None
    for n in (int(s) for s in args.sizes.split(",")):
        x = synthetic_faces(n)
        labels, cpu, wall = timed(x)
        exponent = f"{math.log(cpu / previous[1]) / math.log(n / previous[0]):.2f}" if previous else "-"
        agreement = "-"
        if n <= args.compare_up_to:
            agreement = agreement_with(labels, x, density, "GRAPH_ABOVE")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # before the exact rerun below
        exact = "-"
        if n <= args.exact_up_to and n > neighbours.APPROXIMATE_ABOVE:
            exact = agreement_with(labels, x, neighbours, "APPROXIMATE_ABOVE")
        print(f"{n:>8} {cpu:>8.1f} {wall:>8.1f} {peak:>8.0f} {labels.max() + 1:>7} {exponent:>9} {agreement:>17} "
              f"{exact:>20}", flush=True)
        previous = (n, cpu)


if __name__ == "__main__":
    main()
