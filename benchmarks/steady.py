"""Steady CPU per photo of `galprof scan` as a user runs it, for two trees in turn, against the floor.

    .venv/bin/python benchmarks/steady.py --before OLD_TREE --after NEW_TREE --small DIR22 --big DIR110 [--rounds 3]

Per round and tree: a CLI scan of the small folder and one of the big folder (default engine, a fresh
cache each, CPU of the process tree: user + sys of the reaped children), and (CPU of the big scan - CPU
of the small one) / (files of big - files of small): the CPU an extra photo costs once the workers run,
without start-up and model loading. Then the floor of that round (`galprof bench SMALL --skip models
--skip stages --skip scan`: Pillow draft 1/8 decode + one bare 1-thread run of each model a photo needs),
with the after tree. The trees alternate (before, after, floor; before, after, floor...), so that a
neighbour's load hits both; on a shared machine only same-round comparisons mean anything. One JSON
line per row on stdout. Run it under the CPU lock: ~2 CPU min a round for 22 + 110 phone photos.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
from pathlib import Path

from galprof.bench.memory import children_cpu_seconds

GALPROF = str(Path(__file__).resolve().parents[1] / ".venv" / "bin" / "galprof")


def _files(folder: Path) -> int:
    return sum(1 for p in folder.rglob("*") if p.is_file())


def scan_cpu(galprof: str, tree: Path, folder: Path) -> float:
    """CPU seconds (user + sys) of `galprof scan folder` and its workers, with `tree` on PYTHONPATH."""
    with tempfile.TemporaryDirectory(prefix="steady-") as work:
        env = dict(os.environ, PYTHONPATH=str(tree))
        before = children_cpu_seconds()
        subprocess.run([galprof, "scan", str(folder), "--cache", f"{work}/c.sqlite", "-q", "-o", f"{work}/p.json"],
                       env=env, check=True, cwd=work)
    return children_cpu_seconds() - before


def floor(galprof: str, tree: Path, folder: Path, repeats: int) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree))
    out = subprocess.run([galprof, "bench", str(folder), "--skip", "models", "--skip", "stages", "--skip", "scan",
                          "--repeats", str(repeats), "--format", "json"], env=env, capture_output=True, text=True,
                         check=True, cwd=tempfile.gettempdir())
    result = json.loads(out.stdout)["floor"]
    return {"floor_ms": result["floor_ms_per_photo"], "decode_ms": result["decode_ms_per_photo"],
            "models": {m["model"]: m["median_ms"] for m in result["models"]}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="the tree before the change")
    parser.add_argument("--after", type=Path, required=True, help="the tree after it (also measures the floor)")
    parser.add_argument("--small", type=Path, required=True)
    parser.add_argument("--big", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=8, help="floor: timed runs of each model")
    parser.add_argument("--galprof", default=GALPROF, help="the galprof program to run")
    args = parser.parse_args()
    extra = _files(args.big) - _files(args.small)
    if extra <= 0:
        parser.error(f"{args.big} must hold more files than {args.small}")
    for round_index in range(args.rounds):
        steady = {}
        for tag, tree in (("before", args.before), ("after", args.after)):
            small, big = (scan_cpu(args.galprof, tree, folder) for folder in (args.small, args.big))
            steady[tag] = round(1000 * (big - small) / extra, 1)
            print(json.dumps({"round": round_index, "tree": tag, "cpu_small": round(small, 2),
                              "cpu_big": round(big, 2), "steady_ms": steady[tag]}), flush=True)
        row = floor(args.galprof, args.after, args.small, args.repeats)
        row.update({f"{tag}_over_floor": round(ms / row["floor_ms"], 2) for tag, ms in steady.items()})
        print(json.dumps({"round": round_index, **row}), flush=True)


if __name__ == "__main__":
    main()
