"""The photos a bench measures: the built-in set (sample gallery + synthetic 12 MP JPEGs) or a folder."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".heic", ".heif", ".webp", ".tif", ".tiff", ".bmp", ".gif"}
VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".3gp"}
SYNTHETIC_SIZE = (4000, 3000)  # 12 MP, the most common phone camera size


def _cache_home() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "galprof"


def make_synthetic_jpegs(sources: list[Path], dest: Path, count: int, size: tuple[int, int] = SYNTHETIC_SIZE,
                         seed: int = 0) -> list[Path]:
    """Phone-sized JPEGs made from real photos: upscaled to `size`, with sensor-like noise so that the
    files are as large (and as slow to decode) as a phone's, and with camera EXIF.

    Upscaled photos alone compress to a fraction of a real 12 MP file and decode too fast.
    """
    from PIL import Image

    dest.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    made = []
    for i in range(count):
        out = dest / f"synthetic-12mp-{i:02d}.jpg"
        made.append(out)
        if out.is_file():
            continue
        with Image.open(sources[i % len(sources)]) as im:
            base = im.convert("RGB").resize(size, Image.Resampling.BICUBIC)
        pixels = np.asarray(base, dtype=np.int16)
        noise = rng.normal(0.0, 4.0, size=(size[1] // 4, size[0] // 4, 3)).astype(np.int16)
        pixels = pixels + np.kron(noise, np.ones((4, 4, 1), dtype=np.int16))
        pixels += rng.integers(-3, 4, size=pixels.shape, dtype=np.int16)
        image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
        exif = Image.Exif()
        exif[0x010F] = "galprof"  # Make
        exif[0x0110] = "synthetic 12MP"  # Model
        exif[0x0132] = f"2024:06:{1 + i % 28:02d} 12:00:00"  # DateTime
        tmp = out.with_suffix(".part")
        image.save(tmp, "JPEG", quality=92, exif=exif)
        tmp.replace(out)
    return made


def build_default_set(dest: Path, synthetic: int) -> Path:
    """The built-in benchmark gallery: sample photos and video plus `synthetic` 12 MP JPEGs, in `dest`."""
    from galprof.samples import PHOTOS, build_sample_gallery

    samples = _cache_home() / "sample-gallery"
    build_sample_gallery(samples)
    dest.mkdir(parents=True, exist_ok=True)
    for item in samples.iterdir():
        if item.is_file() and not (dest / item.name).exists():
            shutil.copy2(item, dest / item.name)
    colour = [samples / name for name in PHOTOS if name in ("astronaut.png", "chelsea.png", "coffee.png",
                                                           "motorcycle_left.png", "rocket.jpg")]
    make_synthetic_jpegs(colour, dest, synthetic)
    return dest


def list_media(folder: Path) -> tuple[list[Path], list[Path]]:
    """Photos and videos under a folder, by suffix (only to pick inputs; the scan has its own discovery)."""
    photos, videos = [], []
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue
        suffix = path.suffix.lower()
        if suffix in PHOTO_SUFFIXES:
            photos.append(path)
        elif suffix in VIDEO_SUFFIXES:
            videos.append(path)
    return photos, videos


def spread(items: list[Path], n: int) -> list[Path]:
    """Up to n items spread evenly over a sorted list (deterministic)."""
    if len(items) <= n:
        return list(items)
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]
