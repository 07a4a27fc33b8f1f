"""The driver of the model-free kill-a-worker batch tests (0.3 s a photo), run as its own process:
python -m tests.batch_driver PARENT OUTDIR ENGINE WORKERS [ADDRESS]; prints gallery=status pairs."""

from __future__ import annotations

import sys
from pathlib import Path

from galprof.batch.galleries import find_galleries
from galprof.batch.runner import BatchOptions, run_batch
from galprof.config import Settings
from galprof.engine.base import make_engine
from tests.batch_fakes import slow_label_factory


def main(parent: str, outdir: str, engine_name: str, workers: str, address: str | None = None) -> None:
    engine = make_engine(engine_name, int(workers), address=address)
    try:
        rows = run_batch(find_galleries(Path(parent)), engine,
                         BatchOptions(Path(outdir), Settings(), analyzer_factory=slow_label_factory, quiet=True))
    finally:
        engine.close()
    print(" ".join(f"{r['gallery']}={r['status']}" for r in rows))


if __name__ == "__main__":
    main(*sys.argv[1:])
