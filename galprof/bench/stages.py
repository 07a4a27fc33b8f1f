"""Per-frame latency of the model classes with their pre/post-processing, on the scan's own frames."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from galprof.bench.decode import scan_frame
from galprof.bench.timing import Progress, summarize
from galprof.config import Settings


def _stage_factories(settings: Settings, threads: int) -> list[tuple[str, Callable[[], Callable]]]:
    """(name, factory) for each stage class of the contracts; a factory returns a per-frame callable."""

    def faces(precision: str) -> Callable:
        from galprof.vision.faces import FacePipeline

        return FacePipeline(threads=threads, precision=precision).run

    def objects(precision: str) -> Callable:
        from galprof.vision.nanodet import ObjectDetector

        return ObjectDetector(threads=threads, precision=precision).detect

    def classifier(precision: str) -> Callable:
        from galprof.vision.classifier import PhotoClassifier

        return PhotoClassifier(threads=threads, precision=precision).classify

    def analyzer() -> Callable:
        from galprof.vision.analyzer import FrameAnalyzer

        return FrameAnalyzer(settings, threads=threads).analyze

    return [
        ("faces int8", lambda: faces("int8")),
        ("faces fp32", lambda: faces("fp32")),
        ("objects int8", lambda: objects("int8")),
        ("objects fp32", lambda: objects("fp32")),
        ("classifier int8", lambda: classifier("int8")),
        ("classifier fp32", lambda: classifier("fp32")),
        ("frame analyzer", analyzer),
    ]


def _frames(photos: list[Path], settings: Settings) -> list:
    """The frames the scan's models would see (unreadable photos are the decode table's business)."""
    from galprof.media.decode import DecodeError

    frames = []
    for path in photos:
        try:
            frames.append(scan_frame(path, settings.max_side, settings.decode_memory_mb * 2**20))
        except DecodeError:
            pass
    return frames


def _load_stages(settings: Settings, threads: int, progress: Progress) -> tuple[list[dict], list[tuple]]:
    rows, loaded = [], []
    for name, factory in _stage_factories(settings, threads):
        progress(f"loading stage {name}")
        row: dict = {"stage": name}
        rows.append(row)
        try:
            start = time.perf_counter()
            fn = factory()
            row["load_ms"] = round((time.perf_counter() - start) * 1000, 1)
        except (ImportError, FileNotFoundError, KeyError, TypeError, ValueError) as exc:
            row["skipped"] = f"{type(exc).__name__}: {exc}"
            continue
        loaded.append((row, fn, []))
    return rows, loaded


def _stage_ratios(rows: list[dict]) -> list[dict]:
    ratios = []
    timed = {r["stage"]: r for r in rows if "median_ms" in r}
    for base in ("faces", "objects", "classifier"):
        int8, fp32 = timed.get(f"{base} int8"), timed.get(f"{base} fp32")
        if int8 and fp32 and int8["mean_ms"]:
            # the mean over the same frames: medians of mixed frames (with and without faces) jump
            ratios.append({"stage": base, "int8_ms": int8["mean_ms"], "fp32_ms": fp32["mean_ms"],
                           "fp32_over_int8": round(fp32["mean_ms"] / int8["mean_ms"], 2)})
    return ratios


def bench_stages(photos: list[Path], settings: Settings, repeats: int, progress: Progress) -> dict:
    """Per-frame latency of each model class with its pre/post-processing, on real decoded photos,
    at the thread count one scan worker uses; plus fp32 / int8 ratios of the stages.

    All stages are loaded first and timed in interleaved rounds (each stage on each frame per round),
    so that changing load on a shared machine does not favour one of them."""
    threads = settings.resolved_threads()
    frames = _frames(photos, settings)
    if not frames:
        return {"threads": threads, "stages": [], "precision_ratios": [], "skipped": "no decodable photo"}
    rows, loaded = _load_stages(settings, threads, progress)
    progress(f"timing {len(loaded)} stages on {len(frames)} frames")
    for _row, fn, _samples in loaded:  # warm-up pass: first calls allocate arenas
        for frame in frames:
            fn(frame)
    for _ in range(max(1, repeats // len(frames))):
        for frame in frames:
            for _row, fn, samples in loaded:
                start = time.perf_counter()
                fn(frame)
                samples.append(time.perf_counter() - start)
    for row, _fn, samples in loaded:
        row.update(summarize(samples))
    del loaded
    return {"threads": threads, "frames": len(frames), "stages": rows, "precision_ratios": _stage_ratios(rows)}
