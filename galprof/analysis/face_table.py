"""The faces of a gallery as columns: one array per field instead of one object per face.

The people stage reads every face of a gallery and keeps them until the owner is found. As objects
(a MediaFacts view per file, a FaceRecord, a Face and a Box per face) that was ~2.4 KB a photo, 250 MB
at 100 000 photos; as columns it is ~600 bytes a face, most of it the 128-d embedding.
`FaceTableBuilder.add` takes each file as it is read and keeps only the faces that have an embedding
(the ones the clustering sees), in file, frame and face order; `build()` gives the `FaceTable`.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from galprof import facts
from galprof.analysis.demography import media_datetime

EPOCH = datetime(1970, 1, 1)  # capture times are naive local times; microseconds on their own clock
NO_TIME = np.iinfo(np.int64).min  # no real capture date (see demography.media_datetime)
CHUNK = 4096  # embeddings gathered this many at a time before they are stacked


@dataclass
class FaceTable:
    """Every embedded face of a gallery, one row per face (n rows)."""

    paths: list[str]  # the files that have faces, in reading order
    file: np.ndarray  # (n,) int32 index into paths
    frame: np.ndarray  # (n,) int32 frame index in its file
    index: np.ndarray  # (n,) int32 face index in its frame
    video: np.ndarray  # (n,) bool: the face is in a video
    box: np.ndarray  # (n, 4) float64 x1, y1, x2, y2
    score: np.ndarray  # (n,) float64 detector score
    age: np.ndarray  # (n,) float64, NaN = no estimate
    female: np.ndarray  # (n,) float64 female probability, NaN = no estimate
    frame_size: np.ndarray  # (n, 2) int32 width, height of the face's frame
    taken_us: np.ndarray  # (n,) int64 capture time in microseconds since EPOCH, NO_TIME = undated
    embeddings: np.ndarray  # (n, d) as stored (float32)

    def __len__(self) -> int:
        return len(self.file)

    @classmethod
    def from_media(cls, media: Iterable[facts.MediaFacts]) -> FaceTable:
        builder = FaceTableBuilder()
        for m in media:
            builder.add(m)
        return builder.build()

    def path(self, i: int) -> str:
        return self.paths[int(self.file[i])]

    def key(self, i: int) -> tuple[str, int, int]:
        """(path, frame, face index) of row i, as the profile's person_of_face keys it."""
        return (self.paths[int(self.file[i])], int(self.frame[i]), int(self.index[i]))

    def frame_codes(self) -> list[int]:
        """One int per face naming its photo or frame (equal for faces of one frame): cannot-link."""
        frames = int(self.frame.max()) + 1 if len(self) else 1
        return (self.file.astype(np.int64) * frames + self.frame).tolist()

    def clip_codes(self) -> list[int | None]:
        """The file of each video face (its clip), None for photo faces."""
        return [f if v else None for f, v in zip(self.file.tolist(), self.video.tolist(), strict=True)]

    def taken_seconds(self) -> np.ndarray:
        """Capture times in seconds on their own clock (NaN = undated), as timedelta.total_seconds()."""
        out = self.taken_us.astype(np.float64) / 1e6
        out[self.taken_us == NO_TIME] = np.nan
        return out

    def taken(self, rows: np.ndarray | list[int]) -> list[datetime | None]:
        return [None if t == NO_TIME else EPOCH + timedelta(microseconds=t) for t in self.taken_us[rows].tolist()]

    def quality(self, rows: np.ndarray | list[int] | slice = slice(None)) -> np.ndarray:
        """people.face_quality of each row, computed the same way (same float64 operations)."""
        return np.maximum(self.score[rows], 0.0) * np.minimum(1.0, np.maximum(0.1, self.min_side(rows) / 80.0))

    def min_side(self, rows: np.ndarray | list[int] | slice = slice(None)) -> np.ndarray:
        box = self.box[rows]
        return np.minimum(box[:, 2] - box[:, 0], box[:, 3] - box[:, 1])

    def face_paths(self) -> list[str]:
        """The file of each face (shared strings: 8 bytes a face)."""
        return [self.paths[f] for f in self.file.tolist()]


class FaceTableBuilder:
    """Collects the faces of files as they are read (`add`), then makes the FaceTable (`build`)."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.ints = {name: array("i") for name in ("file", "frame", "index", "width", "height")}
        self.video = bytearray()
        self.floats = {name: array("d") for name in ("x1", "y1", "x2", "y2", "score", "age", "female")}
        self.taken = array("q")
        self.chunks: list[np.ndarray] = []
        self.pending: list[np.ndarray] = []

    def add(self, m: facts.MediaFacts) -> None:
        taken = media_datetime(m)
        micro = NO_TIME if taken is None else (taken - EPOCH) // timedelta(microseconds=1)
        file = len(self.paths)
        added = False
        for fi, frame in enumerate(m.frames):
            for ki, face in enumerate(frame.faces):
                if face.embedding is None:
                    continue
                added = True
                self._row(file, fi, ki, frame, face, m.kind == "video", micro)
        if added:
            self.paths.append(m.path)

    def _row(self, file: int, fi: int, ki: int, frame: facts.FrameFacts, face: facts.Face, video: bool,
             micro: int) -> None:
        for name, value in (("file", file), ("frame", fi), ("index", ki), ("width", frame.width),
                            ("height", frame.height)):
            self.ints[name].append(int(value))
        box = face.box
        for name, value in (("x1", box.x1), ("y1", box.y1), ("x2", box.x2), ("y2", box.y2), ("score", face.score),
                            ("age", face.age), ("female", face.female_probability)):
            self.floats[name].append(np.nan if value is None else float(value))
        self.video.append(video)
        self.taken.append(micro)
        self.pending.append(face.embedding)
        if len(self.pending) >= CHUNK:
            self.chunks.append(np.stack(self.pending))
            self.pending = []

    def build(self) -> FaceTable:
        if self.pending:
            self.chunks.append(np.stack(self.pending))
            self.pending = []
        n = len(self.taken)
        if self.chunks:
            dtype = np.result_type(*self.chunks)
            embeddings = np.empty((n, self.chunks[0].shape[1]), dtype=dtype)
            start = 0
            while self.chunks:  # each chunk let go once copied: the matrix is never held twice
                chunk = self.chunks.pop(0)
                embeddings[start:start + len(chunk)] = chunk
                start += len(chunk)
        else:
            embeddings = np.zeros((0, 128))
        ints = {k: np.frombuffer(v, dtype=np.int32) if len(v) else np.zeros(0, np.int32) for k, v in self.ints.items()}
        floats = {k: np.frombuffer(v, dtype=np.float64) if len(v) else np.zeros(0) for k, v in self.floats.items()}
        return FaceTable(
            paths=self.paths, file=ints["file"], frame=ints["frame"], index=ints["index"],
            video=np.frombuffer(bytes(self.video), dtype=bool) if n else np.zeros(0, bool),
            box=np.stack([floats["x1"], floats["y1"], floats["x2"], floats["y2"]], axis=1),
            score=floats["score"], age=floats["age"], female=floats["female"],
            frame_size=np.stack([ints["width"], ints["height"]], axis=1),
            taken_us=np.frombuffer(self.taken, dtype=np.int64) if n else np.zeros(0, np.int64),
            embeddings=embeddings,
        )
