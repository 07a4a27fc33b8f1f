"""The --engine and --address options of scan and batch: the engine they name, or a usage error."""

from __future__ import annotations

from galprof.errors import UsageError
from galprof.render.safe import safe_text

ENGINE_CHOICES = ["local", "inline", "pool", "ray"]


def engine_for(name: str, workers: int, address: str | None):
    """The named engine with `workers` workers (0: one per core here, or the Ray cluster's CPUs), or
    UsageError (unknown name, Ray missing, no cluster at the address)."""
    from galprof.config import Settings
    from galprof.engine.base import make_engine

    try:
        if name == "ray":
            from galprof.engine.ray_engine import cluster_cpus, connect

            connect(address)
            workers = workers or cluster_cpus()
        return make_engine(name, workers or Settings().resolved_workers(), address=address)
    except (ValueError, ImportError, ConnectionError) as exc:
        raise UsageError(f"engine {name}: {safe_text(exc)}") from None
