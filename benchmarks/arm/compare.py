"""Compare two galprof profiles of the same photos (x86 and emulated aarch64) within tolerances.

onnxruntime's kernels differ between x86 (AVX-512 VNNI int8) and ARM (NEON), so scores move in their
last digits; the answers must not. Equal: the photos (by file name) with their categories, privacy
status and number of people, the gallery's class and object labels, the number of persons. Within
tolerance: class and object scores (0.05), each photo's place (same city).
Exit 0 when equal within tolerance, 1 with one line per difference.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

SCORE_TOLERANCE = 0.05


def _photos(doc: dict) -> dict[str, dict]:
    return {Path(p["path"]).name: p for p in doc["photos"]}


def _labelled(section: dict, score: str) -> dict[str, float]:
    return {c["label"]: c[score] for c in section["classes"]}


def differences(x86: dict, arm: dict) -> list[str]:
    found = []
    a, b = _photos(x86), _photos(arm)
    if set(a) != set(b):
        found.append(f"photos differ: {sorted(set(a) ^ set(b))}")
    for name in sorted(set(a) & set(b)):
        pa, pb = a[name], b[name]
        if set(pa["categories"]) != set(pb["categories"]):
            found.append(f"{name}: categories {sorted(pa['categories'])} vs {sorted(pb['categories'])}")
        if len(pa["people"]) != len(pb["people"]):
            found.append(f"{name}: {len(pa['people'])} vs {len(pb['people'])} people")
        if pa["privacy"]["status"] != pb["privacy"]["status"]:
            found.append(f"{name}: privacy {pa['privacy']['status']} vs {pb['privacy']['status']}")
        if (pa.get("place") or {}).get("city") != (pb.get("place") or {}).get("city"):
            found.append(f"{name}: place {pa.get('place')} vs {pb.get('place')}")
    for section, score in (("classes", "mean_score"), ("objects", "max_score")):
        sa, sb = _labelled(x86[section], score), _labelled(arm[section], score)
        if set(sa) != set(sb):
            found.append(f"{section}: {sorted(sa)} vs {sorted(sb)}")
        found.extend(f"{section}: {label} score {sa[label]} vs {sb[label]}" for label in sorted(set(sa) & set(sb))
                     if abs(sa[label] - sb[label]) > SCORE_TOLERANCE)
    if len(x86["people"]) != len(arm["people"]):
        found.append(f"people: {len(x86['people'])} vs {len(arm['people'])} persons")
    return found


def main(argv: list[str]) -> int:
    x86, arm = (json.loads(Path(p).read_text()) for p in argv[1:3])
    found = differences(x86, arm)
    for line in found:
        print(f"test-arm: differs: {line}")
    photos = len(x86["photos"])
    faces = sum(len(p["people"]) for p in x86["photos"])
    print(f"test-arm: {'FAIL' if found else 'ok'}: {photos} photos, {faces} faces with a person, "
          f"{len(x86['classes']['classes'])} classes, {len(x86['objects']['classes'])} object labels compared "
          f"(score tolerance {SCORE_TOLERANCE})")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
