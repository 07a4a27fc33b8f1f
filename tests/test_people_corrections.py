"""People corrections: the rules on their own, applied by the people stage through re-scans, and the
`galprof people` commands on a cache (synthetic faces; the real-photo run is in
test_people_corrections_lfw.py)."""

from __future__ import annotations

import json

import numpy as np
from click.testing import CliRunner

from galprof.analysis.corrections import STATE_KEY, Corrections, apply_corrections
from galprof.analysis.people import analyze_people
from galprof.cli import main
from galprof.config import Settings
from galprof.media.discover import display_path
from galprof.store import Store
from tests.people_factory import MemoryStore, face, identities, media

SETTINGS = Settings()


def _corrections(*items: tuple) -> Corrections:
    c = Corrections()
    for action, person, kwargs in items:
        c.add(action, person, **kwargs)
    return c


def test_merges_chain_names_follow_and_not_ejects_only_that_person():
    ids = [1, 1, 2, 2, 3, None]
    paths = ["a", "b", "c", "d", "b", "e"]
    c = _corrections(("merge", 1, {"other": 2}), ("not", 1, {"path": "b"}), ("merge", 3, {"other": 1}),
                     ("name", 2, {"name": "Ann"}))
    applied = apply_corrections(ids, paths, c)
    # 2 joined 1, then 1 (with 2) joined 3; "not 1 b" came before the second merge: it takes out the
    # face that was 1's in b, not 3's
    assert applied.person_ids == [3, None, 3, 3, 3, None]
    after = apply_corrections(ids, paths, _corrections(("merge", 3, {"other": 1}), ("not", 1, {"path": "b"})))
    assert after.person_ids == [3, None, 2, 2, None, None]  # after the merge, 1 is 3: both faces in b
    assert applied.names == {3: "Ann"}
    assert applied.merged == {3: [1, 2]}
    assert applied.notes == []


def test_latest_name_wins_and_missing_people_are_notes_not_errors():
    c = _corrections(("name", 1, {"name": "A"}), ("name", 1, {"name": "B"}), ("merge", 1, {"other": 9}),
                     ("not", 7, {"path": "x.jpg"}))
    applied = apply_corrections([1, 1], ["p", "q"], c)
    assert applied.person_ids == [1, 1] and applied.names == {1: "B"}
    assert [n["reason"].split(" (")[0] for n in applied.notes] == ["correction 3", "correction 4"]
    assert "no person 9" in applied.notes[0]["reason"] and applied.notes[1]["path"] == "x.jpg"


def test_state_round_trip_and_undo_keeps_numbers():
    c = _corrections(("name", 1, {"name": "A"}), ("merge", 1, {"other": 2}))
    again = Corrections.from_state(json.loads(json.dumps(c.to_state())))
    assert again == c
    assert again.undo(1).name == "A" and again.undo(1) is None
    assert again.add("name", 2, name="B").number == 3  # numbers are never reused


def _gallery(x: np.ndarray, start: int, stop: int) -> list:
    """One photo per face; faces 0-5 person A, 6-11 person B, 12-17 person C."""
    return [media(f"/g/{i:02d}.jpg", [[face(x[i], age=30.0, female=0.9)]]) for i in range(start, stop)]


def _person_of(report, path: str) -> int | None:
    return report.person_of_face.get((path, 0, 0))


def test_corrections_hold_through_rescans_with_new_photos():
    x, _ = identities(3, 8, spread=0.2, seed=4)
    order = [*range(6), *range(8, 14), *range(16, 22)]  # 6 of each person first
    first_media = [media(f"/g/{i:02d}.jpg", [[face(x[i], age=30.0, female=0.9)]]) for i in order]
    store = MemoryStore()
    first = analyze_people(first_media, SETTINGS, store)
    assert len(first.people) == 3
    a, b = _person_of(first, "/g/00.jpg"), _person_of(first, "/g/08.jpg")
    c = _person_of(first, "/g/16.jpg")
    corrections = _corrections(("name", a, {"name": "Alice"}), ("merge", a, {"other": b}),
                               ("not", c, {"path": "/g/17.jpg"}))
    store.set_state(STATE_KEY, corrections.to_state())
    more = first_media + [media(f"/g/{i:02d}.jpg", [[face(x[i], age=30.0, female=0.9)]])
                          for i in (6, 7, 14, 15, 22, 23)]
    for media_list in (first_media, more):  # the same gallery again, then with 6 new photos
        report = analyze_people(media_list, SETTINGS, store)
        by_id = {p.id: p for p in report.people}
        assert set(by_id) == {a, c}
        assert by_id[a].name == "Alice" and by_id[a].merged_ids == [b] and by_id[c].name is None
        assert _person_of(report, "/g/08.jpg") == a and _person_of(report, "/g/17.jpg") is None
        assert "/g/17.jpg" not in by_id[c].paths
        assert report.notes == []
        sections = report.sections()["people"]
        assert {p["id"]: p["name"] for p in sections} == {a: "Alice", c: None}
    assert _person_of(report, "/g/07.jpg") == a and _person_of(report, "/g/15.jpg") == a
    assert len(by_id[a].paths) == 16


def test_a_correction_for_a_person_who_is_gone_is_a_note():
    x, _ = identities(1, 5, spread=0.2, seed=5)
    store = MemoryStore()
    store.set_state(STATE_KEY, _corrections(("name", 42, {"name": "Gone"})).to_state())
    report = analyze_people(_gallery(x, 0, 5), SETTINGS, store)
    assert len(report.people) == 1 and report.people[0].name is None
    assert "correction 1" in report.notes[0]["reason"] and "no person 42" in report.notes[0]["reason"]


def _cache_with_people(tmp_path) -> tuple[str, list[int]]:
    x, _ = identities(2, 5, spread=0.2, seed=6)
    path = tmp_path / "cache.sqlite"
    items = _gallery(x, 0, 10)
    with Store(path) as store:
        for m in items:
            store.put(m, "sig")
        report = analyze_people(items, SETTINGS, store)
    return str(path), sorted(p.id for p in report.people)


def _run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_people_commands_record_list_and_undo(tmp_path):
    cache, (one, two) = _cache_with_people(tmp_path)
    assert _run("people", "name", str(one), "Alice", "--cache", cache).exit_code == 0
    assert _run("people", "merge", str(one), str(two), "--cache", cache).exit_code == 0
    assert _run("people", "not", str(one), "/g/00.jpg", "--cache", cache).exit_code == 0
    listed = _run("people", "corrections", "--cache", cache)
    assert listed.exit_code == 0
    lines = listed.output.splitlines()
    assert [line.split("\t")[:2] for line in lines] == [["1", "name"], ["2", "merge"], ["3", "not"]]
    assert "'Alice'" in lines[0] and "/g/00.jpg" in lines[2]
    assert _run("people", "corrections", "--undo", "2", "--cache", cache).exit_code == 0
    with Store(cache, create=False) as store:
        assert [c.number for c in Corrections.from_state(store.get_state(STATE_KEY)).items] == [1, 3]
    shown = json.loads(_run("show", cache, "--format", "json", "-q").output)
    names = {p["id"]: p["name"] for p in shown["people"]}
    assert names == {one: "Alice", two: None}
    assert "/g/00.jpg" not in next(p for p in shown["people"] if p["id"] == one)["photo_list"]
    table = _run("show", cache, "-q").output
    assert f"{one} Alice" in table


def test_people_not_finds_a_path_by_its_file_system_name(tmp_path, monkeypatch):
    cache, (one, _two) = _cache_with_people(tmp_path)
    x, _ = identities(1, 1, seed=7)
    odd = tmp_path / "a\\b.jpg"  # a backslash in the name: the cache keeps it doubled
    with Store(cache, create=False) as store:
        store.put(media(display_path(str(odd)), [[face(x[0])]]), "sig")
    monkeypatch.chdir(tmp_path)
    assert _run("people", "not", str(one), "a\\b.jpg", "--cache", cache).exit_code == 0
    with Store(cache, create=False) as store:
        [correction] = Corrections.from_state(store.get_state(STATE_KEY)).items
    assert correction.path == display_path(str(odd)) and "\\\\" in correction.path


def test_people_commands_refuse_bad_input_in_one_line(tmp_path):
    cache, (one, _two) = _cache_with_people(tmp_path)
    cases = [
        (("people", "name", "99", "X", "--cache", cache), "no person 99"),
        (("people", "merge", str(one), str(one), "--cache", cache), "with itself"),
        (("people", "not", str(one), "/g/missing.jpg", "--cache", cache), "is not in the cache"),
        (("people", "corrections", "--undo", "5", "--cache", cache), "no correction 5"),
        (("people", "name", "1", "X", "--cache", str(tmp_path / "none.sqlite")), "no such cache"),
        (("people", "name", str(one), "  ", "--cache", cache), "the name is empty"),
    ]
    for args, message in cases:
        result = CliRunner().invoke(main, list(args))
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output and "Traceback" not in result.output
        assert len(result.output.strip().splitlines()) == 1


def test_a_correction_rebuilds_the_stored_profile_of_an_unchanged_gallery(tmp_path):
    from galprof.pipeline import scan
    from galprof.profile_cache import profile_for_scan
    from tests.scan_fakes import color_factory, color_gallery

    gallery, cache = color_gallery(tmp_path / "g"), tmp_path / "c.sqlite"

    def profile() -> dict:
        settings = Settings(workers=1)
        result = scan(gallery, settings, cache_path=cache, quiet=True, analyzer_factory=color_factory)
        try:
            return json.loads(json.dumps(profile_for_scan(result, settings)))
        finally:
            result.store.close()

    profile()
    assert profile()["scan"]["profile_reused"] is True
    with Store(cache, create=False) as store:
        store.set_state(STATE_KEY, _corrections(("name", 5, {"name": "Nobody"})).to_state())
    rebuilt = profile()
    assert "profile_reused" not in rebuilt["scan"]
    # no faces in these photos: the correction names no person of this profile and is a note
    [note] = [n for n in rebuilt["notes"] if n["stage"] == "people"]
    assert "correction 1" in note["reason"] and "no person 5" in note["reason"]
    assert profile()["scan"]["profile_reused"] is True


def test_a_name_is_shown_escaped_on_the_terminal(tmp_path):
    cache, (one, _two) = _cache_with_people(tmp_path)
    assert _run("people", "name", str(one), "Al\x1b[31mice", "--cache", cache).exit_code == 0
    table = _run("show", cache, "-q").output
    assert "\x1b[31m" not in table and "\\x1b[31mice" in table
    listed = _run("people", "corrections", "--cache", cache).output
    assert "\x1b" not in listed
