"""Plain data passed between stages: what a model saw in one frame, what a file holds.

Everything here is a dataclass of plain values (numbers, strings, lists, numpy arrays) so that
stages stay decoupled and results can be cached and re-read without the models.
Coordinates are always in pixels of the decoded, orientation-corrected frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy only annotates here; importing it would cost every CLI run ~0.1 s
    import numpy as np


@dataclass
class Box:
    x1: float
    y1: float
    x2: float
    y2: float

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1

    @property
    def center(self) -> tuple[float, float]:
        return (self.x1 + self.x2) / 2, (self.y1 + self.y2) / 2

    def scaled(self, sx: float, sy: float | None = None) -> Box:
        sy = sx if sy is None else sy
        return Box(self.x1 * sx, self.y1 * sy, self.x2 * sx, self.y2 * sy)

    def as_list(self) -> list[float]:
        return [round(self.x1, 1), round(self.y1, 1), round(self.x2, 1), round(self.y2, 1)]


@dataclass
class FaceDetection:
    """A face found by the detector. keypoints: (6, 2) array of x, y in frame pixels, in
    BlazeFace order: right eye, left eye, nose tip, mouth centre, right ear, left ear
    ("right" is the subject's right, i.e. on the left of the image)."""

    box: Box
    score: float
    keypoints: np.ndarray


@dataclass
class Face:
    """A detected face with what the face models said about it."""

    box: Box
    score: float
    keypoints: np.ndarray
    embedding: np.ndarray  # (128,) float32, dlib ResNet space (same person: distance < 0.6)
    age: float | None = None
    female_probability: float | None = None  # P(female); gender = female when > 0.5

    @property
    def gender(self) -> str | None:
        if self.female_probability is None:
            return None
        return "female" if self.female_probability > 0.5 else "male"


@dataclass
class ObjectDetection:
    label: str  # COCO-80 name, e.g. "car"
    score: float
    box: Box


@dataclass
class ClassScore:
    label: str  # classifier label, e.g. ImageNet "espresso"
    score: float  # softmax probability


@dataclass
class SelfieCues:
    """What the selfie models measured on a photo whose largest face is big enough for a selfie
    (vision/selfie_cues.py); the score is made later, with the EXIF (analysis/selfie.py)."""

    face: int  # index of the measured face (the largest) in FrameFacts.faces
    iris_px: float  # iris diameter, frame pixels (mean of both eyes)
    eye_distance_px: float  # between BlazeFace's eye keypoints
    person_area: float  # share of the frame the person mask covers
    person_bottom: float  # share of the bottom edge the person mask touches
    person_side: float  # share of the lower half of the left or right edge it touches (the larger)


@dataclass
class FrameFacts:
    """Everything the models found in one photo or one sampled video frame."""

    width: int  # size of the frame the models saw (after orientation)
    height: int
    timestamp: float | None = None  # seconds from the start of the video; None for photos
    objects: list[ObjectDetection] = field(default_factory=list)
    classes: list[ClassScore] = field(default_factory=list)  # classifier top-k
    embedding: np.ndarray | None = None  # (1280,) pooled photo embedding
    faces: list[Face] = field(default_factory=list)
    text: str | None = None  # OCR text when OCR ran on this frame, else None
    analyzed: str = "local"  # "remote" when `galprof serve` analyzed it (scan --remote)
    kept_local: str | None = None  # with --remote: why this frame was not sent (e.g. "private: face")
    selfie: SelfieCues | None = None  # photos whose largest face makes a selfie plausible


@dataclass
class ExifFacts:
    """Metadata of a photo or video. Every field may be missing."""

    taken_at: str | None = None  # ISO 8601, with offset when the file gives one
    taken_at_source: str | None = None  # "exif", "container" or "mtime" (a fallback)
    make: str | None = None
    model: str | None = None
    lens_model: str | None = None
    focal_length: float | None = None  # mm
    focal_length_35mm: float | None = None
    latitude: float | None = None
    longitude: float | None = None
    altitude: float | None = None
    width: int | None = None
    height: int | None = None
    orientation: int | None = None


@dataclass
class MediaFacts:
    """One analyzed file: its identity, metadata and per-frame results."""

    path: str
    kind: str  # "photo" or "video"
    format: str  # "jpeg", "png", "heic", "mp4", ...
    size: int
    mtime: float
    exif: ExifFacts = field(default_factory=ExifFacts)
    frames: list[FrameFacts] = field(default_factory=list)
    duration: float | None = None  # videos only, seconds
    fps: float | None = None


def largest_face(faces: list[Face]) -> int | None:
    """Index of the face with the largest box (a selfie's subject), None without faces."""
    if not faces:
        return None
    return max(range(len(faces)), key=lambda i: faces[i].box.width * faces[i].box.height)


@dataclass
class ScanError:
    """A file that could not be (fully) processed: reported, never fatal."""

    path: str
    stage: str  # "discover", "read", "decode", "exif", "analyze", "store"
    reason: str  # one line
