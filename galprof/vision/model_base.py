"""The one contract of the model classes: a manifest entry -> its precision's file -> checked -> a session.

Every model class (FaceEmbedder, AgeGenderEstimator's networks, NanoDet, PhotoClassifier, FaceDetector)
derives from `ManifestModel` and is built with `Cls.from_manifest(name, precision, threads)`, or from a
user's own ONNX file through its constructor's `model_path`. Picking the file of a precision, checking
it and opening the session live here only; each class keeps its own pre/post-processing.

Precisions: the entry `name` is the manifest's default file; another precision is the entry
`<name>_<precision>` (face_embedding / face_embedding_fp32). The check is cheap (the file exists, has the
manifest's size, and its input matches the manifest's input spec); `galprof models verify` does sha256.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from galprof.vision.onnx_model import OnnxModel
from galprof.vision.registry import ModelEntry, load_manifest


class ModelFileError(ValueError):
    """A manifest model whose file is missing, altered or not the network the manifest describes."""


def resolve_entry(name: str, precision: str | None = None, root: Path | None = None) -> ModelEntry:
    """The manifest entry of model `name` at `precision` (None: the entry `name` itself)."""
    manifest = load_manifest(root)
    candidates = [name] if precision is None else [name, f"{name}_{precision}"]
    for candidate in candidates:
        entry = manifest.get(candidate)
        if entry is not None and (precision is None or entry.precision == precision):
            return entry
    if name not in manifest:
        raise KeyError(f"model {name!r} is not in the manifest (known: {', '.join(sorted(manifest))})")
    offered = sorted({e.precision for n, e in manifest.items() if n == name or n.startswith(f"{name}_")})
    raise ValueError(f"model {name!r} has no {precision} file (precisions: {', '.join(offered)})")


def check_file(entry: ModelEntry, root: Path | None = None) -> Path:
    """The entry's file path after the cheap checks (exists, manifest size)."""
    path = entry.path(root)
    if not path.is_file():
        raise FileNotFoundError(f"model file not found: {path} (model {entry.name!r}; run `make models`)")
    if entry.bytes and path.stat().st_size != entry.bytes:
        raise ModelFileError(f"{path}: {path.stat().st_size} bytes but the manifest says {entry.bytes} "
                             f"(model {entry.name!r} altered or half-written; run `galprof models verify`)")
    return path


def check_input(entry: ModelEntry, model: OnnxModel) -> None:
    """The session's input has the manifest's name and rank, and the same size wherever both are fixed."""
    expected_name, expected_shape = entry.input.get("name"), entry.input.get("shape")
    if expected_name and model.input_name != expected_name:
        raise ModelFileError(f"{model.path}: input {model.input_name!r}, manifest says {expected_name!r}")
    if expected_shape is None:
        return
    actual = model.input_shape
    fixed_differs = any(isinstance(a, int) and isinstance(e, int) and a != e
                        for a, e in zip(actual, expected_shape, strict=False))
    if len(actual) != len(expected_shape) or fixed_differs:
        raise ModelFileError(f"{model.path}: input shape {actual}, manifest says {expected_shape}")


@dataclass(frozen=True)
class OpenedModel:
    """A session and the manifest entry it came from (None for a user's own file)."""

    session: OnnxModel
    entry: ModelEntry | None = None

    @property
    def extra(self) -> dict[str, Any]:
        """The entry's model-specific fields (chip size, means, anchors...); empty for a user's file."""
        return self.entry.extra if self.entry is not None else {}


def open_manifest_model(name: str, precision: str | None = None, threads: int = 1,
                        root: Path | None = None) -> OpenedModel:
    entry = resolve_entry(name, precision, root)
    session = OnnxModel(check_file(entry, root), threads=threads)
    check_input(entry, session)
    return OpenedModel(session, entry)


def open_model_file(path: str | Path, threads: int = 1) -> OpenedModel:
    return OpenedModel(OnnxModel(path, threads=threads))


class ManifestModel:
    """Base of the model classes: `from_manifest` opens the model and hands it to the constructor.

    Subclasses take `opened: OpenedModel | None` as a keyword of their constructor; when it is None
    they open the file their own (older) arguments name, so existing call sites keep working.
    """

    model: OnnxModel
    entry: ModelEntry | None

    @classmethod
    def from_manifest(cls, name: str, precision: str | None = None, threads: int = 1, **options: Any):
        """The manifest model `name` at `precision` (None: the manifest's default file for that name)."""
        return cls(threads=threads, opened=open_manifest_model(name, precision, threads), **options)

    def _adopt(self, opened: OpenedModel) -> OpenedModel:
        self.model, self.entry = opened.session, opened.entry
        return opened
