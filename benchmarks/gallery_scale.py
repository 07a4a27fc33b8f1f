"""Real galleries at real size: `galprof scan` as a user runs it (a CLI process, default workers, the
profile written with -o) on galleries made by benchmarks/make_gallery.py, per size:

- first scan into an empty cache: wall s, photos/s, CPU ms per photo (the CLI and its workers);
- unchanged re-scan; re-scan after adding 1 % new photos (the people step attaches them);
- the people step of the first scan and of the +1 % re-scan (the profile's own timing, wall s);
- peak RSS of the whole process tree (the CLI and its workers, summed, sampled from /proc every 0.2 s),
  and of the CLI process alone (what grows with the gallery: the workers are renewed);
- the growth exponent of each between consecutive sizes (log ratio of the figures / log ratio of sizes).

    .venv/bin/python benchmarks/gallery_scale.py --photos 2000,5000 [--work DIR] [--json out.json]

Nothing is extrapolated: every row is a run. Generating the galleries is not timed with the scans
(about 25 ms a photo here); `--work DIR` keeps them for the next run (the +1 % photos are removed after
each size, so a kept gallery is the base gallery).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_gallery import DATA, make_gallery

from galprof.bench.memory import _tree_rss_kb, children_cpu_seconds, process_rss_kb


def timed_cli(args: list[str]) -> dict:
    """Run `galprof ARGS` as a child process: wall s, CPU s (it and its workers), peak tree RSS MB."""
    cpu = children_cpu_seconds()
    wall = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "galprof", *args], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
    peak = [0, 0]  # the tree, the CLI process
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _tree_rss_kb(child.pid))
            peak[1] = max(peak[1], process_rss_kb(child.pid))
            done.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = child.communicate()
    done.set()
    sampler.join()
    if child.returncode not in (0, 1):
        raise SystemExit(f"gallery_scale: galprof {' '.join(args)} exited {child.returncode}:\n{err[-2000:]}")
    return {"wall_s": round(time.perf_counter() - wall, 2), "cpu_s": round(children_cpu_seconds() - cpu, 2),
            "peak_rss_mb": round(peak[0] / 1024, 1), "peak_cli_rss_mb": round(peak[1] / 1024, 1)}


def scan(folder: Path, cache: Path, out: Path) -> dict:
    figures = timed_cli(["scan", str(folder), "--cache", str(cache), "-o", str(out), "-q"])
    document = json.loads(out.read_text(encoding="utf-8"))
    profile = document.get("timings", {}).get("profile", {})
    figures.update(files=document["gallery"]["files"], people=len(document["people"]),
                   people_s=profile.get("people"), profile_s=profile.get("total"),
                   reused=bool(document.get("scan", {}).get("profile_reused")))
    return figures


def measure_size(n: int, work: Path, data: Path) -> dict:
    gallery = work / f"gallery-{n}"
    marker = gallery / ".complete"
    if not marker.exists():
        shutil.rmtree(gallery, ignore_errors=True)
        started = time.perf_counter()
        make_gallery(gallery, n, 0, data)
        marker.write_text(str(n))
        print(f"made {n} photos in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    cache, out = work / f"cache-{n}.sqlite", work / f"profile-{n}.json"
    for leftover in work.glob(f"cache-{n}.sqlite*"):
        leftover.unlink()
    first = scan(gallery, cache, out)
    again = scan(gallery, cache, out)
    extra = max(1, n // 100)
    added = make_gallery(gallery, extra, n, data)
    try:
        grown = scan(gallery, cache, out)
    finally:
        for path in added:
            path.unlink()
    return {"photos": n, "added": extra, "first": first, "rescan": again, "plus1": grown}


def exponent(a: float | None, b: float | None, n_a: int, n_b: int) -> str:
    if not a or not b or n_a == n_b:
        return "-"
    return f"{math.log(b / a) / math.log(n_b / n_a):.2f}"


def report(rows: list[dict]) -> None:
    print("| photos | first scan wall s | photos/s | CPU ms/photo | peak RSS MB (tree / CLI) | unchanged re-scan"
          " wall / CPU s | +1 % re-scan wall / CPU s | people step s (first / +1 %) | people |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        f, a, g = r["first"], r["rescan"], r["plus1"]
        peak = max(f["peak_rss_mb"], a["peak_rss_mb"], g["peak_rss_mb"])
        cli = max(f.get("peak_cli_rss_mb", 0), a.get("peak_cli_rss_mb", 0), g.get("peak_cli_rss_mb", 0))
        print(f"| {r['photos']} | {f['wall_s']} | {r['photos'] / f['wall_s']:.2f} |"
              f" {1000 * f['cpu_s'] / r['photos']:.1f} | {peak} / {cli} | {a['wall_s']} / {a['cpu_s']} |"
              f" {g['wall_s']} / {g['cpu_s']} | {f['people_s']} / {g['people_s']} | {f['people']} |")
    for prev, r in itertools.pairwise(rows):
        n_a, n_b = prev["photos"], r["photos"]
        parts = {
            "first-scan CPU": (prev["first"]["cpu_s"], r["first"]["cpu_s"]),
            "unchanged re-scan CPU": (prev["rescan"]["cpu_s"], r["rescan"]["cpu_s"]),
            "+1 % re-scan CPU": (prev["plus1"]["cpu_s"], r["plus1"]["cpu_s"]),
            "people step (first)": (prev["first"]["people_s"], r["first"]["people_s"]),
            "people step (+1 %)": (prev["plus1"]["people_s"], r["plus1"]["people_s"]),
            "peak RSS": (prev["first"]["peak_rss_mb"], r["first"]["peak_rss_mb"]),
        }
        print(f"growth exponents {n_a} -> {n_b}: "
              + ", ".join(f"{k} {exponent(a, b, n_a, n_b)}" for k, (a, b) in parts.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", default="2000,5000", help="comma-separated gallery sizes")
    parser.add_argument("--work", type=Path, help="folder for the galleries and caches (kept)")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="galprof-gallery-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    rows = []
    for n in (int(s) for s in args.photos.split(",")):
        rows.append(measure_size(n, work, args.data))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    report(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
