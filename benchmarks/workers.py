"""`galprof scan` of a folder with 1, 2, ... workers: wall s, CPU s of the process tree (user + sys of the
finished children) and the peak summed RSS of the tree (sampled every 50 ms), each into a fresh cache:

    .venv/bin/python benchmarks/workers.py DIR [--workers 1,2,1,2]

Wall time is only meaningful on an otherwise idle machine; CPU and memory are not affected by neighbours.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from galprof.bench.memory import _tree_rss_kb


def one_scan(folder: Path, workers: int) -> dict:
    cache = Path(tempfile.mkdtemp(prefix="galprof-workers-"))
    try:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "galprof", "scan", str(folder), "--cache",
                                 str(cache / "c.sqlite"), "-q", "--workers", str(workers), "-o", str(cache / "p.json")])
        peak = 0
        while proc.poll() is None:
            peak = max(peak, _tree_rss_kb(proc.pid))
            time.sleep(0.05)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return {"workers": workers, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "peak_tree_rss_mb": round(peak / 1024),
                "exit": proc.returncode}
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--workers", default="1,2,1,2")
    args = parser.parse_args()
    for workers in (int(w) for w in args.workers.split(",")):
        print(json.dumps(one_scan(args.folder, workers)), flush=True)


if __name__ == "__main__":
    main()
