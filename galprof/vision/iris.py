"""Iris size of a face: MediaPipe Iris (models/iris_landmark.onnx) on two eye crops from BlazeFace keypoints.

MediaPipe crops each eye from its face-mesh eye corners (a square 2.3 x the corner-to-corner width, the
eye line level) and mirrors the eye on the image's right, the model being trained on the other one. galprof
has no face mesh at scan time, so the eye width is taken as EYE_WIDTH_PER_IOD x the distance between
BlazeFace's two eye keypoints. The model's answer shrinks with the crop (on 18 LFW faces, eye distance /
iris diameter was 6.9, 6.0, 5.6, 5.5 at 0.38, 0.47, 0.56, 0.65); 0.6 sits where it flattens, near the
anatomical 63 mm / 11.7 mm = 5.4, with the least spread. Those 18 faces are left out of the selfie
evaluation (benchmarks/selfie_eval.py). The model gives 5 iris points
(centre, then 4 on the edge); the diameter is the mean of the two opposite-point distances, in frame pixels.
The human iris is ~11.7 mm across whoever owns it, which makes it a ruler for the camera distance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from galprof.vision.align import similarity_transform, warp
from galprof.vision.onnx_model import OnnxModel
from galprof.vision.registry import load_manifest

EYE_WIDTH_PER_IOD = 0.6
CROP_PER_EYE_WIDTH = 2.3  # MediaPipe's iris ROI scale
SIZE = 64


@dataclass
class IrisMeasure:
    """Iris diameters (frame pixels) of the image-left and image-right eye, and the eyes' distance."""

    left_px: float
    right_px: float
    eye_distance_px: float

    @property
    def diameter_px(self) -> float:
        return (self.left_px + self.right_px) / 2


def eye_matrices(keypoints: np.ndarray) -> tuple[list[np.ndarray], float]:
    """The (2, 3) image -> crop matrices of both eyes (image-left first) and the crop side in pixels."""
    eyes = np.asarray(keypoints, dtype=np.float64)[:2]
    eyes = eyes[np.argsort(eyes[:, 0])]
    direction = eyes[1] - eyes[0]
    distance = float(np.hypot(*direction))
    if distance <= 0:
        raise ValueError("eye keypoints coincide")
    unit = direction / distance
    side = CROP_PER_EYE_WIDTH * EYE_WIDTH_PER_IOD * distance
    matrices = []
    for centre in eyes:
        src = np.stack([centre - unit * side / 2, centre + unit * side / 2])
        matrices.append(similarity_transform(src, np.array([[0.0, SIZE / 2], [SIZE, SIZE / 2]])))
    return matrices, side


def iris_diameter(points: np.ndarray) -> float:
    """Diameter (input pixels) from the model's 5 iris points (x, y[, z]): centre, then 4 on the edge."""
    p = np.asarray(points, dtype=np.float64).reshape(5, -1)[:, :2]
    return float((np.hypot(*(p[1] - p[3])) + np.hypot(*(p[2] - p[4]))) / 2)


class IrisLandmarker:
    """`measure(image, keypoints)`: the iris diameters of one face in frame pixels."""

    def __init__(self, threads: int = 1):
        entry = load_manifest()["iris_landmark"]
        self.model = OnnxModel(entry.path(), threads=threads)
        self.outputs = list(entry.extra["outputs"])

    def measure(self, image: Image.Image, keypoints: np.ndarray) -> IrisMeasure:
        matrices, side = eye_matrices(keypoints)
        left = warp(image, matrices[0], SIZE)
        right = warp(image, matrices[1], SIZE)[:, ::-1]  # mirrored, as MediaPipe does
        batch = np.stack([left, right]).astype(np.float32) / 255.0
        diameters = []
        for chip in batch:  # the converted graph has a fixed batch of 1
            outputs = dict(zip(self.outputs, self.model.run(chip[None]), strict=True))
            diameters.append(iris_diameter(outputs["iris"][0]) * side / SIZE)
        distance = float(np.hypot(*np.subtract(*np.asarray(keypoints, dtype=np.float64)[:2])))
        return IrisMeasure(diameters[0], diameters[1], distance)
