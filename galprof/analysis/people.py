"""People: the persons of a gallery from its faces (clustered by `face_clusters.cluster_faces`), with
stable ids across scans (the store's small JSON state), the user's corrections applied, and the
`PeopleReport` (people and demography sections). The owner is found after this step, from the same
items and the report (`galprof.analysis.owner.owner_step`, called by the profile).
"""

from __future__ import annotations

import math
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
from galprof.analysis.demography import FaceSample, PersonDemography, demography_histogram, fuse_person
from galprof.analysis.face_clusters import ClusterParams, cluster_faces, l2_normalise
from galprof.analysis.face_table import FaceTable
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
    """One face of a file with where it came from (`galprof faces` lines; the people stage keeps its
    faces as columns, face_table.FaceTable)."""

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
class MemberFaces:
    """A person's faces as the people report reads them: the file of each (a shared string), whether it
    is a video, and its capture time (None = undated), in face order."""

    paths: list[str]
    video: list[bool]
    taken: list[datetime | None]

    def __len__(self) -> int:
        return len(self.paths)


@dataclass
class FaceSpot:
    """Where one face is: its file, frame and box."""

    path: str
    frame: int
    box: facts.Box


@dataclass
class Person:
    id: int
    faces: MemberFaces
    centroid: np.ndarray
    demography: PersonDemography
    representative: FaceSpot | None
    name: str | None = None  # given by the user (galprof people name)
    merged_ids: list[int] = field(default_factory=list)  # ids the user merged into this one

    @property
    def paths(self) -> list[str]:
        return sorted(set(self.faces.paths))

    @property
    def photos(self) -> list[str]:
        return sorted({p for p, v in zip(self.faces.paths, self.faces.video, strict=True) if not v})

    @property
    def videos(self) -> list[str]:
        return sorted({p for p, v in zip(self.faces.paths, self.faces.video, strict=True) if v})

    @property
    def days(self) -> set[date]:
        """Days of the person's dated photos and videos (capture dates only: copied files share the
        copy day as mtime, which would make anyone look seen on many days or all on one)."""
        return {t.date() for t in self.faces.taken if t is not None}

    @property
    def dated_paths(self) -> list[str]:
        return sorted({p for p, t in zip(self.faces.paths, self.faces.taken, strict=True) if t is not None})

    def day_of_path(self) -> dict[str, date]:
        """The capture day of each dated file of the person."""
        return {p: t.date() for p, t in zip(self.faces.paths, self.faces.taken, strict=True) if t is not None}

    def to_dict(self) -> dict[str, Any]:
        dates = sorted(t for t in self.faces.taken if t is not None)
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
            "representative_face": {"path": rep.path, "frame": rep.frame, "box": rep.box.as_list()},
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


def trusted(min_side, score, settings: Settings):
    """Faces good enough to help form clusters: large enough and confidently detected (scalars or
    arrays of each face's smaller box side and detector score)."""
    return (min_side >= settings.face_min_size) & (score >= settings.face_cluster_score)


def is_trusted(face: facts.Face, settings: Settings) -> bool:
    return bool(trusted(min(face.box.width, face.box.height), face.score, settings))


def analyze_people(
    media: Iterable[facts.MediaFacts],
    settings: Settings | None = None,
    store: Any = None,
    today: date | None = None,
) -> PeopleReport:
    """Cluster the gallery's faces into people, fuse each person's demography, and keep person ids stable through `store` (`get_state`/`set_state`; None = no memory)."""
    return people_of_table(FaceTable.from_media(media), settings, store, today)


def people_of_table(table: FaceTable, settings: Settings | None = None, store: Any = None,
                    today: date | None = None) -> PeopleReport:
    """analyze_people on faces already gathered as columns (the profile gathers them in its first pass)."""
    settings = settings or Settings()
    today = today or date.today()
    corrections = Corrections.from_state(store.get_state(CORRECTIONS_KEY) if store is not None else None)
    face_paths = table.face_paths()
    raw_ids = _person_ids(table, face_paths, settings, store, corrections)
    applied = apply_corrections(raw_ids, face_paths, corrections)
    members: dict[int, list[int]] = defaultdict(list)
    for i, pid in enumerate(applied.person_ids):
        if pid is not None:
            members[pid].append(i)
    people = [_person(table, pid, group, face_paths, today, applied.names.get(pid), applied.merged.get(pid, []))
              for pid, group in members.items()]
    people.sort(key=lambda p: (-len(p.paths), p.id))
    person_of_face = {table.key(i): pid for i, pid in enumerate(applied.person_ids) if pid is not None}
    # days count capture dates only (FaceTable.taken_us): a person without dated photos is not close
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


def _person(table: FaceTable, pid: int, group: list[int], face_paths: list[str], today: date, name: str | None,
            merged: list[int]) -> Person:
    """One person of the report from the rows of its faces."""
    rows = np.asarray(group, dtype=np.int64)
    taken = table.taken(rows)
    quality = table.quality(rows)
    samples = [FaceSample(_known(a), _known(f), q, t)
               for a, f, q, t in zip(table.age[rows].tolist(), table.female[rows].tolist(), quality.tolist(), taken,
                                     strict=True)]
    x = l2_normalise(table.embeddings[rows])
    centroid = l2_normalise(x.mean(axis=0, keepdims=True))[0]
    distances = np.linalg.norm(x - centroid, axis=1)
    best = int(rows[_representative(quality, distances)])
    spot = FaceSpot(table.path(best), int(table.frame[best]), facts.Box(*table.box[best].tolist()))
    faces = MemberFaces([face_paths[i] for i in group], table.video[rows].tolist(), taken)
    return Person(id=pid, faces=faces, centroid=centroid, demography=fuse_person(samples, today),
                  representative=spot, name=name, merged_ids=merged)


def _known(value: float) -> float | None:
    """A FaceTable estimate as FaceSample takes it: NaN (no estimate) is None."""
    return None if math.isnan(value) else value


def _person_ids(table: FaceTable, face_paths: list[str], settings: Settings, store: Any,
                corrections: Corrections) -> list[int | None]:
    """Each face's stable person id before the corrections: the remembered people with the new faces
    attached (`people_update`), or a full clustering matched to the earlier ids by centroid."""
    params = ClusterParams.from_settings(settings)
    key = update.settings_key(params, settings.face_min_size, settings.face_cluster_score)
    embeddings = table.embeddings
    refs = update.FaceRefs(face_paths, table.frame.tolist(), table.index.tolist())
    memory = store.get_state(update.STATE_KEY) if store is not None else None
    plan = update.plan_update(refs, embeddings, memory, key, params.attach_distance, corrections)
    state = store.get_state(STATE_KEY) if store is not None else None
    if plan is not None:
        ids, pending, digests = plan.person_ids, plan.pending, plan.digests
        new_state = update.refresh_people_state(state, ids, embeddings, STATE_VERSION)
    else:
        labels = cluster_faces(embeddings, frame_ids=table.frame_codes(),
                               trusted=trusted(table.min_side(), table.score, settings),
                               clip_ids=table.clip_codes(), params=params, ages=table.age,
                               taken=table.taken_seconds())
        n_clusters = int(labels.max()) + 1 if len(labels) and labels.max() >= 0 else 0
        groups = members_of(labels, range(n_clusters))
        centroids = (  # one group at a time: a float64 copy of every embedding is 100 MB at 100 000 faces
            l2_normalise(np.stack([l2_normalise(embeddings[g]).mean(axis=0) for g in groups]))
            if groups else np.zeros((0, 128))
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


def _representative(quality: np.ndarray, distances: np.ndarray) -> int:
    """The face that best shows the person: among the better half by quality, the nearest to the
    centroid (an index into the person's faces)."""
    good = quality >= 0.5 * quality.max()
    order = np.lexsort((-quality, np.where(good, distances, np.inf)))
    return int(order[0])
