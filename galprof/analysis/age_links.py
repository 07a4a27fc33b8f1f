"""Ages and capture dates in the face clustering: what keeps children apart.

dlib's ResNet was not trained on children: on UTKFace, different babies (estimated age under 4) lie
0.39 apart on average, closer than the faces of one adult on LFW (95 % within 0.40), so with the
adult thresholds strangers' babies merged into "persons" of 120-150 faces. `face_clusters` therefore
asks this module, for a group of faces with their estimated ages and capture times:
- the limits for a young group (median estimated age under `young_age`): stricter member, merge and
  attach distances, as the paper's Android app adds an age term to the distance under about 7;
- whether two groups' ages fit their dates: each dated face gives a birth time (capture time minus
  estimated age); two groups whose median birth times differ by more than the tolerance are never
  merged (a toddler photographed with a ten-year-old on one day is not one child);
- whether a young group spans enough days: a child is a person only when seen on `young_min_days`
  capture days; a young group without any dated face is judged by its distances alone.
Ages and times are per face (NaN = unknown); a group is a list of face indices.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

SECONDS_PER_YEAR = 365.25 * 24 * 3600
SECONDS_PER_DAY = 24 * 3600


@dataclass
class AgeRule:
    """Parameters of the age rule (distances between L2-normalised embeddings). The distances and
    young_age are chosen by cross-validation over people (benchmarks/cluster_cv.py, figures in
    benchmarks/README.md). No labelled data here has capture dates, so young_min_days (the paper's
    "several days") and the birth tolerance (wider than the estimator's spread: MAE 6-9 years on
    UTKFace) are set by reasoning, not measured."""

    # The estimator reads children as older than they are (UTKFace, true age under 7: median
    # estimate 3, but 10 % above 27), so "young" is judged on a group's median estimate.
    young_age: float = 16.0
    young_member_distance: float = 0.30  # RMS distance to the other members, young groups
    young_merge_distance: float = 0.20
    young_attach_distance: float = 0.16
    young_min_days: int = 2  # dated young groups seen on fewer capture days are not a person
    birth_tolerance: float = 4.0  # years between two groups' median birth times, plus ...
    birth_tolerance_share: float = 0.25  # ... this share of the older group's age (estimates spread)
    # Two groups are compared by birth time only with this many dated faces each: one face's estimate
    # can be 20 years off (an adult read as 40 in one photo and 18 in the next).
    birth_min_faces: int = 3

    def enabled(self) -> bool:
        return self.young_age > 0


@dataclass
class PeopleAges:
    """Per person: young or not, median birth time (years since the epoch) and median estimated age."""

    young: np.ndarray
    birth: np.ndarray
    age: np.ndarray


class FaceAges:
    """Estimated ages and capture times of a gallery's faces, and the rule applied to them."""

    def __init__(self, ages: Sequence[float | None] | np.ndarray | None, taken: Sequence[float | None] |
                 np.ndarray | None, n: int, rule: AgeRule | None = None):
        self.rule = rule or AgeRule()
        self.ages = _floats(ages, n)
        self.taken = _floats(taken, n)

    def group_age(self, faces: Sequence[int]) -> float:
        known = self.ages[list(faces)]
        known = known[~np.isnan(known)]
        return float(np.median(known)) if len(known) else float("nan")

    def is_young(self, faces: Sequence[int]) -> bool:
        return self.rule.enabled() and self.group_age(faces) < self.rule.young_age  # NaN: False

    def member_limit(self, limit: float, faces: Sequence[int]) -> float:
        return _stricter(limit, self.rule.young_member_distance) if self.is_young(faces) else limit

    def young_merge_limit(self, limit: float) -> float:
        """The merge limit where either group is young."""
        return _stricter(limit, self.rule.young_merge_distance)

    def people_ages(self, people: Sequence[Sequence[int]]) -> PeopleAges:
        """What the attach step compares a face with, once per person (not once per block of faces)."""
        return PeopleAges(young=np.array([self.is_young(p) for p in people], dtype=bool),
                          birth=np.array([self._birth(p) for p in people], dtype=np.float64),
                          age=np.array([self.group_age(p) for p in people], dtype=np.float64))

    def attach_limits(self, limit: float, loose: Sequence[int],
                      people: Sequence[Sequence[int]] | PeopleAges) -> np.ndarray:
        """(len(loose), len(people)) attach limits: stricter where the face or the person is young, and
        -1 (never) where that young face's or person's age does not fit the other's for their dates.
        Between adults one face's age is too noisy for the birth rule (see birth_min_faces).
        `people`: their face indices, or their `people_ages` when called block by block."""
        persons = people if isinstance(people, PeopleAges) else self.people_ages(people)
        strict = _stricter(limit, self.rule.young_attach_distance)
        loose = np.asarray(loose, dtype=np.int64)
        young_face = (self.ages[loose] < self.rule.young_age) & self.rule.enabled()
        either = young_face[:, None] | persons.young[None, :]
        limits = np.where(either, strict, limit)
        if not self.rule.enabled():
            return limits
        face_birth = self.taken[loose] / SECONDS_PER_YEAR - self.ages[loose]
        older = np.fmax(self.ages[loose][:, None], persons.age[None, :])
        tolerance = self.rule.birth_tolerance + self.rule.birth_tolerance_share * np.nan_to_num(older)
        with np.errstate(invalid="ignore"):
            gap = np.nan_to_num(np.abs(face_birth[:, None] - persons.birth[None, :]), nan=0.0)
        return np.where(either & (gap > tolerance), -1.0, limits)

    def birth_conflicts(self, groups: Sequence[Sequence[int]]) -> np.ndarray:
        """(k, k) True where two groups' dated faces give birth times too far apart for one person."""
        births = np.array([self._birth(g, self.rule.birth_min_faces) for g in groups], dtype=np.float64)
        ages = np.array([self.group_age(g) for g in groups], dtype=np.float64)
        if not self.rule.enabled() or np.isnan(births).all():
            return np.zeros((len(groups), len(groups)), dtype=bool)
        older = np.fmax(ages[:, None], ages[None, :])
        tolerance = self.rule.birth_tolerance + self.rule.birth_tolerance_share * np.nan_to_num(older)
        with np.errstate(invalid="ignore"):
            gap = np.abs(births[:, None] - births[None, :])
            return np.nan_to_num(gap, nan=0.0) > tolerance

    def split_by_birth(self, groups: Sequence[Sequence[int]]) -> list[list[int]]:
        """Positions of `groups` (one face list each, e.g. a cluster's sightings) cut where their birth
        times, in order, leave a gap wider than the tolerance; groups without a birth time join the
        largest part. One part (all positions) when nothing is cut."""
        everything = [list(range(len(groups)))]
        if not self.rule.enabled() or len(groups) < 2:
            return everything
        births = np.array([self._birth(g) for g in groups])
        known = np.flatnonzero(~np.isnan(births))
        if len(known) < 2:
            return everything
        order = known[np.argsort(births[known], kind="stable")]
        parts: list[list[int]] = [[int(order[0])]]
        for prev, k in pairwise(order):
            older = max(self.group_age(groups[prev]), self.group_age(groups[k]))
            if births[k] - births[prev] > self.rule.birth_tolerance + self.rule.birth_tolerance_share * older:
                parts.append([])
            parts[-1].append(int(k))
        if len(parts) == 1:
            return everything
        largest = max(parts, key=len)
        largest.extend(int(k) for k in np.flatnonzero(np.isnan(births)))
        return [sorted(p) for p in parts]

    def too_few_days(self, faces: Sequence[int]) -> bool:
        """A young group with dated faces on fewer than young_min_days days."""
        if not self.is_young(faces):
            return False
        times = self.taken[list(faces)]
        times = times[~np.isnan(times)]
        return len(times) > 0 and len(np.unique(np.floor(times / SECONDS_PER_DAY))) < self.rule.young_min_days

    def _birth(self, faces: Sequence[int], min_faces: int = 1) -> float:
        """Median birth time of the group's dated faces with an age, in years since the epoch (NaN
        with fewer than `min_faces` of them)."""
        idx = list(faces)
        both = ~np.isnan(self.ages[idx]) & ~np.isnan(self.taken[idx])
        if both.sum() < max(1, min_faces):
            return float("nan")
        return float(np.median(self.taken[idx][both] / SECONDS_PER_YEAR - self.ages[idx][both]))


class MergeAges:
    """The age rule while clusters merge: a young cluster merges only under the stricter young limit (a
    merged cluster is young when either part was), and two clusters whose ages do not fit their dates
    never merge. `groups` are the clusters' face indices; with no ages every check passes."""

    def __init__(self, ages: FaceAges | None, groups: list[list[int]] | None, limit: float):
        self.ages = ages
        self.groups = groups or []
        self.young = [ages.is_young(g) for g in self.groups] if ages else []
        self.strict = ages.young_merge_limit(limit) if ages else limit

    def too_far(self, a: int, b: int, distance: float) -> bool:
        return self.ages is not None and (self.young[a] or self.young[b]) and distance >= self.strict

    def conflict(self, a: int, b: int) -> bool:
        return self.ages is not None and bool(self.ages.birth_conflicts([self.groups[a], self.groups[b]])[0, 1])

    def shrunk(self, c: int, faces: list[int]) -> None:
        if self.ages is not None:
            self.groups[c] = faces

    def merged(self, a: int, b: int) -> None:
        if self.ages is not None:
            self.groups[a] += self.groups[b]
            self.young[a] = self.young[a] or self.young[b]


def _stricter(limit: float, young: float) -> float:
    """The young limit where it is stricter; a limit of 0 (rule off) stays off."""
    if limit <= 0:
        return limit
    return min(limit, young) if young > 0 else limit


def _floats(values: Sequence[float | None] | np.ndarray | None, n: int) -> np.ndarray:
    if values is None:
        return np.full(n, np.nan)
    out = np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
    if len(out) != n:
        raise ValueError(f"expected {n} values, got {len(out)}")
    return out
