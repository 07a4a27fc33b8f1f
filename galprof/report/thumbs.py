"""Thumbnails for the HTML report: small JPEGs of photos, video frames and face crops.

Each image is decoded once through galprof's own decoders (the orientation, HEIC and memory limits of
a scan) and kept as a data: URI, so the report is one self-contained file; with `link=True` a photo is
a relative link to the file instead (faces are still embedded: a link cannot crop). A file that cannot
be read any more gives None and the report shows its name instead; nothing here raises on bad media.
"""

from __future__ import annotations

import base64
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from galprof.media.discover import real_path

THUMB_SIDE = 200  # longest side of a photo thumbnail, px
FACE_SIDE = 120
JPEG_QUALITY = 70


@dataclass
class Thumbnailer:
    """Photo and face thumbnails, each made at most once. `max_side`, `video_fps` and `video_max_frames`
    must be the scan's settings, so that face boxes and frame indexes land on the same pixels.
    `limit` caps the embedded photo thumbnails (the report stays light for huge galleries)."""

    max_side: int = 1024
    video_fps: float = 1.0
    video_max_frames: int = 30
    link: bool = False
    link_base: Path | None = None  # the folder of the report: links are relative to it
    limit: int = 600
    _photos: dict[str, str | None] = field(default_factory=dict)
    _faces: dict[tuple, str | None] = field(default_factory=dict)
    _frames: dict[tuple[str, int], np.ndarray | None] = field(default_factory=dict)

    @property
    def embedded(self) -> int:
        return sum(v is not None for v in self._photos.values())

    def why_missing(self, path: str) -> str:
        """Why `photo(path)` gave None: the file could not be read, or the cap was reached first."""
        return "not readable" if path in self._photos else f"no thumbnail: more than {self.limit} photos"

    def photo(self, path: str, kind: str = "photo") -> str | None:
        """A URI (data: or relative link) for the photo at the display path `path`, or None."""
        if path in self._photos:
            return self._photos[path]
        if self.link and kind == "photo":
            uri = self._relative(path)
        elif len(self._photos) >= self.limit:
            return None
        else:
            rgb = self._frame(path, kind, None)
            uri = None if rgb is None else _jpeg_uri(rgb, THUMB_SIDE)
        self._photos[path] = uri
        return uri

    def face(self, path: str, kind: str, frame: int, box: list[float]) -> str | None:
        """A data: URI of a square-ish crop around `box` (x1, y1, x2, y2 in the scanned frame)."""
        key = (path, frame, tuple(box))
        if key not in self._faces:
            rgb = self._frame(path, kind, frame)
            self._faces[key] = None if rgb is None else _jpeg_uri(_crop(rgb, box), FACE_SIDE)
        return self._faces[key]

    def _relative(self, path: str) -> str:
        from urllib.parse import quote

        real = os.path.abspath(real_path(path))
        base = os.path.abspath(self.link_base or ".")
        return quote(os.path.relpath(real, base).replace(os.sep, "/"))

    def _frame(self, path: str, kind: str, index: int | None) -> np.ndarray | None:
        """Frame `index` as the scan sampled it; None: any one frame (a video's middle, decoded alone)."""
        key = (path, index if kind == "video" else 0)
        if key not in self._frames:
            if len(self._frames) > 64:  # decoded frames are only needed until their thumbnails are made
                self._frames.clear()
            self._frames[key] = _decode(real_path(path), kind, index, self)
        return self._frames[key]


def _decode(path: str, kind: str, index: int | None, t: Thumbnailer) -> np.ndarray | None:
    if kind == "video":
        from galprof.media.video import VideoError, sample_video

        try:
            if index is None:
                frames = sample_video(path, 1.0, 1, THUMB_SIDE * 2).frames
            else:
                frames = sample_video(path, t.video_fps, t.video_max_frames, t.max_side).frames
        except VideoError:
            return None
        if not frames:
            return None
        return frames[index].rgb if index is not None and index < len(frames) else frames[0].rgb
    from galprof.media.decode import DecodeError, decode_image

    try:
        return decode_image(path, t.max_side).rgb
    except (DecodeError, OSError):
        return None


def _crop(rgb: np.ndarray, box: list[float]) -> np.ndarray:
    """The face box widened by 30 % on each side (hair and chin help recognise a face), kept inside."""
    height, width = rgb.shape[:2]
    x1, y1, x2, y2 = box
    pad_x, pad_y = (x2 - x1) * 0.3, (y2 - y1) * 0.3
    left, top = max(0, int(x1 - pad_x)), max(0, int(y1 - pad_y))
    right, bottom = min(width, int(x2 + pad_x) + 1), min(height, int(y2 + pad_y) + 1)
    if right - left < 2 or bottom - top < 2:
        return rgb
    return rgb[top:bottom, left:right]


def _jpeg_uri(rgb: np.ndarray, side: int) -> str:
    image = Image.fromarray(np.ascontiguousarray(rgb))
    image.thumbnail((side, side))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
