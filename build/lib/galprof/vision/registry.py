"""The model manifest (models/manifest.json): where each model file is and what it is."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path


def models_dir() -> Path:
    """The models folder: $GALPROF_MODELS, else the project's models/ beside the package (an editable
    install or a checkout), else <prefix>/share/galprof/models where a wheel install puts them."""
    env = os.environ.get("GALPROF_MODELS")
    if env:
        return Path(env)
    beside = Path(__file__).resolve().parents[2] / "models"
    installed = Path(sys.prefix) / "share" / "galprof" / "models"
    if not (beside / "manifest.json").is_file() and (installed / "manifest.json").is_file():
        return installed
    return beside


@dataclass
class ModelEntry:
    name: str
    role: str
    file: str
    sha256: str
    bytes: int
    precision: str
    license: str
    source: dict
    input: dict
    labels: str | None
    extra: dict

    def path(self, root: Path | None = None) -> Path:
        return (root or models_dir()) / self.file

    def labels_path(self, root: Path | None = None) -> Path | None:
        return (root or models_dir()) / self.labels if self.labels else None


_KNOWN = {"name", "role", "file", "sha256", "bytes", "precision", "license", "source", "input", "labels"}


def load_manifest(root: Path | None = None) -> dict[str, ModelEntry]:
    root = root or models_dir()
    path = root / "manifest.json"
    if not path.is_file():
        raise FileNotFoundError(f"model manifest not found: {path}")
    data = json.loads(path.read_text())
    entries = {}
    for raw in data["models"]:
        entries[raw["name"]] = ModelEntry(
            name=raw["name"], role=raw["role"], file=raw["file"], sha256=raw["sha256"],
            bytes=raw.get("bytes", 0), precision=raw.get("precision", "fp32"),
            license=raw.get("license", "unknown"), source=raw.get("source", {}),
            input=raw.get("input", {}), labels=raw.get("labels"),
            extra={k: v for k, v in raw.items() if k not in _KNOWN},
        )
    return entries


def model_path(name: str, root: Path | None = None) -> Path:
    """Path of a manifest model by name, with a clear error when it is not in the manifest."""
    manifest = load_manifest(root)
    if name not in manifest:
        raise KeyError(f"model {name!r} is not in the manifest (known: {', '.join(sorted(manifest))})")
    return manifest[name].path(root)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify(root: Path | None = None) -> list[str]:
    """Check every model file (and labels file) against the manifest; return one line per problem."""
    root = root or models_dir()
    problems = []
    for entry in load_manifest(root).values():
        path = entry.path(root)
        if not path.is_file():
            problems.append(f"{entry.name}: missing file {path}")
        elif file_sha256(path) != entry.sha256:
            problems.append(f"{entry.name}: {path} was altered (sha256 differs from the manifest)")
        labels = entry.labels_path(root)
        if labels is not None and not labels.is_file():
            problems.append(f"{entry.name}: missing labels file {labels}")
    return problems
