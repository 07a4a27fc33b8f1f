"""The faces of the clustering cross-validation (benchmarks/cluster_cv.py), extracted once.

Every photo goes through the scan's face path (media.decode at the scan's size, FacePipeline from the
default Settings: BlazeFace full, 4-point alignment, int8 ResNet-29, age/gender); each face is also
embedded by the fp32 ResNet-29 from the same chip, so the two precisions are compared on identical
faces. Sources, from ../shared/data:
- lfw: 33 identities (folder = identity); the photo's labelled face is the one nearest its centre;
- utkface: 1 000 crops of different people (each its own identity), true age in the file name;
- events: 5 albums of background faces without labels (they are scored as in cluster_cv.py).
Capture dates: none of these files carries one (UTKFace and LFW have no EXIF, the event albums'
EXIF is stripped), so `taken` is NaN for all.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SOURCES = ("lfw", "utkface", "events")


@dataclass
class CvFaces:
    source: np.ndarray  # (N,) "lfw" | "utkface" | "events"
    group: np.ndarray  # (N,) LFW identity, UTKFace file, events album
    path: np.ndarray  # (N,) photo
    main: np.ndarray  # (N,) bool: the photo's labelled face (LFW, UTKFace); False for events
    embedding: np.ndarray  # (N, 128) int8 model
    embedding_fp32: np.ndarray  # (N, 128)
    box: np.ndarray  # (N, 4)
    score: np.ndarray  # (N,)
    age: np.ndarray  # (N,) estimated
    female: np.ndarray  # (N,) estimated P(female)
    true_age: np.ndarray  # (N,) UTKFace's label, -1 elsewhere
    frame: np.ndarray  # (N, 2) width, height of the decoded frame
    taken: np.ndarray  # (N,) capture time, seconds since the epoch; NaN when unknown
    cpu_seconds: float = 0.0

    def take(self, keep: np.ndarray) -> CvFaces:
        values = {f.name: getattr(self, f.name)[keep] for f in fields(self) if f.name != "cpu_seconds"}
        return CvFaces(**values, cpu_seconds=self.cpu_seconds)


def photos(data: Path) -> list[tuple[str, str, Path]]:
    """(source, group, photo) of every photo, sorted."""
    out = [("lfw", d.name, p) for d in sorted((data / "lfw").iterdir()) if d.is_dir()
           for p in sorted(d.glob("*.jpg"))]
    out += [("utkface", p.name, p) for p in sorted((data / "utkface").glob("*.jpg"))]
    out += [("events", f"{album.parent.name}/{album.name}", p)
            for album in sorted((data / "events").glob("*/*")) if album.is_dir()
            for p in sorted(album.iterdir()) if p.is_file()]
    return out


def _true_age(source: str, photo: Path) -> int:
    if source != "utkface":
        return -1
    return int(photo.name.split("_", 1)[0])


def extract(data: Path) -> CvFaces:
    from galprof.config import Settings
    from galprof.media.decode import DecodeError, decode_image
    from galprof.vision.align import EMBEDDING_TEMPLATE, align, as_image
    from galprof.vision.face_embedder import FaceEmbedder
    from galprof.vision.faces import FacePipeline

    settings = Settings()
    pipeline = FacePipeline.from_settings(settings, threads=1)
    fp32 = FaceEmbedder(threads=1, precision="fp32")
    rows = []
    start = time.process_time()
    for source, group, photo in photos(data):
        try:
            rgb = decode_image(str(photo), max_side=settings.max_side).rgb
        except DecodeError:
            continue
        faces = pipeline.run(rgb)
        if not faces:
            continue
        image = as_image(rgb)
        chips = np.stack([align(image, f.keypoints, EMBEDDING_TEMPLATE) for f in faces])
        full = fp32.embed(chips)
        centre = np.array([rgb.shape[1] / 2, rgb.shape[0] / 2])
        nearest = int(np.argmin([np.linalg.norm(np.array(f.box.center) - centre) for f in faces]))
        for k, f in enumerate(faces):
            b = f.box
            rows.append((source, group, str(photo), k == nearest and source != "events", f.embedding, full[k],
                         (b.x1, b.y1, b.x2, b.y2), f.score, f.age, f.female_probability,
                         _true_age(source, photo), (rgb.shape[1], rgb.shape[0])))
    cpu = time.process_time() - start
    cols = list(zip(*rows, strict=True))
    return CvFaces(
        source=np.array(cols[0]), group=np.array(cols[1]), path=np.array(cols[2]),
        main=np.array(cols[3], dtype=bool), embedding=np.stack(cols[4]).astype(np.float32),
        embedding_fp32=np.stack(cols[5]).astype(np.float32), box=np.array(cols[6], dtype=np.float64),
        score=np.array(cols[7], dtype=np.float64), age=np.array(cols[8], dtype=np.float64),
        female=np.array(cols[9], dtype=np.float64), true_age=np.array(cols[10], dtype=np.int64),
        frame=np.array(cols[11], dtype=np.int64), taken=np.full(len(rows), np.nan), cpu_seconds=cpu,
    )


def load_or_extract(data: Path, cache: Path) -> CvFaces:
    if cache.exists():
        saved = np.load(cache)
        return CvFaces(**{k: saved[k] for k in saved.files if k != "cpu_seconds"},
                       cpu_seconds=float(saved["cpu_seconds"]))
    faces = extract(data)
    np.savez(cache, **asdict(faces))
    return faces


if __name__ == "__main__":
    import sys

    out = load_or_extract(Path(sys.argv[1]) if len(sys.argv) > 1 else DATA, Path("/tmp/cluster11-faces.npz"))
    for s in SOURCES:
        print(s, int((out.source == s).sum()), "faces")
    print(f"{out.cpu_seconds:.1f} s CPU")
