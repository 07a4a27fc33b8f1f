"""The process-pool engine: spawned worker processes on this machine, each loading the models once.

At most `in_flight_per_worker` x workers items are in flight (flat memory). A worker that dies breaks
the whole pool (`BrokenProcessPool` does not say which process died), so every item then in flight is
reported as crashed and a fresh pool takes the rest. After `renew_after` items per worker the pool is
drained and replaced: a worker's native heap only grows over thousands of photos (allocator fragments),
and a model load costs far less than the memory it gives back.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from galprof.engine.base import Engine, Sink
from galprof.engine.worker import ItemResult, Worker
from galprof.media.discover import MediaItem

# Items a worker process analyzes before the pool is renewed (benchmarks/README.md, worker memory).
RENEW_AFTER = 500

# The worker of this process, set by the pool's initializer (only ever set in a worker process).
_PROCESS_WORKER: list[Worker] = []


def _exit_with_parent(parent: int) -> None:
    """Worker watchdog: a scan killed with SIGKILL cannot stop its pool, so each worker leaves by
    itself once its parent is gone (it would otherwise wait on the task queue forever)."""
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(0)


def _start_worker(worker: Worker) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is handled by the main process
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    worker.load()
    _PROCESS_WORKER[:] = [worker]


def _run_one(item: MediaItem) -> ItemResult:
    return _PROCESS_WORKER[0](item)


class PoolEngine(Engine):
    name = "pool"

    def __init__(self, workers: int, in_flight_per_worker: int = 2, renew_after: int = RENEW_AFTER):
        self.workers = max(1, workers)
        self.in_flight_per_worker = in_flight_per_worker
        self.renew_after = renew_after  # items per worker before fresh processes take over (0 = never)
        self._pool: ProcessPoolExecutor | None = None  # kept between runs of an equal worker (a batch)
        self._pool_worker: Worker | None = None
        self._pool_items = 0  # items handed to the current pool

    @property
    def concurrency(self) -> int:
        return self.workers

    def isolated(self) -> Engine:
        return PoolEngine(1, in_flight_per_worker=1)

    def _new_pool(self, worker: Worker) -> ProcessPoolExecutor:
        self.close()
        self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=mp.get_context("spawn"),
                                         initializer=_start_worker, initargs=(worker,))
        self._pool_worker = worker
        self._pool_items = 0
        return self._pool

    def _current_pool(self, worker: Worker) -> ProcessPoolExecutor:
        same = self._pool_worker is not None and self._pool_worker.__getstate__() == worker.__getstate__()
        return self._pool if same and self._pool is not None else self._new_pool(worker)

    def _worn(self) -> bool:
        return 0 < self.renew_after * self.workers <= self._pool_items

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self._pool, self._pool_worker = None, None

    def run(self, worker: Worker, items: Sequence[MediaItem], sink: Sink) -> None:
        pending = deque(items)
        limit = self.workers * self.in_flight_per_worker
        pool = self._current_pool(worker)
        inflight: dict[Future, MediaItem] = {}
        try:
            while pending or inflight:
                if pending and not inflight and self._worn():
                    pool = self._new_pool(worker)
                while pending and len(inflight) < limit and not self._worn():
                    item = pending.popleft()
                    sink.started(item)
                    inflight[pool.submit(_run_one, item)] = item
                    self._pool_items += 1
                done, _ = wait(inflight, return_when=FIRST_COMPLETED)
                broken = False
                for future in done:
                    item = inflight.pop(future)
                    try:
                        result = future.result()
                    except BrokenProcessPool:
                        broken = True
                        inflight[future] = item  # reported with the rest of this pool's items below
                        continue
                    sink.result(result)
                if broken:
                    lost = list(inflight.values())
                    for future in inflight:
                        future.cancel()
                    inflight.clear()
                    pool = self._new_pool(worker)
                    sink.crashed(lost)
        except BaseException:  # a stop (ModelLoadError, Ctrl-C): no pool left behind
            self.close()
            raise
