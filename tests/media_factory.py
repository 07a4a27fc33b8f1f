"""Small generated media files for the ingestion tests (photos in every format, short videos, broken
files). Kept tiny so that tests stay fast; real photos come from ../shared/data."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import av
import numpy as np
from PIL import Image


def gradient(width: int = 64, height: int = 48) -> np.ndarray:
    """An RGB image whose quadrants differ, so flips and rotations are detectable."""
    rgb = np.zeros((height, width, 3), np.uint8)
    rgb[: height // 2, : width // 2] = (255, 0, 0)  # top-left red
    rgb[: height // 2, width // 2:] = (0, 255, 0)  # top-right green
    rgb[height // 2:, : width // 2] = (0, 0, 255)  # bottom-left blue
    rgb[height // 2:, width // 2:] = (255, 255, 255)  # bottom-right white
    return rgb


def image_bytes(fmt: str, rgb: np.ndarray | None = None, mode: str = "RGB", **save) -> bytes:
    rgb = gradient() if rgb is None else rgb
    im = Image.fromarray(rgb)
    if mode != "RGB":
        im = im.convert(mode)
    buffer = io.BytesIO()
    im.save(buffer, format=fmt, **save)
    return buffer.getvalue()


def write_video(path: Path, fmt: str | None = None, codec: str = "mpeg4", frames: int = 40, rate: int = 10,
                width: int = 64, height: int = 32, metadata: dict | None = None, gop: int | None = None,
                faststart: bool = False) -> Path:
    """A short video: top half red, bottom half blue, and a grey block in the first 16 columns whose
    level is (6 i) in frame i, so the frame a sampler took can be told from its pixels. faststart: the
    MP4 index first (as phones write it), so that a cut copy still opens."""
    options = {"movflags": "+faststart"} if faststart else {}
    with av.open(str(path), "w", format=fmt, options=options) as container:
        for key, value in (metadata or {}).items():
            container.metadata[key] = value
        stream = container.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.bit_rate = 4_000_000
        if gop:
            stream.codec_context.gop_size = gop
        for i in range(frames):
            img = np.zeros((height, width, 3), np.uint8)
            img[: height // 2, :, 0] = 255
            img[height // 2:, :, 2] = 255
            img[:, :16] = (i * 6) % 256  # a grey block whose level numbers the frame
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def rotate_mp4(src: Path, dst: Path) -> Path:
    """Copy an MP4 with its track matrix set to the iPhone-portrait one (display rotated 90 degrees
    clockwise), as phones record portrait video."""
    return set_mp4_matrix(src, dst, (0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000))


def set_mp4_matrix(src: Path, dst: Path, matrix: tuple[int, ...]) -> Path:
    """Copy an MP4 with the 9 x 32-bit fixed-point display matrix of its (first) `tkhd` replaced."""
    data = bytearray(src.read_bytes())
    i = data.find(b"tkhd")
    version = data[i + 4]
    offset = i + 8 + (32 if version == 1 else 20) + 16
    identity = struct.pack(">9i", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    assert data[offset:offset + 36] == identity, "unexpected tkhd layout"
    data[offset:offset + 36] = struct.pack(">9i", *matrix)
    dst.write_bytes(bytes(data))
    return dst


def huge_png_header(width: int = 100_000, height: int = 100_000) -> bytes:
    """A PNG whose header claims a gigantic image (a decompression bomb's first bytes)."""
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + \
        chunk(b"IEND", b"")
