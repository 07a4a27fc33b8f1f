"""make test-arm's comparison of the x86 and the emulated aarch64 profile (benchmarks/arm/compare.py)."""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
from pathlib import Path

import pytest

_SPEC = importlib.util.spec_from_file_location("arm_compare", Path(__file__).parents[1] / "benchmarks/arm/compare.py")
compare = importlib.util.module_from_spec(_SPEC)
sys.modules["arm_compare"] = compare  # dataclasses look their module up there
_SPEC.loader.exec_module(compare)


def _profile(root: str) -> dict:
    def photo(name, categories, people, status, rules=(), place=None, selfie=0.1):
        return {"path": f"{root}/{name}", "kind": "photo", "categories": categories, "people": people,
                "privacy": {"status": status, "reasons": [{"rule": r, "detail": "x"} for r in rules]},
                "place": place, "selfie": {"score": selfie}}

    return {
        "photos": [
            photo("a.jpg", {"animals": ["cats", "wildlife"]}, [], "public"),
            photo("b.jpg", {}, [1], "private", ["face_size"], {"city": "Rome", "country": "IT"}, 0.9),
            photo("c.jpg", {}, [1], "private", ["face_size"], selfie=0.8),
        ],
        "gallery": {"files": 3, "analyzed": 3, "failed": 0, "photos": 3, "videos": 0, "frames": 3,
                    "with_faces": 2, "with_gps": 1, "formats": {"jpeg": 3}},
        "interests": {"top": ["animals"], "distribution": {"animals": 1.0},
                      "categories": [{"id": "animals", "photos": 1, "evidence": {"classes": [
                          {"label": "tiger cat", "source": "classifier", "photos": 1}]}}]},
        "classes": {"classes": [{"label": "tiger cat", "photos": 1, "mean_score": 0.61}]},
        "objects": {"classes": [{"label": "cat", "photos": 1, "max_score": 0.55}]},
        "people": [{"id": 1, "faces": 2, "photo_list": [f"{root}/b.jpg", f"{root}/c.jpg"], "gender": "male",
                    "age": 33.0}],
        "owner": {"status": "found", "person_id": 1},
        "privacy": {"counts": {"public": 1, "private": 2}},
        "places": {"cities": [{"city": "Rome", "country": "IT", "photos": 1}]},
        "errors": [],
    }


def test_the_same_answers_under_other_paths_and_close_scores_are_equal(tmp_path, capsys):
    x86, arm = _profile("/host/photos"), _profile("/opt/galprof/photos")
    arm["classes"]["classes"][0]["mean_score"] = 0.61 + compare.SCORE_TOLERANCE / 2
    arm["people"][0]["age"] = 33.0 - compare.AGE_TOLERANCE / 2
    assert compare.differences(x86, arm) == []
    (tmp_path / "x.json").write_text(json.dumps(x86))
    (tmp_path / "a.json").write_text(json.dumps(arm))
    assert compare.main(["compare", str(tmp_path / "x.json"), str(tmp_path / "a.json")]) == 0
    out = capsys.readouterr().out
    assert "largest classes score difference 0.025 (classes: tiger cat mean_score)" in out
    assert "largest age difference 1 " in out
    assert "ok: 3 photos" in out


def test_person_ids_may_differ_when_the_persons_are_the_same():
    x86, arm = _profile("/host"), _profile("/opt")
    for doc in (arm,):
        doc["people"][0]["id"] = 7
        doc["owner"]["person_id"] = 7
    assert compare.differences(x86, arm) == []


@pytest.mark.parametrize(("change", "expected"), [
    (lambda d: d["photos"][0]["categories"].update(food=["pizza"]), "a.jpg: categories"),
    (lambda d: d["photos"][0]["categories"]["animals"].remove("cats"), "a.jpg: categories"),
    (lambda d: d["photos"][1]["people"].clear(), "b.jpg: people: 1 vs 0"),
    (lambda d: d["photos"][1]["privacy"].update(status="public"), "b.jpg: privacy"),
    (lambda d: d["photos"][2]["privacy"]["reasons"][0].update(rule="ocr"), "c.jpg: privacy rules"),
    (lambda d: d["photos"][1].update(place={"city": "Paris", "country": "FR"}), "b.jpg: place"),
    (lambda d: d["photos"][2]["selfie"].update(score=0.7), "c.jpg: selfie score"),
    (lambda d: d["classes"]["classes"][0].update(mean_score=0.5), "tiger cat mean_score"),
    (lambda d: d["objects"]["classes"].append({"label": "dog", "photos": 1, "max_score": 0.9}), "objects: labels"),
    (lambda d: d["objects"]["classes"][0].update(photos=2), "objects: cat photos"),
    (lambda d: d["photos"].pop(), "photos"),
    (lambda d: d["gallery"].update(with_faces=1), "gallery: with_faces"),
    (lambda d: d["interests"].update(top=["food"]), "interests: top"),
    (lambda d: d["interests"]["categories"][0]["evidence"]["classes"][0].update(label="lynx"),
     "interests: evidence"),
    (lambda d: d["people"][0].update(gender="female"), "gender"),
    (lambda d: d["people"][0].update(age=36.5), "age"),
    (lambda d: d["people"][0]["photo_list"].pop(), "people: persons"),
    (lambda d: d["owner"].update(status="not_found", person_id=None), "owner: status"),
    (lambda d: d["errors"].append({"path": "/x/d.jpg", "stage": "decode", "reason": "truncated"}), "errors"),
])
def test_a_changed_answer_is_reported(change, expected, capsys, tmp_path):
    x86 = _profile("/host")
    arm = copy.deepcopy(x86)
    change(arm)
    found = compare.differences(x86, arm)
    assert any(line.startswith(expected) or expected in line for line in found), found
    (tmp_path / "x.json").write_text(json.dumps(x86))
    (tmp_path / "a.json").write_text(json.dumps(arm))
    assert compare.main(["compare", str(tmp_path / "x.json"), str(tmp_path / "a.json")]) == 1
    assert "FAIL" in capsys.readouterr().out


def test_requirements_for_the_chroot_follow_aarch64_markers(tmp_path):
    spec = importlib.util.spec_from_file_location("arm_requirements",
                                                  Path(__file__).parents[1] / "benchmarks/arm/requirements.py")
    requirements = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(requirements)
    from packaging.requirements import Requirement

    wanted = requirements.for_aarch64([Requirement(r) for r in (
        "numpy>=1.26",
        "hdbscan>=0.8.33; platform_machine == 'x86_64' or platform_machine == 'AMD64'",
        "tesserocr>=2.13; platform_system == 'Linux' and (platform_machine == 'x86_64' or platform_machine == 'aarch64')",
        "pywin32; sys_platform == 'win32'",
        "uvicorn[standard]>=0.29",
    )])
    assert [requirements.without_marker(r) for r in wanted] == ["numpy>=1.26", "tesserocr>=2.13",
                                                                "uvicorn[standard]>=0.29"]
    pins = requirements.host_pins()
    assert "pytest==" + __import__("pytest").__version__ in pins
    assert not any(pin.startswith("galprof==") for pin in pins)


def test_identical_values_count_every_answer_but_the_timings():
    x86, arm = _profile("/host"), _profile("/opt")
    for doc, root, seconds in ((x86, "/host", 2.0), (arm, "/opt", 70.0)):
        doc["gallery"]["root"] = root
        doc["timings"] = {"scan": {"total": seconds}}
        doc["created_at"] = f"2026-12-01T14:0{int(seconds) % 10}:00"
    same, values = compare.identical_values(x86, arm)
    assert same == values > 30
    arm["people"][0]["age"] = 33.5
    assert compare.identical_values(x86, arm) == (values - 1, values)
