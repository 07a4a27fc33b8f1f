"""The scan: discover -> skip cached -> decode + analyze in a worker pool -> store, never stopping on a
bad file.

Every file ends as exactly one of: cached (unchanged since a previous scan with the same models),
analyzed (a new row committed at once) or failed (a ScanError with the stage and a one-line reason; no
row, so the next scan retries it). Rows of files that disappeared from the folder are dropped.

Workers are processes (`spawn`), each loading the models once in its initializer; onnxruntime gets
cores // workers threads each. With one worker everything runs in this process. Results are written
by this process only, as they arrive, so killing the scan loses only the files in flight. A worker
that dies (a decoder crash) breaks the pool: the files it had in flight are retried one at a time in a
fresh pool, so only the file that really crashes it is reported. In-process scans note the file in
flight in the store, so a crash there is survived by the next scan the same way.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sqlite3
import stat
import sys
import threading
import time
import warnings as pywarnings
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from galprof.cache_file import CacheError
from galprof.config import Settings
from galprof.facts import MediaFacts, ScanError
from galprof.media.decode import DecodeError, decode_image
from galprof.media.discover import DiscoverNote, MediaItem, discover, display_path, real_path, suffix_mismatch
from galprof.media.exif import exif_from_container, mtime_fallback, read_photo_exif
from galprof.media.video import VideoError, sample_video
from galprof.render.safe import safe_text
from galprof.store import Store

# Builds the per-worker frame analyzer; the default loads every packaged model (FrameAnalyzer).
AnalyzerFactory = Callable[[Settings, int], object]


class ScanUsageError(Exception):
    """The scan cannot start (missing folder, models, cache): a one-line message, exit code 2."""


@dataclass
class ItemResult:
    """What a worker returns for one file."""

    path: str
    media: MediaFacts | None = None
    error: ScanError | None = None
    notes: list[ScanError] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass
class ScanResult:
    """The outcome of a scan. `paths` are the media files now in the gallery (display paths, sorted,
    failed ones included); `iter_media()` yields the stored facts of those that could be analyzed."""

    folder: str
    store: Store
    paths: list[str]
    errors: list[ScanError]
    warnings: list[ScanError]
    stats: dict
    signature: str = ""

    def iter_media(self) -> Iterator[MediaFacts]:
        return self.store.iter_media(self.paths)


# --- one file ---------------------------------------------------------------------------------------

def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:200] if text else type(exc).__name__


def _escape_note(path: str) -> str:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return "file name is not valid UTF-8; shown with \\x escapes (and any backslash doubled)"
    return "file name holds a backslash; shown doubled (\\\\) so that it cannot read as a \\x escape"


def process_item(item: MediaItem, settings: Settings, analyzer, threads: int = 1) -> ItemResult:
    """Read, decode and analyze one file. Never raises for a bad file: failures become `error`.
    Library warnings raised meanwhile (Pillow, numpy, ...) become notes on the file, not stderr lines."""
    with pywarnings.catch_warnings(record=True) as caught:
        pywarnings.simplefilter("always")
        result = _process_item(item, settings, analyzer, threads)
    reasons = []
    for warning in caught:
        text = str(warning.message).strip().splitlines()
        reason = f"{warning.category.__name__}: {text[0][:160] if text else ''}".rstrip(": ")
        if reason not in reasons:  # the same warning once per file (e.g. one per video frame)
            reasons.append(reason)
    result.notes.extend(ScanError(item.display, "analyze", reason) for reason in reasons)
    return result


def _process_item(item: MediaItem, settings: Settings, analyzer, threads: int) -> ItemResult:
    result = ItemResult(path=item.display)
    mismatch = suffix_mismatch(item)
    if mismatch:
        result.notes.append(ScanError(item.display, "discover", mismatch))
    if item.display != item.path:
        result.notes.append(ScanError(item.display, "discover", _escape_note(item.path)))
    try:
        st = os.stat(item.path)
    except FileNotFoundError:
        result.error = ScanError(item.display, "read", "file vanished during the scan")
        return result
    except OSError as exc:
        result.error = ScanError(item.display, "read", f"cannot stat: {exc.strerror or exc}")
        return result
    if not stat.S_ISREG(st.st_mode):
        result.error = ScanError(item.display, "read", "not a regular file (replaced during the scan?)")
        return result
    media = MediaFacts(path=item.display, kind=item.kind, format=item.format, size=st.st_size,
                       mtime=st.st_mtime)
    t0 = time.process_time()
    try:
        if item.kind == "photo":
            media.exif = read_photo_exif(item.path)
            t1 = time.process_time()
            decoded = decode_image(item.path, settings.max_side, settings.decode_memory_mb * 2**20)
            t2 = time.process_time()
            media.exif.width, media.exif.height = decoded.original_width, decoded.original_height
            if media.exif.orientation is None:
                media.exif.orientation = decoded.orientation
            frames = [(decoded.rgb, None)]
        else:
            t1 = time.process_time()
            sample = sample_video(item.path, settings.video_fps, settings.video_max_frames, settings.max_side,
                                  threads=threads)
            t2 = time.process_time()
            media.exif = exif_from_container(sample.metadata)
            media.exif.width, media.exif.height = sample.width, sample.height
            media.duration, media.fps = sample.duration, sample.fps
            if sample.problem:
                result.notes.append(ScanError(item.display, "decode", sample.problem))
            result.notes.extend(ScanError(item.display, "decode", note) for note in sample.notes)
            frames = [(f.rgb, f.timestamp) for f in sample.frames]
    except (DecodeError, VideoError) as exc:
        result.error = ScanError(item.display, "decode", str(exc))
        return result
    except MemoryError:
        result.error = ScanError(item.display, "decode", "out of memory while decoding")
        return result
    except Exception as exc:  # noqa: BLE001 - an unexpected decoder failure is still one bad file
        result.error = ScanError(item.display, "decode", _one_line(exc))
        return result
    mtime_fallback(media.exif, st.st_mtime)
    try:
        if hasattr(analyzer, "analyze_frames"):  # decides on all frames of a file at once (scan --remote)
            media.frames = analyzer.analyze_frames(frames)
        else:
            media.frames = [analyzer.analyze(rgb, timestamp) for rgb, timestamp in frames]
    except Exception as exc:  # noqa: BLE001 - a model failing on one frame must not stop the scan
        result.error = ScanError(item.display, "analyze", _one_line(exc))
        return result
    t3 = time.process_time()
    result.seconds = {"exif": t1 - t0, "decode": t2 - t1, "analyze": t3 - t2}
    result.media = media
    return result


# --- worker processes -------------------------------------------------------------------------------

_WORKER: dict = {}


def _default_factory(settings: Settings, threads: int):
    from galprof.vision.analyzer import FrameAnalyzer

    return FrameAnalyzer(settings, threads=threads)


def _exit_with_parent(parent: int) -> None:
    """Worker watchdog: a scan killed with SIGKILL cannot stop its pool, so each worker leaves by
    itself once its parent is gone (it would otherwise wait on the task queue forever)."""
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(0)


def _init_worker(settings: Settings, threads: int, factory: AnalyzerFactory) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is handled by the main process
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    _WORKER["settings"], _WORKER["threads"] = settings, threads
    try:
        _WORKER["analyzer"] = factory(settings, threads)
    except Exception as exc:  # noqa: BLE001 - reported by the first task, as a fatal scan error
        _WORKER["error"] = f"cannot load the models: {_one_line(exc)}"


class _ModelLoadError(Exception):
    pass


def _work(item: MediaItem) -> ItemResult:
    if "error" in _WORKER:
        raise _ModelLoadError(_WORKER["error"])
    return process_item(item, _WORKER["settings"], _WORKER["analyzer"], _WORKER["threads"])


# --- the scan -----------------------------------------------------------------------------------------

def scan(folder: str | os.PathLike, settings: Settings | None = None, cache_path: str | os.PathLike | None = None,
         quiet: bool = False, include: tuple[str, ...] = (), exclude: tuple[str, ...] = (),
         analyzer_factory: AnalyzerFactory | None = None) -> ScanResult:
    """Scan `folder` and return the ScanResult (its store stays open: close `result.store` when done).

    Raises ScanUsageError when the folder does not exist, the cache cannot be opened or the models
    cannot be loaded. `analyzer_factory(settings, threads)` replaces the packaged models (tests, other
    engines); it must be picklable for workers > 1. Workers are spawned processes: a script calling
    this with workers > 1 needs the usual `if __name__ == "__main__":` guard.
    """
    settings = settings or Settings()
    started = time.perf_counter()
    root = Path(folder)
    if not root.exists():
        raise ScanUsageError(f"folder not found: {root}")
    if not root.is_dir():
        raise ScanUsageError(f"not a folder: {root}")
    root_abs = os.path.abspath(root)
    factory = analyzer_factory or _default_factory
    signature = _signature(settings, analyzer_factory)
    try:
        store = Store(cache_path)
    except CacheError as exc:  # a foreign or unreadable file: its message names the path
        raise ScanUsageError(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - sqlite3.Error, OSError: the cache is unusable
        raise ScanUsageError(f"cannot open the cache {cache_path or 'in the user cache dir'}: "
                             f"{_one_line(exc)}") from None

    errors: list[ScanError] = []
    warnings: list[ScanError] = store.take_notes()  # permissions, a damaged cache moved aside
    if not quiet:
        for note in warnings:
            print(f"galprof: warning: {note.path}: {note.reason}", file=sys.stderr)
    items: list[MediaItem] = []
    for found in discover(root_abs, include=include, exclude=exclude, include_hidden=settings.include_hidden,
                          follow_links=settings.follow_links):
        if isinstance(found, MediaItem):
            items.append(found)
        elif isinstance(found, DiscoverNote):  # a remark, not a failure: no exit code 1
            warnings.append(ScanError(found.path, "discover", found.reason))
        else:
            errors.append(found)
    discovered_at = time.perf_counter()

    try:
        fresh = store.fresh_index(signature)
        warnings.extend(store.take_notes())  # rows that cannot be decoded: their files are analyzed again
        todo = [it for it in items if fresh.get(it.display) != (it.size, it.mtime)]
        cached = len(items) - len(todo)
        current = {it.display for it in items} | {e.path for e in errors}
        gone = [p for p in store.paths_under(display_path(root_abs))
                if p not in current and not os.path.lexists(real_path(p))]
        removed = store.remove(gone) if gone else 0
        if errors:  # files that are no longer readable media: an old row must not outlive them
            store.remove([e.path for e in errors])
    except sqlite3.DatabaseError as exc:  # damage PRAGMA quick_check did not see
        store.close()
        raise ScanUsageError(f"cannot read the cache {store.path}: {_one_line(exc)}; remove it to start "
                             "a new one") from None

    workers = min(settings.resolved_workers(), max(1, len(todo)))
    threads = settings.threads_per_worker or max(1, (os.cpu_count() or 1) // workers)
    if not quiet:
        print(f"galprof: {len(items)} media files in {safe_text(root)}: {cached} unchanged (cached), "
              f"{len(todo)} to analyze with {workers} worker(s) x {threads} thread(s)", file=sys.stderr)

    counts = {"analyzed": 0, "failed": 0, "photos": 0, "videos": 0, "frames": 0}
    seconds = {"exif": 0.0, "decode": 0.0, "analyze": 0.0}
    progress = _progress(len(todo), quiet)

    def record(res: ItemResult) -> None:
        warnings.extend(res.notes)
        if res.media is not None:
            try:
                store.put(res.media, signature)
            except Exception as exc:  # noqa: BLE001 - e.g. disk full: this file is not cached
                errors.append(ScanError(res.path, "store", _one_line(exc)))
                counts["failed"] += 1
            else:
                counts["analyzed"] += 1
                counts["photos" if res.media.kind == "photo" else "videos"] += 1
                counts["frames"] += len(res.media.frames)
        else:
            errors.append(res.error or ScanError(res.path, "analyze", "no result"))
            counts["failed"] += 1
            store.remove([res.path])  # a stale row no longer describes this file
        for key, value in res.seconds.items():
            seconds[key] = seconds.get(key, 0.0) + value
        progress.update(1)

    analyze_started = time.perf_counter()
    try:
        if todo:
            if workers == 1:
                _run_inline(todo, settings, factory, threads, record, store)
            else:
                _run_pool(todo, settings, factory, workers, threads, record)
    except _ModelLoadError as exc:
        store.close()
        raise ScanUsageError(str(exc)) from None
    finally:
        progress.close()
    finished = time.perf_counter()

    analyze_seconds = finished - analyze_started
    stats = {
        "media_files": len(items), "cached": cached, **counts, "removed": removed, "errors": len(errors),
        "warnings": len(warnings), "workers": workers, "threads_per_worker": threads,
        # wall-clock phases of the scan, then CPU seconds per stage summed over the analyzed files
        # (process time of the worker, onnxruntime's threads included)
        "seconds": {"total": round(finished - started, 3), "discover": round(discovered_at - started, 3),
                    "analyze_wall": round(analyze_seconds, 3),
                    **{f"{k}_cpu": round(v, 3) for k, v in seconds.items()}},
        "files_per_second": round(len(todo) / analyze_seconds, 3) if todo and analyze_seconds > 0 else None,
    }
    paths = sorted(it.display for it in items)
    errors.sort(key=lambda e: (e.path, e.stage))
    return ScanResult(folder=root_abs, store=store, paths=paths, errors=errors, warnings=warnings,
                      stats=stats, signature=signature)


def _signature(settings: Settings, analyzer_factory: AnalyzerFactory | None) -> str:
    if analyzer_factory is not None and hasattr(analyzer_factory, "signature"):
        return str(analyzer_factory.signature)
    from galprof.vision.analyzer import analysis_signature

    try:
        return analysis_signature(settings)
    except (FileNotFoundError, KeyError, ValueError) as exc:
        raise ScanUsageError(f"models not available: {_one_line(exc)}") from None


def _progress(total: int, quiet: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="file", desc="analyzing", file=sys.stderr, disable=quiet or total == 0,
                dynamic_ncols=True, smoothing=0.1,
                mininterval=0.1 if sys.stderr.isatty() else 10.0)  # a log file gets a line every 10 s


INFLIGHT_KEY = "pipeline.inline_inflight"


def _run_inline(todo: list[MediaItem], settings: Settings, factory: AnalyzerFactory, threads: int,
                record: Callable[[ItemResult], None], store: Store) -> None:
    """Analyze in this process. The file being processed is noted in the store first: if a decoder
    crash takes the whole process down, the next scan finds the note and processes that file in a
    separate worker process, so one bad file cannot stop every future scan."""
    marker = store.get_state(INFLIGHT_KEY) or {}
    suspect = [item for item in todo if item.display == marker.get("path")]
    if suspect:
        _run_pool(suspect, settings, factory, 1, threads, record, isolate=True)
        todo = [item for item in todo if item.display != marker.get("path")]
    store.set_state(INFLIGHT_KEY, {})
    if not todo:
        return
    try:
        analyzer = factory(settings, threads)
    except Exception as exc:  # noqa: BLE001
        raise _ModelLoadError(f"cannot load the models: {_one_line(exc)}") from None
    try:
        for item in todo:
            store.set_state(INFLIGHT_KEY, {"path": item.display})
            record(process_item(item, settings, analyzer, threads))
    finally:  # any orderly stop (Ctrl-C included): no crash to remember
        store.set_state(INFLIGHT_KEY, {})


def _run_pool(todo: list[MediaItem], settings: Settings, factory: AnalyzerFactory, workers: int,
              threads: int, record: Callable[[ItemResult], None], isolate: bool = False) -> None:
    """Keep at most 2 x workers files in flight (flat memory); isolate files that crash a worker.
    isolate: process `todo` one file at a time from the start (files suspected of crashing)."""
    pending = deque() if isolate else deque(todo)
    suspects: deque[MediaItem] = deque(todo) if isolate else deque()
    context = mp.get_context("spawn")

    def new_pool() -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_init_worker,
                                   initargs=(settings, threads, factory))

    pool = new_pool()
    pool_done = 0  # files finished by the current pool
    dead_pools = 0  # consecutive pools that broke before finishing any file
    inflight: dict = {}
    try:
        while pending or suspects or inflight:
            isolating = bool(suspects)
            while (suspects and not inflight) or (not isolating and pending and len(inflight) < 2 * workers):
                item = suspects.popleft() if suspects else pending.popleft()
                inflight[pool.submit(_work, item)] = (item, isolating)
                if isolating:
                    break
            done, _ = wait(inflight, return_when=FIRST_COMPLETED)
            broken = False
            for future in done:
                item, alone = inflight.pop(future)
                try:
                    record(future.result())
                    pool_done += 1
                except BrokenProcessPool:
                    broken = True
                    if alone:
                        record(ItemResult(item.display, error=ScanError(
                            item.display, "decode", "the worker process crashed on this file")))
                    else:
                        suspects.append(item)
            if broken:
                for future, (item, _alone) in inflight.items():
                    suspects.append(item)
                    future.cancel()
                inflight.clear()
                pool.shutdown(wait=True, cancel_futures=True)
                dead_pools = dead_pools + 1 if pool_done == 0 else 0
                if dead_pools >= 3:
                    raise _ModelLoadError("worker processes keep dying before finishing any file")
                pool, pool_done = new_pool(), 0
    finally:
        pool.shutdown(wait=True, cancel_futures=True)

