"""The photos of benchmarks/face_finding.py, their A/B splits, and what the scan's detector and the
false-face checks say about each (cached per source and zoom in /tmp/galprof-face-finding-*.pkl).

A split is fixed by file, identity, album, clip or class index, never by a result: see face_finding.py.
"""

from __future__ import annotations

import pickle
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from galprof.config import Settings
from galprof.facts import Box, FaceDetection
from galprof.media.decode import decode_image
from galprof.media.video import sample_video
from galprof.vision.align import MESH_EMBEDDING_TEMPLATE, align, as_image
from galprof.vision.blazeface import CLOSEUP_SIDE, FaceDetector
from galprof.vision.face_embedder import FaceEmbedder
from galprof.vision.face_landmarks import FaceLandmarker

CACHE = Path("/tmp")
# Detector score of the pool of weak detections in photos without people: more false faces than the
# scan's 0.6 keeps, to see what a check rejects.
POOL_SCORE = 0.4
# imagenet-samples photos that show a person's face (checked by eye on every photo any detector
# configuration here found a face in): their faces are true, so they leave the "no people" set. The
# suit photo shows a torso without a face and stays: its detection (the tie knot) is false.
IMAGENET_WITH_PEOPLE = {
    "n02093859", "n02098413", "n02107908", "n02108422", "n02667093", "n02730930", "n02804610", "n02860847",
    "n02879718", "n03045698", "n03125729", "n03255030", "n03325584", "n03372029", "n03461385", "n03476991",
    "n03710721", "n03721384", "n03884397", "n04208210", "n04228054", "n04251144", "n04296562", "n04486054",
    "n04493381", "n04517823", "n04542943", "n04584207", "n04591157", "n07714571", "n09835506",
}
FOOD_A = {"apple_pie", "beef_tartare", "bread_pudding"}


@dataclass
class FaceCheck:
    """One detection and what the false-face checks measure on it."""

    box: Box
    score: float
    presence: float  # Face Mesh's P(face)
    agreement: float  # mean distance of the mesh's 4 anchors to BlazeFace's keypoints / box width
    embedding_norm: float  # length of the identity embedding of the scan's (mesh) chip


@dataclass
class Frame:
    """One photo or video frame of a set, with its split and what the detector found."""

    group: str  # "closeup", "faces" or "nopeople"
    source: str
    split: str  # "A" or "B"
    path: str
    frame: int = 0
    size: tuple[int, int] = (0, 0)
    faces: list[FaceCheck] = field(default_factory=list)  # at the scan's Settings.face_score
    pool: list[FaceCheck] = field(default_factory=list)  # photos without people: at POOL_SCORE
    subject: int | None = None  # index of the face holding the photo's centre (close-ups, LFW)


def _split(index: int) -> str:
    return "A" if index % 2 == 0 else "B"


def list_frames(data: Path) -> list[Frame]:
    frames = [Frame("closeup", "utkface", _split(i), str(p))
              for i, p in enumerate(sorted((data / "utkface").glob("*.jpg")))]
    for i, person in enumerate(sorted(p for p in (data / "lfw").iterdir() if p.is_dir())):
        frames += [Frame("faces", "lfw", _split(i), str(p)) for p in sorted(person.glob("*.jpg"))]
    albums = sorted(a for event in (data / "events").iterdir() if event.is_dir() for a in event.iterdir())
    for i, album in enumerate(albums):
        frames += [Frame("faces", "events", _split(i), str(p)) for p in sorted(album.glob("*.jpg"))]
    for i, clip in enumerate(sorted((data / "videos" / "asl_gestures").glob("*.mkv"))):
        frames.append(Frame("faces", "videos", _split(i), str(clip), frame=-1))
    frames += [Frame("faces", "portraits", "B", str(p))
               for p in sorted((data / "immich-assets" / "metadata" / "faces").glob("*.jpg"))]
    for p in sorted((data / "imagenet-samples").glob("*.JPEG")):
        synset = p.name.split("_")[0]
        if synset not in IMAGENET_WITH_PEOPLE:
            frames.append(Frame("nopeople", "imagenet", _split(int(synset[1:])), str(p)))
    for p in sorted((data / "food101").glob("*/*.jpg")):
        frames.append(Frame("nopeople", "food101", "A" if p.parent.name in FOOD_A else "B", str(p)))
    frames += [Frame("nopeople", "nature", _split(i), str(p))
               for i, p in enumerate(sorted((data / "immich-assets" / "albums" / "nature").glob("*.jp*g")))]
    return frames


def _images(frame: Frame, settings: Settings):
    """(frame index, Pillow image) of a photo, or of every sampled frame of a clip."""
    if frame.frame == -1:
        sample = sample_video(frame.path, settings.video_fps, settings.video_max_frames, settings.max_side)
        return [(i, as_image(f.rgb)) for i, f in enumerate(sample.frames)]
    return [(frame.frame, as_image(decode_image(frame.path, settings.max_side).rgb))]


def tight_crop(image: Image.Image, box: Box, factor: float = 1.3, side: int = 200) -> Image.Image:
    """A close-up as in a selfie or UTKFace: the face box grown by `factor` (less where the photo ends
    first), square, `side` px."""
    cx, cy = box.center
    half = min(max(box.width, box.height) * factor / 2, cx, cy, image.width - cx, image.height - cy)
    return image.resize((side, side), Image.Resampling.BILINEAR,
                        box=(cx - half, cy - half, cx + half, cy + half))


class Checker:
    """The false-face checks of one detection: mesh presence, mesh/keypoint agreement, embedding norm."""

    def __init__(self):
        self.landmarker = FaceLandmarker()
        self.embedder = FaceEmbedder(threads=1)

    def __call__(self, image: Image.Image, detections: list[FaceDetection]) -> list[FaceCheck]:
        if not detections:
            return []
        meshes = self.landmarker.meshes(image, detections)
        chips = np.stack([align(image, m.anchor_points(), MESH_EMBEDDING_TEMPLATE) for m in meshes])
        norms = np.linalg.norm(self.embedder.embed(chips), axis=1)
        return [FaceCheck(d.box, d.score, m.presence,
                          float(np.linalg.norm(m.anchor_points() - d.keypoints[:4], axis=1).mean() / d.box.width),
                          float(n))
                for d, m, n in zip(detections, meshes, norms, strict=True)]


def _subject(faces: list[FaceCheck], size: tuple[int, int]) -> int | None:
    cx, cy = size[0] / 2, size[1] / 2
    inside = [i for i, f in enumerate(faces) if f.box.x1 <= cx <= f.box.x2 and f.box.y1 <= cy <= f.box.y2]
    return max(inside, key=lambda i: faces[i].box.width) if inside else None


def detect_all(frames: list[Frame], detector: FaceDetector, checker: Checker | None,
               settings: Settings) -> tuple[list[Frame], float]:
    """Detections (+ checks) per frame; videos expand to their frames and LFW photos add a tight crop
    of their subject to the close-ups. Returns the frames and the detector's CPU seconds."""
    out, detect_cpu = [], 0.0
    for item in frames:
        for index, image in _images(item, settings):
            queue = [(Frame(item.group, item.source, item.split, item.path, index), image)]
            while queue:
                frame, image = queue.pop()
                t0 = time.process_time()
                found = detector.detect(image, min_score=settings.face_score)
                detect_cpu += time.process_time() - t0
                frame.size = image.size
                frame.faces = checker(image, found) if checker else [
                    FaceCheck(d.box, d.score, float("nan"), float("nan"), float("nan")) for d in found]
                if checker and frame.group == "nopeople":
                    frame.pool = checker(image, detector.detect(image, min_score=POOL_SCORE))
                if frame.group == "closeup" or frame.source == "lfw":
                    frame.subject = _subject(frame.faces, frame.size)
                if frame.source == "lfw" and frame.subject is not None:
                    crop = tight_crop(image, frame.faces[frame.subject].box)
                    queue.append((Frame("closeup", "lfw-tight", "B", frame.path, index), crop))
                out.append(frame)
    return out, detect_cpu


def cached_frames(data: Path, zoom: float, sources: list[str], checks: bool, settings: Settings,
                  side: int = CLOSEUP_SIDE) -> tuple[list[Frame], float]:
    """Frames of `sources` at one retry zoom and square side, each source computed once and cached."""
    frames, cpu = [], 0.0
    wanted = list_frames(data)
    for source in sources:
        path = CACHE / f"galprof-face-finding-z{zoom}-s{side}-{source}{'-checks' if checks else ''}.pkl"
        if path.exists():
            part, seconds = pickle.loads(path.read_bytes())
        else:
            detector = FaceDetector(variant=settings.face_detector, zoom_out=zoom, closeup_side=side)
            items = [f for f in wanted if f.source == source]
            part, seconds = detect_all(items, detector, Checker() if checks else None, settings)
            path.write_bytes(pickle.dumps((part, seconds)))
        frames += part
        cpu += seconds
    return frames, cpu
