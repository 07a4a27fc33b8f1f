"""`galprof faces`: one JSON line per face, from a cache without any model, or from a folder scanned
first (real LFW photos); person ids after the user's corrections; lines written as they are made."""

from __future__ import annotations

import io
import json
import shutil

import pytest
from click.testing import CliRunner

from galprof.analysis.corrections import STATE_KEY, Corrections
from galprof.cli import main
from galprof.commands import faces as faces_module
from galprof.store import Store
from tests.people_factory import face, identities, lfw_people, media


def _cache(tmp_path):
    """Two people of 4 photos each, one photo with a second, small face, and a video with a face in
    each of its two frames."""
    x, _ = identities(3, 4, spread=0.2, seed=8)
    items = [media(f"/g/{i}.jpg", [[face(x[i], age=20.0 + i, female=0.25)]], taken_at="2024-05-01T10:00:00",
                   taken_at_source="exif") for i in range(8)]
    items[0].frames[0].faces.append(face(x[8], box=(0, 0, 16, 16), score=0.5))
    items.append(media("/g/clip.mp4", [[face(x[9])], [face(x[10])]], kind="video"))
    path = tmp_path / "cache.sqlite"
    with Store(path) as store:
        for m in items:
            store.put(m, "sig")
    return path


def _lines(*args: str) -> list[dict]:
    result = CliRunner().invoke(main, ["faces", *args, "-q"])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_faces_from_a_cache_runs_no_model_and_follows_corrections(tmp_path, monkeypatch):
    import onnxruntime

    def no_model(*_args, **_kwargs):
        raise AssertionError("a model was loaded")

    monkeypatch.setattr(onnxruntime, "InferenceSession", no_model)
    cache = _cache(tmp_path)
    lines = _lines(str(cache))
    assert len(lines) == 11
    first, small = lines[0], lines[1]
    assert (first["path"], first["frame"], first["face"], first["kind"]) == ("/g/0.jpg", 0, 0, "photo")
    assert first["box"] == [60.0, 50.0, 180.0, 190.0] and first["score"] == 0.95
    assert first["age"] == 20.0 and first["female_probability"] == 0.25 and first["timestamp"] is None
    assert first["quality"] == {"size": 120.0, "weight": 0.95, "clusters": True}
    assert first["taken_at"] == "2024-05-01T10:00:00" and first["taken_at_source"] == "exif"
    assert small["face"] == 1 and small["quality"]["clusters"] is False and small["person"] is None
    assert small["quality"]["size"] == 16.0 and small["age"] is None
    video = [row for row in lines if row["kind"] == "video"]
    assert [(row["frame"], row["timestamp"]) for row in video] == [(0, 0.0), (1, 1.0)]
    people = {row["person"] for row in lines[2:8]} | {lines[0]["person"]}
    assert len(people) == 2 and None not in people
    # the same ids as the profile's
    shown = json.loads(CliRunner().invoke(main, ["show", str(cache), "--format", "json", "-q"]).stdout)
    assert {p["id"] for p in shown["people"]} == people

    a = lines[0]["person"]
    b = next(row["person"] for row in lines if row["person"] not in (a, None))
    corrections = Corrections()
    corrections.add("merge", a, other=b)
    corrections.add("name", a, name="Alice")
    corrections.add("not", a, path="/g/1.jpg")
    with Store(cache, create=False) as store:
        store.set_state(STATE_KEY, corrections.to_state())
    corrected = _lines(str(cache))
    by_path = {row["path"]: row for row in corrected if row["face"] == 0 and row["frame"] == 0}
    assert by_path["/g/1.jpg"]["person"] is None
    assert {by_path[f"/g/{i}.jpg"]["person"] for i in (0, 2, 3, 4, 5, 6, 7)} == {a}
    assert by_path["/g/0.jpg"]["name"] == "Alice"


def test_lines_are_written_while_they_are_made(monkeypatch):
    made = []
    written_after: list[int] = []

    class Recorder(io.StringIO):
        def write(self, text: str) -> int:
            written_after.append(len(made))
            return super().write(text)

    out = Recorder()
    monkeypatch.setattr("sys.stdout", out)
    monkeypatch.setattr(faces_module, "CHUNK_CHARS", 1000)

    def rows():
        for i in range(500):
            made.append(i)
            yield {"path": f"/g/{i}.jpg", "face": 0}

    assert faces_module.write_lines(rows()) == 500
    assert len(written_after) > 10 and written_after[0] < 50  # not all 500 held before the first write
    lines = out.getvalue().splitlines()
    assert len(lines) == 500 and json.loads(lines[-1]) == {"path": "/g/499.jpg", "face": 0}


def test_faces_refuses_bad_sources_in_one_line(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    for source, message in ((tmp_path / "missing", "no such folder or cache"),
                            (text, "neither a folder nor a cache database")):
        result = CliRunner().invoke(main, ["faces", str(source)])
        assert result.exit_code == 2 and message in result.output
        assert len(result.output.strip().splitlines()) == 1


def test_faces_of_a_folder_of_real_photos(lfw, tmp_path):
    photos = lfw_people(lfw, ["Hans_Blix", "Jennifer_Garner"], per_person=5)
    gallery = tmp_path / "gallery"
    gallery.mkdir()
    for name, files in photos.items():
        for f in files:
            shutil.copy(f, gallery / f"{name}_{f.name}")
    cache = tmp_path / "cache.sqlite"
    lines = _lines(str(gallery), "--cache", str(cache), "--workers", "1")
    # one LFW photo may show a second person at its edge; each photo's subject is there
    assert {row["path"] for row in lines} == {str(gallery / f"{n}_{f.name}") for n, fs in photos.items()
                                               for f in fs}
    subjects = [max((r for r in lines if r["path"] == p), key=lambda r: r["quality"]["size"])
                for p in sorted({row["path"] for row in lines})]
    for row in subjects:
        x1, y1, x2, y2 = row["box"]
        assert 0 <= x1 < x2 <= 250 and 0 <= y1 < y2 <= 250 and row["score"] > 0.5
        assert 15 <= row["age"] <= 80 and 0.0 <= row["female_probability"] <= 1.0
    # the person ids are the profile's (photos[].people)
    shown = json.loads(CliRunner().invoke(main, ["show", str(cache), "--format", "json", "-q"]).stdout)
    profile_people = {p["path"]: set(p["people"]) for p in shown["photos"]}
    for path, ids in profile_people.items():
        assert {r["person"] for r in lines if r["path"] == path} - {None} == ids
    assert len({r["person"] for r in subjects} - {None}) == 2
    # from the cache the same lines, without scanning
    assert _lines(str(cache)) == lines


@pytest.fixture(autouse=True)
def _no_user_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
