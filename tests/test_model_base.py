"""The model base class: manifest entry -> precision's file -> checks -> session, for every model class."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from galprof.vision.age_gender_models import ChipModel
from galprof.vision.blazeface import FaceDetector
from galprof.vision.classifier import PhotoClassifier
from galprof.vision.face_embedder import FaceEmbedder
from galprof.vision.model_base import ModelFileError, open_manifest_model, resolve_entry
from galprof.vision.nanodet import ObjectDetector
from galprof.vision.registry import models_dir


def test_precision_picks_the_suffixed_entry():
    assert resolve_entry("face_embedding", "int8").name == "face_embedding"
    assert resolve_entry("face_embedding", "fp32").name == "face_embedding_fp32"
    assert resolve_entry("nanodet", None).name == "nanodet"
    with pytest.raises(ValueError, match="no fp32 file.*int8"):
        resolve_entry("efficientnet_lite2", "fp32")
    with pytest.raises(KeyError, match="not in the manifest"):
        resolve_entry("no_such_model")


def test_from_manifest_gives_the_same_model_as_the_old_constructor():
    chips = np.random.default_rng(0).integers(0, 256, (2, 150, 150, 3), dtype=np.uint8)
    old = FaceEmbedder(precision="fp32").embed(chips)
    new = FaceEmbedder.from_manifest("face_embedding", "fp32")
    assert new.entry.name == "face_embedding_fp32"
    assert np.allclose(new.embed(chips), old, atol=1e-6)


def test_every_model_class_opens_from_the_manifest():
    assert ObjectDetector.from_manifest("nanodet", "fp32").entry.name == "nanodet_fp32"
    assert PhotoClassifier.from_manifest("efficientnet_lite2").width == 260
    assert ChipModel.from_manifest("gender").size == 32
    back = FaceDetector.from_manifest("blazeface_back")
    assert back.size == 256 and back.entry.name == "blazeface_back"


def _copy_models(tmp_path, name: str):
    manifest = json.loads((models_dir() / "manifest.json").read_text())
    entry = next(e for e in manifest["models"] if e["name"] == name)
    manifest["models"] = [entry]
    shutil.copy(models_dir() / entry["file"], tmp_path / entry["file"])
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    return manifest, entry


def test_a_truncated_file_is_refused_with_its_path(tmp_path):
    _, entry = _copy_models(tmp_path, "gender")
    path = tmp_path / entry["file"]
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(ModelFileError, match=f"{path}.*1000 bytes"):
        open_manifest_model("gender", root=tmp_path)


def test_a_file_that_is_not_the_manifest_network_is_refused(tmp_path):
    manifest, entry = _copy_models(tmp_path, "gender")
    entry["input"]["shape"] = ["N", 3, 64, 64]
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelFileError, match="input shape"):
        open_manifest_model("gender", root=tmp_path)


def test_a_missing_file_says_make_models(tmp_path):
    _, entry = _copy_models(tmp_path, "gender")
    (tmp_path / entry["file"]).unlink()
    with pytest.raises(FileNotFoundError, match="make models"):
        open_manifest_model("gender", root=tmp_path)
