"""The profile: one versioned JSON document built from the stored per-frame facts of a gallery.

`build_profile(result, settings)` (after a scan) and `profile_from_media(...)` (from any source of
MediaFacts, e.g. a cache database for `galprof show`) run the aggregation stages:
a first pass over the files feeds the people stage (clusters, owner, demography: the privacy rule needs
the close people) and collects the GPS positions, which are then geocoded; then a second streaming pass
feeds the gallery summary, interests, objects, classes, privacy and the per-photo index, each photo row
whole when it is made. The document follows `galprof/schema/profile-v1.schema.json`.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from importlib import resources
from typing import TYPE_CHECKING, Any

from galprof import PROFILE_SCHEMA_VERSION, __version__
from galprof.analysis.day_events import DayEvents
from galprof.analysis.interests import InterestCounter, Taxonomy
from galprof.analysis.placement import PlacementCounter
from galprof.analysis.places import Geocoder, PlaceCounter
from galprof.analysis.privacy import PrivacyJudge
from galprof.analysis.selfie import photo_selfie
from galprof.config import Settings
from galprof.facts import MediaFacts, ScanError
from galprof.photo_rows import PhotoRows, appended

if TYPE_CHECKING:
    from galprof.analysis.owner import SelfieRules

SCHEMA_VERSION = PROFILE_SCHEMA_VERSION
SCHEMA_ID = "https://galprof.invalid/schema/profile-v1.schema.json"


def load_schema() -> dict:
    """The JSON Schema of the document (package data)."""
    import json

    return json.loads(resources.files("galprof").joinpath("schema/profile-v1.schema.json").read_text("utf-8"))


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _jsonable(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return value.item()
    return value


def model_versions() -> dict[str, dict[str, Any]]:
    """The packaged models the facts came from: file, sha256 prefix, precision, source package."""
    try:
        from galprof.vision.registry import load_manifest

        manifest = load_manifest()
    except (FileNotFoundError, KeyError, ValueError):
        return {}
    out = {}
    for name, e in sorted(manifest.items()):
        src = e.source or {}
        out[name] = {
            "role": e.role, "file": e.file, "sha256": e.sha256[:16], "precision": e.precision,
            "source": f"{src.get('registry', '')}:{src.get('package', '')}=={src.get('version', '')}",
        }
    return out


class _Summary:
    """Gallery summary counters: kinds, formats, devices, date range, sizes."""

    def __init__(self) -> None:
        self.kinds: Counter = Counter()
        self.formats: Counter = Counter()
        self.devices: Counter = Counter()
        self.frames = 0
        self.bytes = 0
        self.dates: list[str] = []
        self.date_sources: Counter = Counter()
        self.with_faces = 0
        self.with_gps = 0

    def add(self, m: MediaFacts, has_gps: bool) -> None:
        self.kinds[m.kind] += 1
        self.formats[m.format] += 1
        self.frames += len(m.frames)
        self.bytes += int(m.size)
        make, model = (m.exif.make or "").strip(), (m.exif.model or "").strip()
        if make or model:
            # Models often repeat the make ("Canon" / "Canon EOS 5D"): keep it once.
            device = model if make and model.lower().startswith(make.lower()) else f"{make} {model}".strip()
            self.devices[device] += 1
        if m.exif.taken_at:
            self.date_sources[m.exif.taken_at_source or "unknown"] += 1
            if m.exif.taken_at_source != "mtime":
                self.dates.append(m.exif.taken_at)
        if any(f.faces for f in m.frames):
            self.with_faces += 1
        self.with_gps += int(has_gps)

    def section(self, root: str | None, paths: int, errors: int) -> dict[str, Any]:
        dates = sorted(self.dates)
        return {
            "root": root,
            "files": paths,
            "analyzed": sum(self.kinds.values()),
            "failed": errors,
            "photos": self.kinds.get("photo", 0),
            "videos": self.kinds.get("video", 0),
            "frames": self.frames,
            "bytes": self.bytes,
            "with_faces": self.with_faces,
            "with_gps": self.with_gps,
            "date_range": {"first": dates[0] if dates else None, "last": dates[-1] if dates else None,
                           "sources": dict(sorted(self.date_sources.items()))},
            "formats": dict(sorted(self.formats.items(), key=lambda kv: (-kv[1], kv[0]))),
            "devices": [{"device": d, "media": n}
                        for d, n in sorted(self.devices.items(), key=lambda kv: (-kv[1], kv[0]))],
        }


def _ocr_state(settings: Settings) -> tuple[bool, str | None]:
    if not settings.ocr:
        return False, "disabled by settings (--no-ocr)"
    from galprof.analysis.ocr import unavailable_reason

    reason = unavailable_reason()
    return (False, f"disabled: {reason}") if reason else (True, None)


def profile_from_media(
    media: Callable[[], Iterable[MediaFacts]],
    settings: Settings,
    *,
    store: Any = None,
    root: str | None = None,
    paths: int | None = None,
    errors: Iterable[ScanError] = (),
    notes: Iterable[ScanError] = (),
    scan_stats: dict | None = None,
    taxonomy: Taxonomy | None = None,
    geocoder: Geocoder | None = None,
) -> dict[str, Any]:
    """The profile document of the media that `media()` yields (called twice: people, then the rest).

    store: for the people stage's stable ids (get_state/set_state), or None. taxonomy and geocoder
    can be passed in to share them between several profiles (each loads a table).
    """
    t0 = time.perf_counter()
    errors = list(errors)
    places = PlaceCounter(geocoder)  # fed in the first pass, so each photo row is whole when it is made
    people = _people_stage(media, settings, store, places)
    t1 = time.perf_counter()
    resolved = places.resolve()
    places_section = places.section()
    t2 = time.perf_counter()
    rows = _PhotoPass(settings, taxonomy or Taxonomy.load(settings.taxonomy), people, resolved)
    for m in media():
        rows.add(m)
    t3 = time.perf_counter()
    sections, photos, judge, placement = people.sections, rows.photos, rows.judge, rows.placement

    scan_stats = _jsonable(scan_stats or {})
    return {
        "$schema": SCHEMA_ID,
        "schema_version": SCHEMA_VERSION,
        "generator": {"name": "galprof", "version": __version__},
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "gallery": rows.summary.section(root, paths if paths is not None else len(photos) + len(errors), len(errors)),
        "interests": rows.interests.section(),
        "objects": rows.interests.objects_section(),
        "classes": rows.interests.classes_section(),
        "people": sections["people"],
        "owner": sections["owner"],
        "demography": sections["demography"],
        "places": places_section,
        "events": rows.day_events.section(),
        "privacy": {**judge.section(), **placement.section()},
        "photos": photos,
        "errors": [{"path": e.path, "stage": e.stage, "reason": e.reason} for e in errors],
        "notes": [{"path": n.path, "stage": n.stage, "reason": n.reason} for n in notes] + people.notes,
        "settings": settings.to_dict(),
        "models": model_versions(),
        "timings": {
            "scan": scan_stats.get("seconds", {}) if isinstance(scan_stats, dict) else {},
            "profile": {"people": round(t1 - t0, 3), "aggregate": round(t3 - t2, 3),
                        "places": round(t2 - t1, 3), "total": round(t3 - t0, 3)},
        },
        "scan": scan_stats,
    }


class _PhotoPass:
    """The second pass: the gallery summary, interests, day events, privacy and placement counters, and
    each file's photo row, whole when it is made (its place was resolved before the pass); a large
    gallery's rows are kept as their JSON text (photo_rows.py)."""

    def __init__(self, settings: Settings, taxonomy: Taxonomy, people: _PeopleStage, places: dict) -> None:
        self.interests = InterestCounter(taxonomy)
        ocr_enabled, ocr_note = _ocr_state(settings)
        self.judge = PrivacyJudge(settings, people.close_people, people.person_of_face, ocr_enabled, ocr_note)
        self.placement = PlacementCounter()
        self.summary = _Summary()
        self.day_events = DayEvents({c.id: c.label for c in taxonomy.categories})
        self.person_of_face, self.selfie_rules, self.places = people.person_of_face, people.selfie_rules, places
        self.photos: list[dict[str, Any]] | PhotoRows = []

    def add(self, m: MediaFacts) -> None:
        place = self.places.get(m.path)
        self.summary.add(m, place is not None)
        cats = self.interests.add(m)
        self.day_events.add(m, cats)
        privacy = self.judge.judge(m)
        selfie = photo_selfie(m, self.selfie_rules.for_photo(m))
        self.photos = appended(self.photos, {
            "path": m.path, "kind": m.kind, "taken_at": m.exif.taken_at,
            "categories": cats, "people": _persons_in(m, self.person_of_face), "privacy": privacy.to_dict(),
            "place": None if place is None else place.to_dict(),
            "analyzed": self.placement.add(m), "selfie": None if selfie is None else selfie.to_dict(),
        })


def _persons_in(m: MediaFacts, person_of_face: dict[tuple[str, int, int], int]) -> list[int]:
    """The person ids of a file's faces, sorted, once each."""
    found = {person_of_face.get((m.path, fi, ki)) for fi, f in enumerate(m.frames) for ki in range(len(f.faces))}
    return sorted(p for p in found if p is not None)


@dataclasses.dataclass
class _PeopleStage:
    """What the rest of the profile needs of the people and owner steps."""

    sections: dict[str, Any]  # "people", "owner", "demography", JSON-ready
    close_people: set[int]
    person_of_face: dict
    notes: list[dict]
    selfie_rules: SelfieRules


def _people_stage(media: Callable[[], Iterable[MediaFacts]], settings: Settings, store: Any,
                  places: PlaceCounter) -> _PeopleStage:
    """The people step, then the owner step, from one pass over the files that keeps no file: the faces
    as columns (analysis/face_table.py), what the owner step reads (owner.OwnerFacts) and the GPS positions
    (`places`). Only what later stages need is kept: the people report is let go before the second pass."""
    from galprof.analysis.face_table import FaceTableBuilder
    from galprof.analysis.owner import OwnerFacts, owner_step
    from galprof.analysis.people import people_of_table

    faces, owner_facts = FaceTableBuilder(), OwnerFacts()
    for m in media():
        faces.add(m)
        owner_facts.add(m)
        places.add(m)
    people = people_of_table(faces.build(), settings, store)
    del faces
    owner = owner_step(owner_facts, people, settings)
    return _PeopleStage(_jsonable({**people.sections(), "owner": owner.to_dict()}), people.close_people,
                        people.person_of_face, people.notes, owner.rules)


def build_profile(result: Any, settings: Settings, quiet: bool = True) -> dict[str, Any]:
    """The profile document of a finished scan (pipeline.ScanResult); progress on stderr unless quiet."""
    from galprof.progress import Ticker, counted

    errors = list(getattr(result, "errors", []))
    passes = iter([("profile: files read for people", "profile: clustering the faces into people"),
                   ("profile: files read for interests, privacy and places", None)])

    def media() -> Iterator[MediaFacts]:  # no stage of the profile reads the 1280-d photo embeddings
        label, then = next(passes, (None, None))
        rows = result.store.iter_media(result.paths, photo_embeddings=False)
        return rows if label is None else counted(rows, Ticker(label, quiet), then)

    document = profile_from_media(
        media, settings, store=result.store, root=getattr(result, "folder", None),
        paths=len(result.paths), errors=errors, notes=getattr(result, "warnings", []),
        scan_stats=getattr(result, "stats", None),
    )
    return _with_store_notes(document, result.store)


def profile_from_store(store: Any, settings: Settings | None = None, root: str | None = None) -> dict[str, Any]:
    """The profile document of everything in a cache database (`galprof show CACHE`)."""
    settings = settings or Settings()

    def media() -> Iterator[MediaFacts]:
        return store.iter_media(photo_embeddings=False)

    return _with_store_notes(profile_from_media(media, settings, store=store, root=root), store)


def _with_store_notes(document: dict[str, Any], store: Any) -> dict[str, Any]:
    """Add the store's notes made while the profile read it (rows that could not be decoded, skipped)."""
    take = getattr(store, "take_notes", None)
    for note in take() if take else ():
        document["notes"].append({"path": note.path, "stage": note.stage, "reason": note.reason})
    return document
