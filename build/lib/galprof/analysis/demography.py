"""Per-person age and gender fused over all of a person's faces, and the gallery's demography histogram.

Per-face estimates are noisy (about 6 years of age error and 84 % gender accuracy per face on UTKFace),
so a person's values come from many faces: a quality-weighted median of ages, a birth year fused as
the weighted median of (photo date - estimated age) over dated faces (a person photographed over
years gets one birth year), and a gender vote weighted by quality and certainty, with a confidence.

Only real capture dates count (EXIF or the video container): a file's modification time says when it
was copied, not when it was taken, so a gallery restored from a backup would put everybody on the
copy day. A person with no dated face has no birth year; their age is the fused face estimate and is
labelled so (`age_source`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np

from galprof import facts

AGE_RANGES: list[tuple[str, int, int | None]] = [
    ("0-12", 0, 12),
    ("13-17", 13, 17),
    ("18-24", 18, 24),
    ("25-34", 25, 34),
    ("35-44", 35, 44),
    ("45-54", 45, 54),
    ("55-64", 55, 64),
    ("65+", 65, None),
]
GENDERS = ("female", "male")


# PersonDemography.age_source values
AGE_FROM_DATES = "birth_year"  # age today from the birth year fused over dated photos
AGE_FROM_FACES = "face_estimate"  # no dated photo: the fused face estimate, as if taken today


def media_datetime(media: facts.MediaFacts) -> datetime | None:
    """When a photo or video was taken (naive, local), from EXIF or the video container only; None
    when the only date is the file's modification time (`taken_at_source == "mtime"`)."""
    exif = media.exif
    if exif is None or not exif.taken_at or exif.taken_at_source == "mtime":
        return None
    try:
        taken = datetime.fromisoformat(exif.taken_at)
    except ValueError:
        return None
    return taken.replace(tzinfo=None) if taken.tzinfo else taken


def _year_fraction(moment: datetime) -> float:
    start = datetime(moment.year, 1, 1)
    length = (datetime(moment.year + 1, 1, 1) - start).total_seconds()
    return moment.year + (moment - start).total_seconds() / length


def weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    """The value where the cumulative weight reaches half the total (the lower one on an exact tie
    is averaged with the next so two equal halves give their midpoint)."""
    values = np.asarray(values, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    order = np.argsort(values)
    values, weights = values[order], weights[order]
    cumulative = np.cumsum(weights)
    half = cumulative[-1] / 2
    k = int(np.searchsorted(cumulative, half))
    if np.isclose(cumulative[k], half) and k + 1 < len(values):
        return float((values[k] + values[k + 1]) / 2)
    return float(values[k])


@dataclass
class FaceSample:
    """What one face says about its person."""

    age: float | None
    female_probability: float | None
    quality: float  # weight, > 0
    taken: datetime | None


@dataclass
class PersonDemography:
    age: float | None  # current age (at `today`) when a birth year is known, else the fused face age
    birth_year: int | None
    age_spread: float | None  # weighted median absolute deviation of the face ages, years
    gender: str | None
    gender_confidence: float | None  # weighted vote share of the winning gender, 0.5..1
    age_samples: int
    gender_samples: int
    age_source: str | None = None  # AGE_FROM_DATES, AGE_FROM_FACES, or None without an age
    dated_samples: int = 0  # aged faces with a real capture date

    def to_dict(self) -> dict[str, Any]:
        return {
            "birth_year": self.birth_year,
            "age": None if self.age is None else round(self.age, 1),
            "age_source": self.age_source,
            "age_spread": None if self.age_spread is None else round(self.age_spread, 1),
            "gender": self.gender,
            "gender_confidence": None if self.gender_confidence is None else round(self.gender_confidence, 3),
        }


def fuse_person(samples: list[FaceSample], today: date) -> PersonDemography:
    """Fuse a person's face estimates into one age, birth year and gender. `taken` of a sample must be
    a real capture date (see `media_datetime`) or None."""
    aged = [s for s in samples if s.age is not None and s.quality > 0]
    age = birth_year = spread = source = None
    dated = [s for s in aged if s.taken is not None]
    if aged:
        ages = np.array([s.age for s in aged], dtype=np.float64)
        weights = np.array([s.quality for s in aged])
        age = weighted_median(ages, weights)
        spread = weighted_median(np.abs(ages - age), weights)
        source = AGE_FROM_FACES
        if dated:
            source = AGE_FROM_DATES
            births = np.array([_year_fraction(s.taken) - s.age for s in dated])
            birth = weighted_median(births, np.array([s.quality for s in dated]))
            birth_year = int(np.floor(birth))
            # the age today from the fused birth date (not from the most recent photo)
            age = max(0.0, _year_fraction(datetime(today.year, today.month, today.day)) - birth)

    gendered = [s for s in samples if s.female_probability is not None and s.quality > 0]
    gender = confidence = None
    if gendered:
        p = np.array([s.female_probability for s in gendered], dtype=np.float64)
        # each face votes for its side with weight quality x certainty (|2p - 1|)
        w = np.array([s.quality for s in gendered]) * np.abs(2 * p - 1)
        female, male = float(w[p > 0.5].sum()), float(w[p <= 0.5].sum())
        if female + male > 0 and female != male:
            gender = "female" if female > male else "male"
            confidence = max(female, male) / (female + male)
    return PersonDemography(
        age=age,
        birth_year=birth_year,
        age_spread=spread,
        gender=gender,
        gender_confidence=confidence,
        age_samples=len(aged),
        gender_samples=len(gendered),
        age_source=source,
        dated_samples=len(dated),
    )


def age_range(age: float) -> str:
    whole = int(np.floor(age))
    for name, low, high in AGE_RANGES:
        if whole >= low and (high is None or whole <= high):
            return name
    return AGE_RANGES[0][0]


def demography_histogram(people: list[tuple[PersonDemography, int]], min_photos: int) -> dict[str, Any]:
    """People per gender x age range, counting only people seen in at least `min_photos` photos or
    videos (smaller clusters are mostly strangers in the background)."""
    counts = {g: {name: 0 for name, _, _ in AGE_RANGES} for g in GENDERS}
    counted = skipped = 0
    for demo, photos in people:
        if photos < min_photos:
            continue
        if demo.gender is None or demo.age is None:
            skipped += 1
            continue
        counts[demo.gender][age_range(demo.age)] += 1
        counted += 1
    return {
        "min_photos": min_photos,
        "age_ranges": [name for name, _, _ in AGE_RANGES],
        "counts": counts,
        "people_counted": counted,
        "people_without_estimates": skipped,
    }
