"""The Ray engine: actors that load the models once, spread over a Ray cluster.

Items travel by path: every node must see the gallery at the same path (a shared filesystem: NFS,
a cluster filesystem, the same bind mount), and results (MediaFacts) come back to the driver, which
alone writes the store. An actor killed mid-run is restarted by Ray and its in-flight items retried
(`max_restarts` and `max_task_retries` must both be set for that); an item whose retries are spent is
reported to the sink as crashed, and the policy above isolates it like any worker crash.
Needs the optional extra: pip install 'galprof[ray]'.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence

from galprof.engine.base import Engine, Sink
from galprof.engine.worker import ItemResult, Worker
from galprof.media.discover import MediaItem

TASK_RETRIES = 2  # retries of one item on a restarted actor before it counts as a crash


def _ray():
    try:
        import ray
    except ImportError:
        raise ImportError("Ray is not installed: pip install 'galprof[ray]'") from None
    return ray


def connect(address: str | None = None) -> None:
    """Join the Ray cluster at `address` ("auto": the one `ray start` runs on this node, or
    $RAY_ADDRESS; HOST:PORT: a head node). Never starts a cluster of its own."""
    ray = _ray()
    _cluster_messages_to_stderr()
    if ray.is_initialized():
        return
    if address and address != "auto":
        _reachable(address)
    try:
        ray.init(address=address or "auto", log_to_driver=False, logging_level="WARNING")
    except ConnectionError as exc:
        raise ConnectionError(f"no Ray cluster at {address or 'auto'}: start one with `ray start --head` "
                              f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None


def _reachable(address: str) -> None:
    """Fail in seconds, not minutes (ray.init keeps retrying), when nothing listens at HOST:PORT."""
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=5):
            pass
    except ValueError:
        raise ConnectionError(f"not a Ray address (HOST:PORT or auto): {address}") from None
    except OSError as exc:
        raise ConnectionError(f"no Ray cluster at {address}: {exc.strerror or exc}") from None


def _cluster_messages_to_stderr() -> None:
    """Ray's driver prints the cluster's error messages ("(raylet) A worker died ...") to stdout,
    which is where galprof writes the JSON profile: send them to stderr (checked with Ray 2.60)."""
    try:
        from ray._private import worker as ray_worker
    except ImportError:
        return
    original = getattr(ray_worker, "print_to_stdstream", None)
    if original is None or getattr(original, "galprof_stderr", False):
        return

    def to_stderr(data, ignore_prefix):
        return original({**data, "is_err": True}, ignore_prefix)

    to_stderr.galprof_stderr = True
    ray_worker.print_to_stdstream = to_stderr


def cluster_cpus() -> int:
    """The CPUs of the connected cluster (its actors default to one per CPU)."""
    return max(1, int(_ray().cluster_resources().get("CPU", 1)))


class _PhotoActor:
    """One actor = one worker with its models loaded once."""

    def __init__(self, worker: Worker):
        self.worker = worker
        worker.load()

    def analyze(self, item: MediaItem) -> ItemResult:
        return self.worker(item)


class RayEngine(Engine):
    name = "ray"

    def __init__(self, actors: int, address: str | None = None, in_flight_per_actor: int = 2,
                 cpus_per_actor: float = 1.0, shared_from: RayEngine | None = None):
        self.actors = max(1, actors)
        self.address = address
        self.in_flight_per_actor = in_flight_per_actor
        self.cpus_per_actor = cpus_per_actor
        self._pool: list = []
        self._pool_worker: Worker | None = None
        self._shared_from = shared_from  # an isolated view: runs on the first actor of that engine

    @property
    def concurrency(self) -> int:
        return self.actors

    def isolated(self) -> Engine:
        """One item at a time on one of this engine's actors: a new actor could wait forever for a CPU
        that this engine's actors hold."""
        return RayEngine(1, self.address, in_flight_per_actor=1, shared_from=self)

    def _actors(self, worker: Worker) -> list:
        """The actors, created on first use and kept for later runs with an equal worker. No more
        than the cluster's CPUs can hold: an actor that cannot be placed would hold its items forever."""
        if self._shared_from is not None:
            return self._shared_from._actors(worker)[:1]
        ray = _ray()
        connect(self.address)
        self.actors = max(1, min(self.actors, int(cluster_cpus() / self.cpus_per_actor)))
        same = self._pool_worker is not None and self._pool_worker.__getstate__() == worker.__getstate__()
        if not same:
            self.close()
            cls = ray.remote(num_cpus=self.cpus_per_actor, max_restarts=-1,
                             max_task_retries=TASK_RETRIES)(_PhotoActor)
            self._pool = [cls.options(scheduling_strategy="SPREAD").remote(worker) for _ in range(self.actors)]
            self._pool_worker = worker
        return self._pool

    def run(self, worker: Worker, items: Sequence[MediaItem], sink: Sink) -> None:
        ray = _ray()
        actors = self._actors(worker)
        load = {i: 0 for i in range(len(actors))}
        pending = list(reversed(items))
        inflight: dict = {}  # object ref -> (item, actor index)
        while pending or inflight:
            while pending and min(load.values()) < self.in_flight_per_actor:
                index = min(load, key=load.get)
                item = pending.pop()
                sink.started(item)
                inflight[actors[index].analyze.remote(item)] = (item, index)
                load[index] += 1
            done, _ = ray.wait(list(inflight), num_returns=1)
            for ref in done:
                item, index = inflight.pop(ref)
                load[index] -= 1
                try:
                    result = ray.get(ref)
                except ray.exceptions.RayActorError:
                    sink.crashed([item])
                    continue
                except ray.exceptions.RayTaskError as exc:  # the worker raised: ModelLoadError
                    raise exc.cause if isinstance(exc.cause, Exception) else exc from None
                sink.result(result)

    def close(self) -> None:
        if self._shared_from is None and self._pool:
            ray = _ray()
            for actor in self._pool:
                ray.kill(actor, no_restart=True)
        self._pool, self._pool_worker = [], None
