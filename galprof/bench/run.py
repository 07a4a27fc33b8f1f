"""`galprof bench` as one run: every part in an order that keeps the figures honest, one JSON-ready report."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from galprof.bench.decode import bench_decode
from galprof.bench.floor import bench_floor, compare_to_scan
from galprof.bench.growth import estimate
from galprof.bench.inputs import build_default_set, list_media, spread
from galprof.bench.memory import peak_rss
from galprof.bench.models import bench_models
from galprof.bench.probe import hardware_info, library_versions, thread_counts
from galprof.bench.scan import bench_scan
from galprof.bench.stages import bench_stages
from galprof.bench.timing import Progress
from galprof.config import Settings

SCHEMA = 1


@dataclass
class BenchOptions:
    """What to measure. `folder=None` means the built-in set (sample gallery + synthetic 12 MP JPEGs)."""

    folder: Path | None = None
    repeats: int = 20  # timed calls per model and thread count
    warmup: int = 3
    threads: list[int] | None = None  # None: 1, 2, 4, ... up to the core count
    estimate: int = 20000  # photos in the gallery to estimate
    synthetic: int = 4  # synthetic 12 MP JPEGs added to the built-in set
    decode_photos: int = 12  # photos sampled for the decode table
    stage_photos: int = 8  # photos sampled for the per-stage latency
    floor_photos: int = 32  # photos sampled for the floor's decode
    models: bool = True
    stages: bool = True
    scan: bool = True
    floor: bool = True
    precision_pairs: bool = True
    settings: Settings = field(default_factory=Settings)
    work_dir: Path | None = None  # where the built-in set and the temporary cache go; None: a temp dir


def _input(options: BenchOptions, work: Path, progress: Progress) -> tuple[Path, str]:
    if options.folder is not None:
        return options.folder, "user folder"
    progress("building the sample set (sample gallery + synthetic 12 MP JPEGs)")
    return build_default_set(work / "gallery", options.synthetic), "built-in: galprof.samples + synthetic 12 MP JPEGs"


def _measure(options: BenchOptions, work: Path, progress: Progress, report: dict) -> None:
    """Every part into `report`, in order: the scan runs before this process loads any model, so its
    memory figures are a real scan's."""
    folder, source = _input(options, work, progress)
    settings = options.settings
    photos, videos = list_media(folder)
    report["input"] = {"folder": str(folder), "source": source, "photos": len(photos), "videos": len(videos),
                       "bytes": sum(p.stat().st_size for p in photos + videos)}
    report["decode"] = bench_decode(spread(photos, options.decode_photos), settings.max_side,
                                    max(1, options.repeats // 4), settings.decode_memory_mb * 2**20)
    report["scan"] = _guard(lambda: bench_scan(folder, settings, work, progress), options.scan)
    threads = options.threads or thread_counts()
    report["threads"] = threads
    report["models"] = _guard(lambda: bench_models(threads, options.repeats, options.warmup, progress),
                              options.models)
    report["stages"] = _guard(lambda: bench_stages(spread(photos, options.stage_photos), settings,
                                                   options.repeats, progress), options.stages)
    report["floor"] = _guard(lambda: bench_floor(spread(photos, options.floor_photos), options.repeats,
                                                 options.warmup, progress), options.floor)
    if "floor_ms_per_photo" in report["floor"]:
        report["floor"].update(compare_to_scan(report["floor"], report["scan"]))
    scan = report["scan"] if "first" in report["scan"] else None
    analyzer_ms = None
    for row in report["stages"].get("stages", []):
        if row.get("stage") == "frame analyzer" and "median_ms" in row:
            analyzer_ms = row["median_ms"]
    report["estimate"] = estimate(options.estimate, scan, analyzer_ms, settings.resolved_workers())


def run_bench(options: BenchOptions, progress: Progress | None = None) -> dict:
    """Run every part of the benchmark and return the JSON-ready report."""
    progress = progress or (lambda message: None)
    report: dict = {"schema": SCHEMA, "hardware": hardware_info(), "versions": library_versions(),
                    "settings": options.settings.to_dict()}
    own_tmp = None
    if options.work_dir is None:
        own_tmp = tempfile.TemporaryDirectory(prefix="galprof-bench-")
        work = Path(own_tmp.name)
    else:
        work = options.work_dir
        work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        _measure(options, work, progress, report)
    finally:
        report["memory"] = peak_rss()
        report["memory"]["tree_peak_mb"] = max(
            [report.get("scan", {}).get(k, {}).get("tree_peak_rss_mb", 0) for k in ("first", "rescan")] + [0])
        report["bench_seconds"] = round(time.perf_counter() - started, 1)
        if own_tmp is not None:
            own_tmp.cleanup()
    return report


def _guard(fn: Callable[[], dict], enabled: bool) -> dict:
    """Run one part; a part that cannot run here (a module or model missing, the scan refusing to
    start) is reported as skipped with the reason, so the other parts still give their figures."""
    if not enabled:
        return {"skipped": "disabled by option"}
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - one part failing must not lose the others' figures
        return {"skipped": f"{type(exc).__name__}: {exc}"}
