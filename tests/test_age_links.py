"""The age rule of the face clustering (galprof.analysis.age_links), on generated embeddings and ages."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from galprof.analysis.age_links import SECONDS_PER_DAY, SECONDS_PER_YEAR, AgeRule, FaceAges
from galprof.analysis.face_clusters import ClusterParams, cluster_faces
from tests.people_factory import identities

RULE = AgeRule()
NO_RULE = ClusterParams(ages=replace(RULE, young_age=0.0))
T0 = 1.7e9  # a capture time in seconds


def largest_person(labels: np.ndarray) -> int:
    return int(np.bincount(labels[labels >= 0]).max()) if (labels >= 0).any() else 0


def strangers_as_close_as_babies(n: int = 40, seed: int = 3) -> np.ndarray:
    """n faces whose pairwise distances (about 0.37) lie between the young and the adult member
    limits: different babies in dlib's embedding, or one adult seen in different light."""
    x, _ = identities(1, n, spread=0.26, seed=seed)
    return x


def test_young_strangers_form_no_person_while_adults_at_the_same_distances_do():
    x = strangers_as_close_as_babies()
    frames = [f"p{i}.jpg" for i in range(len(x))]
    babies = np.full(len(x), 2.0)
    assert largest_person(cluster_faces(x, frames, params=NO_RULE, ages=babies)) >= 30  # the failure fixed
    assert largest_person(cluster_faces(x, frames, params=ClusterParams(), ages=babies)) <= 3
    adults = np.full(len(x), 35.0)
    assert largest_person(cluster_faces(x, frames, params=ClusterParams(), ages=adults)) >= 30
    # unknown ages: the adult rule
    assert largest_person(cluster_faces(x, frames, params=ClusterParams(), ages=None)) >= 30


def test_a_child_is_a_person_only_when_seen_on_several_days():
    x, _ = identities(1, 8, spread=0.12, seed=5)  # one child's photos: tight even for the young limits
    frames = [f"c{i}.jpg" for i in range(len(x))]
    child = np.full(len(x), 3.0)
    one_day = T0 + np.arange(len(x)) * 60.0
    three_days = T0 + (np.arange(len(x)) % 3) * SECONDS_PER_DAY
    assert largest_person(cluster_faces(x, frames, ages=child, taken=one_day)) == 0
    assert largest_person(cluster_faces(x, frames, ages=child, taken=three_days)) == 8
    assert largest_person(cluster_faces(x, frames, ages=child, taken=None)) == 8  # undated: distances decide
    adult = np.full(len(x), 40.0)
    assert largest_person(cluster_faces(x, frames, ages=adult, taken=one_day)) == 8


def test_ages_that_do_not_fit_the_dates_never_merge():
    toddler, older = [0, 1, 2], [3, 4, 5]
    ages = [2.0, 2.5, 2.0, 9.0, 10.0, 9.5]
    same_day = FaceAges(ages, [T0] * 6, 6, RULE)
    assert same_day.birth_conflicts([toddler, older])[0, 1]
    seven_years_later = FaceAges(ages, [T0] * 3 + [T0 + 7.2 * SECONDS_PER_YEAR] * 3, 6, RULE)
    assert not seven_years_later.birth_conflicts([toddler, older]).any()
    undated = FaceAges(ages, None, 6, RULE)
    assert not undated.birth_conflicts([toddler, older]).any()
    # adults: the tolerance grows with age (estimates of 30 and 38 on one day may be one person)
    adults = FaceAges([30.0, 31.0, 29.0, 38.0, 37.0, 38.0], [T0] * 6, 6, RULE)
    assert not adults.birth_conflicts([toddler, older]).any()


def test_the_birth_conflict_keeps_two_close_young_groups_apart_in_the_clustering():
    rng = np.random.default_rng(7)
    x, truth = identities(2, 6, spread=0.10, seed=11)
    # put the second group next to the first: closer than the young merge limit on average
    centre = x[truth == 0].mean(axis=0)
    x[truth == 1] = x[truth == 0] + rng.normal(scale=0.002, size=(6, 128)) + 0.0 * centre
    frames = [f"p{i}.jpg" for i in range(12)]
    ages = np.where(truth == 0, 2.0, 10.0)
    days = T0 + (np.arange(12) % 3) * SECONDS_PER_DAY
    together = cluster_faces(x, frames, params=NO_RULE, ages=ages, taken=days)
    assert len(set(together[together >= 0].tolist())) == 1  # without the rule: one "child"
    labels = cluster_faces(x, frames, ages=ages, taken=days)
    assert len({labels[i] for i in range(6)} & {labels[i] for i in range(6, 12)} - {-1}) == 0


def test_limits_and_rule_off():
    ages = FaceAges([3.0, 40.0, None], None, 3, RULE)
    assert ages.member_limit(0.42, [0]) == RULE.young_member_distance
    assert ages.member_limit(0.42, [1]) == 0.42 and ages.member_limit(0.42, [2]) == 0.42
    assert ages.member_limit(0.0, [0]) == 0.0  # trimming off stays off
    assert ages.young_merge_limit(0.36) == RULE.young_merge_distance and ages.young_merge_limit(0.0) == 0.0
    attach = ages.attach_limits(0.40, [0, 1], [[1]])
    assert attach[0, 0] == RULE.young_attach_distance and attach[1, 0] == 0.40
    off = FaceAges([3.0], [T0], 1, replace(RULE, young_age=0.0))
    assert off.member_limit(0.42, [0]) == 0.42 and not off.too_few_days([0])
