"""The repository and the wheel carry what a user and a packager need: the licence, a NOTICE naming every
shipped model's licence and source, a CHANGELOG of the profile schema, and no build leftovers."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import tomllib
import types
from pathlib import Path

import pytest

from galprof.profile import SCHEMA_VERSION

ROOT = Path(__file__).resolve().parents[1]


def test_licence_is_the_apache_2_text_named_in_pyproject():
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "Apache-2.0"
    assert {"LICENSE", "NOTICE"} <= set(project["license-files"])


def test_notice_names_every_shipped_model_with_its_licence_and_source():
    notice = (ROOT / "NOTICE").read_text()
    models = json.loads((ROOT / "models" / "manifest.json").read_text())["models"]
    for entry in models:
        src = entry["source"]
        assert f"models/{entry['file']}" in notice
        assert entry["license"] in notice, entry["name"]
        assert f"{src['package']}=={src['version']}" in notice, entry["name"]


def test_changelog_records_the_current_schema_version():
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert f"schema {SCHEMA_VERSION}" in changelog


def test_no_quantizer_leftovers_are_tracked():
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    leftovers = [name for name in tracked.splitlines()
                 if name.endswith(".data") or "sym_shape_infer_temp" in name]
    assert leftovers == []


def test_model_build_runs_each_builder_in_a_scratch_folder(tmp_path, monkeypatch):
    """onnxruntime's shape inference drops `sym_shape_infer_temp.onnx` into the working folder."""
    sys.path.insert(0, str(ROOT / "models" / "build"))
    try:
        build_all = importlib.import_module("build_all")
    finally:
        sys.path.remove(str(ROOT / "models" / "build"))
    seen = {}

    def build() -> None:
        seen["cwd"] = os.getcwd()
        Path("sym_shape_infer_temp.onnx").write_bytes(b"leftover")

    monkeypatch.setitem(sys.modules, "fake_builder", types.SimpleNamespace(build=build))
    monkeypatch.chdir(tmp_path)
    build_all.main(["fake_builder"])
    assert Path(seen["cwd"]) != tmp_path
    assert not Path(seen["cwd"]).exists()  # removed with what the tools left in it
    assert os.getcwd() == str(tmp_path) and list(tmp_path.iterdir()) == []
