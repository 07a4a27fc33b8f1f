"""Make an N-photo gallery from ../shared/data for the real-size benchmarks (evaluation data: never
commit or ship the output).

    .venv/bin/python benchmarks/make_gallery.py OUT_DIR --photos 2000 [--start 0] [--data ../shared/data]

Photo i is a function of (seed, i) only, so `--start N --photos M` adds photos N..N+M-1 to an existing
gallery (the "+1 %" of benchmarks/gallery_scale.py) and the same command makes the same files again.
Each photo is a source image from the data folder re-encoded so that files differ: resized to a long
side of 400-2000 px, sometimes mirrored or cropped, brightness changed, JPEG quality 60-95. 40 % show a
face (LFW, 33 people seen many times, so that the clustering has real work; and UTKFace, 1 000 people
seen once each), the rest are scenes (ImageNet samples, Food-101, event albums, full-size phone photos).
70 % carry an EXIF capture date over three years from one of four devices, 30 % GPS near one of five
cities (piexif).
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageOps

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DEVICES = [("Apple", "iPhone 13"), ("Google", "Pixel 7"), ("samsung", "SM-G991B"), ("Canon", "Canon EOS 80D")]
CITIES = [(48.8566, 2.3522), (52.52, 13.405), (40.4168, -3.7038), (45.4642, 9.19), (51.5074, -0.1278)]
SCENE_FOLDERS = ("imagenet-samples", "food101", "events", "phones")
JPEG = (".jpg", ".jpeg")


def sources(data: Path) -> dict[str, list[Path]]:
    """The source images by kind, sorted so a gallery is the same on every machine with the same data."""
    def jpegs(folder: str) -> list[Path]:
        return sorted(p for p in (data / folder).rglob("*") if p.suffix.lower() in JPEG + (".jpeg",))

    found = {"lfw": jpegs("lfw"), "utkface": jpegs("utkface"),
             "scene": [p for folder in SCENE_FOLDERS for p in jpegs(folder)]}
    empty = [k for k, v in found.items() if not v]
    if empty:
        raise SystemExit(f"make_gallery: no source images for {', '.join(empty)} under {data}")
    return found


def _rational(value: float) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    value = abs(value)
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round(((value - degrees) * 60 - minutes) * 60 * 100)
    return ((degrees, 1), (minutes, 1), (seconds, 100))


def exif_bytes(rng: np.random.Generator) -> bytes | None:
    import piexif

    if rng.random() >= 0.7:
        return None
    make, model = DEVICES[int(rng.integers(0, len(DEVICES)))]
    day = int(rng.integers(0, 3 * 365))
    stamp = (f"{2022 + day // 365}:{1 + (day % 365) // 31:02d}:{1 + day % 28:02d} "
             f"{int(rng.integers(7, 23)):02d}:{int(rng.integers(0, 60)):02d}:00")
    exif = {"0th": {piexif.ImageIFD.Make: make.encode(), piexif.ImageIFD.Model: model.encode()},
            "Exif": {piexif.ExifIFD.DateTimeOriginal: stamp.encode()}, "GPS": {}}
    if rng.random() < 0.3 / 0.7:
        lat, lon = CITIES[int(rng.integers(0, len(CITIES)))]
        lat, lon = lat + rng.normal(scale=0.05), lon + rng.normal(scale=0.05)
        exif["GPS"] = {piexif.GPSIFD.GPSLatitudeRef: b"N" if lat >= 0 else b"S",
                       piexif.GPSIFD.GPSLatitude: _rational(lat),
                       piexif.GPSIFD.GPSLongitudeRef: b"E" if lon >= 0 else b"W",
                       piexif.GPSIFD.GPSLongitude: _rational(lon)}
    return piexif.dump(exif)


def photo(i: int, found: dict[str, list[Path]], seed: int) -> tuple[str, bytes]:
    """The name and JPEG bytes of photo i."""
    rng = np.random.default_rng([seed, i])
    roll = rng.random()
    kind = "lfw" if roll < 0.28 else "utkface" if roll < 0.4 else "scene"
    pool = found[kind]
    source = pool[int(rng.integers(0, len(pool)))]
    with Image.open(source) as opened:
        opened.draft("RGB", (2000, 2000))
        image = ImageOps.exif_transpose(opened).convert("RGB")
    if rng.random() < 0.5:
        image = ImageOps.mirror(image)
    if rng.random() < 0.3:  # a crop that keeps the middle (and a face there)
        w, h = image.size
        cut = float(rng.uniform(0.0, 0.12))
        image = image.crop((int(w * cut), int(h * cut), int(w * (1 - cut)), int(h * (1 - cut))))
    image = ImageEnhance.Brightness(image).enhance(float(rng.uniform(0.8, 1.2)))
    long_side = int(rng.integers(400, 2001))
    scale = long_side / max(image.size)
    image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                         Image.Resampling.BILINEAR)
    out = io.BytesIO()
    extra = {"exif": e} if (e := exif_bytes(rng)) else {}
    image.save(out, "JPEG", quality=int(rng.integers(60, 96)), **extra)
    return f"{i // 1000:03d}/IMG_{i:06d}.jpg", out.getvalue()


def make_gallery(out: Path, photos: int, start: int = 0, data: Path = DATA, seed: int = 2026) -> list[Path]:
    """Write photos start..start+photos-1 under `out`; returns their paths."""
    found = sources(data)
    written = []
    for i in range(start, start + photos):
        name, payload = photo(i, found, seed)
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(payload)
        written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--photos", type=int, default=2000)
    parser.add_argument("--start", type=int, default=0, help="index of the first photo (to extend a gallery)")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    written = make_gallery(args.out, args.photos, args.start, args.data, args.seed)
    size = sum(p.stat().st_size for p in written)
    print(f"make_gallery: {len(written)} photos, {size / 2**20:.0f} MB in {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
