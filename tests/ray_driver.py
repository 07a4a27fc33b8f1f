"""The driver of the model-free Ray batch test, run inside the test's network namespace:
python -m tests.ray_driver PARENT OUTDIR ADDRESS ACTORS."""

from __future__ import annotations

import sys
from pathlib import Path

from galprof.batch.galleries import find_galleries
from galprof.batch.runner import BatchOptions, run_batch
from galprof.config import Settings
from galprof.engine.ray_engine import RayEngine
from tests.batch_fakes import slow_label_factory


def main(parent: str, outdir: str, address: str, actors: str) -> None:
    engine = RayEngine(int(actors), address=address)
    try:
        rows = run_batch(find_galleries(Path(parent)), engine,
                         BatchOptions(Path(outdir), Settings(), analyzer_factory=slow_label_factory, quiet=True))
    finally:
        engine.close()
    print(" ".join(f"{r['gallery']}={r['status']}" for r in rows))


if __name__ == "__main__":
    main(*sys.argv[1:])
