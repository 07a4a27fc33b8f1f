"""People that do not start over: the person of every face is kept in the store's state, and a later
profile attaches only the new faces to the people already found instead of clustering the whole gallery
again.

The rule (`plan_update`):
- a face is known when its file's faces are unchanged since the last people step (same path and the
  same digest of its face embeddings: a re-analysed or edited file, or a new embedding model, makes its
  faces new); known faces keep their person, or stay without one;
- each new face goes to the person of its nearest already-placed face when that face is closer than
  the attach distance, closest pairs first, never to a person that already has a face in the same photo
  or frame (cannot-link) nor to a person the user said the file is not (`galprof people not`);
- a full re-clustering (`face_clusters.cluster_faces`, then the stable ids by centroid) runs instead
  when the gallery has at most INCREMENTAL_ABOVE faces (a clustering takes under a second there), when
  there is no memory, when a clustering setting changed, or when the new faces left without a person
  since the last full clustering reach RECLUSTER_FRACTION of the gallery's faces (at least
  RECLUSTER_MIN_FACES): new people are only found by a clustering, and attachment alone never makes
  one, so a new friend seen in a few photos appears at the next full clustering.
Person ids never change in an update: a face keeps its id, a new face takes an existing one.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from galprof.analysis.corrections import Corrections
from galprof.analysis.face_clusters import ClusterParams, l2_normalise
from galprof.analysis.unit_distances import chord_distances

STATE_KEY = "people.faces"
STATE_VERSION = 1
INCREMENTAL_ABOVE = 2000  # faces; the size where clustering leaves the all-pairs tree (density.py)
RECLUSTER_FRACTION = 0.02  # of the gallery's faces, left without a person since the last clustering
RECLUSTER_MIN_FACES = 20
NEIGHBOURS = 4  # nearest placed faces looked at per new face (the nearest may be in a full frame)
BLOCK_CELLS = 1 << 21  # new faces x placed faces of one distance product (float32: 8 MB)


@dataclass
class FaceRefs:
    """Where each face is: its file, frame and index in the frame (parallel sequences, one item per face)."""

    paths: Sequence[str]
    frames: Sequence[int]
    indexes: Sequence[int]

    def __len__(self) -> int:
        return len(self.paths)


@dataclass
class Update:
    """Raw person ids per face (None = no person), and whether they came from an update."""

    person_ids: list[int | None]
    incremental: bool
    digests: dict[str, str]
    new_faces: int = 0
    attached: int = 0
    pending: int = 0  # new faces without a person since the last full clustering


def settings_key(params: ClusterParams, face_min_size: float, face_cluster_score: float) -> str:
    """Everything that decides a clustering besides the faces: a change means a full re-clustering."""
    return repr(sorted((asdict(params) | {"face_min_size": face_min_size,
                                          "face_cluster_score": face_cluster_score}).items()))


def file_digests(refs: FaceRefs, embeddings: np.ndarray) -> dict[str, str]:
    """A short digest of each file's face embeddings, in face order."""
    by_path: dict[str, list[int]] = defaultdict(list)
    for i, path in enumerate(refs.paths):
        by_path[path].append(i)
    out = {}
    for path, rows in by_path.items():
        digest = hashlib.blake2b(digest_size=8)
        for i in rows:
            digest.update(f"{refs.frames[i]}:{refs.indexes[i]}:".encode())
            digest.update(np.ascontiguousarray(embeddings[i], dtype=np.float32).tobytes())
        out[path] = digest.hexdigest()
    return out


def plan_update(refs: FaceRefs, embeddings: np.ndarray, memory: dict | None, key: str,
                attach_distance: float, corrections: Corrections) -> Update | None:
    """The person of each face by attaching the new faces to the remembered people, or None when a
    full re-clustering is due (see the module's rule)."""
    if len(refs) <= INCREMENTAL_ABOVE or not memory or memory.get("version") != STATE_VERSION:
        return None
    if memory.get("settings") != key:
        return None
    digests = file_digests(refs, embeddings)
    files = memory.get("files", {})
    ids: list[int | None] = [None] * len(refs)
    known = np.zeros(len(refs), dtype=bool)
    remembered = {path: {(f, k): p for f, k, p in zip(entry[1::3], entry[2::3], entry[3::3], strict=True)}
                  for path, entry in files.items() if digests.get(path) == entry[0]}
    for i, (path, frame, index) in enumerate(zip(refs.paths, refs.frames, refs.indexes, strict=True)):
        faces = remembered.get(path)
        if faces is not None and (frame, index) in faces:
            known[i] = True
            pid = faces[(frame, index)]
            ids[i] = None if pid < 0 else int(pid)
    new = np.flatnonzero(~known)
    attached = 0
    if len(new):
        x = embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
        attached = _attach_new(refs, np.asarray(x, dtype=np.float32), ids, new, attach_distance, _refused(corrections, ids))
    pending = int(memory.get("pending", 0)) + len(new) - attached
    if pending >= max(RECLUSTER_MIN_FACES, RECLUSTER_FRACTION * len(refs)):
        return None
    return Update(ids, True, digests, len(new), attached, pending)


def _refused(corrections: Corrections, ids: Sequence[int | None]) -> dict[str, set[int]]:
    """Per file, the raw person ids its faces must not take: `not PERSON PATH`, with PERSON followed
    through the merges as `corrections.apply_corrections` does."""
    parent: dict[int, int] = {}

    def resolve(pid: int) -> int:
        while pid in parent:
            pid = parent[pid]
        return pid

    present = {p for p in ids if p is not None}
    refused: dict[str, set[int]] = defaultdict(set)
    for c in corrections.items:
        if c.action == "merge" and c.other is not None and c.person in present and c.other in present:
            a, b = resolve(c.person), resolve(c.other)
            if a != b:
                parent[b] = a
        elif c.action == "not" and c.path:
            target = resolve(c.person)
            refused[c.path] |= {p for p in present if resolve(p) == target}
    return refused


def _attach_new(refs: FaceRefs, x: np.ndarray, ids: list[int | None], new: np.ndarray,
                limit: float, refused: dict[str, set[int]]) -> int:
    """Give new faces the person of their nearest placed face under `limit`, closest pairs first;
    returns how many got one. Placed faces are the known faces that have a person."""
    placed = np.array([i for i, p in enumerate(ids) if p is not None], dtype=np.int64)
    if not len(new) or not len(placed):
        return 0
    members = x[placed]
    k = min(NEIGHBOURS, len(placed))
    pairs: list[tuple[float, int, int]] = []  # (distance, new face, placed face)
    step = max(1, BLOCK_CELLS // len(placed))
    for start in range(0, len(new), step):
        rows = new[start:start + step]
        dots = x[rows] @ members.T
        nearest = np.argpartition(dots, -k, axis=1)[:, -k:] if k < len(placed) else np.tile(
            np.arange(len(placed)), (len(rows), 1))
        d = chord_distances(np.take_along_axis(dots, nearest, axis=1))
        for r, c in zip(*np.nonzero(d < limit), strict=True):
            pairs.append((float(d[r, c]), int(rows[r]), int(placed[nearest[r, c]])))
    paths, frames = refs.paths, refs.frames
    occupied = {(paths[i], frames[i], p) for i, p in enumerate(ids) if p is not None}
    attached = 0
    for _, i, j in sorted(pairs):
        pid = ids[j]
        if ids[i] is not None or pid is None or pid in refused.get(paths[i], ()):
            continue
        if (paths[i], frames[i], pid) in occupied:
            continue
        ids[i] = pid
        occupied.add((paths[i], frames[i], pid))
        attached += 1
    return attached


def memory_state(refs: FaceRefs, digests: dict[str, str], ids: Sequence[int | None], key: str,
                 pending: int) -> dict:
    """The state to keep: per file the digest of its faces and [frame, index, person or -1] per face."""
    files: dict[str, list] = {}
    for path, frame, index, pid in zip(refs.paths, refs.frames, refs.indexes, ids, strict=True):
        entry = files.setdefault(path, [digests[path]])
        entry.extend((frame, index, -1 if pid is None else int(pid)))
    return {"version": STATE_VERSION, "settings": key, "pending": int(pending), "files": files}


def refresh_people_state(state: dict | None, ids: Sequence[int | None], embeddings: np.ndarray, version: int) -> dict:
    """The stable-id state (people.STATE_KEY) after an update: each present person's centroid (of the
    L2-normalised embeddings, float64, one person at a time) and face count measured again, the persons of
    earlier scans that are not present kept as they were."""
    groups: dict[int, list[int]] = defaultdict(list)
    for i, pid in enumerate(ids):
        if pid is not None:
            groups[pid].append(i)
    previous = state.get("people", []) if state and state.get("version") == version else []
    next_id = int(state.get("next_id", 1)) if state and state.get("version") == version else 1
    people = []
    for pid in sorted(groups):
        centroid = l2_normalise(embeddings[groups[pid]]).mean(axis=0)
        centroid = centroid / max(float(np.linalg.norm(centroid)), 1e-12)
        people.append({"id": pid, "centroid": [round(float(v), 5) for v in centroid], "faces": len(groups[pid])})
    people += [p for p in previous if int(p["id"]) not in groups]
    return {"version": version, "next_id": max([next_id, *(pid + 1 for pid in groups)]), "people": people}
