"""How small a JPEG DCT draft may be: galprof's decode with DRAFT_FRACTION (today 0.9: the draft is at least
90 % of the frame's 1024 px) lowered, its CPU ms per photo, and what the models answer against 0.9:
faces found and matched (IoU >= 0.5) with the embedding distance of matched faces, top-1 class, top-5
overlap, objects >= 0.5. On the JPEGs of ../shared/data larger than the frame (phones, immich-assets,
exif-samples, imagenet-samples) and on LFW grids (8 x 6 and 10 x 7 faces upscaled to 3264-4000 px,
generated into a temporary folder):

    .venv/bin/python benchmarks/decode_draft.py [--fractions 0.9,0.75,0.5] [--data ../shared/data] [--heic]

--heic instead reports, per HEIC/HEIF file of the data: its size, the embedded thumbnails' sizes, and the
CPU ms of libheif's decode (Pillow's load) against galprof's whole `decode_image`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from galprof.config import Settings
from galprof.media import decode
from galprof.vision.analyzer import FrameAnalyzer

SKIP = ("lfw", "utkface", "food101", "videos")


def large_jpegs(data: Path) -> list[Path]:
    found = []
    for path in sorted(data.rglob("*")):
        if not path.is_file() or any(part in SKIP for part in path.parts):
            continue
        try:
            with Image.open(path) as im:
                if im.format == "JPEG" and max(im.size) > 1024 * 1.1:
                    found.append(path)
        except (OSError, ValueError, Image.DecompressionBombError):  # not an image
            continue
    return found


def lfw_grids(data: Path, dest: Path) -> list[Path]:
    files = sorted((data / "lfw").glob("*/*.jpg"))
    rng = np.random.default_rng(0)
    grids = []
    for g, (cols, rows, tile) in enumerate([(8, 6, 408)] * 3 + [(10, 7, 400)] * 3):
        canvas = Image.new("RGB", (cols * tile, rows * tile))
        for i, k in enumerate(rng.choice(len(files), cols * rows, replace=False)):
            face = Image.open(files[k]).convert("RGB").resize((tile, tile), Image.Resampling.BICUBIC)
            canvas.paste(face, ((i % cols) * tile, (i // cols) * tile))
        grids.append(dest / f"grid{g}.jpg")
        canvas.save(grids[-1], quality=90)
    return grids


def run(analyzer: FrameAnalyzer, paths: list[Path], fraction: float) -> tuple[list[dict], float]:
    decode.DRAFT_FRACTION = fraction
    answers, cpu = [], []
    for path in paths:
        started = time.process_time()
        decoded = decode.decode_image(str(path))
        cpu.append(time.process_time() - started)
        facts = analyzer.analyze(decoded.rgb)
        answers.append({"faces": [(f.box, f.embedding) for f in facts.faces],
                        "top5": [c.label for c in facts.classes[:5]],
                        "objects": sorted(o.label for o in facts.objects if o.score >= 0.5)})
    return answers, statistics.fmean(cpu) * 1000


def _iou(a, b) -> float:
    inter = max(0.0, min(a.x2, b.x2) - max(a.x1, b.x1)) * max(0.0, min(a.y2, b.y2) - max(a.y1, b.y1))
    return inter / ((a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter)


def compare(ref: list[dict], new: list[dict]) -> dict:
    distances = []
    for r, n in zip(ref, new, strict=True):
        for box, emb in r["faces"]:
            overlap, other = max(((_iou(box, b), e) for b, e in n["faces"]), default=(0.0, None), key=lambda t: t[0])
            if overlap >= 0.5:
                distances.append(float(np.linalg.norm(emb - other)))
    return {"faces": [sum(len(r["faces"]) for r in ref), sum(len(n["faces"]) for n in new)],
            "faces_matched": len(distances),
            "embedding_distance_max": round(max(distances), 4) if distances else None,
            "top1_same": sum(r["top5"][:1] == n["top5"][:1] for r, n in zip(ref, new, strict=True)),
            "top5_overlap": round(statistics.fmean(len(set(r["top5"]) & set(n["top5"])) / 5
                                                   for r, n in zip(ref, new, strict=True)), 3),
            "objects_same": sum(r["objects"] == n["objects"] for r, n in zip(ref, new, strict=True))}


def heic_split(data: Path) -> list[dict]:
    rows = []
    for path in sorted(p for p in data.rglob("*") if p.suffix.lower() in (".heic", ".heif")):
        import pillow_heif

        thumbnails = pillow_heif.open_heif(str(path)).info.get("thumbnails") or []
        started = time.process_time()
        with Image.open(path) as im:
            im.load()
            size = im.size
        libheif_ms = (time.process_time() - started) * 1000
        started = time.process_time()
        decode.decode_image(str(path))
        rows.append({"file": path.name, "size": size, "thumbnails": thumbnails, "libheif_load_ms": round(libheif_ms),
                     "decode_image_ms": round((time.process_time() - started) * 1000)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--fractions", default="0.9,0.75,0.5")
    parser.add_argument("--heic", action="store_true")
    args = parser.parse_args()
    if args.heic:
        for row in heic_split(args.data):
            print(json.dumps(row))
        return
    analyzer = FrameAnalyzer(Settings(ocr=False), threads=1)
    with tempfile.TemporaryDirectory(prefix="galprof-grids-") as tmp:
        sets = {"large JPEGs": large_jpegs(args.data), "LFW grids": lfw_grids(args.data, Path(tmp))}
        report = {}
        for name, paths in sets.items():
            run(analyzer, paths[:3], 0.9)  # warm-up
            ref, ref_ms = run(analyzer, paths, 0.9)
            rows = {"photos": len(paths), "0.9": {"decode_ms": round(ref_ms, 1)}}
            for fraction in (float(f) for f in args.fractions.split(",")):
                if fraction == 0.9:
                    continue
                new, ms = run(analyzer, paths, fraction)
                rows[str(fraction)] = {"decode_ms": round(ms, 1), **compare(ref, new)}
            report[name] = rows
            print(name, json.dumps(rows), flush=True)


if __name__ == "__main__":
    main()
