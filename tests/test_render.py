"""Renderers and the show / photos / features commands, on documents and caches built from
hand-made MediaFacts (no models)."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from rich.console import Console

from galprof.cli import main
from galprof.config import Settings
from galprof.profile import profile_from_media
from galprof.render.json import read_json, write_json
from galprof.render.terminal import render
from galprof.store import Store
from tests.profile_factory import face, frame, media


def gallery() -> list:
    return [
        media("/g/pizza.jpg", frame({"pizza": 0.9}), lat=41.89, lon=12.49),
        media("/g/pasta.jpg", frame({"carbonara": 0.8}), lat=41.9, lon=12.5, taken_at="2024-05-02T10:00:00"),
        media("/g/dog.jpg", frame({"Beagle": 0.8}, {"dog": 0.9})),
        media("/g/me.jpg", frame(faces=[face(400, 250, 600, 500)])),
    ]


@pytest.fixture(scope="module")
def doc() -> dict:
    items = gallery()
    return profile_from_media(lambda: iter(items), Settings(), root="/g")


@pytest.fixture
def profile_file(tmp_path: Path, doc: dict) -> Path:
    path = tmp_path / "profile.json"
    write_json(doc, path)
    return path


@pytest.fixture
def cache_file(tmp_path: Path) -> Path:
    path = tmp_path / "cache.sqlite"
    with Store(path) as store:
        for item in gallery():
            store.put(item, "sig")
    return path


def test_write_json_to_a_stream_and_atomically_to_a_file(tmp_path, doc):
    out = io.StringIO()
    write_json(doc, None, stream=out)
    assert json.loads(out.getvalue()) == json.loads(json.dumps(doc))
    target = tmp_path / "sub" / "p.json"
    target.parent.mkdir()
    target.write_text("old")
    write_json(doc, target)
    assert read_json(target)["schema_version"] == doc["schema_version"]
    assert os.listdir(target.parent) == ["p.json"]  # no temporary file left


def test_write_json_keeps_the_old_file_when_it_fails(tmp_path):
    target = tmp_path / "p.json"
    target.write_text('{"old": true}')
    with pytest.raises(ValueError):
        write_json({"bad": float("nan")}, target)
    assert target.read_text() == '{"old": true}'
    assert os.listdir(tmp_path) == ["p.json"]


def test_read_json_refuses_other_json(tmp_path):
    other = tmp_path / "x.json"
    other.write_text('{"a": 1}')
    with pytest.raises(ValueError):
        read_json(other)


def test_terminal_view_shows_every_part(doc):
    out = io.StringIO()
    render(doc, Console(file=out, width=120, color_system=None))
    text = out.getvalue()
    for part in ("galprof profile", "Interests", "food", "pets/animals", "People", "Demography", "Owner:",
                 "Places", "Rome", "Privacy: 1 private / 3 public"):
        assert part in text, part
    assert "█" in text  # the interest bars


def test_terminal_view_lists_errors_and_disabled_ocr(doc):
    broken = json.loads(json.dumps(doc))
    broken["errors"] = [{"path": "/g/x.jpg", "stage": "decode", "reason": "truncated"}]
    broken["privacy"]["rules"]["ocr"] = {"enabled": False, "note": "disabled: tesseract missing"}
    out = io.StringIO()
    render(broken, Console(file=out, width=120, color_system=None))
    assert "1 file(s) failed" in out.getvalue() and "/g/x.jpg: decode: truncated" in out.getvalue()
    assert "OCR rule disabled: tesseract missing" in out.getvalue()


def test_show_a_profile_as_table_and_json(profile_file):
    runner = CliRunner()
    table = runner.invoke(main, ["show", str(profile_file)])
    assert table.exit_code == 0, table.output
    assert "Interests" in table.output
    as_json = runner.invoke(main, ["show", str(profile_file), "--format", "json"])
    assert as_json.exit_code == 0 and json.loads(as_json.output)["interests"]["top"][0] == "food"


def test_show_rebuilds_from_a_cache(cache_file, tmp_path):
    out = tmp_path / "again.json"
    result = CliRunner().invoke(main, ["show", str(cache_file), "--format", "json", "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    doc = read_json(out)
    assert doc["gallery"]["analyzed"] == 4 and doc["interests"]["top"][0] == "food"


def test_show_usage_errors(tmp_path):
    runner = CliRunner()
    missing = runner.invoke(main, ["show", str(tmp_path / "nope.json")])
    assert missing.exit_code == 2 and "no such profile" in missing.output
    junk = tmp_path / "junk.json"
    junk.write_text("not json")
    bad = runner.invoke(main, ["show", str(junk)])
    assert bad.exit_code == 2 and "neither" in bad.output and "Traceback" not in bad.output


def test_photos_by_category_and_person(profile_file, cache_file, doc):
    runner = CliRunner()
    food = runner.invoke(main, ["photos", str(profile_file), "--category", "food"])
    assert food.exit_code == 0 and food.output.split() == ["/g/pizza.jpg", "/g/pasta.jpg"]
    pets = runner.invoke(main, ["photos", str(cache_file), "--category", "pets/animals", "--format", "json"])
    assert [r["path"] for r in json.loads(pets.output)] == ["/g/dog.jpg"]
    private = runner.invoke(main, ["photos", str(profile_file), "--private"])
    assert private.output.split() == ["/g/me.jpg"]
    sub = runner.invoke(main, ["photos", str(profile_file), "--category", "food", "--subcategory", "dishes"])
    assert sub.output.split() == ["/g/pizza.jpg", "/g/pasta.jpg"]
    unknown = runner.invoke(main, ["photos", str(profile_file), "--category", "astronomy"])
    assert unknown.exit_code == 2 and "unknown category" in unknown.output
    nobody = runner.invoke(main, ["photos", str(profile_file), "--person", "99"])
    assert nobody.exit_code == 2
    assert runner.invoke(main, ["photos", str(profile_file)]).exit_code == 2


def test_photos_of_a_person(tmp_path):
    # two people (embeddings a little apart around two centres), 4 photos each on 2 days
    rng = np.random.default_rng(3)
    bases = [rng.normal(size=128), rng.normal(size=128)]
    items = []
    for i in range(8):
        f = face(400, 250, 600, 500)
        f.embedding = (bases[i // 4] + 0.05 * rng.normal(size=128)).astype(np.float32)
        items.append(media(f"/g/p{i}.jpg", frame(faces=[f]), taken_at=f"2024-05-0{1 + i % 2}T10:00:00"))
    items.append(media("/g/other.jpg", frame({"pizza": 0.9})))
    doc = profile_from_media(lambda: iter(items), Settings())
    path = tmp_path / "p.json"
    write_json(doc, path)
    assert doc["people"], "the people stage found no person"
    listed = set()
    for person in doc["people"]:
        result = CliRunner().invoke(main, ["photos", str(path), "--person", str(person["id"])])
        assert result.exit_code == 0
        paths = result.output.split()
        assert paths in ([f"/g/p{i}.jpg" for i in range(4)], [f"/g/p{i}.jpg" for i in range(4, 8)])
        listed.update(paths)
    assert len(doc["people"]) == 2 and len(listed) == 8


def test_features_from_a_cache(cache_file, tmp_path):
    out = tmp_path / "f.npz"
    result = CliRunner().invoke(main, ["features", str(cache_file), "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    data = np.load(out)
    assert data["f"].shape == (4, 1280) and data["p"].shape == (4, 1000) and data["o"].shape == (4, 80)
    assert sorted(data["paths"]) == ["/g/dog.jpg", "/g/me.jpg", "/g/pasta.jpg", "/g/pizza.jpg"]


def test_long_lists_hold_one_compact_object_per_line():
    from galprof.render.json import LINE_PER_ITEM, dumps

    doc = {"schema_version": "1.0", "photos": [{"path": f"/g/{i}.jpg", "people": [i]} for i in range(80)],
           "errors": [{"path": "/g/x", "reason": "a\nb"}], "gallery": {"photos": 80}}
    text = dumps(doc)
    assert json.loads(text) == doc
    lines = text.splitlines()
    assert sum(line.startswith('    {"path": "/g/') for line in lines) == 80 > LINE_PER_ITEM
    assert '  "gallery": {\n    "photos": 80\n  }' in text  # short parts stay indented
