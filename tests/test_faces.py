"""Alignment (unit, generated points) and the chained FacePipeline (real LFW photos)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from galprof.facts import Face
from galprof.vision.align import (
    AGE_TEMPLATE,
    EMBEDDING_TEMPLATE,
    GENDER_TEMPLATE,
    align,
    as_image,
    similarity_transform,
    warp,
)


def _rotation(angle: float, scale: float, shift: tuple[float, float]) -> np.ndarray:
    c, s = np.cos(angle) * scale, np.sin(angle) * scale
    return np.array([[c, -s, shift[0]], [s, c, shift[1]]])


def _apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ matrix[:, :2].T + matrix[:, 2]


@pytest.mark.parametrize("template", [EMBEDDING_TEMPLATE, AGE_TEMPLATE, GENDER_TEMPLATE])
def test_similarity_recovers_generated_transform(template):
    rng = np.random.default_rng(7)
    for _ in range(20):
        truth = _rotation(rng.uniform(-0.8, 0.8), rng.uniform(0.2, 5.0), tuple(rng.uniform(-300, 300, 2)))
        keypoints = _apply(truth, template.points)
        # the keypoints are the template moved by `truth`: the fitted image->chip transform undoes it
        matrix = similarity_transform(keypoints, template.points)
        assert np.allclose(_apply(matrix, keypoints), template.points, atol=1e-6)


def test_similarity_is_least_squares_with_noise():
    rng = np.random.default_rng(3)
    keypoints = EMBEDDING_TEMPLATE.points * 2.0 + [300.0, 120.0] + rng.normal(0, 1.5, (4, 2))
    matrix = similarity_transform(keypoints, EMBEDDING_TEMPLATE.points)
    residual = np.abs(_apply(matrix, keypoints) - EMBEDDING_TEMPLATE.points)
    assert residual.max() < 3.0
    # a similarity: equal scale on both axes, no shear
    a, b = matrix[0, 0], matrix[1, 0]
    assert np.isclose(matrix[1, 1], a) and np.isclose(matrix[0, 1], -b)
    assert np.isclose(np.hypot(a, b), 0.5, rtol=0.05)


@pytest.mark.parametrize("scale", [0.7, 1.6, 4.5])  # 4.5 goes through the reduce-first path
def test_warp_puts_keypoints_on_the_template(scale):
    """Bright dots drawn at generated keypoints land on the template's points in the chip."""
    template = EMBEDDING_TEMPLATE
    truth = _rotation(0.3, scale, (200.0, 150.0))
    keypoints = _apply(truth, template.points)
    size = int(keypoints.max() + 200)
    canvas = np.zeros((size, size, 3), np.uint8)
    radius = max(2, int(2 * scale))
    yy, xx = np.mgrid[0:size, 0:size]
    for x, y in keypoints:
        canvas[(xx + 0.5 - x) ** 2 + (yy + 0.5 - y) ** 2 <= radius ** 2] = 255
    chip = align(as_image(canvas), keypoints, template)
    assert chip.shape == (template.size, template.size, 3) and chip.dtype == np.uint8
    gray = chip[..., 0].astype(float)
    cy, cx = np.mgrid[0:template.size, 0:template.size] + 0.5
    for px, py in template.points:
        near = (cx - px) ** 2 + (cy - py) ** 2 <= 36
        weights = gray * near
        assert weights.sum() > 0
        mx, my = (weights * cx).sum() / weights.sum(), (weights * cy).sum() / weights.sum()
        assert np.hypot(mx - px, my - py) < 1.0, (mx, my, px, py)


def test_align_is_fast():
    rgb = np.random.default_rng(0).integers(0, 255, (768, 1024, 3), dtype=np.uint8)
    image = as_image(rgb)
    keypoints = EMBEDDING_TEMPLATE.points * 1.3 + [400, 300]
    align(image, keypoints, EMBEDDING_TEMPLATE)
    start = time.perf_counter()
    for _ in range(20):
        align(image, keypoints, EMBEDDING_TEMPLATE)
    per_chip = (time.perf_counter() - start) / 20
    print(f"align 150 px: {per_chip * 1000:.2f} ms")
    assert per_chip < 0.02  # ~1 ms on an idle core; loose for a busy CI machine


def test_warp_of_identity_copies_pixels():
    rgb = np.random.default_rng(1).integers(0, 255, (40, 40, 3), dtype=np.uint8)
    chip = warp(as_image(rgb), np.array([[1.0, 0, -5], [0, 1.0, -5]]), 20)
    assert np.array_equal(chip, rgb[5:25, 5:25])


# -- the pipeline on real photos -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def pipeline():
    from galprof.vision.faces import FacePipeline

    return FacePipeline(threads=1)


def test_pipeline_no_face_on_blank(pipeline):
    assert pipeline.run(np.full((300, 400, 3), 127, np.uint8)) == []


def test_pipeline_on_lfw(shared_data: Path, pipeline):
    people = sorted(p for p in (shared_data / "lfw").iterdir() if p.is_dir())[:6]
    photos = [sorted(p.glob("*.jpg"))[:2] for p in people]
    times, subject = [], {}
    for person, files in zip(people, photos, strict=True):
        for path in files:
            rgb = np.asarray(Image.open(path).convert("RGB"))
            start = time.perf_counter()
            faces = pipeline.run(rgb)
            times.append(time.perf_counter() - start)
            assert faces, f"no face in {path}"
            for face in faces:
                assert isinstance(face, Face)
                assert face.embedding.shape == (128,) and face.embedding.dtype == np.float32
                assert 0.0 <= face.age <= 81.0 and 0.0 <= face.female_probability <= 1.0
                assert face.score >= pipeline.min_score
                assert face.keypoints.shape == (6, 2)
            h, w = rgb.shape[:2]
            main = min(faces, key=lambda f: np.hypot(f.box.center[0] - w / 2, f.box.center[1] - h / 2))
            subject.setdefault(person.name, []).append(main.embedding)
    print(f"FacePipeline per LFW photo: median {np.median(times) * 1000:.1f} ms")
    # each person's two photos match, the first photos of different people do not (a few % of LFW
    # pairs fail dlib's 0.6 rule, so one miss per kind is tolerated; test_face_embedding measures rates)
    same = [float(np.linalg.norm(a - b)) for a, b in subject.values()]
    firsts = [v[0] for v in subject.values()]
    different = [float(np.linalg.norm(firsts[i] - firsts[j]))
                 for i in range(len(firsts)) for j in range(i + 1, len(firsts))]
    print(f"same-person distances {np.round(same, 2)}; different: min {min(different):.2f}")
    assert sum(d >= 0.6 for d in same) <= 1
    assert sum(d <= 0.6 for d in different) <= 1
    assert np.mean(same) < np.mean(different) - 0.2


def test_pipeline_from_settings():
    from galprof.config import Settings
    from galprof.vision.faces import FacePipeline

    pipeline = FacePipeline.from_settings(Settings(face_score=0.75), threads=1, demography=False)
    assert pipeline.min_score == 0.75 and pipeline.estimator is None
    assert pipeline.run(np.zeros((120, 160, 3), np.uint8)) == []
