"""Galleries per hour of `galprof batch` on one engine: N galleries of real photos, fresh caches.

The galleries are made of ../shared/data/imagenet-samples (334 photos, one per ImageNet class), cut
into --galleries folders of --photos photos (symlinks, under .cache/bench-batch/). Every run starts
with empty caches and profiles, so the figure includes model loading, analysis and aggregation:

    .venv/bin/python benchmarks/batch_scale.py --engine pool --workers 2
    ip netns exec NS .venv/bin/python benchmarks/batch_scale.py --engine ray --address 127.0.0.1:6379

(the Ray run inside a loopback-only network namespace with a head started there, as tests/ray_cluster.py
does). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from galprof.batch.galleries import find_galleries
from galprof.batch.runner import BatchOptions, run_batch
from galprof.config import Settings
from galprof.engine.base import make_engine

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "imagenet-samples"


def make_galleries(root: Path, galleries: int, photos: int) -> Path:
    files = sorted(DATA.glob("*.JPEG"))
    shutil.rmtree(root, ignore_errors=True)
    for g in range(galleries):
        folder = root / f"user{g:02d}"
        folder.mkdir(parents=True)
        for path in files[g * photos:(g + 1) * photos]:
            (folder / path.name).symlink_to(path)
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", default="pool", choices=["inline", "pool", "ray"])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--address", default=None)
    parser.add_argument("--galleries", type=int, default=6)
    parser.add_argument("--photos", type=int, default=12)
    args = parser.parse_args()
    work = Path(".cache/bench-batch") / args.engine
    parent = make_galleries(work / "galleries", args.galleries, args.photos)
    shutil.rmtree(work / "out", ignore_errors=True)
    settings = Settings(ocr=False, follow_links=True)
    started = time.perf_counter()
    engine = make_engine(args.engine, args.workers, address=args.address)
    try:
        rows = run_batch(find_galleries(parent), engine, BatchOptions(work / "out", settings, quiet=True))
    finally:
        engine.close()
    seconds = time.perf_counter() - started
    done = sum(r["status"] == "done" for r in rows)
    print(json.dumps({"engine": args.engine, "workers": args.workers, "galleries": done,
                      "photos": sum(int(r["photos"] or 0) for r in rows), "seconds": round(seconds, 1),
                      "galleries_per_hour": round(done / seconds * 3600),
                      "photos_per_second": round(sum(int(r["photos"] or 0) for r in rows) / seconds, 2)}))


if __name__ == "__main__":
    main()
