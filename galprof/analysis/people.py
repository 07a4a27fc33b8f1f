"""People: the persons of a gallery from its faces (clustered by `face_clusters.cluster_faces`), with
stable ids across scans (the store's small JSON state), the user's corrections applied, and the
`PeopleReport` (people and demography sections). The owner is found after this step, from the same
items and the report (`galprof.analysis.owner.owner_step`, called by the profile).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np

from galprof import facts
from galprof.analysis import people_update as update
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
from galprof.analysis.unit_distances import chord_distances, members_of
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
        # _matched_pairs imports scipy (~0.7 s): only scans with people to match pay it
        old = l2_normalise(np.array([p["centroid"] for p in previous], dtype=np.float64))
        for r, c in _matched_pairs(np.asarray(centroids, dtype=np.float64), old):
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


def _matched_pairs(new: np.ndarray, old: np.ndarray) -> list[tuple[int, int]]:
    """Pairs (new, old) of centroids matched one to one by the Hungarian assignment, only among pairs
    closer than ID_MATCH_DISTANCE: the candidate pairs are found a block at a time and each connected
    group of candidates is assigned on its own (an all-pairs cost matrix of 6 000 x 6 000 people is
    290 MB, and the assignment of it cubic)."""
    from scipy import sparse
    from scipy.optimize import linear_sum_assignment
    from scipy.sparse.csgraph import connected_components

    rows, cols, dists = [], [], []
    step = max(1, (1 << 20) // max(1, len(old)))
    for start in range(0, len(new), step):
        d = chord_distances(new[start:start + step] @ old.T)
        r, c = np.nonzero(d < ID_MATCH_DISTANCE)
        rows.append(r + start)
        cols.append(c)
        dists.append(d[r, c])
    r_all, c_all, d_all = np.concatenate(rows), np.concatenate(cols), np.concatenate(dists)
    graph = sparse.coo_matrix((np.ones(len(r_all)), (r_all, c_all + len(new))),
                              shape=(len(new) + len(old),) * 2)
    _, part = connected_components(graph, directed=False)
    pairs: list[tuple[int, int]] = []
    by_part: dict[int, list[int]] = defaultdict(list)
    for k, r in enumerate(r_all.tolist()):
        by_part[int(part[r])].append(k)
    for edges in by_part.values():
        news, olds = sorted({int(r_all[k]) for k in edges}), sorted({int(c_all[k]) for k in edges})
        row_of, col_of = {v: i for i, v in enumerate(news)}, {v: j for j, v in enumerate(olds)}
        cost = np.full((len(news), len(olds)), 4.0)  # above any distance of unit vectors
        for k in edges:
            cost[row_of[int(r_all[k])], col_of[int(c_all[k])]] = d_all[k]
        for i, j in zip(*linear_sum_assignment(cost), strict=True):
            if cost[i, j] < ID_MATCH_DISTANCE:
                pairs.append((news[i], olds[j]))
    return pairs


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
    demography: dict[str, Any]
    person_of_face: dict[tuple[str, int, int], int] = field(default_factory=dict)
    close_people: set[int] = field(default_factory=set)
    notes: list[dict[str, str]] = field(default_factory=list)  # corrections that could not be applied

    def sections(self) -> dict[str, Any]:
        """The JSON-ready "people" and "demography" sections of the profile."""
        return {
            "people": [p.to_dict() | {"close": p.id in self.close_people} for p in self.people],
            "demography": self.demography,
        }


def _collect_faces(media: Iterable[facts.MediaFacts]) -> list[FaceRecord]:
    records: list[FaceRecord] = []
    for m in media:
        taken = media_datetime(m)
        for fi, frame in enumerate(m.frames):
            for ki, face in enumerate(frame.faces):
                if face.embedding is None:
                    continue
                records.append(FaceRecord(m.path, fi, ki, m.kind, face, frame.width, frame.height, taken))
    return records


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
    """Cluster the gallery's faces into people, fuse each person's demography, and keep person ids stable through `store` (`get_state`/`set_state`; None = no memory)."""
    settings = settings or Settings()
    today = today or date.today()
    records = _collect_faces(media)
    embeddings = np.stack([r.face.embedding for r in records]) if records else np.zeros((0, 128))
    for record, row in zip(records, embeddings, strict=True):
        # the same values as a view of the one matrix: one array per face is 100 MB at 100 000 faces
        record.face.embedding = row
    corrections = Corrections.from_state(store.get_state(CORRECTIONS_KEY) if store is not None else None)
    raw_ids = _person_ids(records, embeddings, settings, store, corrections)
    x = l2_normalise(embeddings)
    applied = apply_corrections(raw_ids, [r.path for r in records], corrections)
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
    demography = demography_histogram(
        [(p.demography, len(p.paths)) for p in people], settings.people_min_photos
    )
    return PeopleReport(
        people=people,
        demography=demography,
        person_of_face=person_of_face,
        close_people=close,
        notes=applied.notes,
    )


def _seconds(taken: datetime | None) -> float | None:
    """A naive local capture time as seconds on its own clock, so whole days are its calendar days."""
    return None if taken is None else (taken - datetime(1970, 1, 1)).total_seconds()


def _person_ids(records: list[FaceRecord], embeddings: np.ndarray, settings: Settings, store: Any,
                corrections: Corrections) -> list[int | None]:
    """Each face's stable person id before the corrections: the remembered people with the new faces
    attached (`people_update`), or a full clustering matched to the earlier ids by centroid."""
    params = ClusterParams.from_settings(settings)
    key = update.settings_key(params, settings.face_min_size, settings.face_cluster_score)
    refs = [update.FaceRef(r.path, r.frame, r.index) for r in records]
    memory = store.get_state(update.STATE_KEY) if store is not None else None
    plan = update.plan_update(refs, embeddings, memory, key, params.attach_distance, corrections)
    state = store.get_state(STATE_KEY) if store is not None else None
    if plan is not None:
        ids, pending, digests = plan.person_ids, plan.pending, plan.digests
        new_state = update.refresh_people_state(state, ids, l2_normalise(embeddings), STATE_VERSION)
    else:
        labels = cluster_faces(
            embeddings,
            frame_ids=[(r.path, r.frame) for r in records],
            trusted=[is_trusted(r.face, settings) for r in records],
            clip_ids=[r.path if r.kind == "video" else None for r in records],
            params=params,
            ages=[r.face.age for r in records],
            taken=[_seconds(r.taken) for r in records],
        )
        n_clusters = int(labels.max()) + 1 if len(labels) and labels.max() >= 0 else 0
        x = l2_normalise(embeddings)
        groups = members_of(labels, range(n_clusters))
        centroids = (
            l2_normalise(np.stack([x[g].mean(axis=0) for g in groups])) if groups else np.zeros((0, 128))
        )
        cluster_ids, new_state = assign_stable_ids(centroids, [len(g) for g in groups], state)
        ids = [cluster_ids[c] if c >= 0 else None for c in labels.tolist()]
        pending, digests = 0, update.file_digests(refs, embeddings)
    if store is not None:
        store.set_state(STATE_KEY, new_state)
        store.set_state(update.STATE_KEY, update.memory_state(refs, digests, ids, key, pending))
    return ids


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
