"""Prove that a speed change left the answers alone: the FrameFacts of every file of some folders,
analysed one at a time as a scan worker does (`engine.worker.process_item`, one thread), saved once per
tree and compared:

    PYTHONPATH=OLD_TREE .venv/bin/python benchmarks/facts_diff.py dump before.pkl FOLDER...
    PYTHONPATH=NEW_TREE .venv/bin/python benchmarks/facts_diff.py dump after.pkl FOLDER...
    .venv/bin/python benchmarks/facts_diff.py compare before.pkl after.pkl

`compare` prints, over all frames: how many are identical, the frame sizes, the top-1 class and the
top-5 set, the objects kept at >= 0.5 (label and box within 1 px), the faces (count, boxes within 1 px,
the largest embedding distance, age and P(female) moves), selfie cues, OCR text, and the largest move
of any score or photo embedding value. The dump also holds each file's decode and analyze CPU seconds.
"""

from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path

import numpy as np

from galprof.config import Settings
from galprof.engine.worker import default_factory, process_item
from galprof.media.discover import MediaItem, discover


def dump(out: Path, folders: list[Path]) -> None:
    settings = Settings(workers=1, threads_per_worker=1)
    analyzer = default_factory(settings, 1)
    rows = {}
    for folder in folders:
        for item in (i for i in discover(folder) if isinstance(i, MediaItem)):
            result = process_item(item, settings, analyzer, 1)
            frames = result.media.frames if result.media else None
            rows[item.path] = {"frames": frames, "error": result.error and result.error.reason,
                               "seconds": result.seconds}
    out.write_bytes(pickle.dumps(rows))
    cpu = {k: sum(r["seconds"].get(k, 0.0) for r in rows.values()) for k in ("decode", "exif", "analyze")}
    print(f"{len(rows)} files -> {out}; CPU s: " + ", ".join(f"{k} {v:.2f}" for k, v in cpu.items()))


def _box(b) -> np.ndarray:
    return np.array([b.x1, b.y1, b.x2, b.y2], np.float64)


def _boxes_close(a, b, tol: float = 1.0) -> bool:
    return float(np.abs(_box(a) - _box(b)).max()) <= tol


class Tally:
    def __init__(self):
        self.counts: dict[str, int] = {}
        self.worst: dict[str, float] = {}
        self.differ: list[str] = []

    def count(self, key: str, ok: bool, where: str = "") -> None:
        self.counts[key] = self.counts.get(key, 0) + int(ok)
        self.counts[key + "_of"] = self.counts.get(key + "_of", 0) + 1
        if not ok and where and len(self.differ) < 40:
            self.differ.append(f"{key}: {where}")

    def move(self, key: str, value: float) -> None:
        self.worst[key] = max(self.worst.get(key, 0.0), float(value))


def _compare_faces(a, b, tally: Tally, where: str) -> None:
    tally.count("face count", len(a.faces) == len(b.faces), where)
    if len(a.faces) != len(b.faces):
        return
    for fa, fb in zip(a.faces, b.faces, strict=True):
        tally.count("face box", _boxes_close(fa.box, fb.box), where)
        tally.move("face score", abs(fa.score - fb.score))
        if fa.embedding is not None and fb.embedding is not None:
            tally.move("face embedding distance", 1.0 - float(np.dot(fa.embedding, fb.embedding)))
        if fa.age is not None and fb.age is not None:
            tally.move("age (years)", abs(fa.age - fb.age))
        if fa.female_probability is not None and fb.female_probability is not None:
            tally.move("P(female)", abs(fa.female_probability - fb.female_probability))


def _compare_frame(a, b, tally: Tally, where: str) -> None:
    tally.count("identical frames", _same(a, b), where)
    tally.count("frame size", (a.width, a.height) == (b.width, b.height), where)
    if a.classes and b.classes:
        tally.count("top-1 class", a.classes[0].label == b.classes[0].label, where)
        tally.count("top-5 set", {c.label for c in a.classes[:5]} == {c.label for c in b.classes[:5]}, where)
        tally.move("class score", max((abs(x.score - y.score) for x, y in zip(a.classes, b.classes, strict=False)
                                       if x.label == y.label), default=0.0))
    strong_a = [o for o in a.objects if o.score >= 0.5]
    strong_b = [o for o in b.objects if o.score >= 0.5]
    tally.count("objects >= 0.5", len(strong_a) == len(strong_b) and all(
        x.label == y.label and _boxes_close(x.box, y.box) for x, y in zip(strong_a, strong_b, strict=False)), where)
    if a.embedding is not None and b.embedding is not None:
        tally.move("photo embedding value", float(np.abs(a.embedding - b.embedding).max()))
    _compare_faces(a, b, tally, where)
    tally.count("selfie cues", a.selfie == b.selfie, where)
    tally.count("OCR text", a.text == b.text, where)


def _same(a, b) -> bool:
    return pickle.dumps(a) == pickle.dumps(b)


def compare(before: Path, after: Path) -> None:
    old, new = pickle.loads(before.read_bytes()), pickle.loads(after.read_bytes())
    tally = Tally()
    for path in sorted(set(old) | set(new)):
        a, b = old.get(path), new.get(path)
        if a is None or b is None:
            tally.count("file in both", False, path)
            continue
        tally.count("same error", a["error"] == b["error"], path)
        frames_a, frames_b = a["frames"] or [], b["frames"] or []
        tally.count("frame count", len(frames_a) == len(frames_b), path)
        for i, (fa, fb) in enumerate(zip(frames_a, frames_b, strict=False)):
            _compare_frame(fa, fb, tally, f"{Path(path).name}#{i}")
    for key, value in tally.counts.items():
        if not key.endswith("_of"):
            print(f"{key}: {value} / {tally.counts[key + '_of']}")
    for key, value in sorted(tally.worst.items()):
        print(f"largest move of {key}: {value:.3g}")
    for line in tally.differ:
        print("  differs:", line)
    for name, rows in (("before", old), ("after", new)):
        cpu = {k: sum(r["seconds"].get(k, 0.0) for r in rows.values()) for k in ("decode", "exif", "analyze")}
        print(f"CPU s {name}: " + ", ".join(f"{k} {v:.2f}" for k, v in cpu.items()))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("dump")
    d.add_argument("out", type=Path)
    d.add_argument("folders", type=Path, nargs="+")
    c = sub.add_parser("compare")
    c.add_argument("before", type=Path)
    c.add_argument("after", type=Path)
    args = parser.parse_args(argv)
    if args.command == "dump":
        dump(args.out, args.folders)
    else:
        compare(args.before, args.after)


if __name__ == "__main__":
    sys.exit(main())
