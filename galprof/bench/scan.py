"""Timed scans as the CLI runs them (`pipeline.scan`, then the profile and its JSON text), the re-scan
of the unchanged folder, and the steady per-file rates that the estimate (`growth`) starts from."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np

from galprof.bench.inputs import list_media
from galprof.bench.memory import TreeMemorySampler, cpu_seconds
from galprof.bench.probe import usable_cores
from galprof.bench.timing import Progress
from galprof.config import Settings


def _count_media(result) -> tuple[int, int, int]:
    """(photos, videos, frames) analysed in a scan result."""
    photos = videos = frames = 0
    for media in result.iter_media():
        if media.kind == "video":
            videos += 1
        else:
            photos += 1
        frames += len(media.frames)
    return photos, videos, frames


def profile_step(result, settings: Settings) -> dict:
    """The profile step of `galprof scan`: the document (reused from the cache when nothing changed)
    and its JSON text, timed apart."""
    from galprof.profile_cache import profile_for_scan
    from galprof.render.json import dumps

    start = time.perf_counter()
    document = profile_for_scan(result, settings)
    built = time.perf_counter()
    text = dumps(document)
    done = time.perf_counter()
    return {"profile_s": round(done - start, 3), "profile_build_s": round(built - start, 3),
            "profile_json_s": round(done - built, 3), "profile_bytes": len(text.encode()),
            "profile_reused": bool(document.get("scan", {}).get("profile_reused"))}


def _rates(files: int, photos: int, videos: int, frames: int, wall: float, cpu: float) -> dict:
    return {
        "files_per_s": round(files / wall, 2) if wall else None,
        "photos_per_s": round(photos / wall, 2) if wall and not videos else None,
        "frames_per_s": round(frames / wall, 2) if wall else None,
        # CPU time of this process and its (finished) workers: on a shared machine the wall time
        # depends on the neighbours, the CPU time much less; cores / CPU per file is the rate on idle cores
        "cpu_s": round(cpu, 3),
        "cpu_ms_per_file": round(1000 * cpu / files, 1) if files else None,
        "idle_cores_files_per_s": round(usable_cores() * files / cpu, 2) if cpu > 0 and files else None,
    }


def _worker_split(stats: dict, analyzed: int, new_frames: int) -> dict:
    """Where the workers spent their time, per analysed file / frame (worker wall time, summed)."""
    parts = stats.get("seconds", {})

    def per(key: str, count: int) -> float | None:
        return round(1000 * parts[key] / count, 1) if count and key in parts else None

    return {"decode_ms_per_file": per("decode_cpu", analyzed), "exif_ms_per_file": per("exif_cpu", analyzed),
            "analyze_ms_per_frame": per("analyze_cpu", new_frames)}


def timed_scan(folder: Path, settings: Settings, cache_path: Path) -> dict:
    """One scan of a folder into the given cache as `galprof scan` does it: `pipeline.scan`, then the
    profile and its JSON text. wall_s is the whole (scan_s + profile_s); counts, rates, the pipeline's
    own stats, and the summed RSS of the process tree sampled while it runs."""
    from galprof.pipeline import scan

    cpu_before = cpu_seconds()
    with TreeMemorySampler() as memory:
        start = time.perf_counter()
        result = scan(folder, settings, cache_path=cache_path, quiet=True)
        scan_s = time.perf_counter() - start
        scan_cpu = cpu_seconds() - cpu_before  # the pool's workers have been waited for by now
        try:
            profile = profile_step(result, settings)
            wall = time.perf_counter() - start
            cpu = cpu_seconds() - cpu_before
            photos, videos, frames = _count_media(result)  # not part of a scan: after the clocks stop
        finally:
            result.store.close()
    files = photos + videos
    stats = dict(result.stats)
    analyzed = stats.get("analyzed", files)
    return {
        "wall_s": round(wall, 3),
        "scan_s": round(scan_s, 3),
        **profile,
        "scan_cpu_s": round(scan_cpu, 3),
        "profile_cpu_s": round(cpu - scan_cpu, 3),
        "files": files,
        "photos": photos,
        "videos": videos,
        "frames": frames,
        "analyzed": analyzed,
        "cached": stats.get("cached"),
        "errors": len(result.errors),
        **_rates(files, photos, videos, frames, wall, cpu),
        **_worker_split(stats, analyzed, stats.get("frames", frames)),
        "tree_peak_rss_mb": memory.peak_mb,
        "rss_before_mb": round(memory.baseline_kb / 1024, 1),
        "signature": result.signature,
        "pipeline_stats": _jsonable(stats),
    }


def _startup_scan(photos: list[Path], settings: Settings, work: Path, progress: Progress) -> dict:
    """A scan of one small photo per worker, so that it starts the same pool the real one does."""
    few = work / "startup"
    shutil.rmtree(few, ignore_errors=True)
    few.mkdir(parents=True)
    smallest = min(photos, key=lambda p: p.stat().st_size)
    for i in range(settings.resolved_workers()):
        shutil.copy2(smallest, few / f"{i}-{smallest.name}")
    progress("start-up cost: a scan of one small photo per worker")
    return timed_scan(few, settings, work / "startup.sqlite")


def bench_scan(folder: Path, settings: Settings, work: Path, progress: Progress, startup: bool = True) -> dict:
    """First scan of a folder into a fresh cache, then a re-scan of the unchanged folder.

    With `startup`, a scan of a folder of one small photo per worker first measures the fixed cost of a
    scan (worker start-up, model loading), so that the steady rate of a large gallery can be told from
    it: steady seconds per file = (first scan - start-up scan) / (files - start-up files)."""
    cache = work / "bench-cache.sqlite"
    for leftover in work.glob("bench-cache.sqlite*"):
        leftover.unlink()
    result: dict = {"folder": str(folder), "workers": settings.resolved_workers(),
                    "threads_per_worker": settings.resolved_threads()}
    photos, _ = list_media(folder)
    if startup and photos:
        result["startup"] = _startup_scan(photos, settings, work, progress)
    progress(f"scan {folder} (first, {settings.resolved_workers()} worker(s) x "
             f"{settings.resolved_threads()} thread(s))")
    first = timed_scan(folder, settings, cache)
    progress("re-scan of the unchanged folder")
    again = timed_scan(folder, settings, cache)
    result.update(first=first, rescan=again,
                  first_over_rescan=round(first["wall_s"] / again["wall_s"], 1) if again["wall_s"] else None)
    if first["signature"] != again["signature"]:
        # the cache is keyed by the model files and settings: a model rebuilt during the first scan
        # makes the re-scan analyse everything again, which is right, but is not a re-scan figure
        result["rescan_note"] = "models or settings changed between the two scans: the re-scan re-analysed"
    if "startup" in result and first["files"] > result["startup"]["files"]:
        result.update(_steady(result["startup"], first))
    return result


def _steady(startup: dict, first: dict) -> dict:
    """Seconds per file of a large gallery, start-up removed. The scan part: (first - start-up) / the
    extra files. The profile part: the first scan's profile per file, since the start-up scan already
    paid the profile step's one-time cost (its imports, ~1-4 s, once per process as in the CLI)."""
    extra_files = first["files"] - startup["files"]
    steady = (max(first["scan_s"] - startup["scan_s"], 1e-6) / extra_files
              + first["profile_s"] / first["files"])
    steady_cpu = (max(first["scan_cpu_s"] - startup["scan_cpu_s"], 1e-6) / extra_files
                  + first["profile_cpu_s"] / first["files"])
    return {"steady_files_per_s": round(1 / steady, 2), "steady_cpu_ms_per_file": round(1000 * steady_cpu, 1),
            "steady_scan_s_per_file": round(max(first["scan_s"] - startup["scan_s"], 1e-6) / extra_files, 4),
            "steady_idle_cores_files_per_s": round(usable_cores() / steady_cpu, 2)}


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, float):
        return round(value, 4)
    if value is None or isinstance(value, (str, int, bool)):
        return value
    return str(value)
