"""Where the person is in a frame: MediaPipe Selfie Segmentation (models/selfie_segmentation.onnx).

The whole frame is stretched to 256 x 256 (the model's input, x / 255) and the model gives P(person) per
pixel. A selfie's person is cut by the frame: the shoulders by the bottom edge and, often, the arm that
holds the phone by a side edge, low in the frame. `edges` summarises the mask as those fractions.
The model was made for video calls, where a person is always there: on photos without anyone it can
mark birds or dishes as person (a robin photo came out 88 % person), so it is a weak cue, used only
when a large face is there and weighted lightly by analysis/selfie.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from galprof.vision.onnx_model import OnnxModel
from galprof.vision.registry import load_manifest

PERSON = 0.5  # P(person) above which a pixel is the person's
BAND = 0.04  # the edge band: this fraction of the side


@dataclass
class PersonEdges:
    """Fractions of the frame's person mask: its area, how much of the bottom edge it covers, and how
    much of the lower half of the left or right edge (the larger of the two)."""

    area: float
    bottom: float
    side: float


def mask_edges(mask: np.ndarray) -> PersonEdges:
    """PersonEdges of a (H, W) P(person) mask."""
    person = np.asarray(mask) > PERSON
    h, w = person.shape
    band_h, band_w = max(1, round(h * BAND)), max(1, round(w * BAND))
    lower = person[h // 2:]
    return PersonEdges(area=float(person.mean()), bottom=float(person[-band_h:].any(axis=0).mean()),
                       side=float(max(lower[:, :band_w].any(axis=1).mean(), lower[:, -band_w:].any(axis=1).mean())))


class PersonSegmenter:
    """`mask(image)`: the (256, 256) P(person) mask of a whole frame; `edges(image)` its PersonEdges."""

    def __init__(self, threads: int = 1):
        entry = load_manifest()["selfie_segmentation"]
        self.model = OnnxModel(entry.path(), threads=threads)
        self.size = int(entry.input["shape"][1])

    def mask(self, image: Image.Image) -> np.ndarray:
        resized = image.resize((self.size, self.size), Image.Resampling.BILINEAR)
        x = np.asarray(resized, dtype=np.float32)[None] / 255.0
        return self.model.run(x)[0][0, :, :, 0]

    def edges(self, image: Image.Image) -> PersonEdges:
        return mask_edges(self.mask(image))
