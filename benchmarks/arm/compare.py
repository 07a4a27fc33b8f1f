"""Compare two galprof profiles of the same photos (x86 and emulated aarch64) within tolerances.

The same models and library versions run on both, but onnxruntime's kernels are not the same code:
on x86 its int8 convolutions and matrix products use AVX2/AVX-512 (VNNI) u8s8 kernels, on ARM NEON
kernels (a Cortex-A72 has no dot-product instructions), and fp32 sums are accumulated in another order.
So scores may move in their last digits while the answers must not. Tolerances, fixed before the first
complete run (none was tuned on its result):

- equal: the photos (by file name), each photo's kind, categories with their subcategories, number of
  people, privacy status and the rules behind it, place; the gallery's counts; the interests' ranking
  and photo counts; the class and object labels with their photo counts; the people (matched by
  their photos) with their face counts and gender; the owner; the privacy counts; the errors
- within SCORE_TOLERANCE (0.05): class and object scores, the interests' shares, selfie scores: a
  probability that moves by 0.05 is no longer a rounding difference
- within AGE_TOLERANCE (2 years): each person's estimated age (the models' error is ~4-6 years)

Prints one line per difference, the largest numeric difference of each kind and how many values of the
whole profile are identical (informative: only the checks above decide); exit 0 when equal within
tolerance, 1 otherwise.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

SCORE_TOLERANCE = 0.05
AGE_TOLERANCE = 2.0
GALLERY_COUNTS = ("files", "analyzed", "failed", "photos", "videos", "frames", "with_faces", "with_gps", "formats")


@dataclass
class Comparison:
    differences: list[str] = field(default_factory=list)
    largest: dict[str, tuple[float, str]] = field(default_factory=dict)  # kind -> (difference, where)

    def equal(self, what: str, a, b) -> None:
        if a != b:
            self.differences.append(f"{what}: {a!r} vs {b!r}")

    def close(self, kind: str, what: str, a: float | None, b: float | None, tolerance: float) -> None:
        if a is None or b is None:
            self.equal(what, a, b)
            return
        gap = abs(a - b)
        if gap > self.largest.get(kind, (-1.0, ""))[0]:
            self.largest[kind] = (round(gap, 6), what)
        if gap > tolerance:
            self.differences.append(f"{what}: {a} vs {b} (tolerance {tolerance})")


def _name(path: str) -> str:
    return Path(path).name


def _photos(doc: dict) -> dict[str, dict]:
    return {_name(p["path"]): p for p in doc["photos"]}


def _compare_photo(c: Comparison, name: str, a: dict, b: dict) -> None:
    c.equal(f"{name}: kind", a.get("kind"), b.get("kind"))
    c.equal(f"{name}: categories", {k: sorted(v) for k, v in a["categories"].items()},
            {k: sorted(v) for k, v in b["categories"].items()})
    c.equal(f"{name}: people", len(a["people"]), len(b["people"]))
    c.equal(f"{name}: privacy", a["privacy"]["status"], b["privacy"]["status"])
    c.equal(f"{name}: privacy rules", sorted(r["rule"] for r in a["privacy"]["reasons"]),
            sorted(r["rule"] for r in b["privacy"]["reasons"]))
    c.equal(f"{name}: place", a.get("place"), b.get("place"))
    selfie_a, selfie_b = a.get("selfie") or {}, b.get("selfie") or {}
    c.close("selfie score", f"{name}: selfie score", selfie_a.get("score"), selfie_b.get("score"), SCORE_TOLERANCE)


def _compare_labels(c: Comparison, section: str, score: str, a: dict, b: dict) -> None:
    la, lb = ({x["label"]: x for x in doc[section]["classes"]} for doc in (a, b))
    c.equal(f"{section}: labels", sorted(la), sorted(lb))
    for label in sorted(set(la) & set(lb)):
        c.equal(f"{section}: {label} photos", la[label].get("photos"), lb[label].get("photos"))
        c.close(f"{section} score", f"{section}: {label} {score}", la[label][score], lb[label][score],
                SCORE_TOLERANCE)


def _evidence(interests: dict) -> dict[str, list[tuple[str, str, int]]]:
    return {x["id"]: sorted((e["source"], e["label"], e["photos"]) for e in x.get("evidence", {}).get("classes", []))
            for x in interests["categories"]}


def _compare_interests(c: Comparison, a: dict, b: dict) -> None:
    ia, ib = a["interests"], b["interests"]
    c.equal("interests: top", ia["top"], ib["top"])
    c.equal("interests: photos per category", {x["id"]: x["photos"] for x in ia["categories"]},
            {x["id"]: x["photos"] for x in ib["categories"]})
    # the classifier's and the detector's labels behind each category: the top classes must agree
    c.equal("interests: evidence", _evidence(ia), _evidence(ib))
    for category in sorted(set(ia["distribution"]) & set(ib["distribution"])):
        c.close("interest share", f"interests: {category} share", ia["distribution"][category],
                ib["distribution"][category], SCORE_TOLERANCE)


def _people(doc: dict) -> dict[tuple[str, ...], dict]:
    # person ids are numbers given in order: match the persons by the photos they are in
    return {tuple(sorted(_name(p) for p in person["photo_list"])): person for person in doc["people"]}


def _compare_people(c: Comparison, a: dict, b: dict) -> None:
    pa, pb = _people(a), _people(b)
    c.equal("people: persons (by their photos)", sorted(pa), sorted(pb))
    for photos in sorted(set(pa) & set(pb)):
        where = f"person in {', '.join(photos)}"
        c.equal(f"{where}: faces", pa[photos]["faces"], pb[photos]["faces"])
        c.equal(f"{where}: gender", pa[photos].get("gender"), pb[photos].get("gender"))
        c.close("age", f"{where}: age", pa[photos].get("age"), pb[photos].get("age"), AGE_TOLERANCE)
    owner_a, owner_b = a["owner"], b["owner"]
    c.equal("owner: status", owner_a["status"], owner_b["status"])
    owner_photos = [next((k for k, v in people.items() if v["id"] == owner.get("person_id")), None)
                    for people, owner in ((pa, owner_a), (pb, owner_b))]
    c.equal("owner: the person (by their photos)", *owner_photos)


def compare(x86: dict, arm: dict) -> Comparison:
    c = Comparison()
    a, b = _photos(x86), _photos(arm)
    c.equal("photos", sorted(a), sorted(b))
    for name in sorted(set(a) & set(b)):
        _compare_photo(c, name, a[name], b[name])
    for key in GALLERY_COUNTS:
        c.equal(f"gallery: {key}", x86["gallery"].get(key), arm["gallery"].get(key))
    _compare_interests(c, x86, arm)
    _compare_labels(c, "classes", "mean_score", x86, arm)
    _compare_labels(c, "objects", "max_score", x86, arm)
    _compare_people(c, x86, arm)
    c.equal("privacy: counts", x86["privacy"]["counts"], arm["privacy"]["counts"])
    c.equal("places: cities", x86["places"]["cities"], arm["places"]["cities"])
    c.equal("errors", [_name(e.get("path", "")) for e in x86["errors"]], [_name(e.get("path", "")) for e in arm["errors"]])
    return c


def _leaves(value, root: str, where: str = ""):
    """(where, value) of every number, string, bool and null, the gallery's root cut from paths."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, root, f"{where}/{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _leaves(item, root, f"{where}[{i}]")
    else:
        yield where, value.replace(root, "") if isinstance(value, str) and root else value


def identical_values(x86: dict, arm: dict) -> tuple[int, int]:
    """How many values of the x86 profile the ARM one has the same, beyond the tolerances above:
    all of them but the timings (emulated: meaningless) and the creation time."""
    volatile = ("/created_at", "/timings", "/scan")
    a, b = ({w: v for w, v in _leaves(doc, doc["gallery"].get("root", "")) if not w.startswith(volatile)}
            for doc in (x86, arm))
    return sum(1 for w, v in a.items() if w in b and b[w] == v), len(a)


def differences(x86: dict, arm: dict) -> list[str]:
    return compare(x86, arm).differences


def main(argv: list[str]) -> int:
    x86, arm = (json.loads(Path(p).read_text()) for p in argv[1:3])
    c = compare(x86, arm)
    for line in c.differences:
        print(f"test-arm: differs: {line}")
    for kind, (gap, where) in sorted(c.largest.items()):
        print(f"test-arm: largest {kind} difference {gap:g} ({where})")
    same, values = identical_values(x86, arm)
    print(f"test-arm: {same} of {values} values identical (timings and creation time left out)")
    faces = sum(len(p["people"]) for p in x86["photos"])
    print(f"test-arm: {'FAIL' if c.differences else 'ok'}: {len(x86['photos'])} photos, {faces} faces with a "
          f"person, {len(x86['people'])} persons, {len(x86['classes']['classes'])} classes, "
          f"{len(x86['objects']['classes'])} object labels, {len(x86['places']['cities'])} cities compared "
          f"(score tolerance {SCORE_TOLERANCE}, age tolerance {AGE_TOLERANCE} years)")
    return 1 if c.differences else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
