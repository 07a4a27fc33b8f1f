"""MediaPipe Face Mesh on a detected face: 468 landmarks and the model's face-presence probability.

The crop follows MediaPipe's face_landmark_front graph: a square around the detection box's centre,
1.5 times its longer side, rotated so that BlazeFace's two eye keypoints are level, resampled to the
model's 192 px input (RGB scaled to [0, 1]). The landmarks come back in input pixels and are mapped to
image pixels through the inverse of that crop.

The presence probability (the model's second output) is what rejects false faces: BlazeFace fires on
dog and monkey faces, tie knots and textures, where the mesh model says "no face".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from galprof.facts import FaceDetection
from galprof.vision.align import invert_affine, warp
from galprof.vision.onnx_model import OnnxModel
from galprof.vision.registry import model_path as model_path_of

MODEL_NAME = "face_landmark"
CROP_SCALE = 1.5  # MediaPipe's RectTransformationCalculator scale for the landmark crop

# Face Mesh indices (MediaPipe's canonical order; "right" is the subject's right, left in the image).
RIGHT_EYE = (33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173)
LEFT_EYE = (263, 249, 390, 373, 374, 380, 381, 382, 362, 466, 388, 387, 386, 385, 384, 398)
NOSE_TIP = 1
MOUTH = (13, 14, 61, 291)  # inner upper and lower lip, mouth corners


@dataclass(frozen=True)
class FaceMesh:
    """One face's mesh: points (468, 2) x, y in image pixels, presence P(face) in [0, 1]."""

    points: np.ndarray
    presence: float

    def anchor_points(self) -> np.ndarray:
        """(4, 2): right eye centre, left eye centre, nose tip, mouth centre (BlazeFace's first four
        keypoints, measured on the mesh)."""
        return np.stack([self.points[list(RIGHT_EYE)].mean(0), self.points[list(LEFT_EYE)].mean(0),
                         self.points[NOSE_TIP], self.points[list(MOUTH)].mean(0)])


def crop_matrix(detection: FaceDetection, size: int, scale: float = CROP_SCALE) -> np.ndarray:
    """The (2, 3) image -> input matrix of the landmark crop: centred on the box, side `scale` times
    its longer side, rotated so that the eye keypoints (0: right eye, 1: left eye) are level."""
    box = detection.box
    cx, cy = box.center
    side = max(box.width, box.height) * scale
    (x0, y0), (x1, y1) = np.asarray(detection.keypoints, np.float64)[:2]
    angle = math.atan2(y1 - y0, x1 - x0)
    k = size / max(side, 1e-6)
    cos, sin = math.cos(angle) * k, math.sin(angle) * k
    linear = np.array([[cos, sin], [-sin, cos]])
    shift = np.array([size / 2, size / 2]) - linear @ np.array([cx, cy])
    return np.hstack([linear, shift[:, None]])


class FaceLandmarker:
    """Face Mesh landmarks and presence for detected faces (one model run per face)."""

    def __init__(self, threads: int = 1, model_path: str | Path | None = None):
        path = Path(model_path) if model_path is not None else model_path_of(MODEL_NAME)
        self.model = OnnxModel(path, threads=threads)
        shape = self.model.input_shape
        if len(shape) != 4 or shape[-1] != 3 or not isinstance(shape[1], int):
            raise ValueError(f"{path}: expected a fixed NHWC RGB input, got {shape}")
        self.size = int(shape[1])
        names = self.model.output_names
        self._points_index = next(i for i, out in enumerate(self.model.session.get_outputs())
                                  if out.shape[-1] == 1404)
        self._flag_index = 1 - self._points_index if len(names) == 2 else names.index("face_flag")

    def mesh(self, image: Image.Image, detection: FaceDetection) -> FaceMesh:
        """The mesh of one detected face in a Pillow RGB image."""
        matrix = crop_matrix(detection, self.size)
        chip = warp(image, matrix, self.size)
        tensor = (chip.astype(np.float32) / 255.0)[None]
        outputs = self.model.run(np.ascontiguousarray(tensor))
        local = outputs[self._points_index].reshape(-1, 3)[:, :2].astype(np.float64)
        logit = float(np.asarray(outputs[self._flag_index]).reshape(-1)[0])
        inverse = invert_affine(matrix)
        points = local @ inverse[:, :2].T + inverse[:, 2]
        presence = 1.0 / (1.0 + math.exp(-max(-80.0, min(80.0, logit))))
        return FaceMesh(points=points.astype(np.float32), presence=presence)

    def meshes(self, image: Image.Image, detections: list[FaceDetection]) -> list[FaceMesh]:
        return [self.mesh(image, d) for d in detections]
