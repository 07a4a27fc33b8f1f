"""A batch: every gallery scanned on one shared engine (models loaded once per worker for the whole
batch), then aggregated into its profile (in this process, or as a Ray task on a Ray engine).

Each gallery has its own cache, CACHE_DIR/<name>.sqlite, written only by this process. A gallery's
profile, OUTDIR/<name>.json, is written last and atomically, so it marks the gallery finished: a
re-run skips it. A gallery that fails (its cache unusable, the models failing, an aggregation error)
gets a `failed` row in OUTDIR/summary.csv with the reason, and no profile, so a re-run retries it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from galprof.batch.aggregate import ScannedGallery, aggregate, scanned
from galprof.batch.galleries import Gallery
from galprof.batch.summary import row_of_failure, row_of_profile, write_summary
from galprof.config import Settings
from galprof.engine.base import Engine
from galprof.engine.worker import one_line
from galprof.render.json import dumps, read_json
from galprof.render.output import write_output
from galprof.render.safe import safe_text


@dataclass
class BatchOptions:
    outdir: Path
    settings: Settings
    cache_dir: Path | None = None  # default: OUTDIR/cache
    analyzer_factory: Callable | None = None  # as for pipeline.scan
    quiet: bool = False

    @property
    def caches(self) -> Path:
        return self.cache_dir or self.outdir / "cache"


def _log(options: BatchOptions, line: str) -> None:
    if not options.quiet:
        print(f"galprof batch: {safe_text(line)}", file=sys.stderr)


class _LocalAggregation:
    """Aggregate in this process, at once."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.done: list[tuple[ScannedGallery, float, dict | Exception]] = []

    def submit(self, gallery: ScannedGallery, started: float) -> None:
        try:
            self.done.append((gallery, started, aggregate(gallery, self.settings)))
        except Exception as exc:  # noqa: BLE001 - one gallery's failure is a row of the summary
            self.done.append((gallery, started, exc))

    def ready(self, wait_all: bool = False) -> list:
        done, self.done = self.done, []
        return done


class _RayAggregation:
    """Aggregate as Ray tasks (zero CPUs reserved: they run beside the actors), collected when done."""

    def __init__(self, settings: Settings, address: str | None):
        import ray

        from galprof.engine.ray_engine import connect

        connect(address)
        self.ray = ray
        self.settings = ray.put(settings)
        self.task = ray.remote(num_cpus=0, max_retries=2)(aggregate)
        self.pending: dict = {}

    def submit(self, gallery: ScannedGallery, started: float) -> None:
        self.pending[self.task.remote(gallery, self.settings)] = (gallery, started)

    def ready(self, wait_all: bool = False) -> list:
        if not self.pending:
            return []
        refs = list(self.pending)
        done, _ = self.ray.wait(refs, num_returns=len(refs) if wait_all else 1, timeout=None if wait_all else 0)
        out = []
        for ref in done:
            gallery, started = self.pending.pop(ref)
            try:
                out.append((gallery, started, self.ray.get(ref)))
            except Exception as exc:  # noqa: BLE001
                out.append((gallery, started, getattr(exc, "cause", None) or exc))
        return out


def run_batch(galleries: list[Gallery], engine: Engine, options: BatchOptions) -> list[dict]:
    """Profile every gallery; returns the summary rows (also written to OUTDIR/summary.csv)."""
    options.outdir.mkdir(parents=True, exist_ok=True)
    options.caches.mkdir(parents=True, exist_ok=True, mode=0o700)
    aggregation = _RayAggregation(options.settings, getattr(engine, "address", None)) if engine.name == "ray" else _LocalAggregation(options.settings)
    rows: dict[str, dict] = {}

    def finish(items: list) -> None:
        for gallery, started, outcome in items:
            if isinstance(outcome, Exception):
                rows[gallery.name] = row_of_failure(gallery.name, f"aggregate: {one_line(outcome)}",
                                                    time.perf_counter() - started)
            else:
                write_output(dumps(outcome), options.outdir / f"{gallery.name}.json")
                rows[gallery.name] = row_of_profile(gallery.name, outcome, "done")
            _log(options, f"{gallery.name}: {rows[gallery.name]['status']}")
        if items:
            write_summary(list(rows.values()), options.outdir / "summary.csv")

    for gallery in galleries:
        previous = _finished_profile(options.outdir / f"{gallery.name}.json")
        if previous is not None:
            rows[gallery.name] = row_of_profile(gallery.name, previous, "skipped")
            continue
        started = time.perf_counter()
        try:
            done = _scan(gallery, engine, options)
        except Exception as exc:  # noqa: BLE001 - ScanUsageError and the unexpected: this gallery fails
            rows[gallery.name] = row_of_failure(gallery.name, f"scan: {one_line(exc)}", time.perf_counter() - started)
            _log(options, f"{gallery.name}: failed: {exc}")
            write_summary(list(rows.values()), options.outdir / "summary.csv")
            continue
        aggregation.submit(done, started)
        finish(aggregation.ready())
    finish(aggregation.ready(wait_all=True))
    write_summary(list(rows.values()), options.outdir / "summary.csv")
    return sorted(rows.values(), key=lambda r: r["gallery"])


def _scan(gallery: Gallery, engine: Engine, options: BatchOptions) -> ScannedGallery:
    from galprof.pipeline import ScanUsageError, scan

    cache = options.caches / f"{gallery.name}.sqlite"
    try:
        result = scan(gallery.path, options.settings, cache_path=cache, quiet=True,
                      analyzer_factory=options.analyzer_factory, engine=engine)
    except ScanUsageError as exc:
        raise RuntimeError(str(exc)) from None
    try:
        return scanned(gallery.name, str(cache), result)
    finally:
        result.store.close()


def _finished_profile(path: Path) -> dict | None:
    """The profile a previous run wrote, or None (absent or unreadable: the gallery is done again)."""
    if not path.is_file():
        return None
    try:
        return read_json(path)
    except (OSError, ValueError):
        return None
