"""Is this photo a selfie? A score in [0, 1] with its evidence, from the image and, when present, EXIF.

Evidence, each a term of a log-odds sum (a term is 0 when its evidence is missing):
- the largest face's size (width / the frame's shorter side) and how far its centre is from the
  frame's centre: at arm's length a face fills a fifth to two thirds of the frame, near the middle;
- its pose: the nose's sideways offset from the eyes' midpoint / the eye distance (0 = frontal);
- the camera distance from the iris (~11.7 mm across in adults, MediaPipe Iris): focal length in pixels
  x 11.7 mm / iris pixels, the focal length from EXIF's 35 mm equivalent, else a phone's 26 mm;
- the person cut by the frame: the person mask touching the bottom edge (shoulders) and a side edge low
  in the frame (the arm holding the phone);
- more than MAX_GROUP faces: a group photographed from afar, not an arm's-length selfie;
- EXIF, when present: a LensModel naming the front camera, the camera's shortest focal length in the
  gallery (owner.selfie_rules), or a LensModel naming a back camera (against).
The weights are set from these geometric priors, not fitted; the decision threshold SELFIE_THRESHOLD was
chosen on one half of benchmarks/selfie_eval.py and checked on the other (see benchmarks/README.md).
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass
from typing import Any

from galprof import facts
from galprof.facts import largest_face

FRONT_LENS = re.compile(r"\bfront\b|facetime|selfie", re.IGNORECASE)
BACK_LENS = re.compile(r"\bback\b|\brear\b|telephoto|ultra.?wide", re.IGNORECASE)
SELFIE_THRESHOLD = 0.85  # best F1 on the image-only tuning half of benchmarks/selfie_eval.py
IRIS_MM = 11.7
ASSUMED_FOCAL_35MM = 26.0  # phones' main and front cameras are 23-30 mm equivalent
FULL_FRAME_DIAGONAL_MM = 43.27
MAX_GROUP = 3
PRIOR = -2.0  # most photos are not selfies
EXIF_TERMS = {"front_lens": 4.0, "shortest_focal": 1.5, "back_lens": -3.0}


@dataclass
class SelfieEvidence:
    faces: int
    face_size: float | None = None  # largest face width / shorter side of the frame
    face_offset: float | None = None  # its centre's largest distance from the frame centre, / the side
    yaw: float | None = None  # |nose offset from the eyes' midpoint| / eye distance
    distance_m: float | None = None  # camera distance from the iris size
    focal_source: str | None = None  # "exif" (35 mm equivalent) or "assumed" (26 mm)
    person_bottom: float | None = None
    person_side: float | None = None
    exif: str | None = None  # "front_lens", "shortest_focal", "back_lens" or None


@dataclass
class SelfieVerdict:
    score: float
    evidence: SelfieEvidence

    @property
    def is_selfie(self) -> bool:
        return self.score >= SELFIE_THRESHOLD

    def to_dict(self) -> dict[str, Any]:
        return {"score": self.score, "evidence": asdict(self.evidence)}


def _ramp(value: float, low: float, high: float, at_low: float, at_high: float) -> float:
    """at_low below `low`, at_high above `high`, linear between."""
    t = min(1.0, max(0.0, (value - low) / (high - low)))
    return at_low + t * (at_high - at_low)


def exif_evidence(exif: facts.ExifFacts | None, gallery_rule: str | None = None) -> str | None:
    """The EXIF's selfie evidence: the lens named (front / back), else the gallery's focal rule."""
    lens = (exif.lens_model if exif else None) or ""
    if FRONT_LENS.search(lens):
        return "front_lens"
    if BACK_LENS.search(lens):
        return "back_lens"
    return "shortest_focal" if gallery_rule == "focal" else None


def camera_distance_m(cues: facts.SelfieCues, width: int, height: int,
                      exif: facts.ExifFacts | None) -> tuple[float | None, str]:
    """Metres from the camera to the measured face, and where the focal length came from."""
    f35 = exif.focal_length_35mm if exif and exif.focal_length_35mm else None
    source = "exif" if f35 else "assumed"
    focal_px = (f35 or ASSUMED_FOCAL_35MM) / FULL_FRAME_DIAGONAL_MM * math.hypot(width, height)
    if cues.iris_px <= 0:
        return None, source
    return focal_px * IRIS_MM / 1000.0 / cues.iris_px, source


def _yaw(face: facts.Face) -> float | None:
    if face.keypoints is None or len(face.keypoints) < 3:
        return None
    right_eye, left_eye, nose = (tuple(map(float, p)) for p in face.keypoints[:3])
    eye_distance = math.dist(right_eye, left_eye)
    if eye_distance <= 0:
        return None
    return abs(nose[0] - (right_eye[0] + left_eye[0]) / 2) / eye_distance


def gather_evidence(frame: facts.FrameFacts, exif: facts.ExifFacts | None,
                    gallery_rule: str | None = None) -> SelfieEvidence:
    """The evidence of one photo's first frame (see the module docstring)."""
    evidence = SelfieEvidence(faces=len(frame.faces), exif=exif_evidence(exif, gallery_rule))
    index = largest_face(frame.faces)
    if index is None:
        return evidence
    face = frame.faces[index]
    side = max(1, min(frame.width, frame.height))
    cx, cy = face.box.center
    evidence.face_size = round(face.box.width / side, 4)
    evidence.face_offset = round(max(abs(cx / max(1, frame.width) - 0.5), abs(cy / max(1, frame.height) - 0.5)), 4)
    yaw = _yaw(face)
    evidence.yaw = None if yaw is None else round(yaw, 4)
    cues = frame.selfie
    if cues is not None and cues.face == index:
        distance, evidence.focal_source = camera_distance_m(cues, frame.width, frame.height, exif)
        evidence.distance_m = None if distance is None else round(distance, 3)
        evidence.person_bottom, evidence.person_side = cues.person_bottom, cues.person_side
    return evidence


def log_odds(e: SelfieEvidence) -> float:
    """The evidence's log-odds of a selfie."""
    total = PRIOR + EXIF_TERMS.get(e.exif or "", 0.0)
    if e.face_size is None:
        return total - 3.0  # no face: only a front-lens EXIF can still say selfie
    total += _ramp(e.face_size, 0.08, 0.3, -3.0, 2.5)
    total += _ramp(e.face_offset or 0.0, 0.15, 0.35, 0.0, -2.0)
    if e.yaw is not None:
        total += _ramp(e.yaw, 0.15, 0.4, 0.5, -1.0)
    if e.distance_m is not None:
        total += _ramp(e.distance_m, 0.6, 1.2, 2.0, -3.0)
    if e.person_bottom is not None:
        total += 0.5 * (e.person_bottom >= 0.3) + 0.5 * (e.person_side >= 0.3)
    if e.faces > MAX_GROUP:
        total -= 1.5
    return total


def score_selfie(frame: facts.FrameFacts | None, exif: facts.ExifFacts | None,
                 gallery_rule: str | None = None) -> SelfieVerdict:
    """The selfie score of a photo (its first frame) with the evidence behind it.

    gallery_rule: owner.selfie_rules' answer for this photo ("lens", "focal" or None).
    """
    if frame is None:
        evidence = SelfieEvidence(faces=0, exif=exif_evidence(exif, gallery_rule))
    else:
        evidence = gather_evidence(frame, exif, gallery_rule)
    score = 1.0 / (1.0 + math.exp(-log_odds(evidence)))
    return SelfieVerdict(round(score, 4), evidence)


def photo_selfie(media: facts.MediaFacts, gallery_rules: dict[str, str]) -> SelfieVerdict | None:
    """score_selfie of a photo in a gallery; None for videos."""
    if media.kind != "photo":
        return None
    return score_selfie(media.frames[0] if media.frames else None, media.exif, gallery_rules.get(media.path))
