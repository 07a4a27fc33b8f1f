"""The fixed CPU cost of one CLI run: `galprof --version`, `galprof scan` of an empty folder (first and
unchanged) and the unchanged re-scan of a folder already in the cache. CPU = user + sys of the galprof
process and its children (getrusage), median of `--repeats` runs after one warm-up (byte code compiled):

    .venv/bin/python benchmarks/startup.py [--folder DIR] [--repeats 5]

`python -m galprof` imports the galprof of the current folder first: to measure another tree, run it
from outside any checkout with PYTHONPATH=TREE.

--folder: a folder to scan once into a temporary cache before the re-scans are timed (default: none).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path


def _cpu_of(cmd: list[str]) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _timed(cmd: list[str], repeats: int) -> dict:
    _cpu_of(cmd)  # warm-up: byte code, file cache
    runs = [_cpu_of(cmd) for _ in range(repeats)]
    return {"cpu_s_median": round(statistics.median(runs), 3), "cpu_s_runs": [round(r, 3) for r in runs]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=None)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    galprof = [sys.executable, "-m", "galprof"]
    work = Path(tempfile.mkdtemp(prefix="galprof-startup-"))
    try:
        (work / "empty").mkdir()
        report = {"version": _timed([*galprof, "--version"], args.repeats)}
        scan = [*galprof, "scan", "-q", "-o", str(work / "p.json")]
        firsts = [_cpu_of([*scan, str(work / "empty"), "--cache", str(work / f"first{i}.sqlite")])
                  for i in range(args.repeats)]  # a fresh cache each time: the profile is built
        report["empty_folder_first_scan"] = {"cpu_s_median": round(statistics.median(firsts), 3),
                                             "cpu_s_runs": [round(r, 3) for r in firsts]}
        report["empty_folder_unchanged"] = _timed([*scan, str(work / "empty"), "--cache", str(work / "e.sqlite")],
                                                  args.repeats)
        if args.folder:
            cache = ["--cache", str(work / "f.sqlite")]
            report["folder_first_scan"] = {"cpu_s": round(_cpu_of([*scan, str(args.folder), *cache]), 3)}
            report["folder_unchanged"] = _timed([*scan, str(args.folder), *cache], args.repeats)
        print(json.dumps(report, indent=1))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
