"""Face identity embedding: shapes and batching (generated chips), int8 vs fp32 and dlib's 0.6 rule
on real LFW faces (BlazeFace -> 4-point alignment -> ResNet-29)."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from galprof.vision.align import EMBEDDING_TEMPLATE, align, as_image
from galprof.vision.face_embedder import FaceEmbedder, face_distance


@pytest.fixture(scope="module")
def int8() -> FaceEmbedder:
    return FaceEmbedder(precision="int8")


@pytest.fixture(scope="module")
def fp32() -> FaceEmbedder:
    return FaceEmbedder(precision="fp32")


def test_shapes_and_batching(int8):
    chips = np.random.default_rng(0).integers(0, 255, (3, 150, 150, 3), dtype=np.uint8)
    batch = int8.embed(chips)
    assert batch.shape == (3, 128) and batch.dtype == np.float32
    one = int8.embed(chips[1:2])
    assert np.allclose(one[0], batch[1], atol=1e-5)
    assert int8.embed(np.zeros((0, 150, 150, 3), np.uint8)).shape == (0, 128)
    with pytest.raises(ValueError):
        int8.embed(np.zeros((1, 64, 64, 3), np.uint8))
    with pytest.raises(ValueError):
        FaceEmbedder(precision="fp16")


def test_preprocessing_matches_face_api(int8):
    chip = np.full((1, 150, 150, 3), [122.782, 117.001, 104.298], np.float32).round().astype(np.uint8)
    x = int8.preprocess(chip)
    assert x.shape == (1, 3, 150, 150)
    assert np.abs(x).max() < 1.0 / 255  # the mean colour maps to ~0 (after rounding to bytes)


def _lfw_faces(shared_data: Path, people: int, photos: int) -> list[tuple[str, np.ndarray]]:
    """(person, chip) of the central face of the first `photos` photos of the first `people` people."""
    from galprof.vision.blazeface import FaceDetector

    detector = FaceDetector("short")
    folders = sorted(p for p in (shared_data / "lfw").iterdir() if p.is_dir())[:people]
    faces = []
    for folder in folders:
        for path in sorted(folder.glob("*.jpg"))[:photos]:
            rgb = np.asarray(Image.open(path).convert("RGB"))
            detections = detector.detect(rgb, min_score=0.5)
            assert detections, f"no face found in {path}"
            h, w = rgb.shape[:2]
            # LFW centres the labelled person; background faces are common
            main = min(detections, key=lambda d: np.hypot(d.box.center[0] - w / 2, d.box.center[1] - h / 2))
            faces.append((folder.name, align(as_image(rgb), main.keypoints, EMBEDDING_TEMPLATE)))
    return faces


@pytest.fixture(scope="module")
def lfw_faces(shared_data: Path) -> list[tuple[str, np.ndarray]]:
    return _lfw_faces(shared_data, people=16, photos=5)


def test_int8_matches_fp32_on_real_faces(lfw_faces, int8, fp32):
    chips = np.stack([c for _, c in lfw_faces])
    a, b = int8.embed(chips), fp32.embed(chips)
    cosine = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    pairs = list(itertools.combinations(range(len(chips)), 2))
    same_q = np.array([face_distance(a[i], a[j]) < 0.6 for i, j in pairs])
    same_f = np.array([face_distance(b[i], b[j]) < 0.6 for i, j in pairs])
    agreement = float((same_q == same_f).mean())
    print(f"int8 vs fp32 on {len(chips)} LFW faces: cosine min {cosine.min():.4f} p5 "
          f"{np.percentile(cosine, 5):.4f} mean {cosine.mean():.4f}; same-person decisions at 0.6 agree "
          f"on {agreement:.2%} of {len(pairs)} pairs")
    # What matters is the decision, not the cosine: an odd chip (min 0.956, 5th percentile 0.979 on the 2026-12-01 draw) may
    # move while the same/different calls stay put.
    assert cosine.mean() > 0.99 and np.percentile(cosine, 5) > 0.97
    assert agreement >= 0.98


@pytest.mark.parametrize("precision", ["int8", "fp32"])
def test_lfw_same_and_different_people(lfw_faces, precision, int8, fp32):
    embedder = int8 if precision == "int8" else fp32
    names = [n for n, _ in lfw_faces]
    emb = embedder.embed(np.stack([c for _, c in lfw_faces]))
    same, different = [], []
    for i, j in itertools.combinations(range(len(names)), 2):
        (same if names[i] == names[j] else different).append(float(face_distance(emb[i], emb[j])))
    same, different = np.array(same), np.array(different)
    same_ok, diff_ok = (same < 0.6).mean(), (different >= 0.6).mean()
    print(f"{precision}: same-person {len(same)} pairs, mean {same.mean():.3f}, max {same.max():.3f}, "
          f"{same_ok:.1%} < 0.6 | different {len(different)} pairs, mean {different.mean():.3f}, "
          f"min {different.min():.3f}, {diff_ok:.1%} >= 0.6")
    assert same_ok >= 0.95
    assert diff_ok >= 0.98
    assert same.mean() < 0.5
    assert different.mean() > 0.75
