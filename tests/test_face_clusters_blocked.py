"""The blocked _attach and the candidate-heap _merge_close give the same persons as the all-pairs
versions they replaced (kept here verbatim as the reference), on generated embeddings with look-alike
parts, shared frames (cannot-links) and loose faces, with blocks far smaller than the inputs."""

from __future__ import annotations

import numpy as np
import pytest

from galprof.analysis import face_clusters as fc
from galprof.analysis import unit_distances


def reference_merge_close(clusters, sightings, limit):
    if limit <= 0 or len(clusters) < 2:
        return clusters
    clusters = [list(c) for c in clusters]
    frames = [set().union(*(sightings[s].frames for s in c)) for c in clusters]
    sizes = np.array([len(c) for c in clusters], dtype=np.float64)
    means = np.stack([np.mean([sightings[s].vector for s in c], axis=0) for c in clusters])
    k = len(clusters)

    def rms(rows):
        return np.sqrt(np.maximum(0.0, 2.0 - 2.0 * rows @ means.T))

    d = rms(means)
    np.fill_diagonal(d, np.inf)
    alive = np.ones(k, dtype=bool)
    blocked = np.zeros((k, k), dtype=bool)
    while True:
        masked = np.where(alive[:, None] & alive[None, :] & ~blocked, d, np.inf)
        a, b = divmod(int(np.argmin(masked)), k)
        if masked[a, b] >= limit:
            break
        shared = frames[a] & frames[b]
        if shared:
            small = b if sizes[b] <= sizes[a] else a
            rest = [s for s in clusters[small] if not sightings[s].frames & shared]
            if not rest:
                blocked[a, b] = blocked[b, a] = True
                continue
            clusters[small] = rest
            frames[small] = set().union(*(sightings[s].frames for s in rest))
            sizes[small] = len(rest)
            means[small] = np.mean([sightings[s].vector for s in rest], axis=0)
            d[small] = d[:, small] = rms(means[small][None])[0]
            d[small, small] = np.inf
            continue
        means[a] = (sizes[a] * means[a] + sizes[b] * means[b]) / (sizes[a] + sizes[b])
        sizes[a] += sizes[b]
        clusters[a] += clusters[b]
        frames[a] |= frames[b]
        alive[b] = False
        d[a] = d[:, a] = rms(means[a][None])[0]
        d[a, a] = np.inf
        blocked[a] |= blocked[b]
        blocked[:, a] = blocked[a]
    return [c for c, keep in zip(clusters, alive, strict=True) if keep]


def reference_attach(x, labels, frame_ids, limit):
    people = sorted(set(labels.tolist()) - {-1})
    loose = np.flatnonzero(labels < 0)
    if not people or not len(loose):
        return
    centroids = fc.l2_normalise(np.stack([x[labels == c].mean(axis=0) for c in people]))
    occupied = {(frame_ids[i], labels[i]) for i in np.flatnonzero(labels >= 0)}
    d = np.sqrt(np.maximum(0.0, 2.0 - 2.0 * x[loose] @ centroids.T))
    rows, cols = np.nonzero(d < limit)
    for k in np.argsort(d[rows, cols], kind="stable"):
        i, c = loose[rows[k]], people[cols[k]]
        if labels[i] >= 0 or (frame_ids[i], c) in occupied:
            continue
        labels[i] = c
        occupied.add((frame_ids[i], c))


def unit(rng, n, d=128):
    v = rng.normal(size=(n, d))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def split_people(seed: int, people: int = 60):
    """Sightings of `people` persons, each split into 2-4 parts that are close but not identical (the
    leaf selection's output), a few sightings sharing frames across parts and across persons."""
    rng = np.random.default_rng(seed)
    centres = unit(rng, people)
    sightings, clusters = [], []
    for p in range(people):
        for _ in range(int(rng.integers(2, 5))):
            part_centre = fc.l2_normalise((centres[p] + 0.02 * unit(rng, 1)[0])[None])[0]
            members, before = [], len(sightings)
            for _ in range(int(rng.integers(3, 8))):
                v = fc.l2_normalise((part_centre + rng.normal(scale=0.012, size=128))[None])[0]
                frame = f"f{len(sightings)}"
                if rng.random() < 0.15 and before:  # shares a frame with a sighting of an earlier part
                    taken = {f for s in members for f in sightings[s].frames}
                    frame = next(iter(sightings[int(rng.integers(0, before))].frames))
                    frame = frame if frame not in taken else f"f{len(sightings)}"
                members.append(len(sightings))
                sightings.append(fc._Sighting([len(sightings)], {frame}, v))
            clusters.append(members)
    return clusters, sightings


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("limit", [0.2, 0.36, 0.6])
def test_merge_close_equals_all_pairs(seed, limit, monkeypatch):
    clusters, sightings = split_people(seed)
    expected = reference_merge_close(clusters, sightings, limit)
    monkeypatch.setattr(unit_distances, "BLOCK_CELLS", 7 * len(clusters))  # 7 rows a block
    got = fc._merge_close(clusters, sightings, limit)
    assert sorted(map(sorted, got)) == sorted(map(sorted, expected))
    assert len(got) < len(clusters)  # merges did happen: the test can fail


def test_merge_close_keeps_frames_apart():
    clusters, sightings = split_people(3, people=20)
    for part in fc._merge_close(clusters, sightings, 0.6):
        frames = [f for s in part for f in sightings[s].frames]
        assert len(frames) == len(set(frames))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_attach_equals_all_pairs(seed, monkeypatch):
    rng = np.random.default_rng(seed)
    centres = unit(rng, 40)
    owner = rng.integers(0, 40, 3000)
    x = fc.l2_normalise(centres[owner] + rng.normal(scale=0.03, size=(3000, 128)))
    labels = np.where(rng.random(3000) < 0.5, owner, -1)  # half the faces are loose
    labels[rng.random(3000) < 0.05] = -1
    frame_ids = [f"f{int(i)}" for i in rng.integers(0, 1500, 3000)]  # many faces share a frame
    expected = labels.copy()
    reference_attach(x, expected, frame_ids, 0.4)
    monkeypatch.setattr(unit_distances, "BLOCK_CELLS", 40 * 13)  # 13 faces a block
    got = labels.copy()
    fc._attach(x, got, frame_ids, 0.4)
    assert np.array_equal(got, expected)
    assert (got >= 0).sum() > (labels >= 0).sum()


def test_group_means_equal_masked_means():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(500, 16))
    labels = rng.integers(-1, 9, 500)
    groups = [0, 3, 8]
    expected = np.stack([x[labels == g].mean(axis=0) for g in groups])
    assert np.allclose(unit_distances.group_means(x, labels, groups), expected, rtol=0, atol=1e-12)


def test_chord_distances_equal_the_expression():
    rng = np.random.default_rng(9)
    dots = rng.uniform(-1.2, 1.2, size=(50, 40))
    expected = np.sqrt(np.maximum(0.0, 2.0 - 2.0 * dots))
    assert np.array_equal(unit_distances.chord_distances(dots.copy()), expected)
