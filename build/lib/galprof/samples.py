"""A small real gallery for first runs and benchmarks, built from photos that ship inside a registry package.

scikit-image's wheel carries a dozen public-domain / CC0 sample photos (an astronaut, a cat, coffee,
a motorcycle, a rocket, a printed page, ...). We take them from an installed scikit-image if there is one,
otherwise from its wheel fetched with `pip download --no-deps` into the cache (the only network use, and
only when the user asks for the sample gallery). One short MP4 is made from the photos so that the
gallery holds a video too.

    python -m galprof.samples DEST
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

SKIMAGE_VERSION = "0.26.0"
PHOTOS = [
    "astronaut.png", "chelsea.png", "coffee.png", "motorcycle_left.png", "rocket.jpg", "page.png",
    "camera.png", "coins.png", "moon.png", "hubble_deep_field.jpg", "text.png", "horse.png",
]


def _installed_skimage_data() -> Path | None:
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        return None
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    return data if (data / PHOTOS[0]).is_file() else None


def _extract_from_wheel(dest: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "--only-binary=:all:", "-d", tmp,
             f"scikit-image=={SKIMAGE_VERSION}"],
            check=True, stdout=subprocess.DEVNULL,
        )
        wheel = next(Path(tmp).glob("scikit_image-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            for name in PHOTOS:
                (dest / name).write_bytes(archive.read(f"skimage/data/{name}"))


def _make_video(photo: Path, out: Path, seconds: int = 4, fps: int = 10) -> None:
    """A slow pan across a photo, encoded as H.264 MP4 with PyAV."""
    import av
    import numpy as np
    from PIL import Image

    image = np.asarray(Image.open(photo).convert("RGB"))
    height, width = image.shape[:2]
    crop_w, crop_h = (width * 3 // 4) // 2 * 2, (height * 3 // 4) // 2 * 2
    with av.open(str(out), "w") as container:
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


def build_sample_gallery(dest: Path) -> Path:
    """Fill `dest` with the sample photos and one video; returns dest. Existing files are kept."""
    dest.mkdir(parents=True, exist_ok=True)
    if not all((dest / name).is_file() for name in PHOTOS):
        source = _installed_skimage_data()
        if source is not None:
            for name in PHOTOS:
                (dest / name).write_bytes((source / name).read_bytes())
        else:
            _extract_from_wheel(dest)
    video = dest / "astronaut-pan.mp4"
    if not video.is_file():
        _make_video(dest / "astronaut.png", video)
    return dest


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m galprof.samples DEST")
    print(build_sample_gallery(Path(sys.argv[1])), file=sys.stderr)
