"""The scan's main process at gallery sizes the models would take hours for.

A worker's memory is bounded by its renewal (engine/pool.py), so what grows with the gallery is the
main process: the discovered items, the cache's index, the results it writes, then the profile step.
This runs the real pipeline (`pipeline.scan` with 2 spawned workers, then `profile_for_scan`) over N
tiny generated JPEGs (48 x 36 px, a colour each, in folders of 1 000) with the scan tests' stand-in
analyzer (tests/scan_fakes.py, no models: a frame's mean colour as its 1280-d photo embedding, so a row
is the size of a real one without faces; importing it brings PyAV, ~15 MB that a CLI's main process
does not hold), and samples the RSS of this process (the scan's main process) and of the whole tree every 0.2 s:

    .venv/bin/python benchmarks/main_memory.py --files 20000,100000 [--work DIR]

Reported per size: the main process's peak during the scan and during the profile step, the tree's
peak, wall and CPU s of each, and the growth exponent of the main process's peak (log ratio / log ratio
of sizes). Each size runs in a fresh process; the files are kept in --work for the next run (generating
them is not timed).
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the stand-in analyzer of the scan tests
from galprof.bench.memory import TreeMemorySampler, cpu_seconds
from galprof.config import Settings
from tests.scan_fakes import color_factory

PER_FOLDER = 1000


def make_files(folder: Path, n: int) -> None:
    from PIL import Image

    marker = folder / ".complete"
    if marker.exists() and marker.read_text() == str(n):
        return
    for i in range(n):
        sub = folder / f"{i // PER_FOLDER:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        Image.new("RGB", (48, 36), (i % 251, (i // 251) % 241, (i // 60491) % 239)).save(buffer, "JPEG", quality=90)
        (sub / f"IMG_{i:06d}.jpg").write_bytes(buffer.getvalue())
    marker.write_text(str(n))


def measure(n: int, work: Path) -> dict:
    from galprof.pipeline import scan
    from galprof.profile_cache import profile_for_scan

    folder = work / f"files-{n}"
    make_files(folder, n)
    cache = work / f"cache-{n}.sqlite"
    for leftover in work.glob(f"cache-{n}.sqlite*"):
        leftover.unlink()
    settings = Settings(workers=2, ocr=False)
    figures = {"files": n}
    started, cpu = time.perf_counter(), cpu_seconds()
    with TreeMemorySampler(interval=0.2) as scanning:
        result = scan(folder, settings, cache_path=cache, quiet=True, analyzer_factory=color_factory,
                      engine="pool")
    figures["scan"] = {"wall_s": round(time.perf_counter() - started, 1), "cpu_s": round(cpu_seconds() - cpu, 1),
                       "main_peak_mb": scanning.own_peak_kb // 1024, "tree_peak_mb": scanning.peak_kb // 1024,
                       "analyzed": result.stats.get("analyzed")}
    started, cpu = time.perf_counter(), cpu_seconds()
    with TreeMemorySampler(interval=0.2) as profiling:
        document = profile_for_scan(result, settings, quiet=True)
    result.store.close()
    figures["profile"] = {"wall_s": round(time.perf_counter() - started, 1),
                          "cpu_s": round(cpu_seconds() - cpu, 1), "main_peak_mb": profiling.own_peak_kb // 1024,
                          "photos": len(document["photos"])}
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", default="20000,100000", help="comma-separated gallery sizes")
    parser.add_argument("--work", type=Path, help="folder for the generated files and caches (kept)")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # one size, in a process of its own
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="galprof-main-memory-", dir="/var/tmp"))
    work.mkdir(parents=True, exist_ok=True)
    if args.one:
        print(json.dumps(measure(args.one, work)), flush=True)
        return
    rows = []
    for n in (int(s) for s in args.files.split(",")):
        done = subprocess.run([sys.executable, __file__, "--one", str(n), "--work", str(work)], check=True,
                              capture_output=True, text=True)
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    print("| files | scan wall / CPU s | main process peak, scan | tree peak, scan | profile wall / CPU s "
          "| main process peak, profile step |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        s, p = r["scan"], r["profile"]
        print(f"| {r['files']} | {s['wall_s']} / {s['cpu_s']} | {s['main_peak_mb']} MB | {s['tree_peak_mb']} MB |"
              f" {p['wall_s']} / {p['cpu_s']} | {p['main_peak_mb']} MB |")
    for a, b in itertools.pairwise(rows):
        slope = math.log(b["scan"]["main_peak_mb"] / a["scan"]["main_peak_mb"]) / math.log(b["files"] / a["files"])
        print(f"main process peak during the scan, growth exponent {a['files']} -> {b['files']}: {slope:.2f}")
    print(f"work folder: {work}", file=sys.stderr)


if __name__ == "__main__":
    main()
