"""People clustering: synthetic identities for the mechanics (cannot-link, untrusted faces, video
sightings, stable ids, the scikit-learn fallback) and real LFW faces for the quality and the gallery
behaviour (two faces in one photo, an added batch keeping ids)."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from galprof.analysis.cluster_metrics import pairwise_scores, score_clustering
from galprof.analysis.face_clusters import ClusterParams, cluster_faces, l2_normalise
from galprof.analysis.people import analyze_people, assign_stable_ids
from galprof.config import Settings
from tests.people_factory import (
    MemoryStore,
    PhotoReader,
    central_face,
    face,
    identities,
    lfw_people,
    media,
    near,
    side_by_side,
    unit,
)

PARAMS = ClusterParams.from_settings(Settings())


# ------------------------------------------------------------------ metrics


def test_pairwise_scores_count_noise_as_singletons():
    truth = np.array([0, 0, 0, 1, 1])
    assert pairwise_scores(truth, np.array([5, 5, 5, 7, 7])) == (1.0, 1.0, 1.0)
    # everything noise: precision is vacuous, recall zero
    p, r, f = pairwise_scores(truth, np.full(5, -1))
    assert (p, r, f) == (1.0, 0.0, 0.0)
    # one merged cluster: 4 true pairs out of 10
    p, r, _ = pairwise_scores(truth, np.zeros(5, int))
    assert p == pytest.approx(0.4) and r == 1.0
    s = score_clustering(truth, np.array([0, 0, -1, 1, 1]))
    assert s.clusters == 2 and s.people == 2 and s.noise == pytest.approx(0.2)


# ------------------------------------------------------------------ synthetic mechanics


def test_separated_identities_are_recovered_largest_first():
    x, truth = identities(8, 10, spread=0.25, seed=1)
    x, truth = np.concatenate([x, identities(1, 16, spread=0.25, seed=2)[0]]), np.concatenate(
        [truth, np.full(16, 8)])
    labels = cluster_faces(x, frame_ids=list(range(len(x))), params=PARAMS)
    assert score_clustering(truth, labels).f == 1.0
    assert set(labels[truth == 8]) == {0}  # the largest person is label 0


def test_same_photo_faces_are_never_one_person():
    """Look-alikes (centres 0.15 apart, closer than the merge distance) always photographed together:
    without the constraint they are one cluster; with it each photo's two faces are split."""
    rng = np.random.default_rng(3)
    a = unit(rng.normal(size=128))
    b = unit(near(a, 0.15, seed=4))
    faces_a = np.stack([near(a, 0.08, seed=10 + i) for i in range(8)])
    faces_b = np.stack([near(b, 0.08, seed=30 + i) for i in range(8)])
    x = np.concatenate([faces_a, faces_b])
    truth = np.repeat([0, 1], 8)
    photos = [f"photo{i}" for i in range(8)] * 2
    merged = cluster_faces(x, frame_ids=list(range(16)), params=PARAMS)  # as if all were separate photos
    assert len(set(merged.tolist())) == 1
    labels = cluster_faces(x, frame_ids=photos, params=PARAMS)
    for i in range(8):
        assert labels[i] != labels[i + 8] or labels[i] == -1
    assert score_clustering(truth, labels).f == 1.0


def test_untrusted_faces_only_attach_when_close():
    x, truth = identities(3, 6, spread=0.2, seed=5)
    centre = unit(x[truth == 0].mean(axis=0))
    close = near(centre, 0.2, seed=6)  # well inside attach distance
    far = near(centre, 0.7, seed=7)  # nobody's
    stranger = np.stack([near(unit(np.random.default_rng(8).normal(size=128)), 0.1, seed=9 + i)
                         for i in range(5)])  # 5 small faces of someone else: not enough to be a person
    emb = np.concatenate([x, close[None], far[None], stranger])
    trusted = [True] * len(x) + [False] * 7
    labels = cluster_faces(emb, frame_ids=list(range(len(emb))), trusted=trusted, params=PARAMS)
    assert labels[len(x)] == labels[0] and labels[0] >= 0
    assert labels[len(x) + 1] == -1
    assert set(labels[len(x) + 2:].tolist()) == {-1}
    # the same five faces, trusted, do form a person
    trusted_all = [True] * len(emb)
    labels = cluster_faces(emb, frame_ids=list(range(len(emb))), trusted=trusted_all, params=PARAMS)
    assert len(set(labels[len(x) + 2:].tolist())) == 1 and labels[-1] >= 0


def test_one_video_clip_is_one_sighting():
    x, _ = identities(1, 12, spread=0.15, seed=11)
    frames = [("clip.mp4", i) for i in range(12)]
    as_photos = cluster_faces(x, frame_ids=frames, params=PARAMS)
    assert set(as_photos.tolist()) == {0}
    as_clip = cluster_faces(x, frame_ids=frames, clip_ids=["clip.mp4"] * 12, params=PARAMS)
    assert set(as_clip.tolist()) == {-1}  # one sighting is below the minimum cluster size
    # the clip plus two photos of the same person: three sightings make a person
    photos, _ = identities(1, 2, spread=0.15, seed=11)
    emb = np.concatenate([x, photos])
    labels = cluster_faces(emb, frame_ids=frames + ["p1", "p2"], clip_ids=["clip.mp4"] * 12 + [None, None],
                           params=PARAMS)
    assert set(labels.tolist()) == {0}


def test_sklearn_fallback_gives_the_same_people(monkeypatch):
    x, truth = identities(6, 8, spread=0.2, seed=12)
    native = cluster_faces(x, frame_ids=list(range(len(x))), params=PARAMS)
    monkeypatch.setitem(sys.modules, "hdbscan", None)  # import hdbscan -> ImportError, as on ARM
    fallback = cluster_faces(x, frame_ids=list(range(len(x))), params=PARAMS)
    assert score_clustering(truth, native).f == 1.0
    assert score_clustering(truth, fallback).f == 1.0


def test_a_single_person_gallery_is_one_person():
    x, _ = identities(1, 12, spread=0.15, seed=16)
    assert set(cluster_faces(x, frame_ids=list(range(12)), params=PARAMS).tolist()) == {0}


def test_strangers_seen_once_are_nobody():
    """Faces of 12 different people, each seen once, about 0.5 apart (unrelated people's faces on LFW
    are 0.45 apart or more in 99 % of cases): nobody recurs, so no person. HDBSCAN's leaf selection
    alone groups them into "people" (it did: two of them)."""
    rng = np.random.default_rng(17)
    hub = unit(rng.normal(size=128))
    # strangers around a common point, 0.35 from it: about 0.5 from one another
    x = np.stack([near(hub, 0.35, seed=100 + i) for i in range(12)])
    labels = cluster_faces(x, frame_ids=list(range(12)), params=PARAMS)
    assert set(labels.tolist()) == {-1}
    # a person seen 4 times among them (faces about 0.35 apart, near the strangers) is found, alone
    centre = unit(near(hub, 0.5, seed=300))
    person = np.stack([near(centre, 0.25, seed=200 + i) for i in range(4)])
    labels = cluster_faces(np.concatenate([x, person]), frame_ids=list(range(16)), params=PARAMS)
    assert set(labels[12:].tolist()) == {0} and set(labels[:12].tolist()) == {-1}


def test_stable_id_assignment():
    x, _ = identities(3, 1, spread=0.0, seed=13)
    centroids = unit(x.astype(np.float64))
    ids, state = assign_stable_ids(centroids, [5, 9, 3], None)
    assert ids == [2, 1, 3]  # numbered by size on the first scan
    new_person = unit(identities(1, 1, spread=0.0, seed=14)[0].astype(np.float64))
    # reordered, one person gone, one new: known people keep their ids, the new one gets 4
    ids2, state2 = assign_stable_ids(np.concatenate([centroids[[2, 0]], new_person]), [3, 6, 7], state)
    assert ids2 == [3, 2, 4]
    assert state2["next_id"] == 5
    # the person who was absent keeps their id when they come back
    ids3, _ = assign_stable_ids(centroids[[1]], [9], state2)
    assert ids3 == [1]


def test_dates_from_file_mtime_do_not_count():
    """Photos whose only date is the file's mtime (copied files): no days seen, no first/last seen, no
    birth year (the age is the face estimate, labelled so) and not close however many the days. The
    same faces with EXIF dates are close and get a birth year."""
    x, _ = identities(1, 6, spread=0.15, seed=18)

    def gallery(source: str | None) -> dict:
        items = [media(f"p{i}.jpg", [[face(e, age=40, female=0.1)]], taken_at=f"2024-05-0{1 + i}T12:00:00",
                       taken_at_source=source) for i, e in enumerate(x)]
        report = analyze_people(items, Settings(close_person_photos=5, close_person_days=2),
                                today=date(2026, 1, 1))
        assert len(report.people) == 1
        return report.sections()["people"][0]

    copied = gallery("mtime")
    assert copied["days_seen"] == 0 and copied["first_seen"] is None and copied["last_seen"] is None
    assert copied["dated_photos"] == 0 and copied["close"] is False
    assert copied["birth_year"] is None and copied["age"] == 40 and copied["age_source"] == "face_estimate"
    for source in ("exif", None):  # None: a date set without a source is taken as a capture date
        dated = gallery(source)
        assert dated["days_seen"] == 6 and dated["first_seen"] == "2024-05-01" and dated["close"] is True
        assert dated["birth_year"] == 1984 and dated["age_source"] == "birth_year"


def test_mtime_dates_mixed_with_exif_dates():
    """Three photos dated by EXIF on one day and three copies dated by mtime on other days: one day
    seen, so not close by the days rule; the birth year comes from the EXIF-dated photos only."""
    x, _ = identities(1, 6, spread=0.15, seed=19)
    items = [media(f"e{i}.jpg", [[face(e, age=30)]], taken_at="2020-03-01T09:00:00", taken_at_source="exif")
             for i, e in enumerate(x[:3])]
    items += [media(f"m{i}.jpg", [[face(e, age=30)]], taken_at=f"2025-0{i + 1}-15T09:00:00",
                    taken_at_source="mtime") for i, e in enumerate(x[3:])]
    report = analyze_people(items, Settings(close_person_photos=5, close_person_days=2), today=date(2026, 1, 1))
    person = report.sections()["people"][0]
    assert person["photos"] == 6 and person["dated_photos"] == 3
    assert person["days_seen"] == 1 and person["first_seen"] == person["last_seen"] == "2020-03-01"
    assert report.close_people == set() and person["close"] is False
    assert person["birth_year"] == 1990  # 2020.2 - 30; with the copies' 2025 dates it was 1992


def test_analyze_people_on_synthetic_gallery():
    x, truth = identities(3, 6, spread=0.2, seed=15)
    items = []
    for i, (e, t) in enumerate(zip(x, truth, strict=True)):
        day = 1 + i % 3
        items.append(media(f"p{i}.jpg", [[face(e, age=30 + 10 * t, female=0.9 if t == 0 else 0.1)]],
                           taken_at=f"2024-05-0{day}T12:00:00"))
    items.append(media("empty.jpg", [[]]))
    store = MemoryStore()
    report = analyze_people(items, Settings(close_person_photos=5, close_person_days=2), store=store)
    assert len(report.people) == 3
    assert report.close_people == {p.id for p in report.people}
    sections = json.loads(json.dumps(report.sections()))
    assert {p["photos"] for p in sections["people"]} == {6}
    first = sections["people"][0]
    assert first["days_seen"] == 3 and first["first_seen"] == "2024-05-01" and first["last_seen"] == "2024-05-03"
    assert "owner" not in sections  # the profile's owner step, after this one (tests/test_owner.py)
    assert sum(sum(v.values()) for v in sections["demography"]["counts"].values()) == 3
    ids_of_truth = {t: report.person_of_face[(f"p{i}.jpg", 0, 0)] for i, t in enumerate(truth)}
    assert len(set(ids_of_truth.values())) == 3
    assert store.get_state("people")["next_id"] == 4


# ------------------------------------------------------------------ real faces (LFW)


def test_lfw_clustering_quality(lfw: Path, reader: PhotoReader):
    """All 33 LFW people, 6 photos each, every face clustered (background faces too, with the
    cannot-link), measured on the central face. The full set is in benchmarks/cluster_lfw.py
    (F 0.98 there); the floor leaves room for model rebuilds."""
    names = sorted(p.name for p in lfw.iterdir() if p.is_dir())
    emb, frames, truth, main = [], [], [], []
    for name, photos in lfw_people(lfw, names, 6).items():
        for photo in photos:
            faces = reader.faces(photo)
            centre = central_face(faces, 240, 240) if faces else -1
            for k, f in enumerate(faces):
                emb.append(f.embedding)
                frames.append(str(photo))
                truth.append(name)
                main.append(k == centre)
    labels = cluster_faces(np.stack(emb), frame_ids=frames, params=PARAMS)
    main_mask = np.array(main)
    scores = score_clustering(np.array(truth)[main_mask], labels[main_mask])
    assert scores.f >= 0.92, scores.as_dict()
    assert scores.precision >= 0.95, scores.as_dict()
    assert 0.85 <= scores.found_ratio <= 1.2, scores.as_dict()
    sisters = {name: set(labels[(np.array(truth) == name) & main_mask].tolist())
               for name in ("Serena_Williams", "Venus_Williams")}
    assert not (sisters["Serena_Williams"] & sisters["Venus_Williams"]) - {-1}


SINGLE = ["Recep_Tayyip_Erdogan", "Atal_Bihari_Vajpayee", "Hans_Blix"]


def test_a_gallery_of_one_recurring_person(lfw: Path, reader: PhotoReader):
    """Galleries of 5 photos of one person and nobody else make exactly one person holding (nearly)
    all of them: HDBSCAN's leaf selection alone finds no cluster in one tight group."""
    for name in SINGLE:
        photos = lfw_people(lfw, [name], 5)[name]
        report = analyze_people([reader.read(p) for p in photos], Settings())
        assert len(report.people) == 1, name
        central = [report.person_of_face.get((str(p), 0, central_face(reader.faces(p), 240, 240))) for p in photos]
        assert central.count(report.people[0].id) >= 4, (name, central)


def test_one_person_among_strangers(lfw: Path, reader: PhotoReader):
    """One person's 5 photos plus one photo each of 8 other people: one person, with no stranger in
    it, and no person made of strangers. (Without trimming far members, 26 of 33 such LFW galleries
    got a false person: benchmarks/cluster_lfw.py --small.)"""
    names = sorted(p.name for p in lfw.iterdir() if p.is_dir())
    for k, name in enumerate(SINGLE):
        others = [n for n in names if n not in SINGLE][k * 8:(k + 1) * 8]
        photos = lfw_people(lfw, [name], 5)[name]
        strangers = [max((lfw / o).glob("*.jpg")) for o in others]
        report = analyze_people([reader.read(p) for p in photos + strangers], Settings())
        central = [report.person_of_face.get((str(p), 0, central_face(reader.faces(p), 240, 240))) for p in photos]
        assert len(report.people) == 1, (name, [p.paths for p in report.people])
        assert central.count(report.people[0].id) >= 4, (name, central)
        assert not set(report.people[0].paths) & {str(p) for p in strangers}, name


def test_two_recurring_people_with_strangers(lfw: Path, reader: PhotoReader):
    """Two people seen 5 times each among 5 strangers seen once: two people, each photo in its own."""
    names = ["Jennifer_Garner", "Hu_Jintao"]
    people = lfw_people(lfw, names, 5)
    strangers = [max((lfw / o).glob("*.jpg"))
                 for o in ("Jiri_Novak", "Lleyton_Hewitt", "Nicole_Kidman", "Paradorn_Srichaphan", "Walter_Mondale")]
    photos = [p for ps in people.values() for p in ps] + strangers
    report = analyze_people([reader.read(p) for p in photos], Settings())
    assert len(report.people) == 2
    ids = {n: {report.person_of_face.get((str(p), 0, central_face(reader.faces(p), 240, 240))) for p in ps}
           for n, ps in people.items()}
    assert all(len(v) == 1 and None not in v for v in ids.values()) and ids[names[0]] != ids[names[1]]


def test_two_faces_in_one_photo(lfw: Path, reader: PhotoReader, tmp_path: Path):
    """A photo composed of two photos of Hugo Chavez side by side: its two faces never join one
    person. A photo of Chavez beside Kidman: each face joins its own person."""
    people = lfw_people(lfw, ["Hugo_Chavez", "Nicole_Kidman", "Roger_Federer"], 10)
    chavez, kidman = people["Hugo_Chavez"], people["Nicole_Kidman"]
    twin = side_by_side(chavez[8], chavez[9], tmp_path / "chavez_twice.jpg")
    pair = side_by_side(chavez[7], kidman[9], tmp_path / "chavez_kidman.jpg")
    items = [reader.read(p) for name in people for p in people[name][:7]]
    items += [reader.read(twin), reader.read(pair)]
    for extra in (twin, pair):
        assert len(items[-1 if extra == pair else -2].frames[0].faces) == 2
    report = analyze_people(items, Settings())
    pof = report.person_of_face
    chavez_id = pof[(str(chavez[0]), 0, central_face(reader.faces(chavez[0]), 240, 240))]
    kidman_id = pof[(str(kidman[0]), 0, central_face(reader.faces(kidman[0]), 240, 240))]
    assert chavez_id != kidman_id
    twin_ids = [pof.get((str(twin), 0, k)) for k in range(2)]
    assert twin_ids[0] != twin_ids[1] or twin_ids[0] is None
    assert chavez_id in twin_ids
    pair_faces = reader.faces(pair)
    left = min(range(2), key=lambda k: pair_faces[k].box.center[0])
    assert pof.get((str(pair), 0, left)) == chavez_id
    assert pof.get((str(pair), 0, 1 - left)) == kidman_id


def test_ids_stay_stable_when_photos_are_added(lfw: Path, reader: PhotoReader, tmp_path: Path):
    from galprof.store import Store

    names = ["Andre_Agassi", "Jennifer_Garner", "Kim_Clijsters", "Hu_Jintao", "Gloria_Macapagal_Arroyo"]
    names = [n for n in names if (lfw / n).is_dir()]
    people = lfw_people(lfw, names + ["Jeb_Bush"], 10)

    def ids_by_name(report, batch: dict[str, list[Path]]) -> dict[str, int]:
        found = {}
        for name, photos in batch.items():
            votes = [report.person_of_face.get((str(p), 0, central_face(reader.faces(p), 240, 240)))
                     for p in photos]
            votes = [v for v in votes if v is not None]
            found[name] = max(set(votes), key=votes.count)
        return found

    def central_ids(report, photos: list[Path]) -> list[int | None]:
        return [report.person_of_face.get((str(p), 0, central_face(reader.faces(p), 240, 240))) for p in photos]

    with Store(tmp_path / "cache.sqlite") as store:
        first = {n: people[n][:5] for n in names}
        report1 = analyze_people([reader.read(p) for ps in first.values() for p in ps], Settings(), store)
        ids1 = ids_by_name(report1, first)
        # the second scan sees more photos of everyone, a new person, and a different file order
        second = {n: people[n] for n in names + ["Jeb_Bush"]}
        items = [reader.read(p) for ps in second.values() for p in ps][::-1]
        report2 = analyze_people(items, Settings(), store)
        ids2 = ids_by_name(report2, second)
    assert len(set(ids1.values())) == len(names)
    # every person keeps their id and every photo of the first scan keeps its person (measured 25/25;
    # a person split by a larger scan would move photos to a new id, hence a floor, not equality)
    assert {n: ids2[n] for n in names} == ids1
    old_photos = [p for ps in first.values() for p in ps]
    same = np.mean([a == b for a, b in zip(central_ids(report1, old_photos), central_ids(report2, old_photos),
                                           strict=True)])
    assert same >= 0.9
    assert ids2["Jeb_Bush"] not in ids1.values()
    assert ids2["Jeb_Bush"] > max(ids1.values())  # ids are never reused


def test_neighbour_graph_is_exact_symmetric_and_spanning():
    from scipy.sparse.csgraph import connected_components

    from galprof.analysis.density import FAR, neighbour_graph

    rng = np.random.default_rng(3)
    x = l2_normalise(np.concatenate([rng.normal(size=(300, 16)), rng.normal(size=(40, 16)) + 30.0]))
    graph = neighbour_graph(x, 5)
    assert (graph != graph.T).nnz == 0 and connected_components(graph, directed=False)[0] == 1
    dists = np.linalg.norm(x[:, None] - x[None], axis=2)
    np.fill_diagonal(dists, np.inf)
    for i in (0, 17, 305):
        row = graph.getrow(i)
        near = set(np.argsort(dists[i])[:5].tolist())
        assert near <= set(row.indices.tolist())
        real = row.data[row.data < FAR]
        assert np.allclose(np.sort(real)[:5], np.sort(dists[i])[:5], atol=1e-4)


def test_graph_clustering_equals_the_all_pairs_one():
    """Above GRAPH_ABOVE faces the tree comes from the neighbour graph; the people must not change."""
    from sklearn.metrics import adjusted_rand_score

    from galprof.analysis import density

    rng = np.random.default_rng(5)
    centres = l2_normalise(rng.normal(size=(300, 128)))
    x = l2_normalise(centres[rng.integers(0, 300, 3000)] + rng.normal(scale=0.025, size=(3000, 128)))
    frames = [f"f{i}" for i in range(len(x))]
    graph_labels = cluster_faces(x, frame_ids=frames)
    saved, density.GRAPH_ABOVE = density.GRAPH_ABOVE, 10**9
    try:
        all_pairs = cluster_faces(x, frame_ids=frames)
    finally:
        density.GRAPH_ABOVE = saved
    assert len(x) > density.GRAPH_ABOVE
    assert adjusted_rand_score(all_pairs, graph_labels) == 1.0
    assert graph_labels.max() + 1 >= 250
