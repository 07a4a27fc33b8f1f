"""Selfies, the device owner and guessed relatives.

A photo is a selfie candidate from its EXIF (the seed app's rule, made safer):
- its LensModel names the front camera ("iPhone 12 front camera 2.71mm f/2.2"); or
- its camera (Make + Model) took photos at more than one focal length in this gallery and this photo
  has the shortest one (phones' front cameras have the shortest focal length), unless its LensModel
  names a back camera (an ultra-wide back lens can be shorter still).
Geometry then confirms it: one or two large faces, the largest near the centre, as at arm's length.
A photo whose EXIF has neither a LensModel nor a focal length (stripped, or a screenshot of one) is a
candidate when its image-only selfie score (analysis/selfie.py) reaches SELFIE_THRESHOLD with the camera
distance measured from the iris (rule "image").
The selfie's subject is its largest face. A confirmed selfie counts 1 for its subject's person, an
EXIF-only or image-only candidate 0.5; the owner is the person with the highest count, and no selfie or a tie at the
top gives a clear status instead of a guess.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from galprof import facts
from galprof.analysis.relatives import children_guess, guess_relatives
from galprof.analysis.selfie import BACK_LENS, FRONT_LENS, score_selfie

if TYPE_CHECKING:
    from galprof.analysis.people import PeopleReport, Person
    from galprof.config import Settings

LARGE_FACE = 0.18  # face width / shorter side of the frame for a face "at arm's length"
CENTRAL = 0.3  # the subject's centre within 0.5 +- this fraction of the frame on both axes
UNCONFIRMED_WEIGHT = 0.5  # an EXIF-only selfie (geometry does not fit) counts this much
NOT_ENOUGH = "not enough selfies to find the owner"


def _device(exif: facts.ExifFacts) -> tuple[str, str] | None:
    if not exif.make and not exif.model:
        return None
    return ((exif.make or "").strip().lower(), (exif.model or "").strip().lower())


class SelfieRules:
    """The EXIF selfie rules of a gallery (module docstring): `add` every photo, then `rule` names the
    rule a photo meets ("lens", "focal" or None). A photo's EXIF is reduced to its `key` (lens side,
    camera, focal length), one shared tuple per distinct key, so nothing per photo needs keeping."""

    def __init__(self) -> None:
        self.focals: dict[tuple[str, str], set[float]] = defaultdict(set)
        self.keys: dict[tuple, tuple] = {}

    def key(self, exif: facts.ExifFacts | None) -> tuple:
        if exif is None:
            return ("", None, None)
        lens = exif.lens_model or ""
        side = "front" if FRONT_LENS.search(lens) else "back" if BACK_LENS.search(lens) else ""
        focal = round(float(exif.focal_length), 2) if exif.focal_length else None
        key = (side, _device(exif), focal)
        return self.keys.setdefault(key, key)

    def add(self, m: facts.MediaFacts) -> tuple:
        """Count a file's camera and focal length; returns its key."""
        key = self.key(m.exif)
        if m.kind == "photo" and m.exif is not None and key[1] and key[2] is not None:
            self.focals[key[1]].add(key[2])
        return key

    def rule_of(self, key: tuple) -> str | None:
        side, device, focal = key
        if side:
            return "lens" if side == "front" else None
        if device is None or focal is None or len(self.focals[device]) < 2:
            return None
        return "focal" if focal == min(self.focals[device]) else None

    def rule(self, m: facts.MediaFacts) -> str | None:
        if m.kind != "photo" or m.exif is None:
            return None
        return self.rule_of(self.key(m.exif))

    def for_photo(self, m: facts.MediaFacts) -> dict[str, str]:
        """{path: rule} of one file (what selfie.photo_selfie reads), empty without a rule."""
        rule = self.rule(m)
        return {m.path: rule} if rule else {}


def selfie_rules(items: Iterable[facts.MediaFacts]) -> dict[str, str]:
    """Photos that EXIF marks as selfie candidates: path -> "lens" or "focal"."""
    photos = [m for m in items if m.kind == "photo" and m.exif is not None]
    rules = SelfieRules()
    for m in photos:
        rules.add(m)
    return {m.path: rule for m in photos if (rule := rules.rule(m))}


def selfie_geometry(frame: facts.FrameFacts) -> tuple[int | None, bool]:
    """The index of the frame's subject (largest face) and whether the faces look like a selfie:
    one or two large faces with the largest near the centre."""
    if not frame.faces:
        return None, False
    areas = [f.box.width * f.box.height for f in frame.faces]
    subject = max(range(len(areas)), key=areas.__getitem__)
    side = max(1, min(frame.width, frame.height))
    large = [f for f in frame.faces if f.box.width / side >= LARGE_FACE]
    cx, cy = frame.faces[subject].box.center
    central = abs(cx / max(1, frame.width) - 0.5) <= CENTRAL and abs(cy / max(1, frame.height) - 0.5) <= CENTRAL
    confirmed = 1 <= len(large) <= 2 and frame.faces[subject] in large and central
    return subject, confirmed


def _image_rule(m: facts.MediaFacts) -> str | None:
    """"image" for a photo without lens or focal-length EXIF whose selfie score says selfie, with the
    camera distance measured (face size alone cannot tell a selfie from a portrait taken from afar)."""
    exif = m.exif
    if m.kind != "photo" or not m.frames or (exif and (exif.lens_model or exif.focal_length)):
        return None
    verdict = score_selfie(m.frames[0], exif)
    return "image" if verdict.is_selfie and verdict.evidence.distance_m is not None else None


class OwnerFacts:
    """What the owner step reads of a gallery, gathered file by file (`add`) in the people stage's pass
    instead of keeping the files: the selfie rules' counts, and for each photo whose first frame has faces
    its subject (largest face), whether the geometry fits a selfie, its image-only rule and its EXIF key."""

    def __init__(self) -> None:
        self.rules = SelfieRules()
        self.candidates: list[tuple[str, tuple, int, bool, bool]] = []

    @classmethod
    def of(cls, items: Iterable[facts.MediaFacts]) -> OwnerFacts:
        gathered = cls()
        for m in items:
            gathered.add(m)
        return gathered

    def add(self, m: facts.MediaFacts) -> None:
        key = self.rules.add(m)
        if m.kind != "photo" or not m.frames:
            return
        subject, confirmed = selfie_geometry(m.frames[0])
        if subject is not None:
            self.candidates.append((m.path, key, subject, confirmed, _image_rule(m) is not None))

    def selfies(self, person_of_face: dict[tuple[str, int, int], int]) -> list[Selfie]:
        """The gallery's selfies, in reading order (call after every file was added)."""
        out = []
        for path, key, subject, confirmed, image in self.candidates:
            rule = self.rules.rule_of(key) or ("image" if image else None)
            if rule is not None:
                out.append(Selfie(path, rule, confirmed, person_of_face.get((path, 0, subject))))
        return out


@dataclass
class Selfie:
    path: str
    rule: str  # "lens", "focal" or "image" (no lens or focal EXIF; the selfie score says selfie)
    confirmed: bool  # geometry fits a selfie
    person_id: int | None  # the subject's person, None when the subject joined no person


@dataclass
class OwnerResult:
    status: str  # "found", "tie" or "not_enough_selfies"
    message: str
    person_id: int | None = None
    age: float | None = None
    age_source: str | None = None  # as PersonDemography.age_source: "birth_year" or "face_estimate"
    birth_year: int | None = None
    gender: str | None = None
    gender_confidence: float | None = None
    confidence: float | None = None  # the owner's share of all attributed selfie weight
    selfies: list[Selfie] = field(default_factory=list)
    scores: dict[int, float] = field(default_factory=dict)  # person id -> selfie weight
    relatives: list[dict[str, Any]] = field(default_factory=list)  # see galprof/analysis/relatives.py
    rules: SelfieRules = field(default_factory=SelfieRules, repr=False)  # the gallery's EXIF selfie rules

    def to_dict(self) -> dict[str, Any]:
        owned = [s for s in self.selfies if self.person_id is not None and s.person_id == self.person_id]
        ranking = sorted(self.scores.items(), key=lambda kv: (-kv[1], kv[0]))
        return {
            "status": self.status,
            "message": self.message,
            "person_id": self.person_id,
            "age": None if self.age is None else round(self.age, 1),
            "age_source": self.age_source,
            "birth_year": self.birth_year,
            "gender": self.gender,
            "gender_confidence": None if self.gender_confidence is None else round(self.gender_confidence, 3),
            "confidence": None if self.confidence is None else round(self.confidence, 3),
            "evidence": {
                "selfie_photos": len(self.selfies),
                "owner_selfies": len(owned),
                "owner_selfies_confirmed": sum(s.confirmed for s in owned),
                "selfie_weight_by_person": [{"person_id": pid, "weight": w} for pid, w in ranking],
                "owner_selfie_paths": sorted(s.path for s in owned),
            },
            "relatives": self.relatives,
            "children": children_guess(self.relatives) if self.status == "found" else None,
        }


def find_owner(
    items: Iterable[facts.MediaFacts] | OwnerFacts,
    people: list[Person],
    person_of_face: dict[tuple[str, int, int], int],
    min_photos: int = 3,
) -> OwnerResult:
    """The owner from selfies (see the module docstring), with relatives guessed around them. `items`:
    the gallery's files, or what OwnerFacts gathered of them."""
    gathered = items if isinstance(items, OwnerFacts) else OwnerFacts.of(items)
    rules = gathered.rules
    selfies = gathered.selfies(person_of_face)
    scores: dict[int, float] = defaultdict(float)
    for s in selfies:
        if s.person_id is not None:
            scores[s.person_id] += 1.0 if s.confirmed and s.rule != "image" else UNCONFIRMED_WEIGHT
    scores = dict(scores)
    ranking = sorted(scores.items(), key=lambda kv: -kv[1])
    if not ranking:
        detail = "no selfie in the gallery" if not selfies else "no selfie face belongs to a person"
        return OwnerResult("not_enough_selfies", f"{NOT_ENOUGH} ({detail})", selfies=selfies, scores=scores,
                           rules=rules)
    if len(ranking) > 1 and ranking[0][1] == ranking[1][1]:
        tied = sorted(pid for pid, w in ranking if w == ranking[0][1])
        message = f"{NOT_ENOUGH} (people {', '.join(map(str, tied))} have the same selfie count)"
        return OwnerResult("tie", message, selfies=selfies, scores=scores, rules=rules)
    owner_id, weight = ranking[0]
    owner = next(p for p in people if p.id == owner_id)
    demo = owner.demography
    return OwnerResult(
        status="found",
        message=f"person {owner_id} is the subject of most selfies",
        person_id=owner_id,
        age=demo.age,
        age_source=demo.age_source,
        birth_year=demo.birth_year,
        gender=demo.gender,
        gender_confidence=demo.gender_confidence,
        confidence=weight / sum(scores.values()),
        selfies=selfies,
        scores=scores,
        relatives=guess_relatives(owner, people, min_photos),
        rules=rules,
    )


def owner_step(items: Iterable[facts.MediaFacts] | OwnerFacts, report: PeopleReport,
               settings: Settings) -> OwnerResult:
    """The profile's owner step, after the people step: the owner among `report`'s people, from the
    selfies of the same `items` the people step read."""
    return find_owner(items, report.people, report.person_of_face, settings.people_min_photos)
