"""train aggregate -> scan --aggregator -> show, and train events -> events, through the command line.

The scans use the model-free colour analyzer of scan_fakes (f = the photo's mean colour), so a theme
is a colour: red photos are "food", blue ones "animals", grey ones unlabelled filler.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from click.testing import CliRunner

from galprof import pipeline
from galprof.cli import main
from galprof.profile import load_schema
from tests.media_factory import image_bytes
from tests.scan_fakes import color_factory

COLOURS = {"food": (200, 30, 30), "animals": (30, 30, 200), None: (120, 120, 120)}


@pytest.fixture(autouse=True)
def colour_analyzer(monkeypatch):
    monkeypatch.setattr(pipeline, "_default_factory", color_factory)


def _photos(folder: Path, theme: str | None, n: int, rng: np.random.Generator) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    base = np.array(COLOURS[theme], dtype=float)
    for _ in range(n):
        colour = np.clip(base + rng.normal(0, 12, 3), 0, 255).astype(np.uint8)
        name = f"{theme or 'misc'}{len(list(folder.iterdir()))}.png"
        (folder / name).write_bytes(image_bytes("PNG", np.full((8, 8, 3), colour, np.uint8)))


def _gallery(folder: Path, themes: list[str], rng: np.random.Generator) -> None:
    for theme in themes:
        _photos(folder, theme, 2, rng)
    _photos(folder, None, 5, rng)


def _run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_train_aggregate_then_scan_with_it(tmp_path):
    rng = np.random.default_rng(10)
    rows = ["user,categories"]
    options = [["food"], ["animals"], ["food", "animals"]]
    for i in range(36):
        themes = options[i % 3]
        _gallery(tmp_path / "users" / f"u{i:02d}", themes, rng)
        rows.append(f"u{i:02d},{';'.join(themes)}")
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    cache, model = str(tmp_path / "cache.sqlite"), str(tmp_path / "agg.onnx")
    result = _run("train", "aggregate", "--galleries", str(tmp_path / "users"), "--labels",
                  str(tmp_path / "labels.csv"), "-o", model, "--cache", cache, "--workers", "1", "--dim", "8",
                  "--epochs", "150", "--learning-rate", "0.03", "-q")
    assert result.exit_code == 0, result.output

    _gallery(tmp_path / "new", ["animals"], rng)
    profile = tmp_path / "profile.json"
    result = _run("scan", str(tmp_path / "new"), "--aggregator", model, "--cache", cache, "--workers", "1",
                  "--no-ocr", "-q", "-o", str(profile))
    assert result.exit_code == 0, result.output
    doc = json.loads(profile.read_text())
    jsonschema.validate(doc, load_schema())
    learned = doc["interests"]["learned"]
    assert learned["top"] == ["animals"] and learned["probabilities"]["food"] < 0.5
    assert learned["media"] == 7 and len(learned["weighted_photos"]) == 5
    shown = _run("show", str(profile))
    assert shown.exit_code == 0 and "Learned interests" in shown.output and "pets/animals" in shown.output


def test_train_aggregate_bad_labels_are_one_line_errors(tmp_path):
    rng = np.random.default_rng(11)
    _gallery(tmp_path / "users" / "a", ["food"], rng)
    _gallery(tmp_path / "users" / "b", ["food"], rng)
    cases = {"user,categories\na,food\nb,snacks\n": "line 3: unknown category snacks",
             "name,tags\na,food\n": "the first line must be the header `user,categories`",
             "user,categories\na,food\nc,food\n": "name user c, who has no photos"}
    for text, message in cases.items():
        (tmp_path / "labels.csv").write_text(text)
        result = CliRunner().invoke(main, ["train", "aggregate", "--galleries", str(tmp_path / "users"), "--labels",
                                           str(tmp_path / "labels.csv"), "-o", str(tmp_path / "x.onnx"), "--cache",
                                           str(tmp_path / "c.sqlite"), "--workers", "1", "-q"])
        assert result.exit_code == 2, result.output
        assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "x.onnx").exists()


def test_train_events_then_events(tmp_path):
    rng = np.random.default_rng(12)
    for event, theme in (("dinner", "food"), ("zoo", "animals")):
        for album in range(3):
            _photos(tmp_path / "albums" / event / f"{event}{album}", theme, 6, rng)
    cache, model = str(tmp_path / "cache.sqlite"), str(tmp_path / "events.model")
    result = _run("train", "events", "--albums", str(tmp_path / "albums"), "-o", model, "--cache", cache,
                  "--workers", "1", "-q")
    assert result.exit_code == 0, result.output
    _photos(tmp_path / "mine" / "saturday", "animals", 5, rng)
    _photos(tmp_path / "mine" / "party", "food", 4, rng)
    result = _run("events", str(tmp_path / "mine"), "--model", model, "--cache", cache, "--workers", "1", "-q")
    assert result.exit_code == 0, result.output
    albums = {Path(a["path"]).name: a for a in json.loads(result.output)["albums"]}
    assert albums["saturday"]["event"] == "zoo" and albums["party"]["event"] == "dinner"
    assert albums["party"]["photos"] == 4 and set(albums["party"]["scores"]) == {"dinner", "zoo"}
    assert 0.5 < albums["party"]["confidence"] <= 1.0

    (tmp_path / "bad.model").write_text("no")
    result = CliRunner().invoke(main, ["events", str(tmp_path / "mine"), "--model", str(tmp_path / "bad.model")])
    assert result.exit_code == 2 and "bad.model: not a galprof event model" in result.output


def test_scan_refuses_a_bad_aggregator_before_scanning(tmp_path):
    _gallery(tmp_path / "g", ["food"], np.random.default_rng(14))
    (tmp_path / "agg.onnx").write_bytes(b"junk")
    cache = tmp_path / "c.sqlite"
    result = CliRunner().invoke(main, ["scan", str(tmp_path / "g"), "--aggregator", str(tmp_path / "agg.onnx"),
                                       "--cache", str(cache), "--workers", "1", "-q"])
    assert result.exit_code == 2 and "agg.onnx: not a readable ONNX model" in result.output
    assert not cache.exists()  # nothing was scanned


def test_training_without_the_train_extra_says_what_to_install(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "onnx", None)  # `import onnx` raises ImportError
    result = CliRunner().invoke(main, ["train", "aggregate", "--galleries", str(tmp_path), "--labels",
                                       str(tmp_path / "l.csv"), "-o", str(tmp_path / "a.onnx")])
    assert result.exit_code == 2 and "pip install 'galprof[train]'" in result.output
