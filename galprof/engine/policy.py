"""Retry and isolation, the same for every engine.

1. Run every item on the engine. Items in flight on a worker that died are suspects, not failures:
   most of them were only unlucky enough to share the worker with the file that crashed it.
2. Run the suspects one at a time on the engine's isolated variant: a file that still crashes its
   worker is reported as "the worker process crashed on this file"; the others succeed.
3. Three worker deaths in a row with no file finished in between, while files run one at a time, mean
   the workers cannot run at all (models that crash on load, no memory): stop with ModelLoadError
   instead of looping. While many files are in flight, one death can be reported once per lost file
   (Ray reports each failed task, after its own retries), so there the bound is three per worker slot.

An in-process engine cannot survive a crash; a `Marker` (the store's in-flight note) remembers the
file being processed, and the next run analyzes that file on the isolated engine before the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from galprof.engine.base import Engine
from galprof.engine.worker import ItemResult, ModelLoadError, Worker
from galprof.facts import ScanError
from galprof.media.discover import MediaItem

CRASHED = "the worker process crashed on this file"
MAX_DEATHS_WITHOUT_PROGRESS = 3


class Marker(Protocol):
    def get(self) -> str | None: ...

    def set(self, path: str | None) -> None: ...


class _Policy:
    def __init__(self, record: Callable[[ItemResult], None], alone: bool, marker: Marker | None = None,
                 max_deaths: int = MAX_DEATHS_WITHOUT_PROGRESS):
        self.record, self.alone, self.marker, self.max_deaths = record, alone, marker, max_deaths
        self.suspects: list[MediaItem] = []
        self.deaths = 0

    def started(self, item: MediaItem) -> None:
        if self.marker is not None:
            self.marker.set(item.display)

    def result(self, result: ItemResult) -> None:
        self.deaths = 0
        self.record(result)

    def crashed(self, items: list[MediaItem]) -> None:
        self.deaths += 1
        if self.alone:
            for item in items:
                self.record(ItemResult(item.display, error=ScanError(item.display, "decode", CRASHED)))
        else:
            self.suspects.extend(items)
        if self.deaths >= self.max_deaths:
            raise ModelLoadError("worker processes keep dying before finishing any file")


def run_items(engine: Engine, worker: Worker, items: Sequence[MediaItem], record: Callable[[ItemResult], None],
              marker: Marker | None = None) -> None:
    """Run `worker` over `items` on `engine`, recording exactly one ItemResult per item."""
    items = list(items)
    if engine.in_process and marker is not None:
        noted = marker.get()
        suspect = [item for item in items if item.display == noted]
        if suspect:  # the previous in-process run died on this file
            _run_isolated(engine, worker, suspect, _Policy(record, alone=True))
            items = [item for item in items if item.display != noted]
        marker.set(None)
    if not items:
        return
    policy = _Policy(record, alone=False, marker=marker if engine.in_process else None,
                     max_deaths=MAX_DEATHS_WITHOUT_PROGRESS * max(1, engine.concurrency))
    try:
        engine.run(worker, items, policy)
    finally:  # any orderly stop (Ctrl-C included): no crash to remember
        if policy.marker is not None:
            policy.marker.set(None)
    if policy.suspects:
        _run_isolated(engine, worker, policy.suspects, _Policy(record, alone=True))


def _run_isolated(engine: Engine, worker: Worker, items: list[MediaItem], policy: _Policy) -> None:
    isolated = engine.isolated()
    try:
        isolated.run(worker, items, policy)
    finally:
        isolated.close()
