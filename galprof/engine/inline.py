"""The inline engine: the worker runs in the calling process, one item after another."""

from __future__ import annotations

from collections.abc import Sequence

from galprof.engine.base import Engine, Sink
from galprof.engine.worker import Worker
from galprof.media.discover import MediaItem


class InlineEngine(Engine):
    name = "inline"
    in_process = True

    @property
    def concurrency(self) -> int:
        return 1

    def run(self, worker: Worker, items: Sequence[MediaItem], sink: Sink) -> None:
        for item in items:
            sink.started(item)
            sink.result(worker(item))

    def isolated(self) -> Engine:
        from galprof.engine.pool import PoolEngine

        return PoolEngine(1, in_flight_per_worker=1)
