"""The key of a cached row: which model files and settings made it (no model is loaded here).

`model_versions()` names the model files the results depend on (manifest sha256 prefixes), so the
cache can invalidate rows made by other models. Kept apart from the analyzer so that a re-scan which
analyzes nothing does not import numpy and the model classes to compute it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from galprof.analysis import ocr
from galprof.config import Settings
from galprof.vision.registry import file_sha256, load_manifest

# Bumped whenever decoding or video sampling changes which pixels the models see, or the passes change
# which faces are found (invalidates caches). 5: the fine pass only where a person is detected.
INGEST_VERSION = 5


def model_versions() -> dict[str, str]:
    """{manifest name: sha256 prefix} of every packaged model (any rebuild changes the cache key)."""
    return {name: entry.sha256[:12] for name, entry in sorted(load_manifest().items())}


def analysis_signature(settings: Settings) -> str:
    """A short key of everything that changes per-frame results: model files and the settings the
    frames or models depend on. Stored with each cached row."""
    relevant = {
        "models": model_versions(),
        "max_side": settings.max_side, "video_fps": settings.video_fps,
        "video_max_frames": settings.video_max_frames, "face_score": settings.face_score,
        "face_detector": settings.face_detector, "classifier": _classifier_identity(settings),
        "ocr": ocr_enabled(settings), "ingest": INGEST_VERSION,
    }
    text = repr(sorted(relevant.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _classifier_identity(settings: Settings) -> str:
    """The packaged tier, or the user model's file hash and normalisation."""
    if not settings.classifier_model:
        return settings.classifier_tier
    return (f"{file_sha256(Path(settings.classifier_model))[:12]}:{settings.classifier_mean}:"
            f"{settings.classifier_std}")


def ocr_enabled(settings: Settings) -> bool:
    """OCR runs when the settings ask for it and tesseract is installed."""
    return settings.ocr and ocr.ocr_available()
