"""Helpers for the profile tests: MediaFacts built by hand, and themed galleries of real photos.

`themed_scan(shared_data)` links a few real photos per theme from ../shared/data into a temporary
gallery (symlinks: nothing is copied), scans it once with the packaged models through the pipeline,
and caches the result for the whole test session (the test modules that need it share one scan).
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from galprof.config import Settings
from galprof.facts import Box, ClassScore, ExifFacts, Face, FrameFacts, MediaFacts, ObjectDetection

MODELS = Path(__file__).resolve().parents[1] / "models"


def face(x1: float, y1: float, x2: float, y2: float, score: float = 0.9, seed: int = 0) -> Face:
    rng = np.random.default_rng(seed)
    return Face(box=Box(x1, y1, x2, y2), score=score, keypoints=np.zeros((6, 2), np.float32),
                embedding=rng.normal(size=128).astype(np.float32), age=30.0, female_probability=0.2)


def frame(classes: dict[str, float] | None = None, objects: dict[str, float] | None = None,
          faces: list[Face] | None = None, text: str | None = None, width: int = 1000, height: int = 750,
          timestamp: float | None = None) -> FrameFacts:
    return FrameFacts(
        width=width, height=height, timestamp=timestamp,
        objects=[ObjectDetection(k, v, Box(0, 0, 10, 10)) for k, v in (objects or {}).items()],
        classes=[ClassScore(k, v) for k, v in sorted((classes or {}).items(), key=lambda kv: -kv[1])],
        embedding=np.ones(1280, np.float32), faces=faces or [], text=text,
    )


def media(path: str, *frames: FrameFacts, kind: str = "photo", taken_at: str | None = "2024-05-01T10:00:00",
          lat: float | None = None, lon: float | None = None, make: str | None = None,
          model: str | None = None, fmt: str = "jpeg") -> MediaFacts:
    return MediaFacts(path=path, kind=kind, format=fmt if kind == "photo" else "mp4", size=1000, mtime=0.0,
                      exif=ExifFacts(taken_at=taken_at, taken_at_source="exif" if taken_at else None,
                                     make=make, model=model, latitude=lat, longitude=lon),
                      frames=list(frames))


# ---- themed galleries of real photos ----

# COCO / ImageNet classes are chosen by the ImageNet synset's position (the standard class order),
# not by the taxonomy, so the tests check the taxonomy rather than restate it.
DOG_RANGE = (151, 268)
CAT_RANGE = (281, 285)
INSTRUMENTS = ("acoustic_guitar", "banjo", "cello", "electric_guitar", "grand_piano", "harp", "violin",
               "sax", "accordion", "trombone", "flute", "drum", "organ", "French_horn", "upright")
VEHICLES = ("minibus", "tow_truck", "trailer_truck", "school_bus", "sports_car", "convertible", "jeep",
            "moped", "mountain_bike", "cab", "limousine", "pickup", "passenger_car", "trolleybus",
            "police_van", "ambulance", "fire_engine", "garbage_truck", "racer", "minivan")
LANDSCAPES = ("el_torcal_rocks.jpg", "tanners_ridge.jpg", "silver_fir.jpg")
GPS_PHOTOS = {
    # file under ../shared/data: (expected city, expected country)
    "phones/Apple iPhone 4.jpg": ("Rome", "IT"),
    "phones/Apple iPhone 5.jpg": ("Seattle", "US"),
    "exif-samples/jpg/gps/DSCN0010.jpg": ("Arezzo", "IT"),
    "exif-samples/jpg/gps/DSCN0021.jpg": ("Arezzo", "IT"),
    "exif-samples/jpg/mobile/HMD_Nokia_8.3_5G.jpg": ("Helsinki", "FI"),
}


def _imagenet(data: Path) -> list[tuple[int, Path]]:
    synsets = (MODELS / "labels" / "imagenet1k_synsets.txt").read_text().split()
    index = {s: i for i, s in enumerate(synsets)}
    return sorted((index[p.name.split("_")[0]], p) for p in (data / "imagenet-samples").glob("*.JPEG"))


def theme_sources(data: Path, per_theme: int = 5) -> dict[str, list[Path]]:
    """The real photos of each theme (a few per theme, spread over the available ones)."""
    imagenet = _imagenet(data)

    def in_range(lo: int, hi: int) -> list[Path]:
        return [p for i, p in imagenet if lo <= i <= hi]

    def named(names: tuple[str, ...]) -> list[Path]:
        return [p for _, p in imagenet if p.stem.split("_", 1)[1] in names]

    def spread(paths: list[Path], n: int) -> list[Path]:
        if len(paths) <= n:
            return paths
        step = len(paths) / n
        return [paths[int(i * step)] for i in range(n)]

    food = [min(d.iterdir()) for d in sorted((data / "food101").iterdir()) if d.is_dir()]
    lfw = [min(d.iterdir()) for d in sorted((data / "lfw").iterdir()) if d.is_dir()]
    return {
        "food": food[:per_theme],
        "pets": spread(in_range(*DOG_RANGE), per_theme - 2) + in_range(*CAT_RANGE)[:2],
        "music": spread(named(INSTRUMENTS), per_theme),
        "vehicles": spread(named(VEHICLES), per_theme),
        "text": sorted((data / "immich-assets" / "albums" / "text").glob("*.jpg")),
        "portraits": spread(lfw, 4),
        "landscapes": [data / "immich-assets" / "albums" / "nature" / n for n in LANDSCAPES],
        "gps": [data / p for p in GPS_PHOTOS],
    }


def build_gallery(root: Path, sources: dict[str, list[Path]]) -> Path:
    """One folder per theme, each file a symlink to the real photo."""
    for theme, paths in sources.items():
        folder = root / theme
        folder.mkdir(parents=True, exist_ok=True)
        for p in paths:
            link = folder / p.name
            if not link.exists():
                os.symlink(p, link)
    return root


_SCANS: dict[str, object] = {}


def themed_scan(data: Path):
    """(ScanResult, gallery root) of the themed gallery, scanned once per test session."""
    key = str(data)
    if key not in _SCANS:
        from galprof.pipeline import scan

        tmp = Path(tempfile.mkdtemp(prefix="galprof-themes-"))
        atexit.register(shutil.rmtree, tmp, True)
        gallery = build_gallery(tmp / "gallery", theme_sources(data))
        result = scan(gallery, Settings(workers=1, follow_links=True), cache_path=tmp / "cache.sqlite", quiet=True)
        _SCANS[key] = (result, gallery)
    return _SCANS[key]


def theme_media(result, theme: str):
    """A callable yielding the stored facts of one theme's photos (for profile_from_media)."""
    return lambda: (m for m in result.iter_media() if f"/{theme}/" in m.path)


@functools.lru_cache(maxsize=1)
def shared_geocoder():
    """One loaded GeoNames table for all the theme profiles of the session (loading takes ~1.5 s)."""
    from galprof.analysis.places import Geocoder

    return Geocoder()


def theme_profile(data: Path, theme: str) -> dict:
    """The profile document of one theme of the themed gallery."""
    from galprof.profile import profile_from_media

    result, _ = themed_scan(data)
    return profile_from_media(theme_media(result, theme), Settings(), geocoder=shared_geocoder())
