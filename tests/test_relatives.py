"""Relatives of the owner (child, parent, partner, friend) and the number of children, as labelled
guesses with their evidence, on generated people: a phone gallery with an owner's selfies and the
people around them, each with an age, a gender and the days they appear with the owner."""

from __future__ import annotations

from datetime import date

import numpy as np

from galprof.analysis.owner import owner_step
from galprof.analysis.people import analyze_people
from galprof.config import Settings
from tests.people_factory import face, media, near, unit

FRONT = {"make": "Apple", "model": "iPhone 12", "lens_model": "iPhone 12 front camera 2.71mm f/2.2"}
BACK = {"make": "Apple", "model": "iPhone 12", "lens_model": "iPhone 12 back camera 4.2mm f/1.6"}
BOXES = [(60, 50, 180, 190), (190, 20, 238, 80), (0, 20, 50, 80), (190, 150, 238, 210)]


class Gallery:
    """Photos of generated people: `add(day, names)` makes one photo of those people on that day."""

    def __init__(self, people: dict[str, tuple[float, float]], seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.people = people  # name -> (age, P(female))
        self.centres = {name: unit(rng.normal(size=128)) for name in people}
        self.items = []
        self.seen: dict[str, list[tuple[str, int]]] = {name: [] for name in people}

    def add(self, day: int, names: list[str], selfie: bool = False) -> None:
        path = f"/phone/{len(self.items):03d}.jpg"
        faces = []
        for k, name in enumerate(names):
            age, female = self.people[name]
            embedding = near(self.centres[name], 0.2, seed=len(self.items) * 10 + k)
            faces.append(face(embedding, box=BOXES[k], age=age, female=female))
            self.seen[name].append((path, k))
        camera = FRONT if selfie else BACK
        self.items.append(media(path, [faces], taken_at=f"2024-06-{day:02d}T12:00:00", **camera))

    def analyze(self):
        report = analyze_people(self.items, Settings(), today=date(2024, 12, 1))
        owner = owner_step(self.items, report, Settings()).to_dict()
        ids = {}
        for name, faces in self.seen.items():
            votes = [report.person_of_face.get((path, 0, k)) for path, k in faces]
            ids[name] = max(set(votes), key=votes.count)
        return owner, ids


def _family() -> Gallery:
    g = Gallery({"owner": (35, 0.1), "partner": (33, 0.9), "child": (6, 0.2), "parent": (64, 0.8),
                 "friend": (36, 0.1), "stranger": (30, 0.9)})
    for day in range(1, 6):
        g.add(day, ["owner"], selfie=True)
    for day in (1, 2):
        g.add(day, ["owner", "partner"])
    for day in (3, 4, 6):
        g.add(day, ["partner"])  # days 3 and 4: the owner was photographed that day too
    for day in (1, 3, 5):
        g.add(day, ["child", "owner"])
    for day in (7, 8):
        g.add(day, ["child"])
    for day in (2, 4):
        g.add(day, ["parent", "owner"])
    g.add(9, ["parent"])
    for day in (2, 5, 10, 11):
        g.add(day, ["friend"])  # never in a photo with the owner, but on two of the owner's days
    for day in range(12, 17):
        g.add(day, ["stranger"])
    return g


def test_family_relations_are_labelled_guesses_with_evidence():
    owner, ids = _family().analyze()
    assert owner["status"] == "found" and owner["person_id"] == ids["owner"]
    relatives = {r["person_id"]: r for r in owner["relatives"]}
    relation = {name: relatives[ids[name]]["relation"] for name in ("partner", "child", "parent", "friend")}
    assert relation == {"partner": "partner", "child": "child", "parent": "parent", "friend": "friend"}
    assert ids["stranger"] not in relatives  # never on a day with the owner
    assert all(r["guess"] is True and r["basis"] for r in relatives.values())
    partner = relatives[ids["partner"]]["evidence"]
    assert (partner["photos"], partner["photos_together"], partner["days_together"]) == (5, 2, 4)
    assert partner["photos_with_owner"] == 4 and partner["gender"] == "female"
    assert partner["age_gap"] == -2.0 and partner["age_range"][0] <= partner["age"] <= partner["age_range"][1]
    assert 33 <= partner["age"] <= 34  # today's age from the birth year of June 2024 photos
    friend = relatives[ids["friend"]]["evidence"]
    assert (friend["photos_together"], friend["days_together"], friend["photos_with_owner"]) == (0, 2, 2)
    assert relatives[ids["child"]]["age_gap"] == -29.0
    assert owner["children"] == {"count": 1, "person_ids": [ids["child"]], "guess": True,
                                 "basis": owner["children"]["basis"]}
    # most photos with the owner first
    order = [r["evidence"]["photos_with_owner"] for r in owner["relatives"]]
    assert order == sorted(order, reverse=True)


def test_partner_needs_more_days_than_anyone_and_a_tie_is_broken_only_by_gender():
    def gallery(second_female: float) -> Gallery:
        g = Gallery({"owner": (40, 0.9), "a": (41, 0.1), "b": (39, second_female)}, seed=3)
        for day in range(1, 5):
            g.add(day, ["owner"], selfie=True)
            g.add(day, ["owner", "a", "b"])  # a and b always together with the owner
        return g

    owner, ids = gallery(second_female=0.9).analyze()  # a is a man, b a woman like the owner
    relation = {r["person_id"]: r["relation"] for r in owner["relatives"]}
    assert relation == {ids["a"]: "partner", ids["b"]: "friend"}
    owner, ids = gallery(second_female=0.1).analyze()  # both men: the tie stays, no partner
    assert {r["relation"] for r in owner["relatives"]} == {"friend"}
    assert owner["children"]["count"] == 0


def test_too_few_days_together_gives_no_partner_and_no_age_gives_unknown():
    g = Gallery({"owner": (30, 0.1), "mate": (29, 0.9), "ageless": (None, None)}, seed=4)
    for day in range(1, 4):
        g.add(day, ["owner"], selfie=True)
    for day in (1, 2):
        g.add(day, ["owner", "mate", "ageless"])
    for day in (7, 8):
        g.add(day, ["mate", "ageless"])
    owner, ids = g.analyze()
    relatives = {r["person_id"]: r for r in owner["relatives"]}
    assert relatives[ids["mate"]]["relation"] == "friend"  # 2 days together: under PARTNER_MIN_DAYS
    assert relatives[ids["ageless"]]["relation"] == "unknown"
    assert relatives[ids["ageless"]]["evidence"]["age_range"] is None


def test_no_owner_no_relatives_and_no_children_count():
    g = Gallery({"a": (30, 0.1), "b": (5, 0.9)}, seed=5)
    for day in range(1, 5):
        g.add(day, ["a", "b"])
    owner, _ = g.analyze()
    assert owner["status"] == "not_enough_selfies"
    assert owner["relatives"] == [] and owner["children"] is None


def test_relatives_and_children_in_a_profile_pass_the_schema():
    import json

    from galprof.profile import profile_from_media
    from galprof.validate import check

    g = _family()
    document = json.loads(json.dumps(profile_from_media(lambda: iter(g.items), Settings())))
    check(document, "profile-v1", "the profile")
    assert document["owner"]["children"]["count"] == 1
    assert {r["relation"] for r in document["owner"]["relatives"]} == {"partner", "child", "parent", "friend"}


def test_a_minor_close_to_the_owners_age_is_unknown_not_a_friend():
    g = Gallery({"owner": (25, 0.9), "teen": (14, 0.1)}, seed=6)
    for day in range(1, 4):
        g.add(day, ["owner"], selfie=True)
        g.add(day, ["owner", "teen"])
    owner, ids = g.analyze()
    [teen] = owner["relatives"]
    assert teen["person_id"] == ids["teen"] and teen["relation"] == "unknown"
    assert teen["age_gap"] == -11.0 and owner["children"]["count"] == 0
