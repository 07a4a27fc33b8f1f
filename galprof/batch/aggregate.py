"""The per-gallery aggregation of a batch: a finished scan (its cache file and what the scan found)
becomes the profile document. A plain function of picklable values, so that it runs in the driver
for a local batch and as a Ray task on a cluster (reading the cache on the shared filesystem)."""

from __future__ import annotations

from dataclasses import dataclass

from galprof.config import Settings
from galprof.facts import ScanError


@dataclass
class ScannedGallery:
    """A scan's result without its open store: what travels to the aggregation task."""

    name: str
    folder: str
    cache_path: str
    paths: list[str]
    errors: list[ScanError]
    warnings: list[ScanError]
    stats: dict
    signature: str


def scanned(name: str, cache_path: str, result) -> ScannedGallery:
    """The travelling form of a pipeline.ScanResult (its store is closed by the caller)."""
    return ScannedGallery(name, result.folder, cache_path, result.paths, result.errors, result.warnings,
                          result.stats, result.signature)


def aggregate(gallery: ScannedGallery, settings: Settings) -> dict:
    """The profile document of a scanned gallery, exactly what `galprof scan` writes for it."""
    from galprof.pipeline import ScanResult
    from galprof.profile import build_profile
    from galprof.store import Store

    store = Store(gallery.cache_path)
    try:
        result = ScanResult(folder=gallery.folder, store=store, paths=gallery.paths, errors=gallery.errors,
                            warnings=gallery.warnings, stats=gallery.stats, signature=gallery.signature)
        return build_profile(result, settings)
    finally:
        store.close()
