"""Face Mesh on detected faces: the crop geometry (unit, generated points) and the model on real faces."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from galprof.facts import Box, FaceDetection
from galprof.media.decode import decode_image
from galprof.vision.align import MESH_EMBEDDING_TEMPLATE, align, as_image, invert_affine
from galprof.vision.blazeface import FaceDetector
from galprof.vision.face_landmarks import CROP_SCALE, FaceLandmarker, FaceMesh, crop_matrix


def _apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    return np.asarray(points, np.float64) @ matrix[:, :2].T + matrix[:, 2]


def _detection(cx: float, cy: float, width: float, angle: float) -> FaceDetection:
    """A box of `width` around (cx, cy) with eyes rotated by `angle` (radians, image y down)."""
    half = width / 2
    dx, dy = math.cos(angle) * width * 0.2, math.sin(angle) * width * 0.2
    keypoints = np.zeros((6, 2), np.float32)
    keypoints[0] = (cx - dx, cy - width * 0.1 - dy)
    keypoints[1] = (cx + dx, cy - width * 0.1 + dy)
    return FaceDetection(Box(cx - half, cy - half, cx + half, cy + half), 0.9, keypoints)


@pytest.mark.parametrize("angle", [0.0, 0.4, -1.2, math.pi * 0.9])
def test_crop_levels_the_eyes_and_centres_the_box(angle):
    detection = _detection(300.0, 200.0, 80.0, angle)
    matrix = crop_matrix(detection, 192)
    centre = _apply(matrix, [detection.box.center])[0]
    assert np.allclose(centre, (96, 96), atol=1e-6)
    right, left = _apply(matrix, detection.keypoints[:2])
    assert abs(right[1] - left[1]) < 1e-6 and left[0] > right[0]  # level, the left eye on the right
    scale = math.sqrt(abs(np.linalg.det(matrix[:, :2])))
    assert scale == pytest.approx(192 / (80 * CROP_SCALE))


def test_crop_inverse_maps_input_pixels_back():
    detection = _detection(120.0, 90.0, 50.0, 0.3)
    matrix = crop_matrix(detection, 192)
    points = np.array([[0.0, 0.0], [191.0, 5.0], [40.0, 150.0]])
    assert np.allclose(_apply(matrix, _apply(invert_affine(matrix), points)), points, atol=1e-9)


def test_anchor_points_are_group_means():
    points = np.zeros((468, 2), np.float32)
    points[33], points[133] = (10, 20), (30, 20)  # two of the right eye's contour points
    points[1] = (50, 60)
    points[[13, 14, 61, 291]] = [(40, 80), (40, 84), (30, 82), (50, 82)]
    anchors = FaceMesh(points, 0.9).anchor_points()
    assert anchors[2].tolist() == [50, 60]
    assert anchors[3].tolist() == pytest.approx([40, 82])
    assert anchors[0].tolist() == pytest.approx([40 / 16, 40 / 16])  # 2 of 16 points set


@pytest.fixture(scope="module")
def models():
    return FaceDetector(variant="full"), FaceLandmarker()


def test_landmark_model_loads(models):
    _, landmarker = models
    assert landmarker.size == 192


def test_mesh_points_fall_on_real_faces(lfw: Path, models):
    detector, landmarker = models
    photos = [min(person.glob("*.jpg")) for person in sorted(p for p in lfw.iterdir() if p.is_dir())][:12]
    if not photos:
        pytest.skip("no LFW photos")
    for path in photos:
        image = as_image(decode_image(str(path)).rgb)
        face = max(detector.detect(image, min_score=0.6), key=lambda d: d.box.width)
        mesh = landmarker.mesh(image, face)
        box = face.box
        inside = ((mesh.points[:, 0] > box.x1 - 0.2 * box.width) & (mesh.points[:, 0] < box.x2 + 0.2 * box.width)
                  & (mesh.points[:, 1] > box.y1 - 0.3 * box.height) & (mesh.points[:, 1] < box.y2 + 0.2 * box.height))
        assert inside.mean() > 0.95, path.name
        assert mesh.presence > 0.9, path.name
        anchors = mesh.anchor_points()
        # the mesh's eyes and mouth lie near BlazeFace's, within a fifth of the face width
        assert np.linalg.norm(anchors - face.keypoints[:4], axis=1).max() < 0.2 * box.width, path.name
        assert anchors[0, 0] < anchors[1, 0] and anchors[3, 1] > anchors[2, 1] > anchors[0, 1]


def test_mesh_chip_puts_the_anchors_on_the_template(lfw: Path, models):
    detector, landmarker = models
    path = min(min(p for p in lfw.iterdir() if p.is_dir()).glob("*.jpg"))
    image = as_image(decode_image(str(path)).rgb)
    mesh = landmarker.mesh(image, detector.detect(image, min_score=0.6)[0])
    chip = align(image, mesh.anchor_points(), MESH_EMBEDDING_TEMPLATE)
    assert chip.shape == (150, 150, 3)
    # a second mesh on the chip itself finds its eyes where the template put them
    on_chip = Image.fromarray(chip)
    again = detector.detect(on_chip, min_score=0.5)
    assert again
    eyes = landmarker.mesh(on_chip, again[0]).anchor_points()[:2]
    assert np.abs(eyes - MESH_EMBEDDING_TEMPLATE.points[:2]).max() < 6.0


def test_collapsed_mesh_falls_back_to_keypoint_chips(lfw: Path, monkeypatch):
    """A mesh whose points collapse (no alignment defined) gives the keypoint chip, not an error."""
    from galprof.vision.align import EMBEDDING_TEMPLATE
    from galprof.vision.faces import FacePipeline

    pipeline = FacePipeline(demography=False, chips="mesh")
    path = min(min(p for p in lfw.iterdir() if p.is_dir()).glob("*.jpg"))
    image = as_image(decode_image(str(path)).rgb)
    detections = pipeline.detector.detect(image, min_score=0.6)
    collapsed = FaceMesh(np.full((468, 2), 50.0, np.float32), 0.0)
    monkeypatch.setattr(pipeline.landmarker, "meshes", lambda image, found: [collapsed] * len(found))
    chips = pipeline._identity_chips(image, detections)
    assert np.array_equal(chips[0], align(image, detections[0].keypoints, EMBEDDING_TEMPLATE))


def test_unknown_chip_alignment_is_refused():
    from galprof.vision.faces import FacePipeline

    with pytest.raises(ValueError, match="chip alignment"):
        FacePipeline(chips="dlib")
