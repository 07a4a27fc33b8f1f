"""The process-pool engine: spawned worker processes on this machine, each loading the models once.

At most `in_flight_per_worker` x workers items are in flight (flat memory). A worker that dies breaks
the whole pool (`BrokenProcessPool` does not say which process died), so every item then in flight is
reported as crashed and a fresh pool takes the rest.
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

    def __init__(self, workers: int, in_flight_per_worker: int = 2):
        self.workers = max(1, workers)
        self.in_flight_per_worker = in_flight_per_worker
        self._pool: ProcessPoolExecutor | None = None  # kept between runs of an equal worker (a batch)
        self._pool_worker: Worker | None = None

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
        return self._pool

    def _current_pool(self, worker: Worker) -> ProcessPoolExecutor:
        same = self._pool_worker is not None and self._pool_worker.__getstate__() == worker.__getstate__()
        return self._pool if same and self._pool is not None else self._new_pool(worker)

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
                while pending and len(inflight) < limit:
                    item = pending.popleft()
                    sink.started(item)
                    inflight[pool.submit(_run_one, item)] = item
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
