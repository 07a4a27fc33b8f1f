"""The report's content, read from a profile document into plain dataclasses (no HTML here).

Profiles of every 1.x schema are read: fields added after 1.0 (the `events` section, a person's `name`)
are optional and read with defaults, so an older document still makes a report.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Subcategory:
    id: str
    label: str
    photos: int
    paths: list[str]


@dataclass
class Category:
    id: str
    label: str
    photos: int
    share: float
    evidence: str
    subcategories: list[Subcategory]
    paths: list[str]


@dataclass
class FaceRef:
    path: str
    kind: str
    frame: int
    box: list[float]


@dataclass
class PersonView:
    id: int
    name: str | None
    photos: int
    videos: int
    faces: int
    age: float | None
    gender: str | None
    gender_confidence: float | None
    first_seen: str | None
    last_seen: str | None
    days_seen: int
    close: bool
    is_owner: bool
    face: FaceRef | None
    paths: list[str]

    @property
    def title(self) -> str:
        return self.name or f"person {self.id}"


@dataclass
class EventView:
    date: str
    photos: int
    label: str | None
    paths: list[str] = field(default_factory=list)


@dataclass
class PrivatePhoto:
    path: str
    reasons: list[str]


def _kinds(document: dict[str, Any]) -> dict[str, str]:
    return {p.get("path", ""): p.get("kind", "photo") for p in document.get("photos", [])}


def categories(document: dict[str, Any]) -> list[Category]:
    """Interest categories with photos, largest first, with the paths behind each and each subcategory."""
    photos = document.get("photos", [])
    out = []
    for cat in document.get("interests", {}).get("categories", []):
        if not cat.get("photos"):
            continue
        in_cat = [p for p in photos if cat["id"] in (p.get("categories") or {})]
        subs = [Subcategory(s["id"], s.get("label", s["id"]), s.get("photos", 0),
                            [p["path"] for p in in_cat if s["id"] in p["categories"][cat["id"]]])
                for s in cat.get("subcategories", []) if s.get("photos")]
        evidence = ", ".join(f"{c['label']} ({c['photos']})" for c in cat.get("evidence", {}).get("classes", [])[:6])
        out.append(Category(cat["id"], cat.get("label", cat["id"]), cat["photos"], float(cat.get("share", 0)),
                            evidence, subs, [p["path"] for p in in_cat]))
    return sorted(out, key=lambda c: (-c.photos, c.label))


def people(document: dict[str, Any]) -> list[PersonView]:
    """People, the owner first, then by photos."""
    kinds = _kinds(document)
    owner_id = document.get("owner", {}).get("person_id")
    out = []
    for p in document.get("people", []):
        rep = p.get("representative_face") or {}
        face = (FaceRef(rep["path"], kinds.get(rep["path"], "photo"), int(rep.get("frame", 0)), list(rep["box"]))
                if rep.get("path") and rep.get("box") else None)
        name = p.get("name")
        out.append(PersonView(
            id=p["id"], name=name if isinstance(name, str) and name.strip() else None,
            photos=p.get("photos", 0), videos=p.get("videos", 0), faces=p.get("faces", 0), age=p.get("age"),
            gender=p.get("gender"), gender_confidence=p.get("gender_confidence"),
            first_seen=p.get("first_seen"), last_seen=p.get("last_seen"), days_seen=p.get("days_seen", 0),
            close=bool(p.get("close")), is_owner=p["id"] == owner_id, face=face,
            paths=list(p.get("photo_list", [])),
        ))
    return sorted(out, key=lambda v: (not v.is_owner, -v.photos, v.id))


def months(document: dict[str, Any]) -> list[tuple[str, int]]:
    """(YYYY-MM, photos and videos taken that month), every month of the range, empty ones included.
    Only the gallery's capture-date range counts: files dated by their modification time alone (a copy
    made today) would otherwise pile up in the month of the copy."""
    span = (document.get("gallery") or {}).get("date_range") or {}
    first_day, last_day = (span.get("first") or "")[:10], (span.get("last") or "")[:10]
    if not first_day:
        return []
    counts = Counter(t[:7] for p in document.get("photos", [])
                     if isinstance(t := p.get("taken_at"), str) and first_day <= t[:10] <= last_day)
    if not counts:
        return []
    first, last = min(counts), max(counts)
    year, month = int(first[:4]), int(first[5:7])
    out = []
    while f"{year:04d}-{month:02d}" <= last and len(out) < 1200:
        key = f"{year:04d}-{month:02d}"
        out.append((key, counts.get(key, 0)))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def events(document: dict[str, Any]) -> list[EventView]:
    """The day events of the profile's `events` section (schema 1.1; absent in older profiles)."""
    section = document.get("events") or {}
    out = []
    for e in section.get("events", []):
        label = (e.get("category") or {}).get("label") or e.get("scene")
        out.append(EventView(e["date"], int(e["photos"]), label, list(e.get("paths", []))))
    return out


def private_photos(document: dict[str, Any]) -> list[PrivatePhoto]:
    out = []
    for p in document.get("photos", []):
        privacy = p.get("privacy") or {}
        if privacy.get("status") == "private":
            reasons = [r.get("detail") or r.get("rule", "") for r in privacy.get("reasons", [])]
            out.append(PrivatePhoto(p["path"], list(dict.fromkeys(reasons))))
    return out
