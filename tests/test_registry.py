"""The model manifest and `galprof models verify`."""

import json
import shutil

from click.testing import CliRunner

from galprof.cli import main
from galprof.vision.registry import load_manifest, models_dir, verify


def test_every_manifest_entry_is_complete():
    manifest = load_manifest()
    assert manifest, "the manifest lists no model"
    for entry in manifest.values():
        assert entry.role and entry.license and entry.precision in ("int8", "fp32")
        for key in ("registry", "package", "version", "path", "sha256"):
            assert entry.source.get(key), f"{entry.name}: source.{key} missing"
        assert entry.input.get("shape"), f"{entry.name}: input shape missing"


def test_shipped_models_verify():
    assert verify() == []


def test_verify_names_an_altered_and_a_missing_file(tmp_path, monkeypatch):
    root = tmp_path / "models"
    shutil.copytree(models_dir(), root, ignore=shutil.ignore_patterns("build"))
    entries = json.loads((root / "manifest.json").read_text())["models"]
    altered, missing = entries[0]["file"], entries[1]["file"]
    with open(root / altered, "ab") as f:
        f.write(b"\0")
    (root / missing).unlink()
    monkeypatch.setenv("GALPROF_MODELS", str(root))
    result = CliRunner().invoke(main, ["models", "verify"])
    assert result.exit_code == 1
    assert altered in result.output and "altered" in result.output
    assert missing in result.output and "missing" in result.output


def test_models_list_shows_each_model():
    result = CliRunner().invoke(main, ["models", "list"])
    assert result.exit_code == 0
    for name in load_manifest():
        assert name in result.output
