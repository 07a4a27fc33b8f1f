"""Ensemble and flip arithmetic of the age/gender estimate, and the chips and members it runs on."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from galprof.facts import Box
from galprof.vision.age_gender import AgeGenderEstimator
from galprof.vision.age_gender_ensemble import EnsembleSpec, combine, flip_average, logit
from galprof.vision.age_gender_models import FaceApiAgeGender, box_chip


def test_age_is_the_weighted_mean_then_the_calibration():
    spec = EnsembleSpec(keys=("a", "b"), age_weights=(0.25, 0.75), age_slope=1.1, age_intercept=-2.0)
    ages = np.array([[20.0, 40.0], [2.0, 0.0]])
    out = combine(ages, np.full((2, 2), 0.5), spec)
    assert out[0, 0] == pytest.approx((0.25 * 20 + 0.75 * 40) * 1.1 - 2.0)
    assert out[1, 0] == 0.0  # never below 0


def test_gender_averages_log_odds_so_a_confident_member_wins():
    spec = EnsembleSpec(keys=("sure", "unsure"))
    out = combine(np.zeros((1, 2)), np.array([[0.99, 0.4]]), spec)
    assert out[0, 1] > 0.5  # a plain mean (0.695) agrees, but log-odds keep the confident vote's weight
    assert out[0, 1] == pytest.approx(1 / (1 + np.exp(-(logit(0.99) + logit(0.4)) / 2)))
    one = combine(np.zeros((3, 1)), np.array([[0.2], [0.5], [0.9]]), EnsembleSpec(keys=("m",)))
    assert np.allclose(one[:, 1], [0.2, 0.5, 0.9])  # a single member passes through
    saturated = combine(np.zeros((1, 1)), np.array([[1.0]]), EnsembleSpec(keys=("m",)))
    assert np.isfinite(saturated).all() and saturated[0, 1] > 0.999


def test_weights_must_be_a_distribution_over_the_members():
    with pytest.raises(ValueError, match="summing to 1"):
        combine(np.zeros((1, 2)), np.zeros((1, 2)), EnsembleSpec(keys=("a", "b"), age_weights=(0.5, 0.6)))
    with pytest.raises(ValueError, match="expected"):
        combine(np.zeros((1, 3)), np.zeros((1, 3)), EnsembleSpec(keys=("a", "b")))


def test_spec_round_trips_through_a_dict():
    spec = EnsembleSpec(keys=("cydral/aligned", "face_api/box1.25"), flip=True, age_weights=(0.3, 0.7),
                        gender_weights=(0.6, 0.4), age_slope=1.05, age_intercept=-1.0)
    assert EnsembleSpec.from_dict(spec.to_dict()) == spec


def test_flip_average_is_the_mean():
    assert np.allclose(flip_average([[10.0, 0.2]], [[14.0, 0.6]]), [[12.0, 0.4]])


def _face_image() -> tuple[Image.Image, Box]:
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (200, 300, 3), dtype=np.uint8)
    rgb[50:150, 100:200] = [200, 30, 30]
    return Image.fromarray(rgb), Box(100, 50, 200, 150)


def test_box_chip_is_the_square_around_the_box():
    image, box = _face_image()
    tight = box_chip(image, box, 64, margin=1.0)
    assert tight.shape == (64, 64, 3)
    assert np.abs(tight.astype(int) - [200, 30, 30]).max() <= 1  # only the box
    wide = box_chip(image, box, 64, margin=2.0)
    assert np.abs(wide[32, 32].astype(int) - [200, 30, 30]).max() <= 1
    assert np.abs(wide[2, 2].astype(int) - [200, 30, 30]).max() > 20  # the margin shows the surroundings


def test_face_api_member_gives_probabilities_and_checks_its_chip_size():
    model = FaceApiAgeGender()
    rng = np.random.default_rng(0)
    chips = rng.integers(0, 256, (3, 112, 112, 3), dtype=np.uint8)
    ages, female = model.predict(chips)
    assert ages.shape == (3,) and ((female >= 0) & (female <= 1)).all()
    with pytest.raises(ValueError, match="112"):
        model.predict(chips[:, :64, :64])


class _Detection:
    def __init__(self, box: Box):
        self.box = box
        x, y = box.x1, box.y1
        # right eye, left eye, nose, mouth as BlazeFace orders them, roughly where a face has them
        self.keypoints = np.array([[x + 30, y + 35], [x + 70, y + 35], [x + 50, y + 55], [x + 50, y + 75]], float)


def test_estimator_runs_each_member_and_combines_them():
    image, box = _face_image()
    detections = [_Detection(box), _Detection(Box(20, 20, 80, 80))]
    cydral = AgeGenderEstimator(spec=EnsembleSpec(keys=("cydral/aligned",)))
    face_api = AgeGenderEstimator(spec=EnsembleSpec(keys=("face_api/box1.25",)))
    both = AgeGenderEstimator(spec=EnsembleSpec(keys=("cydral/aligned", "face_api/box1.25"),
                                                age_weights=(0.5, 0.5), gender_weights=(0.5, 0.5)))
    a, b, ab = (e.estimate_faces(image, detections) for e in (cydral, face_api, both))
    assert len(ab) == 2
    for i in range(2):
        assert ab[i][0] == pytest.approx((a[i][0] + b[i][0]) / 2, rel=1e-5)
        assert ab[i][1] == pytest.approx(1 / (1 + np.exp(-(logit(a[i][1]) + logit(b[i][1])) / 2)), rel=1e-5)
    assert both.estimate_faces(image, []) == []
    with pytest.raises(ValueError, match="unknown age/gender model"):
        AgeGenderEstimator(spec=EnsembleSpec(keys=("nobody/aligned",)))
