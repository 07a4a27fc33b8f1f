"""The selfie models of one photo: iris size of the largest face and the person mask's frame edges.

They run only when the largest face makes a selfie plausible (`largest_plausible`): at arm's length a
face spans a fifth or more of the frame's shorter side; PLAUSIBLE_FACE is well below that so the score
(analysis/selfie.py), not this gate, decides. Other photos pay nothing beyond the face detector.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from galprof.facts import Face, SelfieCues, largest_face
from galprof.vision.iris import IrisLandmarker
from galprof.vision.segmentation import PersonSegmenter

PLAUSIBLE_FACE = 0.12  # largest face width / the frame's shorter side


def largest_plausible(faces: list[Face], width: int, height: int) -> int | None:
    """Index of the largest face when it is big enough for a selfie, else None."""
    index = largest_face(faces)
    if index is None or faces[index].keypoints is None:
        return None
    return index if faces[index].box.width / max(1, min(width, height)) >= PLAUSIBLE_FACE else None


class SelfieCueMeter:
    """`measure(image, faces)`: SelfieCues of a photo, or None when no face makes a selfie plausible."""

    def __init__(self, threads: int = 1):
        self.iris = IrisLandmarker(threads=threads)
        self.segmenter = PersonSegmenter(threads=threads)

    def measure(self, image: Image.Image, faces: list[Face]) -> SelfieCues | None:
        index = largest_plausible(faces, image.width, image.height)
        if index is None:
            return None
        iris = self.iris.measure(image, np.asarray(faces[index].keypoints))
        edges = self.segmenter.edges(image)
        return SelfieCues(face=index, iris_px=round(iris.diameter_px, 2),
                          eye_distance_px=round(iris.eye_distance_px, 2), person_area=round(edges.area, 4),
                          person_bottom=round(edges.bottom, 4), person_side=round(edges.side, 4))
