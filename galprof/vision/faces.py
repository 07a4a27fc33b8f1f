"""The face path of one frame: detect (BlazeFace) -> align (4 points) -> embed (ResNet-29) -> age/gender.

The frame becomes one Pillow image, which the detector resamples and all faces are aligned from; the
faces are embedded/estimated in one batch each.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from galprof.config import Settings
from galprof.facts import Face
from galprof.vision.age_gender import AgeGenderEstimator
from galprof.vision.align import EMBEDDING_TEMPLATE, align, as_image
from galprof.vision.blazeface import DEFAULT_VARIANT, FaceDetector
from galprof.vision.face_embedder import FaceEmbedder


class FacePipeline:
    """Faces of an RGB frame with identity embedding, age and P(female).

    min_score: detector confidence to keep a face (Settings.face_score).
    max_faces: at most this many faces (highest scores) get the face models, bounding the cost of
    crowd photos. demography=False skips age/gender.
    """

    def __init__(self, threads: int = 1, detector_variant: str = DEFAULT_VARIANT, min_score: float = 0.6,
                 precision: str = "int8", embedding_model_path: str | Path | None = None,
                 demography: bool = True, flip_demography: bool = False, max_faces: int = 32):
        self.detector = FaceDetector(variant=detector_variant, threads=threads)
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

    def run(self, rgb: np.ndarray) -> list[Face]:
        """Faces in an (H, W, 3) uint8 RGB frame, best detector score first."""
        image = as_image(rgb)
        detections = self.detector.detect(image, min_score=self.min_score)[: self.max_faces]
        if not detections:
            return []
        embed_chips = np.stack([align(image, d.keypoints, EMBEDDING_TEMPLATE) for d in detections])
        embeddings = self.embedder.embed(embed_chips)
        demography: list[tuple[float | None, float | None]] = [(None, None)] * len(detections)
        if self.estimator is not None:
            demography = self.estimator.estimate_faces(image, detections)
        return [Face(box=d.box, score=d.score, keypoints=d.keypoints, embedding=emb, age=age,
                     female_probability=female)
                for d, emb, (age, female) in zip(detections, embeddings, demography, strict=True)]
