"""make test-arm's comparison of the x86 and the emulated aarch64 profile (benchmarks/arm/compare.py)."""

from __future__ import annotations

import copy
import importlib.util
import json
from pathlib import Path

import pytest

_SPEC = importlib.util.spec_from_file_location("arm_compare", Path(__file__).parents[1] / "benchmarks/arm/compare.py")
compare = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(compare)


def _profile(root: str) -> dict:
    return {
        "photos": [
            {"path": f"{root}/a.jpg", "categories": {"animals": 1}, "people": [], "privacy": {"status": "public"},
             "place": None},
            {"path": f"{root}/b.jpg", "categories": {}, "people": [{"id": 1}], "privacy": {"status": "private"},
             "place": {"city": "Rome"}},
        ],
        "classes": {"classes": [{"label": "tiger cat", "mean_score": 0.61}]},
        "objects": {"classes": [{"label": "cat", "max_score": 0.55}]},
        "people": [{"id": 1}],
    }


def test_the_same_answers_under_other_paths_and_close_scores_are_equal(tmp_path):
    x86, arm = _profile("/host/photos"), _profile("/opt/galprof/photos")
    arm["classes"]["classes"][0]["mean_score"] = 0.6 + compare.SCORE_TOLERANCE / 2
    assert compare.differences(x86, arm) == []
    (tmp_path / "x.json").write_text(json.dumps(x86))
    (tmp_path / "a.json").write_text(json.dumps(arm))
    assert compare.main(["compare", str(tmp_path / "x.json"), str(tmp_path / "a.json")]) == 0


@pytest.mark.parametrize(("change", "expected"), [
    (lambda d: d["photos"][0]["categories"].update(food=1), "a.jpg: categories"),
    (lambda d: d["photos"][1]["people"].clear(), "b.jpg: 1 vs 0 people"),
    (lambda d: d["photos"][1]["privacy"].update(status="public"), "b.jpg: privacy"),
    (lambda d: d["photos"][1].update(place={"city": "Paris"}), "b.jpg: place"),
    (lambda d: d["classes"]["classes"][0].update(mean_score=0.5), "tiger cat score"),
    (lambda d: d["objects"]["classes"].append({"label": "dog", "max_score": 0.9}), "objects:"),
    (lambda d: d["photos"].pop(), "photos differ"),
])
def test_a_changed_answer_is_reported(change, expected):
    x86 = _profile("/host")
    arm = copy.deepcopy(x86)
    change(arm)
    found = compare.differences(x86, arm)
    assert any(expected in line for line in found), found
