"""People: the persons of a gallery from its faces (clustered by `face_clusters.cluster_faces`), with
stable ids across scans (the store's small JSON state), the user's corrections applied, and the
`PeopleReport` (people, owner, demography sections).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np

from galprof import facts
from galprof.analysis.corrections import STATE_KEY as CORRECTIONS_KEY
from galprof.analysis.corrections import Corrections, apply_corrections
from galprof.analysis.demography import (
    FaceSample,
    PersonDemography,
    demography_histogram,
    fuse_person,
    media_datetime,
)
from galprof.analysis.face_clusters import ClusterParams, cluster_faces, l2_normalise
from galprof.analysis.owner import OwnerResult, find_owner
from galprof.config import Settings

STATE_KEY = "people"
STATE_VERSION = 1
# A new cluster keeps a previous person's id when their centroids are this close (normalised space).
ID_MATCH_DISTANCE = 0.3
def assign_stable_ids(
    centroids: np.ndarray, sizes: Sequence[int], state: dict | None
) -> tuple[list[int], dict]:
    """Match this scan's clusters to the persons of a previous scan by centroid distance (Hungarian
    assignment, accepted below ID_MATCH_DISTANCE); others get new ids (never reused). Returns the ids
    in cluster order and the new state to persist."""
    previous = []
    next_id = 1
    if state and state.get("version") == STATE_VERSION:
        previous = state.get("people", [])
        next_id = int(state.get("next_id", 1))
    ids: list[int | None] = [None] * len(centroids)
    if previous and len(centroids):
        # scipy.optimize costs ~0.7 s of imports: only scans with people to match pay it
        from scipy.optimize import linear_sum_assignment

        old = l2_normalise(np.array([p["centroid"] for p in previous], dtype=np.float64))
        cost = np.linalg.norm(np.asarray(centroids)[:, None, :] - old[None, :, :], axis=2)
        rows, cols = linear_sum_assignment(cost)
        for r, c in zip(rows, cols, strict=True):
            if cost[r, c] < ID_MATCH_DISTANCE:
                ids[r] = int(previous[c]["id"])
    # new people: ids in order of size, so a first scan numbers the largest person 1
    for k in sorted(range(len(centroids)), key=lambda k: -sizes[k]):
        if ids[k] is None:
            ids[k] = next_id
            next_id += 1
    final = [int(i) for i in ids if i is not None]
    kept = {pid: p for p in previous if (pid := int(p["id"])) not in set(final)}
    people_state = [
        {"id": pid, "centroid": [round(float(v), 5) for v in centroids[k]], "faces": int(sizes[k])}
        for k, pid in enumerate(final)
    ] + list(kept.values())
    return final, {"version": STATE_VERSION, "next_id": next_id, "people": people_state}


# ----------------------------------------------------------------------------- gallery analysis


@dataclass
class FaceRecord:
    """One face of the gallery with where it came from."""

    path: str
    frame: int
    index: int
    kind: str  # "photo" or "video"
    face: facts.Face
    frame_width: int
    frame_height: int
    taken: datetime | None  # real capture date (EXIF / container), never the file's mtime

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.path, self.frame, self.index)


@dataclass
class Person:
    id: int
    faces: list[FaceRecord]
    centroid: np.ndarray
    demography: PersonDemography
    representative: FaceRecord
    name: str | None = None  # given by the user (galprof people name)
    merged_ids: list[int] = field(default_factory=list)  # ids the user merged into this one

    @property
    def paths(self) -> list[str]:
        return sorted({f.path for f in self.faces})

    @property
    def photos(self) -> list[str]:
        return sorted({f.path for f in self.faces if f.kind != "video"})

    @property
    def videos(self) -> list[str]:
        return sorted({f.path for f in self.faces if f.kind == "video"})

    @property
    def days(self) -> set[date]:
        """Days of the person's dated photos and videos (capture dates only: copied files share the
        copy day as mtime, which would make anyone look seen on many days or all on one)."""
        return {f.taken.date() for f in self.faces if f.taken is not None}

    @property
    def dated_paths(self) -> list[str]:
        return sorted({f.path for f in self.faces if f.taken is not None})

    def to_dict(self) -> dict[str, Any]:
        dates = sorted(f.taken for f in self.faces if f.taken is not None)
        rep = self.representative
        return {
            "id": self.id,
            "faces": len(self.faces),
            "photos": len(self.photos),
            "videos": len(self.videos),
            "dated_photos": len(self.dated_paths),  # photos and videos with a capture date
            "first_seen": dates[0].date().isoformat() if dates else None,
            "last_seen": dates[-1].date().isoformat() if dates else None,
            "days_seen": len(self.days),
            **self.demography.to_dict(),
            "representative_face": {"path": rep.path, "frame": rep.frame, "box": rep.face.box.as_list()},
            "photo_list": self.paths,
            "name": self.name,
            "merged_ids": self.merged_ids,
        }


@dataclass
class PeopleReport:
    """What the people stage found. `person_of_face` maps (path, frame index, face index) to a person
    id; `close_people` are the ids seen in enough photos on enough days (capture dates only) for the
    privacy rule."""

    people: list[Person]
    owner: OwnerResult
    demography: dict[str, Any]
    person_of_face: dict[tuple[str, int, int], int] = field(default_factory=dict)
    close_people: set[int] = field(default_factory=set)
    notes: list[dict[str, str]] = field(default_factory=list)  # corrections that could not be applied

    def sections(self) -> dict[str, Any]:
        """The JSON-ready "people", "owner" and "demography" sections of the profile."""
        return {
            "people": [p.to_dict() | {"close": p.id in self.close_people} for p in self.people],
            "owner": self.owner.to_dict(),
            "demography": self.demography,
        }


def _collect_faces(media: Iterable[facts.MediaFacts]) -> tuple[list[FaceRecord], list[facts.MediaFacts]]:
    records: list[FaceRecord] = []
    items: list[facts.MediaFacts] = []
    for m in media:
        items.append(m)
        taken = media_datetime(m)
        for fi, frame in enumerate(m.frames):
            for ki, face in enumerate(frame.faces):
                if face.embedding is None:
                    continue
                records.append(FaceRecord(m.path, fi, ki, m.kind, face, frame.width, frame.height, taken))
    return records, items


def is_trusted(face: facts.Face, settings: Settings) -> bool:
    """A face good enough to help form clusters: large enough and confidently detected."""
    return min(face.box.width, face.box.height) >= settings.face_min_size and (
        face.score >= settings.face_cluster_score
    )


def analyze_people(
    media: Iterable[facts.MediaFacts],
    settings: Settings | None = None,
    store: Any = None,
    today: date | None = None,
) -> PeopleReport:
    """Cluster the gallery's faces into people, fuse each person's demography, find the owner from
    selfies, and keep person ids stable through `store` (`get_state`/`set_state`; None = no memory)."""
    settings = settings or Settings()
    today = today or date.today()
    records, items = _collect_faces(media)
    embeddings = np.stack([r.face.embedding for r in records]) if records else np.zeros((0, 128))
    labels = cluster_faces(
        embeddings,
        frame_ids=[(r.path, r.frame) for r in records],
        trusted=[is_trusted(r.face, settings) for r in records],
        clip_ids=[r.path if r.kind == "video" else None for r in records],
        params=ClusterParams.from_settings(settings),
    )
    n_clusters = int(labels.max()) + 1 if len(labels) and labels.max() >= 0 else 0
    x = l2_normalise(embeddings)
    groups = [np.flatnonzero(labels == c) for c in range(n_clusters)]
    centroids = (
        l2_normalise(np.stack([x[g].mean(axis=0) for g in groups])) if groups else np.zeros((0, 128))
    )
    state = store.get_state(STATE_KEY) if store is not None else None
    ids, new_state = assign_stable_ids(centroids, [len(g) for g in groups], state)
    if store is not None:
        store.set_state(STATE_KEY, new_state)

    corrections = Corrections.from_state(store.get_state(CORRECTIONS_KEY) if store is not None else None)
    applied = apply_corrections([ids[c] if c >= 0 else None for c in labels.tolist()],
                                [r.path for r in records], corrections)
    members: dict[int, list[int]] = defaultdict(list)
    for i, pid in enumerate(applied.person_ids):
        if pid is not None:
            members[pid].append(i)
    people: list[Person] = []
    for pid, group in members.items():
        faces = [records[i] for i in group]
        samples = [
            FaceSample(r.face.age, r.face.female_probability, face_quality(r), r.taken) for r in faces
        ]
        centroid = l2_normalise(x[group].mean(axis=0, keepdims=True))[0]
        distances = np.linalg.norm(x[group] - centroid, axis=1)
        people.append(
            Person(
                id=pid,
                faces=faces,
                centroid=centroid,
                demography=fuse_person(samples, today),
                representative=_representative(faces, distances),
                name=applied.names.get(pid),
                merged_ids=applied.merged.get(pid, []),
            )
        )
    people.sort(key=lambda p: (-len(p.paths), p.id))
    person_of_face = {records[i].key: pid for i, pid in enumerate(applied.person_ids) if pid is not None}
    # days count capture dates only (FaceRecord.taken): a person without dated photos is not close
    close = {
        p.id
        for p in people
        if len(p.paths) >= settings.close_person_photos and len(p.days) >= settings.close_person_days
    }
    owner = find_owner(items, people, person_of_face, settings.people_min_photos)
    demography = demography_histogram(
        [(p.demography, len(p.paths)) for p in people], settings.people_min_photos
    )
    return PeopleReport(
        people=people,
        owner=owner,
        demography=demography,
        person_of_face=person_of_face,
        close_people=close,
        notes=applied.notes,
    )


def face_quality(record: FaceRecord) -> float:
    """Weight of a face's age/gender estimate: detector score times a size factor (estimates from
    faces under ~80 px are much noisier)."""
    size = min(record.face.box.width, record.face.box.height)
    return float(max(record.face.score, 0.0) * min(1.0, max(0.1, size / 80.0)))


def _representative(faces: list[FaceRecord], distances: np.ndarray) -> FaceRecord:
    """The face that best shows the person: among the better half by quality, the nearest to the
    centroid."""
    quality = np.array([face_quality(f) for f in faces])
    good = quality >= 0.5 * quality.max()
    order = np.lexsort((-quality, np.where(good, distances, np.inf)))
    return faces[int(order[0])]
