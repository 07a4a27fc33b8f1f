"""One frame as every model class reads it: the uint8 array, its Pillow image made once, and the
block reductions (`Image.reduce`) that several resizes of the frame share.

Each model shrinks the frame to its own input (BlazeFace's fine pass to ~384 px, NanoDet to 416 px)
with Pillow's `reducing_gap`, which first averages whole blocks of the frame (a 1024 px frame: 2 x 2)
and then resamples the rest. Both ask for the same 2 x 2 reduction of the same frame, so `resize` here
does what `Image.resize(size, resample, reducing_gap=gap)` does, step by step, with the reduction
kept: the pixels are the same as Pillow's own call (tests/test_frame_image.py), the reduction is paid
once. Converting the array to a Pillow image (a copy) also happens once per frame instead of once per
model.
"""

from __future__ import annotations

import numpy as np
from PIL import Image


class FrameImage:
    """An (H, W, 3) uint8 RGB frame with its Pillow image and a cache of its block reductions."""

    def __init__(self, frame: np.ndarray | Image.Image):
        if isinstance(frame, Image.Image):
            self.image = frame if frame.mode == "RGB" else frame.convert("RGB")
            self._array: np.ndarray | None = None
        else:
            if frame.ndim != 3 or frame.shape[2] != 3:
                raise ValueError(f"expected an (H, W, 3) RGB image, got shape {frame.shape}")
            self._array = np.ascontiguousarray(frame, dtype=np.uint8)
            self.image = Image.fromarray(self._array, "RGB")
        self._reduced: dict[tuple[int, int], Image.Image] = {}

    @classmethod
    def of(cls, frame: np.ndarray | Image.Image | FrameImage) -> FrameImage:
        """The frame as a FrameImage (itself when it already is one)."""
        return frame if isinstance(frame, FrameImage) else cls(frame)

    @property
    def array(self) -> np.ndarray:
        """The (H, W, 3) uint8 pixels (made from the image on first use when built from one)."""
        if self._array is None:
            self._array = np.asarray(self.image)
        return self._array

    @property
    def size(self) -> tuple[int, int]:
        return self.image.size

    def reduced(self, factor_x: int, factor_y: int) -> Image.Image:
        """`Image.reduce((factor_x, factor_y))` of the frame, computed once."""
        key = (factor_x, factor_y)
        if key not in self._reduced:
            self._reduced[key] = self.image.reduce(key)
        return self._reduced[key]

    def resize(self, size: tuple[int, int], resample: Image.Resampling, reducing_gap: float) -> Image.Image:
        """The whole frame resized as `image.resize(size, resample, reducing_gap=reducing_gap)` does it
        (Pillow 9-13: an integer block reduction by int(side / new side / gap) when that is above 1, then
        the resample of the reduced image's matching box), sharing the block reduction."""
        width, height = self.image.size
        factor_x = int(width / size[0] / reducing_gap) or 1
        factor_y = int(height / size[1] / reducing_gap) or 1
        if resample == Image.Resampling.NEAREST or (factor_x == 1 and factor_y == 1):
            return self.image.resize(size, resample, reducing_gap=reducing_gap)
        box = (0.0, 0.0, width / factor_x, height / factor_y)
        return self.reduced(factor_x, factor_y).resize(size, resample, box=box)


def frame_size(frame: np.ndarray | FrameImage) -> tuple[int, int]:
    """(width, height) of an (H, W, C) array or a FrameImage."""
    return frame.size if isinstance(frame, FrameImage) else (frame.shape[1], frame.shape[0])


def check_rgb(frame: np.ndarray | FrameImage) -> None:
    """Refuse an array that is not (H, W, 3+) (a FrameImage is RGB by construction)."""
    if not isinstance(frame, FrameImage) and (frame.ndim != 3 or frame.shape[2] < 3):
        raise ValueError(f"expected an HxWx3 RGB image, got shape {frame.shape}")
