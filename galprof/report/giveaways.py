"""What this gallery gives away: the plain findings an app given the gallery would learn, each with
the photos that give it away. Read from the profile document only; each finding is one sentence."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from galprof.report.sections import PersonView

CHILD_AGE = 13  # the first age range of the demography histogram is 0-12
SHOWN = 8  # photos shown per finding


@dataclass
class Finding:
    topic: str
    text: str
    paths: list[str] = field(default_factory=list)
    person: PersonView | None = None


def _pronoun_noun(gender: str | None, age: float | None) -> str:
    if age is not None and age < CHILD_AGE:
        return {"female": "girl", "male": "boy"}.get(gender or "", "child")
    return {"female": "woman", "male": "man"}.get(gender or "", "person")


def describe(person: PersonView) -> str:
    return describe_parts(person.gender, person.age)


def home(document: dict[str, Any]) -> Finding | None:
    places = document.get("places") or {}
    h = places.get("home")
    if not h:
        return None
    where = ", ".join(x for x in (h.get("city"), h.get("admin1"), h.get("country")) if x)
    paths = [p["path"] for p in document.get("photos", [])
             if (p.get("place") or {}).get("city") == h.get("city")]
    others = [c["city"] for c in places.get("cities", []) if c.get("city") != h.get("city")][:3]
    trips = f" Other places: {', '.join(others)}." if others else ""
    return Finding("Home", f"Home is probably {where}: photos there on {plural(h.get('days', 0), 'day')} "
                           f"({plural(h.get('photos', 0), 'photo')} with GPS).{trips}", paths[:SHOWN])


def owner(document: dict[str, Any], people: list[PersonView]) -> Finding:
    o = document.get("owner") or {}
    me = next((p for p in people if p.is_owner), None)
    if o.get("person_id") is None or me is None:
        reason = o.get("message") or o.get("status") or "no selfies"
        return Finding("Owner", f"The owner could not be identified: {reason}.")
    evidence = o.get("evidence") or {}
    gender = o.get("gender") or me.gender
    age = o.get("age") if o.get("age") is not None else me.age
    born = f", born about {o['birth_year']}" if o.get("birth_year") else ""
    who = me.name + ", " if me.name else ""
    text = (f"The owner is {who}probably {describe_parts(gender, age)}{born}: {me.title} is in "
            f"{evidence.get('owner_selfies', 0)} of the {evidence.get('selfie_photos', 0)} selfies "
            f"(front-camera photos) and {seen_in(me)} in all.")
    paths = list(evidence.get("owner_selfie_paths") or []) or me.paths
    return Finding("Owner", text, paths[:SHOWN], me)


def describe_parts(gender: str | None, age: float | None) -> str:
    noun = _pronoun_noun(gender, age)
    return f"a {noun}" + (f" of about {round(age)}" if age is not None else "")


def children(document: dict[str, Any], people: list[PersonView]) -> Finding | None:
    kids = [p for p in people if p.age is not None and p.age < CHILD_AGE]
    category = next((c for c in document.get("interests", {}).get("categories", [])
                     if c.get("id") == "children" and c.get("photos")), None)
    if not kids and category is None:
        return None
    parts = [f"{k.title} ({describe(k)}, in {seen_in(k)})" for k in kids[:4]]
    text = "Children appear in the gallery: " + ("; ".join(parts) if parts else "")
    paths = [path for k in kids for path in k.paths]
    if category is not None:
        text += ("; " if parts else "") + f"{plural(category['photos'], 'photo')} {'shows' if category['photos'] == 1 else 'show'} children's things or activities"
        paths += [p["path"] for p in document.get("photos", []) if "children" in (p.get("categories") or {})]
    return Finding("Children", text + ".", list(dict.fromkeys(paths))[:SHOWN], kids[0] if kids else None)


def _document_kind(reason: dict[str, Any]) -> str:
    """"passport" for a passport word (the detail is "passport: 'PASSEPORT'"), else the finding's kind."""
    kind, detail = reason.get("kind") or "", reason.get("detail") or ""
    if kind == "document words" and ":" in detail:
        return detail.split(":", 1)[0]
    if kind == "document" or (not kind and reason.get("rule") == "ocr_document"):
        return "a page of text"
    return kind or "sensitive text"


def documents(document: dict[str, Any]) -> Finding | None:
    found: dict[str, list[str]] = {}
    for p in document.get("photos", []):
        for r in (p.get("privacy") or {}).get("reasons", []):
            if r.get("rule") in ("ocr_sensitive", "ocr_document"):
                found.setdefault(p["path"], []).append(_document_kind(r))
    if not found:
        return None
    kinds = sorted({k for v in found.values() for k in v})
    verb = "shows" if len(found) == 1 else "show"
    return Finding("Documents", f"{plural(len(found), 'photo')} {verb} documents or sensitive text "
                                f"({', '.join(kinds[:6])}).", list(found)[:SHOWN])


def seen_most(people: list[PersonView]) -> list[Finding]:
    others = sorted((p for p in people if not p.is_owner), key=lambda p: (-p.photos, p.id))[:3]
    return [Finding("People", f"{p.title[0].upper()}{p.title[1:]}, {describe(p)}, is in {seen_in(p)}"
                              + (f" on {p.days_seen} days ({p.first_seen} to {p.last_seen})" if p.first_seen else "")
                              + (": a close person, so their photos are private." if p.close else "."),
                    p.paths[:SHOWN], p) for p in others]


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def seen_in(p: PersonView) -> str:
    """"3 photos and 2 videos", leaving out a zero."""
    parts = [plural(n, word) for n, word in ((p.photos, "photo"), (p.videos, "video")) if n]
    return " and ".join(parts) or "no photo"


def interests(document: dict[str, Any]) -> Finding | None:
    cats = [c for c in document.get("interests", {}).get("categories", []) if c.get("photos")]
    if not cats:
        return None
    top = sorted(cats, key=lambda c: -c["photos"])[:3]
    listed = ", ".join(f"{c.get('label', c['id'])} ({plural(c['photos'], 'photo')})" for c in top)
    examples = [e for c in top for e in c.get("evidence", {}).get("examples", [])[:3]]
    return Finding("Interests", f"What the owner is into: {listed}.", examples[:SHOWN])


def findings(document: dict[str, Any], people: list[PersonView]) -> list[Finding]:
    """Every finding, the most identifying first."""
    out = [home(document), owner(document, people), children(document, people), documents(document)]
    out += seen_most(people)
    out.append(interests(document))
    devices = (document.get("gallery") or {}).get("devices") or []
    if devices:
        out.append(Finding("Devices", "Cameras and phones used: "
                           + ", ".join(f"{d['device']} ({d['media']})" for d in devices[:3]) + "."))
    return [f for f in out if f is not None]
