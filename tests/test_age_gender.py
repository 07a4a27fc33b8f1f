"""Age and gender: input checks (generated chips) and accuracy on a gender-balanced UTKFace sample
(tight 200 px crops, placed on a larger canvas so BlazeFace sees a margin, then aligned)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from galprof.vision.age_gender import AgeGenderEstimator
from galprof.vision.align import AGE_TEMPLATE, GENDER_TEMPLATE, align, as_image


@pytest.fixture(scope="module")
def estimator() -> AgeGenderEstimator:
    return AgeGenderEstimator()


def test_outputs_and_input_checks(estimator):
    rng = np.random.default_rng(0)
    ages = rng.integers(0, 255, (2, 64, 64, 3), dtype=np.uint8)
    genders = rng.integers(0, 255, (2, 32, 32, 3), dtype=np.uint8)
    result = estimator.estimate(ages, genders)
    assert len(result) == 2
    for age, female in result:
        assert 0.25 <= age <= 80.0 and 0.0 <= female <= 1.0
    assert estimator.estimate(ages[:0], genders[:0]) == []
    with pytest.raises(ValueError):
        estimator.estimate(ages, genders[:1])
    with pytest.raises(ValueError):
        estimator.estimate(genders, genders)


def _utkface_sample(shared_data: Path, per_gender: int) -> list[Path]:
    files = sorted((shared_data / "utkface").glob("*.jpg"))
    sample = []
    for gender in ("0", "1"):
        mine = [f for f in files if f.name.split("_")[1] == gender]
        sample += mine[:: max(1, len(mine) // per_gender)][:per_gender]
    return sample


def test_utkface_gender_accuracy_and_age_mae(shared_data: Path, estimator):
    from galprof.vision.blazeface import FaceDetector

    detector = FaceDetector("short")
    truth, ages, females, missed = [], [], [], 0
    for path in _utkface_sample(shared_data, per_gender=150):
        canvas = Image.new("RGB", (400, 400), (128, 128, 128))
        canvas.paste(Image.open(path).convert("RGB"), (100, 100))
        rgb = np.asarray(canvas)
        detections = detector.detect(rgb, min_score=0.5)
        if not detections:
            missed += 1
            continue
        face = max(detections, key=lambda d: d.box.width)
        image = as_image(rgb)
        (age, female), = estimator.estimate(align(image, face.keypoints, AGE_TEMPLATE)[None],
                                            align(image, face.keypoints, GENDER_TEMPLATE)[None])
        age_true, gender_true = (int(v) for v in path.name.split("_")[:2])
        truth.append((age_true, gender_true))
        ages.append(age)
        females.append(female)
    truth_arr = np.array(truth)
    correct = (np.array(females) > 0.5) == (truth_arr[:, 1] == 1)
    errors = np.abs(np.array(ages) - truth_arr[:, 0])
    print(f"UTKFace {len(truth)} faces ({missed} not detected): gender accuracy {correct.mean():.1%}, "
          f"age MAE {errors.mean():.2f} y")
    for low, high in AGE_BANDS:
        inside = (truth_arr[:, 0] >= low) & (truth_arr[:, 0] <= high)
        if inside.any():
            print(f"  ages {low}-{high}: {inside.sum()} faces, age MAE {errors[inside].mean():.1f} y, "
                  f"gender {correct[inside].mean():.0%}")
    adults = (truth_arr[:, 0] >= 18) & (truth_arr[:, 0] <= 59)
    assert missed <= 3
    # Regression guards, not targets. On the UTKFace draw of 2026-12-01 (a third of it children): gender
    # 84.7 %, age MAE 8.8 y overall and 8.5 y for adults 18-59; children's gender 65 %, over-60s 13.6 y
    # (the model stops at 80). The first draw gave 5.7 y: the earlier figure fit its sample.
    assert correct.mean() >= 0.80
    assert errors.mean() < 10.0
    assert errors[adults].mean() < 9.5 and correct[adults].mean() >= 0.90


AGE_BANDS = [(0, 12), (13, 17), (18, 29), (30, 44), (45, 59), (60, 120)]
