"""Inputs for the people tests: synthetic identities on the embedding sphere, hand-made MediaFacts,
and real MediaFacts from photo files (galprof's face pipeline + EXIF reader), plus LFW helpers."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import numpy as np
from PIL import Image

from galprof import facts

# dlib-space embeddings have norms around 1.4; synthetic ones use the same scale.
EMBEDDING_NORM = 1.4


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def identities(n_people: int, per_person: int, spread: float = 0.2, seed: int = 0,
               dim: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian clusters around random unit centres; `spread` is the typical distance of a face from
    its centre after normalisation. Returns (embeddings scaled to dlib norms, labels)."""
    rng = np.random.default_rng(seed)
    centres = unit(rng.normal(size=(n_people, dim)))
    truth = np.repeat(np.arange(n_people), per_person)
    x = unit(centres[truth] + rng.normal(scale=spread / np.sqrt(dim), size=(len(truth), dim)))
    return (x * EMBEDDING_NORM).astype(np.float32), truth


def near(centre: np.ndarray, distance: float, seed: int) -> np.ndarray:
    """A unit vector at about `distance` (normalised space) from unit(centre)."""
    rng = np.random.default_rng(seed)
    c = unit(centre)
    r = rng.normal(size=c.shape)
    r = unit(r - (r @ c) * c)
    # chord distance d between unit vectors at angle t: d = 2 sin(t / 2)
    t = 2 * np.arcsin(distance / 2)
    return unit(np.cos(t) * c + np.sin(t) * r) * EMBEDDING_NORM


def face(embedding: np.ndarray, box: tuple[float, float, float, float] = (60, 50, 180, 190),
         score: float = 0.95, age: float | None = None, female: float | None = None) -> facts.Face:
    return facts.Face(box=facts.Box(*box), score=score, keypoints=np.zeros((6, 2), np.float32),
                      embedding=np.asarray(embedding, np.float32), age=age, female_probability=female)


def media(path: str, frames: list[list[facts.Face]], kind: str = "photo", taken_at: str | None = None,
          width: int = 240, height: int = 240, **exif) -> facts.MediaFacts:
    return facts.MediaFacts(
        path=path, kind=kind, format="jpeg" if kind == "photo" else "mp4", size=1000, mtime=0.0,
        exif=facts.ExifFacts(taken_at=taken_at, **exif),
        frames=[facts.FrameFacts(width=width, height=height, faces=faces,
                                 timestamp=None if kind == "photo" else float(i))
                for i, faces in enumerate(frames)],
    )


class MemoryStore:
    """The two state methods of galprof.store.Store, in memory."""

    def __init__(self) -> None:
        self.state: dict[str, dict] = {}

    def get_state(self, key: str) -> dict | None:
        return self.state.get(key)

    def set_state(self, key: str, value: dict) -> None:
        self.state[key] = value


class PhotoReader:
    """MediaFacts of a real photo file: galprof's EXIF reader and face pipeline (faces only), so
    tests see what a scan would store for the people stage."""

    def __init__(self) -> None:
        from galprof.vision.faces import FacePipeline

        self.pipeline = FacePipeline(threads=1)
        self._faces: dict[tuple[str, float], list[facts.Face]] = {}

    def faces(self, path: Path) -> list[facts.Face]:
        key = (str(path), os.path.getmtime(path))
        if key not in self._faces:
            self._faces[key] = self.pipeline.run(np.asarray(Image.open(path).convert("RGB")))
        return self._faces[key]

    def read(self, path: Path) -> facts.MediaFacts:
        from galprof.media.exif import read_photo_exif

        with Image.open(path) as im:
            width, height = im.size
        stat = os.stat(path)
        exif = read_photo_exif(str(path))
        if exif.taken_at is None:
            exif.taken_at = datetime.fromtimestamp(stat.st_mtime).isoformat(timespec="seconds")
            exif.taken_at_source = "mtime"
        return facts.MediaFacts(path=str(path), kind="photo", format="jpeg", size=stat.st_size,
                                mtime=stat.st_mtime, exif=exif,
                                frames=[facts.FrameFacts(width=width, height=height, faces=self.faces(path))])


def lfw_people(lfw: Path, names: list[str], per_person: int) -> dict[str, list[Path]]:
    return {n: sorted((lfw / n).glob("*.jpg"))[:per_person] for n in names}


def side_by_side(left: Path, right: Path, out: Path) -> Path:
    """Two photos composed into one (faces side by side), as a photo holding two faces."""
    a, b = Image.open(left).convert("RGB"), Image.open(right).convert("RGB")
    canvas = Image.new("RGB", (a.width + b.width, max(a.height, b.height)), (128, 128, 128))
    canvas.paste(a, (0, 0))
    canvas.paste(b, (a.width, 0))
    canvas.save(out, quality=95)
    return out


def central_face(faces: list[facts.Face], width: float, height: float) -> int:
    """Index of the face nearest the image centre (the labelled subject of an LFW photo)."""
    return int(np.argmin([np.hypot(f.box.center[0] - width / 2, f.box.center[1] - height / 2) for f in faces]))
