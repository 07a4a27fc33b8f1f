"""The engine seam: one signature for every way of running the worker over items.

An engine calls `sink.result(ItemResult)` once for every item it finished and `sink.crashed(items)`
once each time a worker process died, naming the items that worker (or pool) had in flight; it never
retries, isolates or gives up by itself: that policy lives above the engines (engine/policy.py). A
`ModelLoadError` raised by the worker, or any exception raised by the sink, stops the run; the engine
cleans up its processes before the exception leaves `run`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Protocol

from galprof.engine.worker import ItemResult, Worker
from galprof.media.discover import MediaItem


class Sink(Protocol):
    def started(self, item: MediaItem) -> None: ...

    def result(self, result: ItemResult) -> None: ...

    def crashed(self, items: list[MediaItem]) -> None: ...


class Engine(ABC):
    name: str = ""
    in_process: bool = False  # True: a crash takes the caller down with it (no crash to catch)

    @property
    @abstractmethod
    def concurrency(self) -> int:
        """How many items run at the same time (worker processes or actors)."""

    @abstractmethod
    def run(self, worker: Worker, items: Sequence[MediaItem], sink: Sink) -> None:
        """Run `worker` over `items`; every item ends in exactly one sink.result or sink.crashed."""

    @abstractmethod
    def isolated(self) -> Engine:
        """An engine of the same kind running one item at a time in a separate process, so that a
        crash is charged to exactly one file."""

    def close(self) -> None:
        """Release what the engine holds between runs (pools, actors)."""


ENGINE_NAMES = ("inline", "pool", "ray")


def make_engine(name: str, workers: int, address: str | None = None) -> Engine:
    """The engine called `name` with `workers` worker processes (or actors). "local" picks inline for
    one worker and pool for more. Raises ValueError for an unknown name, ImportError without ray."""
    if name == "local":
        name = "inline" if workers <= 1 else "pool"
    if name == "inline":
        from galprof.engine.inline import InlineEngine

        return InlineEngine()
    if name == "pool":
        from galprof.engine.pool import PoolEngine

        return PoolEngine(workers)
    if name == "ray":
        from galprof.engine.ray_engine import RayEngine

        return RayEngine(workers, address=address)
    raise ValueError(f"unknown engine {name!r} (choose local, {', '.join(ENGINE_NAMES)})")
