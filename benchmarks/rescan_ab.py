"""Unchanged CLI re-scans of one gallery by two trees in turn: wall and CPU seconds of every run.

    .venv/bin/python benchmarks/rescan_ab.py GALLERY --runs 7 TREE_A CACHE_A TREE_B CACHE_B

Each run is `PYTHONPATH=TREE galprof scan GALLERY --cache CACHE -o OUT -q` as a child process (CPU = its
user + sys, workers included); the runs of the two trees alternate, so both see the same machine. Each
tree needs its own cache, already filled by a first scan of GALLERY with that tree (copy a cache to
start from the same rows). Run under the CPU lock; the page cache is left as it is (warm after the
first runs).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from galprof.bench.memory import children_cpu_seconds


def rescan(tree: str, gallery: str, cache: str, out: str) -> tuple[float, float]:
    before = children_cpu_seconds()
    started = time.perf_counter()
    galprof = str(Path(sys.executable).with_name("galprof"))
    subprocess.run([galprof, "scan", gallery, "--cache", cache, "-o", out, "-q"], check=True,
                   env=dict(os.environ, PYTHONPATH=tree))
    return time.perf_counter() - started, children_cpu_seconds() - before


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("gallery")
    parser.add_argument("tree_a")
    parser.add_argument("cache_a")
    parser.add_argument("tree_b")
    parser.add_argument("cache_b")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    out = tempfile.mkdtemp(prefix="rescan-ab-")
    trees = {"A": (args.tree_a, args.cache_a), "B": (args.tree_b, args.cache_b)}
    times: dict[str, list[tuple[float, float]]] = {"A": [], "B": []}
    for run in range(1, args.runs + 1):
        for tag, (tree, cache) in trees.items():
            wall, cpu = rescan(tree, args.gallery, cache, f"{out}/profile-{tag}.json")
            times[tag].append((wall, cpu))
            print(f"{tag} run {run}: wall {wall:.2f} s, CPU {cpu:.2f} s", flush=True)
    for tag, runs in times.items():
        walls = sorted(w for w, _ in runs)
        print(f"{tag} ({trees[tag][0]}): wall min / median / max {walls[0]:.2f} / {statistics.median(walls):.2f} / "
              f"{walls[-1]:.2f} s, CPU median {statistics.median(c for _, c in runs):.2f} s; profiles in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
