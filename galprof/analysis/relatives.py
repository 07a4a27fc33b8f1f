"""Relatives of the owner as the paper's app labels them: child, parent, partner or friend. Each is a
guess from what photos show, never a fact, and carries its evidence.

Who is listed: a person with at least `min_photos` photos who is with the owner often enough: in at
least RELATIVE_MIN_TOGETHER photos together or on RELATIVE_MIN_DAYS capture days that both appear on
(same photo or same day), and with the owner for at least RELATIVE_MIN_SHARE of their photos (a photo
is "with the owner" when the owner is in it or appears in another photo of that day).
The label, from the fused ages (age gap = theirs minus the owner's):
- child: at least GENERATION_GAP years younger; parent: at least GENERATION_GAP years older (a
  grandparent is a "parent" too: the models' ages cannot tell generations apart reliably);
- partner: among the adults within GENERATION_GAP of the owner's age, the one seen with the owner on
  the most days, on at least PARTNER_MIN_DAYS days and more than any other (a tie at the top is broken
  only by gender, the other gender than the owner's, as the paper's app does; a tie left is no partner);
- friend: the other adults of about the owner's age; unknown: no age for them or the owner, or a minor
  within GENERATION_GAP years of the owner's age (a sibling, a cousin, a friend's child: photos cannot tell).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from galprof.analysis.people import Person

RELATIVE_MIN_TOGETHER = 2
RELATIVE_MIN_DAYS = 2
RELATIVE_MIN_SHARE = 0.25
GENERATION_GAP = 16.0  # years
ADULT = 18.0
PARTNER_MIN_DAYS = 3


def _age_range(person: Person) -> list[float] | None:
    demo = person.demography
    if demo.age is None:
        return None
    spread = demo.age_spread or 0.0
    return [round(max(0.0, demo.age - spread), 1), round(demo.age + spread, 1)]


def _evidence(owner: Person, other: Person) -> dict[str, Any]:
    owner_days = owner.days
    owner_paths = set(owner.paths)
    day_of = other.day_of_path()
    with_owner = [p for p in other.paths if p in owner_paths or day_of.get(p) in owner_days]
    a, b = owner.demography.age, other.demography.age
    return {
        "photos": len(other.paths),
        "photos_together": len(owner_paths & set(other.paths)),
        "days_together": len(owner_days & other.days),
        "photos_with_owner": len(with_owner),
        "age": None if b is None else round(b, 1),
        "age_range": _age_range(other),
        "owner_age_range": _age_range(owner),
        "age_gap": None if a is None or b is None else round(b - a, 1),
        "gender": other.demography.gender,
        "gender_confidence": (None if other.demography.gender_confidence is None
                              else round(other.demography.gender_confidence, 3)),
    }


def _is_close(evidence: dict[str, Any]) -> bool:
    often = (evidence["photos_together"] >= RELATIVE_MIN_TOGETHER
             or evidence["days_together"] >= RELATIVE_MIN_DAYS)
    return often and evidence["photos_with_owner"] >= RELATIVE_MIN_SHARE * evidence["photos"]


def _label_by_age(owner_age: float | None, evidence: dict[str, Any]) -> str:
    gap = evidence["age_gap"]
    if gap is None:
        return "unknown"
    if gap <= -GENERATION_GAP:
        return "child"
    if gap >= GENERATION_GAP:
        return "parent"
    if owner_age is not None and min(owner_age, evidence["age"]) >= ADULT:
        return "friend"  # or the partner, chosen among these below
    return "unknown"


def _choose_partner(owner: Person, friends: list[dict[str, Any]]) -> dict[str, Any] | None:
    days = sorted((r["evidence"]["days_together"] for r in friends), reverse=True)
    if not days or days[0] < PARTNER_MIN_DAYS:
        return None
    top = [r for r in friends if r["evidence"]["days_together"] == days[0]]
    if len(top) > 1:
        own = owner.demography.gender
        top = [r for r in top if own and r["evidence"]["gender"] and r["evidence"]["gender"] != own]
    return top[0] if len(top) == 1 else None


BASIS = {
    "child": f"at least {GENERATION_GAP:g} years younger than the owner, often with them",
    "parent": f"at least {GENERATION_GAP:g} years older than the owner, often with them",
    "partner": "an adult of about the owner's age, with the owner on more days than anyone else",
    "friend": "an adult of about the owner's age, often with the owner",
    "unknown": "often with the owner; no age, or a minor close to the owner's age: no label fits",
}


def guess_relatives(owner: Person, people: list[Person], min_photos: int) -> list[dict[str, Any]]:
    """The people often with the owner, each labelled child, parent, partner, friend or unknown, with
    `guess: true` and the evidence; most photos with the owner first."""
    found = []
    for p in people:
        if p.id == owner.id or len(p.paths) < min_photos:
            continue
        evidence = _evidence(owner, p)
        if not _is_close(evidence):
            continue
        found.append({"person_id": p.id, "name": p.name, "relation": _label_by_age(owner.demography.age, evidence),
                      "guess": True, "photos_together": evidence["photos_together"],
                      "age_gap": evidence["age_gap"], "evidence": evidence})
    partner = _choose_partner(owner, [r for r in found if r["relation"] == "friend"])
    if partner is not None:
        partner["relation"] = "partner"
    for r in found:
        r["basis"] = BASIS[r["relation"]]
    return sorted(found, key=lambda r: (-r["evidence"]["photos_with_owner"], r["person_id"]))


def children_guess(relatives: list[dict[str, Any]]) -> dict[str, Any]:
    """How many children the owner has, as guessed from the relatives."""
    kids = sorted(r["person_id"] for r in relatives if r["relation"] == "child")
    return {"count": len(kids), "person_ids": kids, "guess": True,
            "basis": f"relatives labelled child: people at least {GENERATION_GAP:g} years younger, often with the owner"}
