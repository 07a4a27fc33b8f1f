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

Memory: the full-size image (after DCT scaling for JPEG) must fit the decode budget (Settings.
decode_memory_mb; 4 bytes a pixel for RGB, twice that with alpha, see _peak_bytes_per_pixel), else the
photo is an error rather than a reason for the OOM killer; a big image is reduced (Image.reduce) before
any colour conversion, so that at most one more full-size copy is made.
A HEIF/AVIF whose items reach past the end of the file (a cut file, which libheif would paint green) is
an error too.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, UnidentifiedImageError

from galprof.media.bmff import truncation

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
# Bytes the full-size decoded image may take (Settings.decode_memory_mb): 52 Mpixel of RGB, so a 48 MP
# phone HEIC fits and a 9400 x 9400 PNG (which peaked at 425 MB in RGB, 1.7 GB in RGBA) does not.
DEFAULT_MEMORY_BUDGET = 200 * 2**20
# Modes Image.reduce averages correctly (P, 1 and I;16 are converted first)
_REDUCIBLE = {"RGB", "RGBA", "L", "LA", "CMYK", "I", "F", "YCbCr"}

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


def decode_image(path: str, max_side: int = 1024, memory_budget: int = DEFAULT_MEMORY_BUDGET) -> DecodedImage:
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
                if (im.format or "").lower() in ("heif", "avif") and (cut := truncation(path)):
                    raise DecodeError(cut)
                return _decode_open(im, max_side, memory_budget)
    except DecodeError:
        raise
    except UnidentifiedImageError:  # a cut HEIC may not even open: say why when its boxes tell
        raise DecodeError(truncation(path) or "not a readable image (unknown or corrupt format)") from None
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


def _decode_open(im: Image.Image, max_side: int, memory_budget: int) -> DecodedImage:
    fmt = (im.format or "unknown").lower()
    width, height = im.size
    if width <= 0 or height <= 0:
        raise DecodeError(f"invalid image size {width}x{height}")
    limit = MAX_PIXELS_JPEG if fmt == "jpeg" else MAX_PIXELS
    if width * height > limit:
        raise DecodeError(f"image of {width}x{height} = {width * height / 1e6:.0f} Mpixel is above the "
                          f"decompression-bomb limit of {limit / 1e6:.0f} Mpixel")
    if fmt == "jpeg" and max(width, height) > max_side:
        # draft picks the coarsest DCT scale whose result is at least the size asked for
        least = max(1, math.ceil(max_side * DRAFT_FRACTION))
        im.draft("RGB" if im.mode in ("RGB", "YCbCr") else None, target_size(width, height, least))
    _check_budget(im, memory_budget)
    orientation = _orientation(im)  # after the budget check: a PNG's getexif() decodes the whole image
    try:
        im.seek(0)  # first frame of GIF / animated WebP / multi-page TIFF
    except EOFError:
        pass
    im.load()
    draft_scale = im.size[0] / width
    w, h = target_size(width, height, max_side)  # from the full size: a draft may be a little smaller
    rgb_im = _to_rgb(_reduced(im, w, h))
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


def _peak_bytes_per_pixel(mode: str) -> int:
    """Bytes a full-size pixel takes at the peak of decoding: Pillow's storage (1 byte for L, 2 for 16-bit,
    4 for RGB and the others) plus the one full-size copy made before reducing (the premultiplied copy of
    an alpha image, the RGB(A) one of a palette image, the 32-bit one of a 16-bit image)."""
    if mode in ("1", "L"):
        return 2 if mode == "1" else 1
    if mode.startswith("I;16"):
        return 6
    if mode in ("P", "PA"):
        return 9
    return 8 if mode in ("RGBA", "LA", "RGBa", "La") else 4


def _check_budget(im: Image.Image, memory_budget: int) -> None:
    width, height = im.size
    need = width * height * _peak_bytes_per_pixel(im.mode)
    if need > memory_budget:
        raise DecodeError(f"too large to decode within the memory budget ({width} x {height} needs "
                          f"~{need / 2**20:.0f} MB, budget {memory_budget / 2**20:.0f} MB: decode_memory_mb)")


def _reduced(im: Image.Image, w: int, h: int) -> Image.Image:
    """The image averaged down by an integer factor, keeping it at least twice the target size (the
    BOX resize finishes the job), before any colour conversion copies it at full size."""
    factor = min(im.size[0] // (2 * w), im.size[1] // (2 * h))
    if factor < 2:
        return im
    if im.mode in ("P", "PA"):
        im = im.convert("RGBA" if "transparency" in im.info or im.mode == "PA" else "RGB")
    elif im.mode == "1":
        im = im.convert("L")
    elif im.mode.startswith("I;16"):
        im = im.convert("I")
    return im.reduce(factor) if im.mode in _REDUCIBLE else im


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
