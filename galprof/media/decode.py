"""Decode a photo to the RGB frame the models see: upright, 8-bit RGB, longest side <= max_side.

JPEGs are decoded with DCT scaling (`Image.draft`) straight to the smallest scale (1/2, 1/4, 1/8) whose
result is still at least DRAFT_FRACTION (90 %) of the wanted size, so a 12 MP photo is never decoded at
full size just to be shrunk: a 4000 x 3000 one decodes at 1/4 (1000 x 750) and is enlarged by 2 % to
1024 x 768, instead of decoding at 1/2 and shrinking 2x, which cost ~40 % more CPU. The frame keeps
exactly the size it had (longest side = max_side): the face detector's fine pass is sized in frame pixels
and its scores near the threshold move with the frame size (1008 px frames of 12 MP group photos lost
8 of 51 faces of 64-75 px; the same pixels enlarged to 1024 px found 52-53). The remaining resize uses
Pillow's area-averaging BOX filter: ~30 % cheaper than BILINEAR at these factors, no aliasing when
shrinking, and the same faces found. EXIF orientation is applied after the (orientation-independent)
size reduction. Every colour mode (CMYK, L, P, 16-bit, float, alpha) is normalized to RGB; images above
the decompression-bomb limit are refused with a one-line reason instead of exhausting memory.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, UnidentifiedImageError

try:  # HEIC/HEIF (iPhones, many Android phones) through libheif
    import pillow_heif

    pillow_heif.register_heif_opener()
except ImportError:  # pragma: no cover - pillow-heif is a dependency, but keep photos working without it
    pass

# Pixels above which a photo is refused. Pillow's own guard (MAX_IMAGE_PIXELS, ~89 Mpx) warns and raises
# at twice that; a drafted JPEG is decoded at 1/8 scale so it may be larger (a 108 MP phone photo is fine).
MAX_PIXELS = Image.MAX_IMAGE_PIXELS or 89_478_485
MAX_PIXELS_JPEG = 4 * MAX_PIXELS
# A JPEG may be decoded (DCT-scaled) down to this fraction of max_side instead of being resized.
DRAFT_FRACTION = 0.9

_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class DecodeError(Exception):
    """A photo that cannot be decoded; str(error) is a one-line reason."""


@dataclass
class DecodedImage:
    rgb: np.ndarray  # (H, W, 3) uint8, upright, longest side <= max_side
    format: str  # Pillow's format name, lower case ("jpeg", "png", "heif", ...)
    original_width: int  # full-resolution size, upright (after orientation)
    original_height: int
    orientation: int | None  # EXIF orientation tag as found (1-8), None when absent
    draft_scale: float = 1.0  # DCT scale used for JPEG (1, 1/2, 1/4 or 1/8); may be below max_side / size

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])


def target_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """(w, h) scaled so the longest side is at most max_side, aspect kept."""
    longest = max(width, height)
    if longest <= max_side:
        return width, height
    scale = max_side / longest
    return max(1, round(width * scale)), max(1, round(height * scale))


def decode_image(path: str, max_side: int = 1024) -> DecodedImage:
    """Decode a photo file (first frame of animated formats). Raises DecodeError with a short reason."""
    try:
        with warnings.catch_warnings():
            # Pillow warns between 1x and 2x MAX_IMAGE_PIXELS; we apply our own limits below.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            saved_limit = Image.MAX_IMAGE_PIXELS
            Image.MAX_IMAGE_PIXELS = None  # our limits below are per format
            try:
                im = Image.open(path)
            finally:
                Image.MAX_IMAGE_PIXELS = saved_limit
            with im:
                return _decode_open(im, max_side)
    except DecodeError:
        raise
    except UnidentifiedImageError:
        raise DecodeError("not a readable image (unknown or corrupt format)") from None
    except FileNotFoundError:
        raise DecodeError("file vanished during the scan") from None
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError, Image.DecompressionBombError) as exc:
        raise DecodeError(_one_line(exc)) from None


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "truncated" in text or "broken data stream" in text or "premature end" in text.lower():
        return f"truncated or corrupt image data ({text})"
    return text[:200]


def _orientation(im: Image.Image) -> int | None:
    try:
        value = im.getexif().get(0x0112)
    except Exception:  # noqa: BLE001 - malformed EXIF must not stop decoding
        return None
    try:
        value = int(value) if value is not None else None
    except (TypeError, ValueError):
        return None
    return value if value in range(1, 9) else None


def _decode_open(im: Image.Image, max_side: int) -> DecodedImage:
    fmt = (im.format or "unknown").lower()
    width, height = im.size
    if width <= 0 or height <= 0:
        raise DecodeError(f"invalid image size {width}x{height}")
    limit = MAX_PIXELS_JPEG if fmt == "jpeg" else MAX_PIXELS
    if width * height > limit:
        raise DecodeError(f"image of {width}x{height} = {width * height / 1e6:.0f} Mpixel is above the "
                          f"decompression-bomb limit of {limit / 1e6:.0f} Mpixel")
    orientation = _orientation(im)
    if fmt == "jpeg" and max(width, height) > max_side:
        # draft picks the coarsest DCT scale whose result is at least the size asked for
        least = max(1, math.ceil(max_side * DRAFT_FRACTION))
        im.draft("RGB" if im.mode in ("RGB", "YCbCr") else None, target_size(width, height, least))
    try:
        im.seek(0)  # first frame of GIF / animated WebP / multi-page TIFF
    except EOFError:
        pass
    im.load()
    draft_scale = im.size[0] / width
    rgb_im = _to_rgb(im)
    w, h = target_size(width, height, max_side)  # from the full size: a draft may be a little smaller
    if (w, h) != rgb_im.size:
        rgb_im = rgb_im.resize((w, h), Image.Resampling.BOX, reducing_gap=2.0)
    if orientation in _TRANSPOSE:
        rgb_im = rgb_im.transpose(_TRANSPOSE[orientation])
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    rgb = np.asarray(rgb_im, dtype=np.uint8)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise DecodeError(f"unexpected decoded shape {rgb.shape}")
    return DecodedImage(rgb=np.ascontiguousarray(rgb), format=fmt, original_width=width,
                        original_height=height, orientation=orientation, draft_scale=draft_scale)


def _to_rgb(im: Image.Image) -> Image.Image:
    """Any Pillow mode to 8-bit RGB: high bit depths scaled (not clipped), alpha composited on white."""
    mode = im.mode
    if mode == "RGB":
        return im
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        arr = np.asarray(im).astype(np.float64)
        top = float(arr.max()) if arr.size else 0.0
        if mode == "F":
            lo = float(arr.min()) if arr.size else 0.0
            arr = (arr - lo) / max(top - lo, 1e-12) * 255.0
        elif top > 255:
            arr = arr / (65535.0 if top <= 65535 else top) * 255.0
        gray = np.clip(arr + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(np.stack([gray] * 3, axis=-1))
    if mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
        mode = im.mode
        if mode == "RGB":
            return im
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return im.convert("RGB")  # CMYK (Pillow un-inverts Adobe JPEGs), L, 1, YCbCr, LAB, HSV
