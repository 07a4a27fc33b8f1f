"""Input files checked before any work: --config, --taxonomy, --classifier-labels and saved profiles.
Each problem is one line naming the file and the field, exit code 2, and no photo is read."""

from __future__ import annotations

import dataclasses
import json
import typing

import pytest
from click.testing import CliRunner

from galprof import validate
from galprof.cli import main
from galprof.config import Settings
from galprof.profile import profile_from_media
from tests.profile_factory import frame, media

JSON_TYPES = {int: "integer", float: "number", bool: "boolean", str: "string"}


def _scan(tmp_path, *args: str):
    """A scan of a gallery that must never be read (the checks come first)."""
    gallery = tmp_path / "g"
    gallery.mkdir(exist_ok=True)
    (gallery / "a.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 64)  # would fail (exit 1) if scanned
    return CliRunner().invoke(main, ["scan", str(gallery), "--cache", str(tmp_path / "c.sqlite"), "-q", *args])


def _config(tmp_path, text: str) -> str:
    path = tmp_path / "settings.json"
    path.write_text(text)
    return str(path)


def test_settings_schema_matches_the_dataclass():
    properties = validate.schema("settings")["properties"]
    hints = typing.get_type_hints(Settings)
    assert set(properties) == {f.name for f in dataclasses.fields(Settings)}
    for name, hint in hints.items():
        declared = properties[name].get("type")
        if declared is None:  # an enum: its values have the field's type
            assert all(isinstance(v, hint) for v in properties[name]["enum"]), name
            continue
        wanted = {JSON_TYPES[t] for t in typing.get_args(hint) if t in JSON_TYPES} or {JSON_TYPES[hint]}
        if type(None) in typing.get_args(hint):
            wanted.add("null")
        assert set(declared if isinstance(declared, list) else [declared]) == wanted, name
    assert validate.problem(Settings().to_dict(), "settings") is None  # the defaults are valid


@pytest.mark.parametrize(("text", "message"), [
    ('{"workers": "abc"}', "workers: 'abc' is not of type 'integer'"),
    ('{"workers": true}', "workers: True is not of type 'integer'"),
    ('{"workers": 1e999}', "not valid JSON: number out of range: 1e999"),
    ('{"video_fps": NaN}', "not valid JSON: NaN is not valid JSON"),
    ('{"face_attach_distance": "x"}', "face_attach_distance: 'x' is not of type 'number'"),
    ('{"max_side": -5}', "max_side: -5 is less than the minimum of 128"),
    ('{"face_detector": "tiny"}', "face_detector: 'tiny' is not one of ['full', 'short', 'back']"),
    ('{"workers": ' + "[" * 100000 + "]" * 100000 + "}", "not valid JSON: nested too deeply"),
    ("[1, 2]", "must be a JSON object of settings"),
    ('{"no_such_setting": 1}', "unknown settings: no_such_setting"),
])
def test_bad_config_fails_before_the_scan(tmp_path, text, message):
    config = _config(tmp_path, text)
    result = _scan(tmp_path, "--config", config)
    assert result.exit_code == 2, result.output
    assert result.stderr == f"error: --config {config}: {message}\n"
    assert not (tmp_path / "c.sqlite").exists()  # nothing was scanned


def test_config_values_are_typed(tmp_path):
    assert Settings.from_dict({"workers": 2.0, "max_side": 512}).workers == 2
    assert isinstance(Settings.from_dict({"workers": 2.0}).workers, int)


def test_options_go_through_the_same_checks(tmp_path):
    result = _scan(tmp_path, "--video-fps", "nan")
    assert result.exit_code == 2 and result.stderr == "error: --video-fps: video_fps: nan is not a finite number\n"
    result = _scan(tmp_path, "--video-fps", "1000")
    assert result.exit_code == 2 and "video_fps: 1000.0 is greater than the maximum of 240" in result.stderr


@pytest.mark.parametrize(("taxonomy", "message"), [
    ({"categories": "food"}, "categories: 'food' is not of type 'array'"),
    ({"categories": [{"id": "food"}]}, "categories[0]: 'subcategories' is a required property"),
    ({"categories": [{"id": "f", "subcategories": [{"id": "s", "classifier_threshold": "high"}]}]},
     "categories[0].subcategories[0].classifier_threshold: 'high' is not of type 'number'"),
    ({"categories": [{"id": "f", "subcategories": [{"id": "s", "classifier_threshold": 0.5,
                                                   "detector": [{"class": "dog"}]}]}]},
     "categories[0].subcategories[0].detector[0]: 'threshold' is a required property"),
    ([], "(top level): [] is not of type 'object'"),
])
def test_bad_taxonomy_fails_before_the_scan(tmp_path, taxonomy, message):
    path = tmp_path / "tax.json"
    path.write_text(json.dumps(taxonomy))
    result = _scan(tmp_path, "--taxonomy", str(path))
    assert result.exit_code == 2, result.output
    assert result.stderr == f"error: the taxonomy {path}: {message}\n"
    assert not (tmp_path / "c.sqlite").exists()


def test_taxonomy_set_in_the_config_is_checked_too(tmp_path):
    tax = tmp_path / "tax.json"
    tax.write_text("{not json")
    result = _scan(tmp_path, "--config", _config(tmp_path, json.dumps({"taxonomy": str(tax)})))
    assert result.exit_code == 2 and result.stderr.startswith(f"error: the taxonomy {tax}: not valid JSON")


@pytest.mark.parametrize(("content", "message"), [
    (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe", "not a text file (not UTF-8)"),
    (b"cat\x00dog\n", "not a text file (NUL bytes)"),
    (b"\n  \n", "no labels (one label per line)"),
])
def test_classifier_labels_must_be_text(tmp_path, content, message):
    model = tmp_path / "m.onnx"
    model.write_bytes(b"unused")
    labels = tmp_path / "labels.txt"
    labels.write_bytes(content)
    result = _scan(tmp_path, "--classifier-model", str(model), "--classifier-labels", str(labels))
    assert result.exit_code == 2
    assert result.stderr == f"error: the classifier labels {labels}: {message}\n"


# ---- saved profiles (show, photos) ----

@pytest.fixture(scope="module")
def good_doc() -> dict:
    items = [media("/g/a.jpg", frame({"pizza": 0.9})), media("/g/b.jpg", frame({"Beagle": 0.8}))]
    return json.loads(json.dumps(profile_from_media(lambda: iter(items), Settings(), root="/g")))


def test_a_real_profile_is_accepted(tmp_path, good_doc):
    path = tmp_path / "p.json"
    path.write_text(json.dumps(good_doc))
    assert validate.problem(good_doc, "profile-v1") is None
    result = CliRunner().invoke(main, ["photos", str(path), "--category", "food"])
    assert result.exit_code == 0 and result.stdout == "/g/a.jpg\n"


def _broken(doc: dict, change) -> dict:
    doc = json.loads(json.dumps(doc))
    change(doc)
    return doc


@pytest.mark.parametrize(("make", "message"), [
    (lambda d: {"schema_version": "1.0", "interests": {}}, "(top level): 'generator' is a required property"),
    (lambda d: _broken(d, lambda x: x["gallery"].update(photos="many")),
     "gallery.photos: 'many' is not of type 'integer'"),
    (lambda d: _broken(d, lambda x: x["photos"][1].pop("privacy")), "photos[1]: 'privacy' is a required property"),
    (lambda d: _broken(d, lambda x: x["interests"].update(categories={})),
     "interests.categories: {} is not of type 'array'"),
])
def test_crafted_profiles_are_refused(tmp_path, good_doc, make, message):
    path = tmp_path / "p.json"
    path.write_text(json.dumps(make(good_doc)))
    for args in (["show", str(path)], ["photos", str(path), "--private"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2, result.output
        assert result.stderr == f"error: {path} is not a valid galprof profile: {message}\n"


@pytest.mark.parametrize("text", ["[1, 2]", '"text"', "[" * 100000 + "]" * 100000, '{"a": NaN}'])
def test_other_json_is_refused(tmp_path, text):
    path = tmp_path / "p.json"
    path.write_text(text)
    result = CliRunner().invoke(main, ["show", str(path)])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1 and "Traceback" not in result.output


def test_schemas_never_fetch_remote_refs(monkeypatch):
    import urllib.request

    from referencing.exceptions import Unresolvable

    fetched = []

    def no_network(url, *_args, **_kwargs):
        fetched.append(url)
        raise OSError("offline")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    monkeypatch.setattr(validate, "schema", lambda name: {"$ref": "https://remote.invalid/x.schema.json"})
    validate._validator.cache_clear()
    try:
        with pytest.raises(Unresolvable):
            validate.problem({}, "remote")
        assert fetched == []
    finally:
        validate._validator.cache_clear()
