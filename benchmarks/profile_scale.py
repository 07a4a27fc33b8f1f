"""The profile step at gallery sizes: CPU s, wall s and peak RSS of building a scan's profile
(`profile_cache.profile_for_scan`, i.e. `profile.build_profile` plus storing the document) and of
writing its JSON, on a cache of N synthetic but realistic rows, with the growth exponent between sizes.

    .venv/bin/python benchmarks/profile_scale.py --photos 20000
    .venv/bin/python benchmarks/profile_scale.py --photos 5000,20000,100000 --json out.json
    .venv/bin/python benchmarks/profile_scale.py --photos 20000,100000 --grow 1

`--grow PCT` then adds PCT % new photos (faces of the same people) to each cache and measures the
profile step again with the state the first one left (what a re-scan after new photos does: the people
are updated, not clustered again), then removes those rows so the cache can be kept. The profiles are
written next to the caches (`profile-N.json`, `profile-N-grown.json`), so two trees' profiles can be compared.

Each row is a MediaFacts as a scan stores it (a 1280-d photo embedding, classifier top-5, 0-4
objects, 0-3 faces with 128-d embeddings drawn around one of N/25 people, EXIF dates over three years
from four devices, GPS on a third of the photos, a few front-camera selfies), written through
`Store.put` without running any model. The cache is filled in one child process and measured in
another, so the peak RSS (VmHWM) is that of the profile step alone (plus galprof's imports, reported
as `base MB`). `--src DIR` measures another galprof tree (e.g. `git archive` of an older commit) on
the same caches: the before/after figures of benchmarks/README.md come from one run of each.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SIGNATURE = "profile-scale-synthetic"
ROOT = "/gallery"
DEVICES = [("Apple", "iPhone 13", 1.54, 5.1), ("Google", "Pixel 7", 2.2, 6.8),
           ("Canon", "Canon EOS 80D", 18.0, 55.0), ("samsung", "SM-G991B", 2.2, 5.4)]
LABELS = Path(__file__).resolve().parents[1] / "models" / "labels"
CLASSES = (LABELS / "imagenet1k.txt").read_text(encoding="utf-8").splitlines()
OBJECTS = (LABELS / "coco80.txt").read_text(encoding="utf-8").splitlines()
CITIES = [(48.8566, 2.3522), (52.52, 13.405), (40.4168, -3.7038), (45.4642, 9.19), (51.5074, -0.1278)]


def synthetic_media(i: int, rng, people):
    """The facts of the i-th photo (deterministic for a seeded rng)."""
    from galprof.facts import Box, ClassScore, ExifFacts, Face, FrameFacts, MediaFacts, ObjectDetection

    make, model, wide, tele = DEVICES[int(rng.integers(0, len(DEVICES)))]
    selfie = make == "Apple" and rng.random() < 0.05
    day = int(rng.integers(0, 3 * 365))
    taken = (f"{2021 + day // 365:04d}-{1 + (day % 365) // 31:02d}-{1 + day % 28:02d}"
             f"T{int(rng.integers(8, 22)):02d}:{int(rng.integers(0, 60)):02d}:00+01:00")
    lat = lon = None
    if rng.random() < 0.33:
        lat0, lon0 = CITIES[int(rng.integers(0, len(CITIES)))]
        lat, lon = lat0 + rng.normal(scale=0.05), lon0 + rng.normal(scale=0.05)
    exif = ExifFacts(taken_at=taken, taken_at_source="exif", make=make, model=model,
                     lens_model="iPhone 13 front camera" if selfie else None,
                     focal_length=wide if (selfie or rng.random() < 0.7) else tele,
                     latitude=lat, longitude=lon, width=4032, height=3024, orientation=1)
    probs = sorted(rng.dirichlet(np.ones(5) * 0.5), reverse=True)
    classes = [ClassScore(CLASSES[int(c)], float(p)) for c, p in zip(rng.integers(0, len(CLASSES), 5), probs, strict=True)]
    objects = [ObjectDetection(OBJECTS[int(rng.integers(0, len(OBJECTS)))], float(rng.uniform(0.3, 0.95)),
                               Box(*_box(rng, 1024, 768))) for _ in range(int(rng.integers(0, 5)))]
    n_faces = 1 if selfie else int(rng.choice([0, 0, 0, 1, 1, 2, 3]))
    faces = []
    for _ in range(n_faces):
        x = people[int(rng.integers(0, len(people)))] + rng.normal(scale=0.025, size=128)
        size = 400.0 if selfie else float(rng.uniform(15, 200))
        cx, cy = (512.0, 384.0) if selfie else (float(rng.uniform(100, 900)), float(rng.uniform(100, 650)))
        faces.append(Face(box=Box(cx - size / 2, cy - size / 2, cx + size / 2, cy + size / 2),
                          score=float(rng.uniform(0.5, 0.99)), keypoints=rng.uniform(0, 1000, (6, 2)),
                          embedding=(x / np.linalg.norm(x)).astype(np.float32),
                          age=float(rng.uniform(5, 70)), female_probability=float(rng.random())))
    frame = FrameFacts(width=1024, height=768, classes=classes, objects=objects, faces=faces,
                       embedding=rng.normal(size=1280).astype(np.float32))
    return MediaFacts(path=f"{ROOT}/{2021 + day // 365}/IMG_{i:06d}.jpg", kind="photo", format="jpeg",
                      size=int(rng.integers(1_500_000, 5_000_000)), mtime=1.7e9 + i, exif=exif, frames=[frame])


def _box(rng, width: int, height: int) -> tuple[float, float, float, float]:
    x1, y1 = float(rng.uniform(0, width * 0.7)), float(rng.uniform(0, height * 0.7))
    return x1, y1, x1 + float(rng.uniform(20, width * 0.3)), y1 + float(rng.uniform(20, height * 0.3))


def fill(cache: str, photos: int, seed: int = 2026) -> None:
    from galprof.store import Store

    rng = np.random.default_rng(seed)
    people = rng.normal(size=(max(2, photos // 25), 128))
    people /= np.linalg.norm(people, axis=1, keepdims=True)
    with Store(cache) as store:
        for i in range(photos):
            store.put(synthetic_media(i, rng, people), SIGNATURE)


def grow(cache: str, photos: int, extra: int, seed: int = 2026) -> None:
    """Add photos photos..photos+extra-1, faces of the same people as `fill` made."""
    from galprof.store import Store

    people = np.random.default_rng(seed).normal(size=(max(2, photos // 25), 128))
    people /= np.linalg.norm(people, axis=1, keepdims=True)
    rng = np.random.default_rng(seed + 1)
    with Store(cache) as store:
        for i in range(photos, photos + extra):
            m = synthetic_media(i, rng, people)
            m.path = f"{ROOT}/new/IMG_{i:06d}.jpg"
            store.put(m, SIGNATURE)


def shrink(cache: str) -> None:
    from galprof.store import Store

    with Store(cache) as store, store.conn:
        store.conn.execute("DELETE FROM media WHERE path LIKE ?", (f"{ROOT}/new/%",))


def peak_rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(cache: str, out: str, first: bool = True) -> dict:
    """Build and write the profile of the cache, as `galprof scan` does after the analysis (a first
    scan: the state emptied; else with the state an earlier profile left)."""
    from galprof.config import Settings
    from galprof.pipeline import ScanResult
    from galprof.profile_cache import profile_for_scan
    from galprof.render.json import write_json
    from galprof.store import Store

    store = Store(cache, create=False)
    with store.conn:  # a first scan: no stored document to reuse, no person ids from an earlier run
        store.conn.execute("DELETE FROM state" if first else "DELETE FROM state WHERE key LIKE 'profile.document:%'")
    paths = store.paths()
    result = ScanResult(folder=ROOT, store=store, paths=paths, errors=[], warnings=[], stats={},
                        signature=SIGNATURE)
    base = peak_rss_mb()
    cpu, wall = time.process_time(), time.perf_counter()
    document = profile_for_scan(result, Settings(ocr=False))
    cpu_build, wall_build = time.process_time() - cpu, time.perf_counter() - wall
    write_json(document, out)
    store.close()
    return {"photos": len(paths), "people": len(document["people"]), "base_mb": round(base, 1),
            "build_cpu_s": round(cpu_build, 2), "build_wall_s": round(wall_build, 2),
            "json_cpu_s": round(time.process_time() - cpu - cpu_build, 2),
            "json_wall_s": round(time.perf_counter() - wall - wall_build, 2),
            "peak_rss_mb": round(peak_rss_mb(), 1), "json_mb": round(os.path.getsize(out) / 2**20, 1),
            "people_wall_s": document["timings"]["profile"]["people"]}


def child(args: list[str], src: str | None) -> str:
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = os.path.abspath(src) + os.pathsep + env.get("PYTHONPATH", "")
    done = subprocess.run([sys.executable, __file__, *args], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"profile_scale: child {args[0]} failed:\n{done.stderr[-2000:]}")
    return done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", default="20000", help="comma-separated gallery sizes")
    parser.add_argument("--src", help="the galprof source tree to measure (default: the installed one)")
    parser.add_argument("--keep", help="folder to keep the filled caches in (reused when present)")
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument("--grow", type=float, default=0.0, help="then add this many %% new photos and measure again")
    parser.add_argument("--_fill", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--_grow", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--_shrink", nargs=1, help=argparse.SUPPRESS)
    parser.add_argument("--_measure", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--_remeasure", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._fill:
        return fill(args._fill[0], int(args._fill[1]))
    if args._grow:
        return grow(args._grow[0], int(args._grow[1]), int(args._grow[2]))
    if args._shrink:
        return shrink(args._shrink[0])
    if args._measure:
        return print(json.dumps(measure(*args._measure)))
    if args._remeasure:
        return print(json.dumps(measure(*args._remeasure, first=False)))
    sizes = [int(s) for s in args.photos.split(",")]
    work = args.keep or tempfile.mkdtemp(prefix="galprof-profile-scale-")
    os.makedirs(work, exist_ok=True)
    rows = []
    for n in sizes:
        cache = os.path.join(work, f"cache-{n}.sqlite")
        if not os.path.exists(cache):
            started = time.perf_counter()
            child(["--_fill", cache, str(n)], None)
            print(f"filled {n} rows in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        out = os.path.join(work, f"profile-{n}.json")
        row = json.loads(child(["--_measure", cache, out], args.src))
        if args.grow:
            extra = max(1, round(n * args.grow / 100))
            child(["--_grow", cache, str(n), str(extra)], None)
            try:
                again = json.loads(child(["--_remeasure", cache, out.replace(".json", "-grown.json")], args.src))
            finally:
                child(["--_shrink", cache], None)
            row["grown"] = {"added": extra, **again}
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
    report(rows)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


def report(rows: list[dict]) -> None:
    _report_first(rows)
    grown = [r for r in rows if "grown" in r]
    if grown:
        print()
        print("| photos | + new photos | people | build CPU s (first -> after adding) | people step wall s"
              " (first -> after adding) | peak RSS MB (after adding) |")
        print("|---|---|---|---|---|---|")
        for r in grown:
            g = r["grown"]
            print(f"| {r['photos']} | {g['added']} | {g['people']} | {r['build_cpu_s']} -> {g['build_cpu_s']} |"
                  f" {r['people_wall_s']} -> {g['people_wall_s']} | {g['peak_rss_mb']} |")


def _report_first(rows: list[dict]) -> None:
    print("| photos | people | build CPU s | build wall s | JSON CPU s | peak RSS MB | base MB | KB/photo"
          " above base | JSON MB | exponent (CPU) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for i, r in enumerate(rows):
        per = (r["peak_rss_mb"] - r["base_mb"]) * 1024 / max(1, r["photos"])
        exponent = "-"
        if i:
            p = rows[i - 1]
            cpu, prev = r["build_cpu_s"] + r["json_cpu_s"], p["build_cpu_s"] + p["json_cpu_s"]
            if prev > 0 and r["photos"] != p["photos"]:
                exponent = f"{math.log(cpu / prev) / math.log(r['photos'] / p['photos']):.2f}"
        print(f"| {r['photos']} | {r['people']} | {r['build_cpu_s']} | {r['build_wall_s']} | {r['json_cpu_s']} |"
              f" {r['peak_rss_mb']} | {r['base_mb']} | {per:.1f} | {r['json_mb']} | {exponent} |")


if __name__ == "__main__":
    main()
