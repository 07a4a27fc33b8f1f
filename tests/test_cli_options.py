"""Scan options that change how a profile is made: a settings file and a user taxonomy."""

from __future__ import annotations

import json
import shutil

from click.testing import CliRunner

from galprof.cli import main


def _gallery(shared_data, tmp_path):
    gallery = tmp_path / "gallery"
    gallery.mkdir()
    for name in ("n02123159_tiger_cat.JPEG", "n02124075_Egyptian_cat.JPEG"):
        shutil.copy(shared_data / "imagenet-samples" / name, gallery / name.lower().replace(".jpeg", ".jpg"))
    dish = min((shared_data / "food101").glob("*/*.jpg"))
    shutil.copy(dish, gallery / "dish.jpg")
    return gallery


def test_config_file_and_user_taxonomy_shape_the_profile(shared_data, tmp_path):
    """A user taxonomy that knows only cats: the cat photos count into its one category, the dish
    into none; the settings file's values are used and echoed in the document."""
    taxonomy = tmp_path / "cats-only.json"
    taxonomy.write_text(json.dumps({"version": 7, "categories": [{
        "id": "felines", "label": "cat lover", "subcategories": [{
            "id": "house_cats", "label": "house cats", "classifier_threshold": 0.3,
            "classifier": ["tabby cat", "tiger cat", "Egyptian Mau", "a cat having a striped coat"],
            "detector": [{"class": "cat", "threshold": 0.5}]}]}]}))
    config = tmp_path / "settings.json"
    config.write_text(json.dumps({"ocr": False, "face_score": 0.7}))
    result = CliRunner().invoke(main, [
        "scan", str(_gallery(shared_data, tmp_path)), "--cache", str(tmp_path / "c.sqlite"), "--workers", "1",
        "--quiet", "--config", str(config), "--taxonomy", str(taxonomy)])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["interests"]["top"] == ["felines"]
    assert doc["interests"]["categories"][0]["photos"] == 2
    assert doc["settings"]["face_score"] == 0.7 and doc["settings"]["ocr"] is False
    assert doc["settings"]["taxonomy"] == str(taxonomy)
    assert "disabled" in (doc["privacy"]["rules"]["ocr"]["note"] or "")


def test_bad_config_is_a_usage_error(tmp_path):
    gallery = tmp_path / "g"
    gallery.mkdir()
    config = tmp_path / "settings.json"
    config.write_text(json.dumps({"no_such_setting": 1}))
    result = CliRunner().invoke(main, ["scan", str(gallery), "--config", str(config)])
    assert result.exit_code == 2
    assert "unknown settings: no_such_setting" in result.output
    assert "Traceback" not in result.output


def test_classifier_model_needs_its_labels(tmp_path):
    gallery = tmp_path / "g"
    gallery.mkdir()
    model = tmp_path / "scenes.onnx"
    model.write_bytes(b"not used")
    result = CliRunner().invoke(main, ["scan", str(gallery), "--classifier-model", str(model)])
    assert result.exit_code == 2
    assert "--classifier-labels" in result.output
