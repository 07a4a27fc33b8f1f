"""Day events inside one gallery, as the paper's Android app finds them, from capture times.

Photos with a capture time (EXIF or container, not the file's mtime) are grouped by calendar day (the
local date the camera wrote). Each photo's scene evidence (its interest categories from the counters
and its top classifier class) is fused over the photos taken within an hour of it; a day's score for a
category or scene is the mean of those fused scores over its photos. A day with at least the average
number of photos per photographed day (and at least MIN_PHOTOS) whose best category or scene reaches
STRONG_SCENE is an event; its confidence is that score.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from galprof.facts import MediaFacts

WINDOW_SECONDS = 3600.0
MIN_PHOTOS = 3
STRONG_SCENE = 0.5
EXAMPLE_PATHS = 3
TOP_CLASS_MIN_SCORE = 0.3


@dataclass
class _Shot:
    path: str
    taken: datetime
    categories: frozenset[str]
    scene: str | None


def _capture_time(media: MediaFacts) -> datetime | None:
    if not media.exif.taken_at or media.exif.taken_at_source == "mtime":
        return None
    try:
        return datetime.fromisoformat(media.exif.taken_at)
    except ValueError:
        return None


def _top_scene(media: MediaFacts) -> str | None:
    best = max((c for f in media.frames for c in f.classes), key=lambda c: c.score, default=None)
    return best.label if best is not None and best.score >= TOP_CLASS_MIN_SCORE else None


def _fused_scores(shots: list[_Shot], key) -> dict[str, float]:
    """Mean over the day's photos of the share of photos within an hour of each carrying a label."""
    totals: dict[str, float] = defaultdict(float)
    for shot in shots:
        near = [s for s in shots if abs((s.taken - shot.taken).total_seconds()) <= WINDOW_SECONDS]
        for other in near:
            for label in key(other):
                totals[label] += 1.0 / len(near)
    return {label: total / len(shots) for label, total in totals.items()}


def _best(scores: dict[str, float]) -> tuple[str | None, float]:
    if not scores:
        return None, 0.0
    label = min(scores, key=lambda k: (-scores[k], k))
    return label, scores[label]


class DayEvents:
    """Collects (capture time, categories, top scene) one media item at a time."""

    def __init__(self, category_labels: dict[str, str]):
        self.category_labels = category_labels
        self.days: dict[str, list[_Shot]] = defaultdict(list)

    def add(self, media: MediaFacts, categories: dict[str, list[str]]) -> None:
        taken = _capture_time(media)
        if taken is not None:
            self.days[taken.date().isoformat()].append(
                _Shot(media.path, taken.replace(tzinfo=None), frozenset(categories), _top_scene(media)))

    def section(self) -> dict[str, Any]:
        dated = sum(len(s) for s in self.days.values())
        average = dated / len(self.days) if self.days else 0.0
        events = []
        for day, shots in sorted(self.days.items()):
            if len(shots) < max(average, MIN_PHOTOS):
                continue
            shots.sort(key=lambda s: (s.taken, s.path))
            category, cat_score = _best(_fused_scores(shots, lambda s: s.categories))
            scene, scene_score = _best(_fused_scores(shots, lambda s: [s.scene] if s.scene else []))
            confidence = max(cat_score, scene_score)
            if confidence < STRONG_SCENE:
                continue
            events.append({
                "date": day, "photos": len(shots),
                "start": shots[0].taken.isoformat(timespec="seconds"),
                "end": shots[-1].taken.isoformat(timespec="seconds"),
                "category": ({"id": category, "label": self.category_labels.get(category, category)}
                             if category and cat_score >= STRONG_SCENE else None),
                "scene": scene if scene_score >= STRONG_SCENE else None,
                "confidence": round(confidence, 3),
                "paths": [s.path for s in shots[:EXAMPLE_PATHS]],
            })
        return {"dated_media": dated, "days": len(self.days), "average_per_day": round(average, 2),
                "min_photos": MIN_PHOTOS, "strong_scene": STRONG_SCENE, "window_seconds": WINDOW_SECONDS,
                "events": events}
