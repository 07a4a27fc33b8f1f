"""Age and gender: input checks (generated chips) and the scan's estimate on the held-out half of the
UTKFace crops (benchmarks/age_gender_eval.py's split rule; 200 px crops placed on a larger canvas so
BlazeFace sees a margin), per age band."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from galprof.vision.age_gender import AgeGenderEstimator


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


def _held_out_half(shared_data: Path) -> list[Path]:
    """The held-out half of benchmarks/age_gender_eval.py's split rule (no choice was made on it)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    try:
        from age_gender_eval import held_out_files
    finally:
        sys.path.pop(0)
    return [shared_data / "utkface" / name for name in held_out_files(sorted((shared_data / "utkface").glob("*.jpg")))]


def test_scan_estimate_on_the_held_out_utkface_half(shared_data: Path):
    """The scan's ensemble (SCAN_ENSEMBLE) per face on the held-out half, per age band: regression
    guards a little under the figures of benchmarks/README.md, not targets."""
    from galprof.vision.blazeface import FaceDetector

    detector, estimator = FaceDetector("full"), AgeGenderEstimator()
    truth, estimates, missed = [], [], 0
    for path in _held_out_half(shared_data):
        canvas = Image.new("RGB", (400, 400), (128, 128, 128))
        canvas.paste(Image.open(path).convert("RGB"), (100, 100))
        detections = detector.detect(np.asarray(canvas), min_score=0.5)
        if not detections:
            missed += 1
            continue
        face = min(detections, key=lambda d: (d.box.center[0] - 200) ** 2 + (d.box.center[1] - 200) ** 2)
        estimates += estimator.estimate_faces(canvas, [face])
        truth.append(tuple(int(v) for v in path.name.split("_")[:2]))
    truth_arr, est = np.array(truth), np.array(estimates)
    errors = np.abs(est[:, 0] - truth_arr[:, 0])
    correct = (est[:, 1] > 0.5) == (truth_arr[:, 1] == 1)
    print(f"held-out UTKFace {len(truth)} faces ({missed} not detected): age MAE {errors.mean():.2f} y, "
          f"gender {correct.mean():.1%}")
    assert missed <= 2
    for (low, high), (max_mae, min_accuracy) in HELD_OUT_GUARDS.items():
        inside = (truth_arr[:, 0] >= low) & (truth_arr[:, 0] <= high)
        print(f"  ages {low}-{high}: {inside.sum()} faces, MAE {errors[inside].mean():.2f} y, "
              f"gender {correct[inside].mean():.1%}")
        assert errors[inside].mean() <= max_mae, (low, high)
        assert correct[inside].mean() >= min_accuracy, (low, high)


# (age band) -> (largest MAE in years, smallest gender accuracy) on the held-out half: the figures
# benchmarks/age_gender_eval.py measured for SCAN_ENSEMBLE (in brackets) + 0.3 y and - about one face of
# the band's gender calls. Children's gender and the age past 30 miss the targets (5 y, 90 %): see
# benchmarks/README.md.
HELD_OUT_GUARDS: dict[tuple[int, int], tuple[float, float]] = {
    (0, 200): (4.5, 0.85),  # all 503 faces (4.21 y, 86.3 %)
    (0, 12): (2.15, 0.71),  # children, 192 faces (1.84 y, 71.9 %)
    (0, 9): (2.0, 0.70),  # 171 (1.68 y, 70.8 %)
    (10, 19): (3.6, 0.82),  # 56 (3.30 y, 83.9 %)
    (20, 29): (4.85, 0.96),  # 99 (4.54 y, 97.0 %)
    (30, 39): (6.75, 0.92),  # 51 (6.44 y, 94.1 %)
    (40, 49): (7.5, 0.94),  # 34 (7.20 y, 97.1 %)
    (50, 59): (6.15, 0.97),  # 40 (5.84 y, 100 %)
    (60, 69): (7.55, 0.89),  # 19 (7.24 y, 94.7 %)
    (70, 200): (7.9, 0.90),  # 33 (7.56 y, 93.9 %)
}
