"""People that do not start over (galprof.analysis.people_update): the remembered people keep their
ids, new faces are attached to them (cannot-link and `people not` honoured), changed files count as new,
and a full re-clustering runs when settings change or enough faces are left without a person."""

from __future__ import annotations

import numpy as np
import pytest

from galprof.analysis import people_update as update
from galprof.analysis.corrections import STATE_KEY as CORRECTIONS_KEY
from galprof.analysis.corrections import Corrections
from galprof.analysis.people import analyze_people
from galprof.config import Settings
from tests.people_factory import MemoryStore, face, identities, media


@pytest.fixture(autouse=True)
def small_galleries(monkeypatch):
    """Updates start above 2 000 faces; these galleries are smaller, so the size rule starts lower."""
    monkeypatch.setattr(update, "INCREMENTAL_ABOVE", 10)


def gallery(x: np.ndarray, start: int = 0, prefix: str = "/g/p") -> list:
    return [media(f"{prefix}{start + i:04d}.jpg", [[face(v)]]) for i, v in enumerate(x)]


def ids_of(report, items) -> list[int | None]:
    return [report.person_of_face.get((m.path, 0, 0)) for m in items]


def people_run(items, store, settings=None):
    return analyze_people(items, settings or Settings(), store)


def test_new_faces_join_their_people_and_ids_stay():
    x, truth = identities(12, 12, spread=0.15, seed=1)
    old = np.concatenate([np.flatnonzero(truth == p)[:10] for p in range(12)])
    new = np.concatenate([np.flatnonzero(truth == p)[10:] for p in range(12)])
    store = MemoryStore()
    first_items = gallery(x[old])
    first = people_run(first_items, store)
    first_ids = ids_of(first, first_items)
    assert len({i for i in first_ids if i is not None}) == 12
    assert store.get_state(update.STATE_KEY)["pending"] == 0

    second_items = first_items + gallery(x[new], start=len(old))
    second = people_run(second_items, store)
    second_ids = ids_of(second, second_items)
    assert second_ids[:len(old)] == first_ids  # known faces keep their person
    # each new face took the id the first scan gave its identity
    person_of_truth = {int(truth[old[k]]): pid for k, pid in enumerate(first_ids) if pid is not None}
    assert second_ids[len(old):] == [person_of_truth[int(t)] for t in truth[new]]
    memory = store.get_state(update.STATE_KEY)
    assert memory["pending"] == 0
    assert len(memory["files"]) == len(second_items)


def test_update_is_not_a_reclustering(monkeypatch):
    x, _ = identities(6, 10, spread=0.15, seed=2)
    store = MemoryStore()
    items = gallery(x)
    people_run(items, store)
    calls = []
    monkeypatch.setattr("galprof.analysis.people.cluster_faces",
                        lambda *a, **k: calls.append(1) or pytest.fail("re-clustered"))
    more = items + gallery(x[:3] * 1.0 + 0.0, start=len(items), prefix="/g/copy")
    report = people_run(more, store)
    assert not calls
    assert ids_of(report, more)[-3:] == ids_of(report, more)[:3]


def test_cannot_link_and_not_correction_are_honoured():
    x, _ = identities(4, 10, spread=0.15, seed=3)
    store = MemoryStore()
    items = gallery(x)
    first = people_run(items, store)
    ids = ids_of(first, items)
    a, b = ids[0], ids[10]
    assert a is not None and b is not None and a != b
    # a new photo with two faces of person a: only one of them may be a
    twin = media("/g/twin.jpg", [[face(x[1]), face(x[2], box=(200, 50, 320, 190))]])
    # a new photo of person b that the user said is not b
    refused = media("/g/refused.jpg", [[face(x[11])]])
    corrections = Corrections()
    corrections.add("not", b, path="/g/refused.jpg")
    store.set_state(CORRECTIONS_KEY, corrections.to_state())
    report = people_run(items + [twin, refused], store)
    twin_ids = [report.person_of_face.get(("/g/twin.jpg", 0, k)) for k in range(2)]
    assert twin_ids.count(a) == 1
    assert report.person_of_face.get(("/g/refused.jpg", 0, 0)) is None
    memory = store.get_state(update.STATE_KEY)
    assert memory["files"]["/g/refused.jpg"][3] == -1  # remembered without a person


def test_changed_file_is_new_and_removed_file_is_forgotten():
    x, _ = identities(4, 10, spread=0.15, seed=4)
    store = MemoryStore()
    items = gallery(x)
    first = people_run(items, store)
    ids = ids_of(first, items)
    # photo 0 re-analysed with a face of person 3 (an edited file); photo 39 deleted
    changed = [media(items[0].path, [[face(x[35])]])] + items[1:39]
    report = people_run(changed, store)
    assert report.person_of_face[(items[0].path, 0, 0)] == ids[35]
    assert items[39].path not in store.get_state(update.STATE_KEY)["files"]


def test_reclusters_when_settings_change_or_faces_pile_up(monkeypatch):
    x, _ = identities(6, 10, spread=0.15, seed=5)
    strangers, _ = identities(40, 1, spread=0.15, seed=99)
    store = MemoryStore()
    items = gallery(x)
    first = people_run(items, store)
    first_ids = ids_of(first, items)
    key = store.get_state(update.STATE_KEY)["settings"]

    calls = []
    real = update.plan_update

    def spy(*args, **kwargs):
        plan = real(*args, **kwargs)
        calls.append(plan is not None)
        return plan

    monkeypatch.setattr(update, "plan_update", spy)
    monkeypatch.setattr(update, "RECLUSTER_MIN_FACES", 5)
    few = items + gallery(strangers[:3], start=100)
    people_run(few, store)
    assert calls[-1] is True and store.get_state(update.STATE_KEY)["pending"] == 3
    people_run(few + gallery(strangers[3:5], start=200), store)  # 5 pending: cluster again
    assert calls[-1] is False and store.get_state(update.STATE_KEY)["pending"] == 0
    report = people_run(items, store, Settings(face_attach_distance=0.35))
    assert calls[-1] is False
    assert store.get_state(update.STATE_KEY)["settings"] != key
    assert ids_of(report, items) == first_ids  # a full clustering keeps the ids by centroid


def test_no_memory_without_a_store():
    x, _ = identities(3, 10, spread=0.15, seed=6)
    report = analyze_people(gallery(x), Settings(), None)
    assert len(report.people) == 3


def test_matched_pairs_equal_a_dense_assignment():
    from scipy.optimize import linear_sum_assignment

    from galprof.analysis.people import ID_MATCH_DISTANCE, _matched_pairs

    rng = np.random.default_rng(7)
    old = rng.normal(size=(300, 128))
    old /= np.linalg.norm(old, axis=1, keepdims=True)
    new = old[rng.permutation(300)[:250]] + rng.normal(scale=0.01, size=(250, 128))
    new = np.concatenate([new, rng.normal(size=(30, 128))])
    new /= np.linalg.norm(new, axis=1, keepdims=True)
    cost = np.linalg.norm(new[:, None, :] - old[None, :, :], axis=2)
    rows, cols = linear_sum_assignment(cost)
    expected = {(int(r), int(c)) for r, c in zip(rows, cols, strict=True) if cost[r, c] < ID_MATCH_DISTANCE}
    assert set(_matched_pairs(new, old)) == expected
    assert len(expected) == 250


def test_the_callers_embeddings_keep_their_values():
    """analyze_people keeps one embedding matrix and gives each face a view of its row: same values."""
    x, _ = identities(3, 10, spread=0.15, seed=8)
    items = gallery(x)
    before = [m.frames[0].faces[0].embedding.copy() for m in items]
    analyze_people(items, Settings(), MemoryStore())
    for m, original in zip(items, before, strict=True):
        assert np.array_equal(m.frames[0].faces[0].embedding, original)
