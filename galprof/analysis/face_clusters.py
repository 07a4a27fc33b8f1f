"""Face clustering: every face of a gallery into persons.

`cluster_faces` works on L2-normalised 128-d embeddings with HDBSCAN and adds what a
gallery needs beyond a plain clustering:
- sightings: trusted faces of one video clip are first linked into tracks, and each track enters
  HDBSCAN as one point, so a 30-frame clip counts as one sighting for the minimum cluster size;
- HDBSCAN with leaf selection finds tight groups (excess-of-mass selection merges look-alike people
  into a few huge clusters on faces: F 0.41 against 0.99 on LFW); groups whose faces are closer on
  average than `merge_distance` are then merged (average linkage), which rejoins a person that the
  leaf selection split by lighting or pose;
- cannot-link: two faces of the same photo or frame are never one person; a cluster holding such a
  pair is split (constrained 2-means seeded by the pair) until no pair is left, and merges never
  join two clusters sharing a frame;
- a cluster is a person only when its members are close to it: HDBSCAN's leaf selection always
  finds leaves, even among strangers seen once each (3 strangers made a "person" in most LFW galleries
  of one person plus 8 strangers), so members farther than `member_distance` (root mean square) from
  the other members are dropped, farthest first, and a cluster left below the minimum size is
  dissolved;
- a gallery of one recurring person is one person: leaf selection never returns the root of the
  cluster tree, so when it yields no person the tree is selected again by excess of mass with
  `allow_single_cluster` (then trimmed as above, so a crowd of strangers does not become one person);
- untrusted faces (small, low detector score) and HDBSCAN's noise do not form clusters; they are
  attached afterwards to the nearest person only when closer than `attach_distance` to its centroid;
- children: with the faces' estimated ages (and capture times), young groups get stricter member,
  merge and attach distances, groups whose ages do not fit their dates are not merged, and a dated
  young group needs several capture days (`galprof.analysis.age_links`).

`galprof.analysis.people` runs it over a gallery's faces and makes the persons of the profile.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

import numpy as np

from galprof.analysis import unit_distances
from galprof.analysis.age_links import AgeRule, FaceAges, MergeAges
from galprof.analysis.density import hdbscan_labels, uses_graph
from galprof.analysis.unit_distances import chord_distances, close_pairs, group_means, members_of
from galprof.config import Settings

# Faces of one clip are linked into one track when this close to the track's mean.
TRACK_DISTANCE = 0.35


@dataclass
class ClusterParams:
    """HDBSCAN, merge and attachment parameters. Distances are between L2-normalised embeddings
    (dlib's 0.6 is about 0.42 there: raw dlib embeddings have norms around 1.4).

    Defaults from cross-validation over people (benchmarks/cluster_cv.py: 5 folds of LFW identities
    with UTKFace strangers and event-album faces, 3 seeds, every value chosen on the training folds;
    run again on the exact int8 kernels' embeddings): held-out pairwise F 0.965 mean, 0.911 worst
    fold, against 0.641 / 0.410 with the first defaults (min_cluster_size 3, member 0.42, merge 0.36,
    attach 0.40, no age rule). min_cluster_size 3 and merge_distance 0.36 are kept from
    benchmarks/cluster_lfw.py's sweep of people seen 3-6 times, which these folds do not hold (the
    folds chose 2 and 0.40, which split such people and merge look-alikes), and AgeRule's young member
    distance 0.30 (the folds chose 0.22, which splits a child seen several times, tests/test_relatives.py).
    The shipped values: F 0.949 mean, 0.868 worst on the same folds; the curve is in
    benchmarks/README.md. epsilon, min_samples and method were not searched again (cluster_lfw.py:
    epsilon flat over 0-0.25; larger min_samples lose people seen a few times;
    "eom" merges look-alike people into huge clusters, F 0.41 against 0.99 on LFW).
    member_distance is the root mean square distance of a member to the other members.
    """

    min_cluster_size: int = 3
    min_samples: int = 1
    epsilon: float = 0.0
    method: str = "leaf"  # "eom" merges look-alike people into huge clusters on faces (LFW sweep)
    attach_distance: float = 0.34
    merge_distance: float = 0.36  # merge clusters whose faces are closer on average (0 = never)
    # A member whose RMS distance to the rest of its cluster exceeds this is not that person (0 = keep all)
    member_distance: float = 0.40
    ages: AgeRule = field(default_factory=AgeRule)  # children: see galprof.analysis.age_links

    @classmethod
    def from_settings(cls, settings: Settings) -> ClusterParams:
        return cls(
            min_cluster_size=settings.cluster_min_size,
            min_samples=settings.cluster_min_samples,
            epsilon=settings.cluster_epsilon,
            attach_distance=settings.face_attach_distance,
            merge_distance=settings.cluster_merge_distance,
            member_distance=settings.cluster_member_distance,
            ages=AgeRule(young_age=settings.cluster_young_age),
        )


def l2_normalise(x: np.ndarray, dtype: type = np.float64) -> np.ndarray:
    x = np.asarray(x, dtype=dtype)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


def _hdbscan_labels(points: np.ndarray, params: ClusterParams, method: str | None = None) -> np.ndarray:
    """HDBSCAN labels (-1 = noise); too few points for a cluster are all noise."""
    n = len(points)
    min_size = max(2, params.min_cluster_size)
    if n < min_size:
        return np.full(n, -1, dtype=np.int64)
    return hdbscan_labels(points, min_size, params.min_samples, params.epsilon, method or params.method)


@dataclass
class _Sighting:
    faces: list[int]  # indices into the face arrays
    frames: set[Hashable]
    vector: np.ndarray  # normalised mean embedding


def _build_sightings(
    x: np.ndarray, members: Sequence[int], frame_ids: Sequence[Hashable], clip_ids: Sequence[Hashable | None]
) -> list[_Sighting]:
    """Photo faces are a sighting each; faces of one clip are greedily linked into tracks (one face per
    frame per track) and each track is one sighting."""
    sightings: list[_Sighting] = []
    by_clip: dict[Hashable, list[int]] = defaultdict(list)
    for i in members:
        if clip_ids[i] is None:
            sightings.append(_Sighting([i], {frame_ids[i]}, x[i]))
        else:
            by_clip[clip_ids[i]].append(i)
    for clip in by_clip.values():
        tracks: list[_Sighting] = []
        sums: list[np.ndarray] = []
        for i in clip:  # input order is frame order
            best, best_d = -1, TRACK_DISTANCE
            for t, track in enumerate(tracks):
                if frame_ids[i] in track.frames:
                    continue
                d = float(np.linalg.norm(x[i] - track.vector))
                if d < best_d:
                    best, best_d = t, d
            if best < 0:
                tracks.append(_Sighting([i], {frame_ids[i]}, x[i]))
                sums.append(x[i].copy())
            else:
                tracks[best].faces.append(i)
                tracks[best].frames.add(frame_ids[i])
                sums[best] += x[i]
                tracks[best].vector = l2_normalise(sums[best][None])[0]
        sightings.extend(tracks)
    return sightings


def _split_conflicts(members: list[int], sightings: list[_Sighting]) -> list[list[int]]:
    """Split one cluster (sighting indices) until no two of its sightings share a frame."""
    frame_owner: dict[Hashable, int] = {}
    conflict: tuple[int, int] | None = None
    for s in members:
        for f in sightings[s].frames:
            if f in frame_owner:
                conflict = (frame_owner[f], s)
                break
            frame_owner[f] = s
        if conflict:
            break
    if conflict is None:
        return [members]
    vectors = np.stack([sightings[s].vector for s in members])
    index = {s: k for k, s in enumerate(members)}
    centres = np.stack([sightings[conflict[0]].vector, sightings[conflict[1]].vector])
    side = np.zeros(len(members), dtype=np.int64)
    for _ in range(10):
        d = np.linalg.norm(vectors[:, None, :] - centres[None, :, :], axis=2)
        new_side = np.argmin(d, axis=1)
        # the seeds stay apart; sightings sharing a frame with a seed go to the other side
        new_side[index[conflict[0]]], new_side[index[conflict[1]]] = 0, 1
        for seed, seed_side in ((conflict[0], 0), (conflict[1], 1)):
            for s in members:
                if s != seed and sightings[s].frames & sightings[seed].frames:
                    new_side[index[s]] = 1 - seed_side
        if np.array_equal(new_side, side):
            break
        side = new_side
        for k in (0, 1):
            if np.any(side == k):
                centres[k] = l2_normalise(vectors[side == k].mean(axis=0)[None])[0]
    parts: list[list[int]] = []
    for k in (0, 1):
        part = [s for s in members if side[index[s]] == k]
        parts.extend(_split_conflicts(part, sightings))
    return parts


def cluster_faces(
    embeddings: np.ndarray,
    frame_ids: Sequence[Hashable],
    trusted: Sequence[bool] | np.ndarray | None = None,
    clip_ids: Sequence[Hashable | None] | None = None,
    params: ClusterParams | None = None,
    ages: Sequence[float | None] | np.ndarray | None = None,
    taken: Sequence[float | None] | np.ndarray | None = None,
) -> np.ndarray:
    """Cluster faces into people. Returns one label per face (0..k-1, largest person first; -1 = no
    person). `frame_ids` name the photo/frame of each face (cannot-link), `trusted` marks faces good
    enough to form clusters, `clip_ids` name the video clip of a video face (None for photos), `ages`
    the estimated age of each face and `taken` its capture time in seconds (None/NaN = unknown)."""
    params = params or ClusterParams()
    n = len(embeddings)
    labels = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return labels
    trusted_mask = np.ones(n, dtype=bool) if trusted is None else np.asarray(trusted, dtype=bool)
    # Where the neighbour graph takes over (it computes in float32), float32 throughout halves the
    # largest arrays of a 100 000-face gallery; small galleries keep float64 and their exact results.
    large = uses_graph(int(trusted_mask.sum()), params.min_samples)
    x = l2_normalise(np.asarray(embeddings), np.float32 if large else np.float64)
    clips: Sequence[Hashable | None] = clip_ids if clip_ids is not None else [None] * n
    face_ages = FaceAges(ages, taken, n, params.ages)

    sightings = _build_sightings(x, [i for i in range(n) if trusted_mask[i]], frame_ids, clips)
    if sightings:
        points = np.stack([s.vector for s in sightings], dtype=x.dtype)
        clusters = _form_clusters(_hdbscan_labels(points, params), sightings, params, face_ages)
        if not clusters and params.method == "leaf":
            # one recurring person: leaf selection never returns the tree's root, excess of mass can
            clusters = _form_clusters(_hdbscan_labels(points, params, "eom"), sightings, params, face_ages)
        clusters = _merge_close(clusters, sightings, params.merge_distance, face_ages)
        clusters = [c for c in clusters if not face_ages.too_few_days(_faces_of(c, sightings))]
        for c, part in enumerate(clusters):
            for s in part:
                labels[sightings[s].faces] = c

    _attach(x, labels, frame_ids, params.attach_distance, face_ages)
    return _relabel_by_size(labels)


def _faces_of(members: list[int], sightings: list[_Sighting]) -> list[int]:
    return [i for s in members for i in sightings[s].faces]


def _form_clusters(sighting_labels: np.ndarray, sightings: list[_Sighting], params: ClusterParams,
                   ages: FaceAges) -> list[list[int]]:
    """HDBSCAN's clusters (sighting indices) made into candidate people: split on cannot-links, then
    trimmed to the members close to the rest; parts too small to be a person are left out (the
    attach step may still give their faces a person)."""
    min_size = max(2, params.min_cluster_size)
    clusters: list[list[int]] = []
    groups: dict[int, list[int]] = defaultdict(list)
    for s, c in enumerate(sighting_labels.tolist()):
        if c >= 0:
            groups[c].append(s)
    for c in sorted(groups):
        members = groups[c]
        parts = [[part[k] for k in piece] for part in _split_conflicts(members, sightings)
                 for piece in ages.split_by_birth([sightings[s].faces for s in part])]
        for part in parts:
            # a split-off part too small to be a person on its own goes back to the attach step
            if len(part) < min_size and len(part) != len(members):
                continue
            part = _trim(part, sightings, ages.member_limit(params.member_distance, _faces_of(part, sightings)))
            if len(part) >= min_size and not ages.too_few_days(_faces_of(part, sightings)):
                clusters.append(part)
    return clusters


def _trim(members: list[int], sightings: list[_Sighting], limit: float) -> list[int]:
    """Drop the members whose root mean square distance to the other members exceeds `limit`, farthest
    first, re-measuring after each drop. A pairwise measure, unlike the distance to the others'
    centroid, does not shrink as a group of strangers grows (their centroid is an average face
    that each of them is closer to than to one another)."""
    if limit <= 0 or len(members) < 2:
        return members
    vectors = np.stack([sightings[s].vector for s in members])  # unit vectors
    keep = np.ones(len(members), dtype=bool)
    total = vectors.sum(axis=0)
    while keep.sum() >= 2:
        # unit vectors: mean |v - w|^2 over the other kept members w = 2 - 2 v.(total - v) / (m - 1)
        mean_dot = (vectors @ total - 1.0) / (keep.sum() - 1)
        d = np.where(keep, np.sqrt(np.maximum(0.0, 2.0 - 2.0 * mean_dot)), -np.inf)
        worst = int(np.argmax(d))
        if d[worst] <= limit:
            break
        keep[worst] = False
        total = total - vectors[worst]
    return [s for s, k in zip(members, keep, strict=True) if k]


def _merge_close(clusters: list[list[int]], sightings: list[_Sighting], limit: float,
                 ages: FaceAges | None = None) -> list[list[int]]:
    """Merge clusters whose faces are closer than `limit` on average and that share no frame, closest
    first. HDBSCAN's leaf selection splits a person seen in different conditions into a few tight
    clusters; the faces of those parts stay closer on average than the faces of two different people.

    The average is the root mean square distance over all cross pairs, which for unit vectors is
    sqrt(2 - 2 mean_a . mean_b): one matrix product instead of every pair of faces. That distance is
    linear in the means, so a merged cluster is under `limit` from another only if one of its parts
    was: the candidates are the pairs under `limit` (found a block of rows at a time), kept in a heap
    ordered as an all-pairs argmin would take them (distance, then the lower index, then the higher),
    and only a cluster that changed is measured again against the others."""
    if limit <= 0 or len(clusters) < 2:
        return clusters
    clusters = [list(c) for c in clusters]
    frames = [set().union(*(sightings[s].frames for s in c)) for c in clusters]
    sizes = np.array([len(c) for c in clusters], dtype=np.float64)
    means = np.stack([np.mean([sightings[s].vector for s in c], axis=0) for c in clusters])
    k = len(clusters)
    alive = np.ones(k, dtype=bool)
    version = np.zeros(k, dtype=np.int64)
    blocked: list[set[int]] = [set() for _ in range(k)]
    gate = MergeAges(ages, [_faces_of(c, sightings) for c in clusters] if ages else None, limit)

    def push_row(a: int) -> None:
        d = chord_distances(means @ means[a])
        for b in np.flatnonzero((d < limit) & alive).tolist():
            if b != a:
                lo, hi = min(a, b), max(a, b)
                heapq.heappush(heap, (float(d[b]), lo, hi, int(version[lo]), int(version[hi])))

    heap = [(d, a, b, 0, 0) for d, a, b in close_pairs(means, limit)]
    heapq.heapify(heap)
    while heap:
        dist, a, b, va, vb = heapq.heappop(heap)
        if not (alive[a] and alive[b]) or va != version[a] or vb != version[b] or b in blocked[a]:
            continue
        if gate.too_far(a, b, dist):
            continue
        if gate.conflict(a, b):
            blocked[a].add(b)
            blocked[b].add(a)
            continue
        shared = frames[a] & frames[b]
        if shared:
            # Same person seen twice in one frame is impossible: the smaller cluster gives up its
            # sightings in the shared frames (the attach step may place them) and the rest may merge.
            small = b if sizes[b] <= sizes[a] else a
            rest = [s for s in clusters[small] if not sightings[s].frames & shared]
            if not rest:
                blocked[a].add(b)
                blocked[b].add(a)
                continue
            clusters[small] = rest
            frames[small] = set().union(*(sightings[s].frames for s in rest))
            sizes[small] = len(rest)
            means[small] = np.mean([sightings[s].vector for s in rest], axis=0)
            gate.shrunk(small, _faces_of(rest, sightings) if ages else [])
            version[small] += 1
            push_row(small)
            continue
        means[a] = (sizes[a] * means[a] + sizes[b] * means[b]) / (sizes[a] + sizes[b])
        sizes[a] += sizes[b]
        clusters[a] += clusters[b]
        frames[a] |= frames[b]
        alive[b] = False
        version[a] += 1
        for c in blocked[b]:
            blocked[c].add(a)
        blocked[a] |= blocked[b]
        push_row(a)
        gate.merged(a, b)
    return [c for c, keep in zip(clusters, alive, strict=True) if keep]


def _attach(x: np.ndarray, labels: np.ndarray, frame_ids: Sequence[Hashable], limit: float,
            ages: FaceAges | None = None) -> None:
    """Give unlabelled faces the nearest person when closer than `limit` (stricter for young faces and
    people) to its centroid and that person has no other face in the same frame; closest pairs first.
    The distances are measured a block of faces at a time and only the pairs under the limit are kept
    (an all-pairs matrix of the unattached faces and the people took 4 GB at 100 000 faces)."""
    people = sorted(set(labels.tolist()) - {-1})
    loose = np.flatnonzero(labels < 0)
    if not people or not len(loose):
        return
    centroids = l2_normalise(group_means(x, labels, people))
    occupied = {(frame_ids[i], labels[i]) for i in np.flatnonzero(labels >= 0)}
    persons = ages.people_ages(members_of(labels, people)) if ages else None
    rows, cols, dists = [], [], []
    step = max(1, unit_distances.BLOCK_CELLS // len(people))
    for start in range(0, len(loose), step):
        # unit vectors: |a - b| = sqrt(2 - 2 a.b); only pairs under the limit are candidates
        d = chord_distances(x[loose[start:start + step]] @ centroids.T)
        limits = ages.attach_limits(limit, loose[start:start + step], persons) if ages else limit
        r, c = np.nonzero(d < limits)
        rows.append(r + start)
        cols.append(c)
        dists.append(d[r, c])
    rows_all, cols_all, d_all = np.concatenate(rows), np.concatenate(cols), np.concatenate(dists)
    for k in np.argsort(d_all, kind="stable"):
        i, c = loose[rows_all[k]], people[cols_all[k]]
        if labels[i] >= 0 or (frame_ids[i], c) in occupied:
            continue
        labels[i] = c
        occupied.add((frame_ids[i], c))


def _relabel_by_size(labels: np.ndarray) -> np.ndarray:
    ids, counts = np.unique(labels[labels >= 0], return_counts=True)
    order = ids[np.lexsort((ids, -counts))]
    mapping = {int(old): new for new, old in enumerate(order)}
    return np.array([mapping.get(int(v), -1) for v in labels], dtype=np.int64)
