"""The scan: discover -> skip cached -> decode + analyze on an engine -> store, never stopping on a
bad file.

Every file ends as exactly one of: cached (unchanged since a previous scan with the same models),
analyzed (a new row committed at once) or failed (a ScanError with the stage and a one-line reason; no
row, so the next scan retries it). Rows of files that disappeared from the folder are dropped.

The engine (galprof/engine/: inline, a process pool, Ray actors) runs the worker over the files to
analyze; onnxruntime gets cores // workers threads each. Results come back to this process, which
alone writes the store, as they arrive, so killing the scan loses only the files in flight. Worker
crashes are retried and isolated by engine/policy.py, so only the file that really crashes a worker
is reported; in-process scans note the file in flight in the store, so a crash there is survived by
the next scan the same way.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from galprof.cache_file import CacheError
from galprof.config import Settings
from galprof.engine.base import Engine, make_engine
from galprof.engine.policy import run_items
from galprof.engine.worker import AnalyzerFactory, ItemResult, ModelLoadError, Worker, one_line, process_item
from galprof.engine.worker import default_factory as _default_factory
from galprof.facts import MediaFacts, ScanError
from galprof.media.discover import DiscoverNote, KnownKind, MediaItem, discover, display_path, real_path
from galprof.progress import NoBar, Ticker
from galprof.render.safe import safe_text
from galprof.store import FreshRow, Store

__all__ = ["AnalyzerFactory", "ItemResult", "ScanResult", "ScanUsageError", "process_item", "scan"]


class ScanUsageError(Exception):
    """The scan cannot start (missing folder, models, cache): a one-line message, exit code 2."""


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


# --- the scan -----------------------------------------------------------------------------------------

def scan(folder: str | os.PathLike, settings: Settings | None = None, cache_path: str | os.PathLike | None = None,
         quiet: bool = False, include: tuple[str, ...] = (), exclude: tuple[str, ...] = (),
         analyzer_factory: AnalyzerFactory | None = None, engine: Engine | str = "local") -> ScanResult:
    """Scan `folder` and return the ScanResult (its store stays open: close `result.store` when done).

    Raises ScanUsageError when the folder does not exist, the cache cannot be opened or the models
    cannot be loaded. `analyzer_factory(settings, threads)` replaces the packaged models (tests, other
    engines); it must be picklable for workers > 1. Workers are spawned processes: a script calling
    this with workers > 1 needs the usual `if __name__ == "__main__":` guard.

    `engine` runs the analysis: an Engine (its concurrency replaces settings.workers; the caller closes
    it) or a name for `make_engine` ("local": inline for one worker, a process pool for more).
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
    store = _open_store(cache_path)
    errors: list[ScanError] = []
    warnings: list[ScanError] = store.take_notes()  # permissions, a damaged cache moved aside
    if not quiet:
        for note in warnings:
            print(f"galprof: warning: {note.path}: {note.reason}", file=sys.stderr)
    try:
        # the cache's intact rows: discovery does not open the files they show unchanged, the plan
        # analyzes the others; the index (24 MB at 100 000 rows) lives only until the plan is made
        fresh = store.fresh_index(signature)
        items = _discover_items(root_abs, settings, include, exclude, quiet, errors, warnings,
                                _known_kinds(fresh))
        discovered_at = time.perf_counter()
        todo, removed = _plan(store, fresh, items, errors, root_abs)
        del fresh
        warnings.extend(store.take_notes())  # rows that cannot be decoded: their files are analyzed again
        cached = len(items) - len(todo)
    except sqlite3.DatabaseError as exc:  # damage PRAGMA quick_check did not see
        store.close()
        raise ScanUsageError(f"cannot read the cache {store.path}: {one_line(exc)}; remove it to start "
                             "a new one") from None

    engine, workers, own_engine = _engine_for(engine, settings, len(todo), store)
    threads = settings.threads_per_worker or max(1, (os.cpu_count() or 1) // workers)
    if not quiet:
        print(f"galprof: {len(items)} media files in {safe_text(root)}: {cached} unchanged (cached), "
              f"{len(todo)} to analyze with {workers} worker(s) x {threads} thread(s)", file=sys.stderr)

    recorder = _Recorder(store, signature, errors, warnings, _progress(len(todo), quiet))
    analyze_started = time.perf_counter()
    try:
        run_items(engine, Worker(settings, threads, factory), todo, recorder.record, _StoreMarker(store))
    except ModelLoadError as exc:
        store.close()
        raise ScanUsageError(str(exc)) from None
    finally:
        recorder.progress.close()
        if own_engine:
            engine.close()
    finished = time.perf_counter()

    analyze_seconds = finished - analyze_started
    stats = {
        "media_files": len(items), "cached": cached, **recorder.counts, "removed": removed,
        "errors": len(errors), "warnings": len(warnings), "workers": workers, "threads_per_worker": threads,
        "engine": engine.name,
        "seconds": _phase_seconds(started, discovered_at, analyze_started, finished, recorder.seconds),
        "files_per_second": round(len(todo) / analyze_seconds, 3) if todo and analyze_seconds > 0 else None,
    }
    paths = sorted(it.display for it in items)
    errors.sort(key=lambda e: (e.path, e.stage))
    return ScanResult(folder=root_abs, store=store, paths=paths, errors=errors, warnings=warnings,
                      stats=stats, signature=signature)


def _open_store(cache_path: str | os.PathLike | None) -> Store:
    try:
        return Store(cache_path)
    except CacheError as exc:  # a foreign or unreadable file: its message names the path
        raise ScanUsageError(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - sqlite3.Error, OSError: the cache is unusable
        raise ScanUsageError(f"cannot open the cache {cache_path or 'in the user cache dir'}: "
                             f"{one_line(exc)}") from None


def _discover_items(root_abs: str, settings: Settings, include: tuple[str, ...], exclude: tuple[str, ...],
                    quiet: bool, errors: list[ScanError], warnings: list[ScanError],
                    known: KnownKind | None = None) -> list[MediaItem]:
    """The media files under the root, counted on stderr as they are found; failures go to `errors`,
    remarks (links leaving the root) to `warnings`."""
    items: list[MediaItem] = []
    ticker = Ticker("media files found", quiet)
    for found in discover(root_abs, include=include, exclude=exclude, include_hidden=settings.include_hidden,
                          follow_links=settings.follow_links, known=known):
        if isinstance(found, MediaItem):
            items.append(found)
            ticker.tick(len(items))
        elif isinstance(found, DiscoverNote):  # a remark, not a failure: no exit code 1
            warnings.append(ScanError(found.path, "discover", found.reason))
        else:
            errors.append(found)
    ticker.done(len(items))
    return items


class _Recorder:
    """Each result as it arrives: its row written to the store (the one writer), or its error; counts,
    the stages' CPU seconds and the progress bar."""

    def __init__(self, store: Store, signature: str, errors: list[ScanError], warnings: list[ScanError],
                 progress) -> None:
        self.store, self.signature, self.errors, self.warnings = store, signature, errors, warnings
        self.progress = progress
        self.counts = {"analyzed": 0, "failed": 0, "photos": 0, "videos": 0, "frames": 0}
        self.seconds = {"exif": 0.0, "decode": 0.0, "analyze": 0.0}

    def record(self, res: ItemResult) -> None:
        if not self.progress.n:  # the workers have loaded their models (seconds before the first result)
            self.progress.set_description("analyzing", refresh=False)
        self.warnings.extend(res.notes)
        if res.media is not None:
            try:
                self.store.put(res.media, self.signature)
            except Exception as exc:  # noqa: BLE001 - e.g. disk full: this file is not cached
                self.errors.append(ScanError(res.path, "store", one_line(exc)))
                self.counts["failed"] += 1
            else:
                self.counts["analyzed"] += 1
                self.counts["photos" if res.media.kind == "photo" else "videos"] += 1
                self.counts["frames"] += len(res.media.frames)
        else:
            self.errors.append(res.error or ScanError(res.path, "analyze", "no result"))
            self.counts["failed"] += 1
            self.store.remove([res.path])  # a stale row no longer describes this file
        for key, value in res.seconds.items():
            self.seconds[key] = self.seconds.get(key, 0.0) + value
        self.progress.update(1)


def _known_kinds(fresh: dict[str, FreshRow]) -> KnownKind:
    """Discovery's `known`: the stored kind and format of a file whose row has its size and mtime."""
    def known(display: str, size: int, mtime: float) -> tuple[str, str] | None:
        row = fresh.get(display)
        if row is None or row.format is None or not row.describes(size, mtime):
            return None
        return row.kind, row.format
    return known


def _plan(store: Store, fresh: dict[str, FreshRow], items: list[MediaItem],
          errors: list[ScanError], root_abs: str) -> tuple[list[MediaItem], int]:
    """The files to analyze (no intact row for their size and mtime) and how many rows of vanished
    files were dropped. Unchanged rows written before the store kept a format get the one discovery
    sniffed. The set of current paths lives only here, not through the whole analysis."""
    todo: list[MediaItem] = []
    unformatted: list[tuple[str, str]] = []
    for it in items:
        row = fresh.get(it.display)
        if row is None or not row.describes(it.size, it.mtime):
            todo.append(it)
        elif row.format is None:
            unformatted.append((it.display, it.format))
    if unformatted:
        store.set_formats(unformatted)
    current = {it.display for it in items} | {e.path for e in errors}
    gone = [p for p in store.paths_under(display_path(root_abs))
            if p not in current and not os.path.lexists(real_path(p))]
    removed = store.remove(gone) if gone else 0
    if errors:  # files that are no longer readable media: an old row must not outlive them
        store.remove([e.path for e in errors])
    return todo, removed


def _engine_for(engine: Engine | str, settings: Settings, files: int, store: Store) -> tuple[Engine, int, bool]:
    """(the engine, its workers, whether this scan made it and closes it): a named one sized to the
    settings' workers and the files to analyze, or the caller's."""
    if isinstance(engine, str):
        workers = min(settings.resolved_workers(), max(1, files))
        return _named_engine(engine, workers, store), workers, True
    return engine, engine.concurrency, False


def _phase_seconds(started: float, discovered: float, analyze_started: float, finished: float,
                   stage_cpu: dict[str, float]) -> dict[str, float]:
    """Wall-clock phases of the scan, then CPU seconds per stage summed over the analyzed files (process
    time of the worker, onnxruntime's threads included)."""
    return {"total": round(finished - started, 3), "discover": round(discovered - started, 3),
            "analyze_wall": round(finished - analyze_started, 3),
            **{f"{k}_cpu": round(v, 3) for k, v in stage_cpu.items()}}


def _named_engine(name: str, workers: int, store: Store) -> Engine:
    try:
        return make_engine(name, workers)
    except (ValueError, ImportError) as exc:
        store.close()
        raise ScanUsageError(f"engine {name}: {one_line(exc)}") from None


def _signature(settings: Settings, analyzer_factory: AnalyzerFactory | None) -> str:
    if analyzer_factory is not None and hasattr(analyzer_factory, "signature"):
        return str(analyzer_factory.signature)
    from galprof.vision.signature import analysis_signature

    try:
        return analysis_signature(settings)
    except (FileNotFoundError, KeyError, ValueError) as exc:
        raise ScanUsageError(f"models not available: {one_line(exc)}") from None


def _progress(total: int, quiet: bool):
    if quiet or total == 0:
        return NoBar()
    from tqdm import tqdm

    return tqdm(total=total, unit="file", desc="loading models, analyzing", file=sys.stderr, dynamic_ncols=True,
                smoothing=0.1,
                mininterval=0.1 if sys.stderr.isatty() else 10.0)  # a log file gets a line every 10 s


INFLIGHT_KEY = "pipeline.inline_inflight"


class _StoreMarker:
    """The in-flight note of an in-process engine, kept in the store (see engine/policy.py)."""

    def __init__(self, store: Store):
        self.store = store

    def get(self) -> str | None:
        return (self.store.get_state(INFLIGHT_KEY) or {}).get("path")

    def set(self, path: str | None) -> None:
        self.store.set_state(INFLIGHT_KEY, {"path": path} if path else {})
