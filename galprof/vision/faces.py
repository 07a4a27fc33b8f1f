"""The face path of one frame: detect (BlazeFace) -> mesh (Face Mesh) -> align (4 points) -> embed
(ResNet-29) -> age/gender.

The frame becomes one Pillow image, which the detector resamples and all faces are aligned from; the
faces are embedded/estimated in one batch each. chips="mesh" aligns the identity chip on Face Mesh's
eye centres, nose tip and mouth centre instead of BlazeFace's six coarse keypoints (one landmark run
per face); the age and gender chips stay on the keypoints their models were checked with.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from galprof.config import Settings
from galprof.facts import Face, FaceDetection
from galprof.vision.age_gender import AgeGenderEstimator
from galprof.vision.align import (
    EMBEDDING_TEMPLATE,
    MESH_EMBEDDING_TEMPLATE,
    align,
)
from galprof.vision.blazeface import DEFAULT_VARIANT, FaceDetector
from galprof.vision.face_embedder import FaceEmbedder
from galprof.vision.face_landmarks import FaceLandmarker
from galprof.vision.frame_image import FrameImage

CHIPS = ("keypoints", "mesh")
DEFAULT_CHIPS = "mesh"  # LFW clustering F 0.989 against 0.974 with keypoint chips (benchmarks/README.md)


class FacePipeline:
    """Faces of an RGB frame with identity embedding, age and P(female).

    min_score: detector confidence to keep a face (Settings.face_score).
    max_faces: at most this many faces (highest scores) get the face models, bounding the cost of
    crowd photos. demography=False skips age/gender.
    """

    def __init__(self, threads: int = 1, detector_variant: str = DEFAULT_VARIANT, min_score: float = 0.6,
                 precision: str = "int8", embedding_model_path: str | Path | None = None,
                 demography: bool = True, flip_demography: bool = False, max_faces: int = 32,
                 chips: str = DEFAULT_CHIPS):
        if chips not in CHIPS:
            raise ValueError(f"unknown chip alignment {chips!r} (choose from {', '.join(CHIPS)})")
        self.detector = FaceDetector(variant=detector_variant, threads=threads)
        self.landmarker = FaceLandmarker(threads=threads) if chips == "mesh" else None
        self.embedder = FaceEmbedder(threads=threads, model_path=embedding_model_path, precision=precision)
        self.estimator = AgeGenderEstimator(threads=threads, flip=flip_demography) if demography else None
        self.min_score = min_score
        self.max_faces = max_faces

    @classmethod
    def from_settings(cls, settings: Settings, threads: int | None = None, **options) -> FacePipeline:
        """A pipeline keeping faces at settings.face_score, on settings' threads per worker."""
        threads = settings.resolved_threads() if threads is None else threads
        options.setdefault("detector_variant", settings.face_detector)
        return cls(threads=threads, min_score=settings.face_score, **options)

    def _identity_chips(self, image, detections: list[FaceDetection]) -> list[np.ndarray]:
        """The embedding chip of each face: from its mesh anchors, or from BlazeFace's keypoints with
        keypoint chips or where the mesh collapsed (eyes under a pixel apart: no alignment defined)."""
        if self.landmarker is None:
            return [align(image, d.keypoints, EMBEDDING_TEMPLATE) for d in detections]
        chips = []
        for detection, mesh in zip(detections, self.landmarker.meshes(image, detections), strict=True):
            anchors = mesh.anchor_points()
            if np.linalg.norm(anchors[1] - anchors[0]) >= 1.0:
                chips.append(align(image, anchors, MESH_EMBEDDING_TEMPLATE))
            else:
                chips.append(align(image, detection.keypoints, EMBEDDING_TEMPLATE))
        return chips

    def run(self, rgb: np.ndarray | FrameImage, fine_pass: bool = True) -> list[Face]:
        """Faces in an (H, W, 3) uint8 RGB frame (or the analyzer's FrameImage of it), best detector
        score first; fine_pass=False: without the detector's fine pass (FaceDetector.detect)."""
        frame = FrameImage.of(rgb)
        image = frame.image
        detections = self.detector.detect(frame, min_score=self.min_score, fine_pass=fine_pass)[: self.max_faces]
        if not detections:
            return []
        embeddings = self.embedder.embed(np.stack(self._identity_chips(image, detections)))
        demography: list[tuple[float | None, float | None]] = [(None, None)] * len(detections)
        if self.estimator is not None:
            demography = self.estimator.estimate_faces(image, detections)
        return [Face(box=d.box, score=d.score, keypoints=d.keypoints, embedding=emb, age=age,
                     female_probability=female)
                for d, emb, (age, female) in zip(detections, embeddings, demography, strict=True)]
