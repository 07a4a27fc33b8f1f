"""What the server's accurate tier (galprof/server/tier.py) gains over the device tier, and what it costs,
on ../shared/data: ImageNet top-1/top-5 (imagenet-samples), faces found in group photos (events albums),
age MAE and gender accuracy (UTKFace crops, through the whole analyzer), CPU ms per photo. Both tiers run
in this process on the same decoded frames (the HTTP cost is measured by benchmarks/remote_load.py).
Nothing is tuned on these photos.

    .venv/bin/python benchmarks/remote_gain.py [--faces 60] [--utk 300] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from galprof.media.decode import decode_image
from galprof.server.tier import build_analyzer

DATA = ROOT.parent / "shared" / "data"


def imagenet(analyzers: dict, limit: int | None) -> dict:
    synsets = (ROOT / "models/labels/imagenet1k_synsets.txt").read_text().split()
    labels = (ROOT / "models/labels/imagenet1k.txt").read_text().splitlines()
    label_of = dict(zip(synsets, labels, strict=True))
    photos = sorted((DATA / "imagenet-samples").glob("*.JPEG"))[:limit]
    result = {name: {"top1": 0, "top5": 0, "cpu_s": 0.0} for name in analyzers}
    for path in photos:
        truth = label_of[path.name.split("_")[0]]
        rgb = decode_image(str(path), 1024).rgb
        for name, analyzer in analyzers.items():
            t0 = time.process_time()
            facts = analyzer.analyze(rgb)
            result[name]["cpu_s"] += time.process_time() - t0
            top = [c.label for c in facts.classes[:5]]
            result[name]["top1"] += top[:1] == [truth]
            result[name]["top5"] += truth in top
    for r in result.values():
        r["top1"] = round(r["top1"] / len(photos), 3)
        r["top5"] = round(r["top5"] / len(photos), 3)
        r["cpu_ms_per_photo"] = round(1000 * r.pop("cpu_s") / len(photos))
    return {"photos": len(photos), **result}


def group_faces(analyzers: dict, limit: int) -> dict:
    photos = sorted((DATA / "events").glob("*/*/*.jpg"))[:: max(1, len(list((DATA / "events").glob("*/*/*.jpg"))) // limit)]
    result = {name: {"faces": 0, "photos_with_faces": 0} for name in analyzers}
    both = 0
    for path in photos:
        rgb = decode_image(str(path), 1024).rgb
        counts = {}
        for name, analyzer in analyzers.items():
            n = len(analyzer.analyze(rgb).faces)
            counts[name] = n
            result[name]["faces"] += n
            result[name]["photos_with_faces"] += n > 0
        both += len(set(counts.values())) == 1
    return {"photos": len(photos), "same_count": both, **result}


def utkface(analyzers: dict, limit: int) -> dict:
    files = sorted((DATA / "utkface").glob("*.jpg"))[:: max(1, 1000 // limit)][:limit]
    result = {name: {"found": 0, "abs_err": 0.0, "gender_ok": 0} for name in analyzers}
    for path in files:
        age, gender = (int(v) for v in path.name.split("_")[:2])
        rgb = decode_image(str(path), 1024).rgb
        for name, analyzer in analyzers.items():
            faces = analyzer.analyze(rgb).faces
            if not faces or faces[0].age is None:
                continue
            face = max(faces, key=lambda f: f.box.width)
            r = result[name]
            r["found"] += 1
            r["abs_err"] += abs(face.age - age)
            r["gender_ok"] += (face.female_probability > 0.5) == (gender == 1)
    for r in result.values():
        n = max(r["found"], 1)
        r["age_mae"] = round(r.pop("abs_err") / n, 2)
        r["gender_accuracy"] = round(r.pop("gender_ok") / n, 3)
    return {"crops": len(files), **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--imagenet", type=int, default=None, help="at most this many ImageNet samples")
    parser.add_argument("--faces", type=int, default=60, help="group photos from the events albums")
    parser.add_argument("--utk", type=int, default=300, help="UTKFace crops")
    parser.add_argument("--skip", action="append", default=[], choices=["imagenet", "group_faces", "utkface"])
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    analyzers = {"device": build_analyzer("device", threads=1), "accurate": build_analyzer("accurate", threads=1)}
    parts = {"imagenet": lambda: imagenet(analyzers, args.imagenet),
             "group_faces": lambda: group_faces(analyzers, args.faces), "utkface": lambda: utkface(analyzers, args.utk)}
    report = {name: run() for name, run in parts.items() if name not in args.skip}
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
