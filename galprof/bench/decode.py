"""Decode time by photo size: galprof's own decoder (the one the scan runs) against a full decode.

`media.decode.decode_image` is timed as the scan calls it (max_side, decode memory budget), so the
figure is the scan's decode; Pillow's full-size decode is the reference it saves against.
"""

from __future__ import annotations

import statistics
from pathlib import Path

import numpy as np

from galprof.bench.timing import time_calls
from galprof.media.decode import DEFAULT_MEMORY_BUDGET, decode_image

GALPROF_DECODER = "galprof.media.decode.decode_image"

# (upper limit in megapixels, name) of the decode table's size classes, smallest first
SIZE_CLASSES = ((0.5, "<0.5 MP"), (2, "0.5-2 MP"), (6, "2-6 MP"), (10, "6-10 MP"), (16, "10-16 MP"),
                (float("inf"), ">16 MP"))


def size_class(megapixels: float) -> str:
    return next(name for limit, name in SIZE_CLASSES if megapixels < limit)


def decode_full(path: Path) -> np.ndarray:
    """The reference: Pillow's decode at full size, converted to RGB."""
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def scan_frame(path: Path, max_side: int, memory_budget: int = DEFAULT_MEMORY_BUDGET) -> np.ndarray:
    """The RGB frame the scan's models see for this photo (galprof's decoder, as the pipeline calls it)."""
    return decode_image(str(path), max_side, memory_budget).rgb


def _time_photo(path: Path, max_side: int, memory_budget: int, repeats: int) -> dict:
    """Median ms of each decode of one photo, with its size and format."""
    from PIL import Image

    with Image.open(path) as im:
        width, height, fmt = im.width, im.height, im.format
    smaller = max(1, max_side * 3 // 4)
    full = time_calls(lambda: decode_full(path), repeats, warmup=1)
    own = time_calls(lambda: decode_image(str(path), max_side, memory_budget), repeats, warmup=1)
    coarse = time_calls(lambda: decode_image(str(path), smaller, memory_budget), repeats, warmup=1)
    return {"megapixels": width * height / 1e6, "format": fmt, "full_ms": full["median_ms"],
            "galprof_ms": own["median_ms"], "draft_3_4_ms": coarse["median_ms"]}


def _size_row(name: str, timed: list[dict]) -> dict:
    full_ms = statistics.median(t["full_ms"] for t in timed)
    own_ms = statistics.median(t["galprof_ms"] for t in timed)
    return {
        "size": name,
        "photos": len(timed),
        "median_megapixels": round(statistics.median(t["megapixels"] for t in timed), 2),
        "formats": sorted({t["format"] or "?" for t in timed}),
        "full_ms": round(full_ms, 2),
        # the draft (DCT-scaled) decode is galprof's decoder itself: both keys hold that one figure
        "draft_ms": round(own_ms, 2),
        "full_over_draft": round(full_ms / own_ms, 2) if own_ms else None,
        # galprof's decoder to a frame of 3/4 max_side: what a smaller frame would save
        "draft_3_4_ms": round(statistics.median(t["draft_3_4_ms"] for t in timed), 2),
        "galprof_ms": round(own_ms, 2),
    }


def bench_decode(photos: list[Path], max_side: int, repeats: int,
                 memory_budget: int = DEFAULT_MEMORY_BUDGET) -> dict:
    """Decode time per photo size class: full decode, galprof's decoder to max_side, and to 3/4 of it."""
    by_class: dict[str, list[dict]] = {}
    errors = []
    for path in photos:
        try:
            timed = _time_photo(path, max_side, memory_budget, repeats)
        except Exception as exc:  # noqa: BLE001 - a bad file is reported, never fatal
            errors.append(f"{path.name}: {exc}")
            continue
        by_class.setdefault(size_class(timed["megapixels"]), []).append(timed)
    table = [_size_row(name, by_class[name]) for _limit, name in SIZE_CLASSES if name in by_class]
    return {"max_side": max_side, "galprof_decoder": GALPROF_DECODER, "by_size": table, "errors": errors}
