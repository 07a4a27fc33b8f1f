"""Age and P(female) of the faces of a frame: the scan's ensemble of age/gender networks.

The networks and their chips are in age_gender_models; how their outputs become one estimate is in
age_gender_ensemble. SCAN_ENSEMBLE names the members ("model/chip"), flip averaging, the weights and
the age calibration chosen by benchmarks/age_gender_eval.py on the selection half of UTKFace (figures
on the held-out half in benchmarks/README.md). Per-face estimates stay noisy: fuse them per person.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

from galprof.vision.age_gender_ensemble import EnsembleSpec, combine, flip_average
from galprof.vision.age_gender_models import ChipModel, FaceApiAgeGender, box_chip
from galprof.vision.align import AGE_TEMPLATE, GENDER_TEMPLATE, align

__all__ = ["SCAN_ENSEMBLE", "AgeGenderEstimator", "ChipModel"]

CYDRAL_ONLY = EnsembleSpec(keys=("cydral/aligned",))
# Chosen on the selection half of UTKFace by benchmarks/age_gender_eval.py (shippable_ensemble, fold1):
# age from face-api alone (Cydral's weight 0 at every flip and chip), mirrored-chip averaging, a
# near-identity calibration; gender 0.2 Cydral + 0.8 face-api log-odds (0.1-0.3 Cydral lie within
# 0.6 points of each other there). Held-out figures and the curve: benchmarks/README.md.
SCAN_ENSEMBLE = EnsembleSpec(keys=("cydral/aligned", "face_api/aligned"), flip=True, age_weights=(0.0, 1.0),
                             gender_weights=(0.2, 0.8), age_slope=0.9972, age_intercept=0.4847)


class CydralAgeGender:
    """Cydral's age (64 px) and gender (32 px) networks as one member: (ages, P(female))."""

    def __init__(self, threads: int = 1):
        self.age = ChipModel.from_manifest("age", threads=threads)
        self.gender = ChipModel.from_manifest("gender", threads=threads)
        self.age_weights = np.asarray(self.age.extra["age_weights"], dtype=np.float32)
        self.female_index = list(self.gender.extra.get("class_names", ["female", "male"])).index("female")

    def predict(self, age_chips: np.ndarray, gender_chips: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.age.probabilities(age_chips) @ self.age_weights, self.gender_only(gender_chips)

    def gender_only(self, gender_chips: np.ndarray) -> np.ndarray:
        return self.gender.probabilities(gender_chips)[:, self.female_index]


def _chips(image: Image.Image, detections: Sequence, chip: str, size: int) -> np.ndarray:
    """The chips of kind `chip` ("aligned" or "box<margin>") at `size` px for every detection."""
    if chip == "aligned":
        template = AGE_TEMPLATE.scaled(size)  # GENDER_TEMPLATE is AGE_TEMPLATE.scaled(32)
        return np.stack([align(image, d.keypoints, template) for d in detections])
    if chip.startswith("box"):
        margin = float(chip[3:])
        return np.stack([box_chip(image, d.box, size, margin) for d in detections])
    raise ValueError(f"unknown chip kind {chip!r} (aligned or box<margin>)")


class AgeGenderEstimator:
    """Age (years) and P(female) of faces, by the ensemble `spec` (default: SCAN_ENSEMBLE).

    flip: force flip averaging on (the spec's own choice otherwise).
    """

    def __init__(self, threads: int = 1, flip: bool = False, spec: EnsembleSpec | None = None):
        self.spec = spec or SCAN_ENSEMBLE
        self.flip = flip or self.spec.flip
        self.members: dict[str, object] = {}
        for key in self.spec.keys:
            model = key.split("/")[0]
            if model in self.members:
                continue
            if model == "cydral":
                self.members[model] = CydralAgeGender(threads)
            elif model == "face_api":
                self.members[model] = FaceApiAgeGender.from_manifest("face_api_age_gender", threads=threads)
            else:
                raise ValueError(f"unknown age/gender model {model!r} in the ensemble {self.spec.keys}")

    def _member(self, key: str, image: Image.Image, detections: Sequence, mirrored: bool,
                need_age: bool = True) -> np.ndarray:
        model_name, chip = key.split("/")
        model = self.members[model_name]

        def chips(size: int) -> np.ndarray:
            batch = _chips(image, detections, chip, size)
            return np.ascontiguousarray(batch[:, :, ::-1]) if mirrored else batch

        if isinstance(model, CydralAgeGender):
            if need_age:
                ages, females = model.predict(chips(AGE_TEMPLATE.size), chips(GENDER_TEMPLATE.size))
            else:  # an age weight of 0: skip the 64 px age network
                ages, females = np.zeros(len(detections)), model.gender_only(chips(GENDER_TEMPLATE.size))
        else:
            ages, females = model.predict(chips(model.size))
        return np.stack([ages, females], axis=1)

    def estimate_faces(self, image: Image.Image, detections: Sequence) -> list[tuple[float, float]]:
        """[(age in years, P(female))] for the detections (box + keypoints) of one image."""
        if not detections:
            return []
        columns = []
        age_weights = self.spec.weights(self.spec.age_weights)
        for key, age_weight in zip(self.spec.keys, age_weights, strict=True):
            need_age = bool(age_weight > 0)
            out = self._member(key, image, detections, mirrored=False, need_age=need_age)
            if self.flip:
                out = flip_average(out, self._member(key, image, detections, mirrored=True, need_age=need_age))
            columns.append(out)
        fused = combine(np.stack([c[:, 0] for c in columns], 1), np.stack([c[:, 1] for c in columns], 1), self.spec)
        return [(float(a), float(f)) for a, f in fused]

    def estimate(self, age_chips: np.ndarray, gender_chips: np.ndarray) -> list[tuple[float, float]]:
        """Cydral's networks alone on ready chips: age_chips (N, 64, 64, 3), gender_chips (N, 32, 32, 3)."""
        age_chips, gender_chips = np.asarray(age_chips), np.asarray(gender_chips)
        if len(age_chips) != len(gender_chips):
            raise ValueError(f"{len(age_chips)} age chips but {len(gender_chips)} gender chips")
        if len(age_chips) == 0:
            return []
        cydral = self.members.get("cydral") or CydralAgeGender()
        self.members["cydral"] = cydral
        if not self.flip:
            ages, females = cydral.predict(age_chips, gender_chips)
        else:
            both = cydral.predict(np.concatenate([age_chips, age_chips[:, :, ::-1]]),
                                  np.concatenate([gender_chips, gender_chips[:, :, ::-1]]))
            ages, females = ((v[: len(age_chips)] + v[len(age_chips):]) / 2 for v in both)
        return [(float(a), float(f)) for a, f in zip(ages, females, strict=True)]
