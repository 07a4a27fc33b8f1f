"""Day events from capture times: busy days with a strong common scene, quiet or mixed days left out."""

from __future__ import annotations

from galprof.analysis.day_events import DayEvents
from galprof.facts import ClassScore, ExifFacts, FrameFacts, MediaFacts


def _photo(path: str, taken: str | None, label: str = "", score: float = 0.9, source: str = "exif") -> MediaFacts:
    frame = FrameFacts(width=10, height=10, classes=[ClassScore(label, score)] if label else [])
    return MediaFacts(path=path, kind="photo", format="jpeg", size=1, mtime=0.0,
                      exif=ExifFacts(taken_at=taken, taken_at_source=source), frames=[frame])


def _collect(items) -> dict:
    events = DayEvents({"food": "food", "animals": "pets/animals"})
    for media, cats in items:
        events.add(media, cats)
    return events.section()


def test_a_busy_day_of_one_scene_is_an_event_and_quiet_days_are_not():
    items = [(_photo(f"wed{i}.jpg", f"2024-06-01T18:{i:02d}:00+02:00", "pizza"), {"food": ["dishes"]})
             for i in range(8)]
    items += [(_photo(f"q{d}.jpg", f"2024-06-{d:02d}T09:00:00", "tabby"), {"animals": ["cats"]}) for d in (2, 3, 4)]
    section = _collect(items)
    assert section["dated_media"] == 11 and section["days"] == 4
    assert [e["date"] for e in section["events"]] == ["2024-06-01"]
    event = section["events"][0]
    assert event["photos"] == 8 and event["category"] == {"id": "food", "label": "food"}
    assert event["scene"] == "pizza" and event["confidence"] == 1.0
    assert event["paths"] == ["wed0.jpg", "wed1.jpg", "wed2.jpg"]


def test_a_busy_day_without_a_common_scene_is_no_event():
    labels = ["pizza", "tabby", "canoe", "laptop", "tench", "volcano"]
    cats = [{"food": ["dishes"]}, {"animals": ["cats"]}, {}, {}, {"animals": ["sea_life"]}, {}]
    # photos hours apart: the one-hour fusion does not spread one photo's scene over the others
    items = [(_photo(f"m{i}.jpg", f"2024-07-01T{8 + 2 * i:02d}:00:00", labels[i]), cats[i]) for i in range(6)]
    section = _collect(items)
    assert section["events"] == []


def test_scenes_fuse_over_an_hour():
    # 4 beach photos in one hour and 2 unlabelled ones in it: each photo's fused share of the scene is 4/6
    items = [(_photo(f"b{i}.jpg", f"2024-08-01T10:{10 * i:02d}:00", "seashore" if i < 4 else ""), {})
             for i in range(6)]
    event = _collect(items)["events"][0]
    assert event["scene"] == "seashore" and event["category"] is None
    assert abs(event["confidence"] - 4 / 6) < 1e-3


def test_mtime_dates_and_unparseable_dates_are_ignored():
    items = [(_photo(f"x{i}.jpg", "2024-01-01T10:00:00", "pizza", source="mtime"), {"food": ["dishes"]})
             for i in range(5)]
    items.append((_photo("bad.jpg", "not a date", "pizza"), {"food": ["dishes"]}))
    section = _collect(items)
    assert section["dated_media"] == 0 and section["events"] == []


def test_the_profile_carries_day_events_and_validates():
    import jsonschema

    from galprof.config import Settings
    from galprof.profile import load_schema, profile_from_media
    from tests.profile_factory import frame, media

    items = [media(f"/g/party{i}.jpg", frame({"pizza": 0.9}), taken_at=f"2024-05-01T20:{i:02d}:00")
             for i in range(5)]
    items.append(media("/g/walk.jpg", frame({"tabby": 0.9}), taken_at="2024-05-03T10:00:00"))
    doc = profile_from_media(lambda: iter(items), Settings(ocr=False), root="/g")
    jsonschema.validate(doc, load_schema())
    (event,) = doc["events"]["events"]
    assert event["date"] == "2024-05-01" and event["photos"] == 5
    assert event["category"]["id"] == "food" and event["scene"] == "pizza"
    assert doc["events"]["days"] == 2 and doc["events"]["average_per_day"] == 3.0
