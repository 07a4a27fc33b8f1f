"""The floor: the least CPU a photo can cost on this machine, measured in the same run as the scan.

Per photo: Pillow's JPEG draft decode at 1/8 scale (DCT scaling only: no resize, no colour fixes, no
EXIF) plus one bare 1-thread `session.run` of each model a photo goes through, at its input size
(BlazeFace full-range at 192 px, NanoDet, EfficientNet-Lite0, and the face heads once, as for a photo
with one face). No Python pre/post-processing, no OCR, no cache, no profile. Timed in CPU time of this
process (one thread does the work, nothing else runs in it meanwhile), as the scan's steady CPU per
file is: on a shared machine wall-clock medians grow with the neighbours' load, CPU time much less.
The scan's figure divided by this sum says how far the whole path is from what the libraries need.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import numpy as np

from galprof.bench.models import input_tensor
from galprof.bench.timing import Progress, summarize, time_calls

# the models one photo goes through in a scan, by manifest name (default precision of each)
FLOOR_MODELS = ("blazeface_full", "nanodet", "efficientnet_lite0", "face_embedding", "age", "gender")
DRAFT_SCALE = 8


def draft_eighth(path: Path) -> np.ndarray:
    """Pillow's cheapest decode of a photo: JPEG DCT scaling to 1/8 (other formats decode as they are)."""
    from PIL import Image

    with Image.open(path) as im:
        im.draft("RGB", (max(1, im.width // DRAFT_SCALE), max(1, im.height // DRAFT_SCALE)))
        im.load()
        return np.asarray(im)


def _decode_floor(photos: list[Path], repeats: int) -> dict:
    medians, errors = [], []
    for path in photos:
        try:
            timed = time_calls(lambda p=path: draft_eighth(p), repeats, warmup=1, clock=time.process_time)
            medians.append(timed["median_ms"])
        except Exception as exc:  # noqa: BLE001 - a bad file is the decode table's business
            errors.append(f"{path.name}: {exc}")
    mean = round(statistics.fmean(medians), 3) if medians else None
    return {"photos": len(medians), "mean_ms": mean, "errors": errors}


def _models_floor(repeats: int, warmup: int) -> list[dict]:
    """Median of a bare 1-thread run of each floor model, timed in interleaved rounds."""
    from galprof.vision.onnx_model import OnnxModel
    from galprof.vision.registry import load_manifest

    manifest = load_manifest()
    rng = np.random.default_rng(0)
    runs = []
    for name in FLOOR_MODELS:
        entry = manifest[name]
        model = OnnxModel(entry.path(), threads=1)
        tensor = input_tensor(model.session, entry.input, rng)
        runs.append((name, list(tensor.shape), model.session, {model.input_name: tensor}, []))
    for _ in range(warmup):
        for _name, _shape, session, feed, _samples in runs:
            session.run(None, feed)
    for _ in range(max(1, repeats)):
        for _name, _shape, session, feed, samples in runs:
            samples.append(_timed_run(session, feed))
    return [{"model": name, "input_shape": shape, **summarize(samples)} for name, shape, _s, _f, samples in runs]


def _timed_run(session, feed: dict) -> float:
    start = time.process_time()
    session.run(None, feed)
    return time.process_time() - start


def bench_floor(photos: list[Path], repeats: int, warmup: int, progress: Progress) -> dict:
    """The floor per photo: draft 1/8 decode (mean over `photos`) + one bare run of each floor model."""
    progress(f"floor: Pillow draft 1/8 decode of {len(photos)} photos, bare 1-thread runs of {len(FLOOR_MODELS)} "
             "models")
    decode = _decode_floor(photos, max(1, repeats // 4))
    models = _models_floor(repeats, warmup)
    models_ms = round(sum(row["median_ms"] for row in models), 3)
    total = round(decode["mean_ms"] + models_ms, 3) if decode["mean_ms"] is not None else None
    return {"clock": "CPU time of this process", "decode": decode, "models": models,
            "decode_ms_per_photo": decode["mean_ms"],
            "models_ms_per_photo": models_ms, "floor_ms_per_photo": total}


def compare_to_scan(floor: dict, scan: dict) -> dict:
    """The scan's steady CPU per file against the floor, as a ratio (None with a reason when either is missing)."""
    steady = scan.get("steady_cpu_ms_per_file")
    if not floor.get("floor_ms_per_photo") or not steady:
        return {"steady_cpu_ms_per_file": steady, "scan_over_floor": None,
                "note": "no ratio: this run has no steady CPU figure of a scan (a scan of more files than "
                        "the start-up scan's is needed) or no floor"}
    out = {"steady_cpu_ms_per_file": steady, "scan_over_floor": round(steady / floor["floor_ms_per_photo"], 2)}
    videos = scan.get("first", {}).get("videos")
    if videos:
        out["note"] = f"the scan's files include {videos} video(s), whose frames cost more than one photo"
    return out
