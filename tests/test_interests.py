"""Interests: the taxonomy against the label files, per-photo fusion, counters, features export, and
themed galleries of real photos scanned with the packaged models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from galprof.analysis.interests import (
    InterestCounter,
    Taxonomy,
    export_features,
    frame_interests,
    media_interests,
)
from galprof.vision.onnx_model import read_labels
from tests.profile_factory import MODELS, frame, media, theme_profile

CATEGORIES = {"outdoors", "indoors", "food", "transport", "activity", "sports", "music", "appliances",
              "children", "fashion", "products", "plants", "animals", "culture"}


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return Taxonomy.load()


def test_taxonomy_has_the_14_categories(taxonomy):
    assert {c.id for c in taxonomy.categories} == CATEGORIES
    assert taxonomy.category("pets/animals").id == "animals"
    assert taxonomy.category("Music/Instruments").id == "music"
    assert all(c.subcategories for c in taxonomy.categories)


def test_every_taxonomy_class_exists_in_the_label_files(taxonomy):
    imagenet = set(read_labels(MODELS / "labels" / "imagenet1k.txt"))
    coco = set(read_labels(MODELS / "labels" / "coco80.txt"))
    assert len(coco) == 80
    assert not set(taxonomy.classifier) - imagenet, sorted(set(taxonomy.classifier) - imagenet)
    assert not set(taxonomy.detector) - coco, sorted(set(taxonomy.detector) - coco)
    # most classes signal something; "person" and a few generic ones signal nothing
    assert len(taxonomy.classifier) > 850
    assert "person" not in taxonomy.detector
    for mappings in list(taxonomy.classifier.values()) + list(taxonomy.detector.values()):
        for m in mappings:
            assert 0 < m.threshold < 1


def test_a_confident_class_fires_its_category(taxonomy):
    hits = frame_interests(frame({"pizza": 0.8, "plate": 0.1}), taxonomy)
    assert ("food", "dishes") in hits
    assert hits[("food", "dishes")].classes[("classifier", "pizza")] == pytest.approx(0.8)


def test_a_weak_class_fires_nothing(taxonomy):
    assert frame_interests(frame({"pizza": 0.1}), taxonomy) == {}


def test_split_dog_breeds_pool_into_dogs(taxonomy):
    # no breed reaches the threshold alone, together they do
    breeds = {"Golden Retriever": 0.14, "Labrador Retriever": 0.12, "Flat-Coated Retriever": 0.08}
    assert set(breeds) <= set(taxonomy.classifier)
    hits = frame_interests(frame(breeds), taxonomy)
    assert ("animals", "dogs") in hits
    assert hits[("animals", "dogs")].score == pytest.approx(0.34)


def test_detector_uses_the_max_confidence_per_class(taxonomy):
    f = frame(objects={"dog": 0.3})
    f.objects.append(type(f.objects[0])("dog", 0.7, f.objects[0].box))
    hits = frame_interests(f, taxonomy)
    assert hits[("animals", "dogs")].classes[("detector", "dog")] == pytest.approx(0.7)
    assert frame_interests(frame(objects={"person": 0.99}), taxonomy) == {}


def test_a_video_counts_once(taxonomy):
    video = media("/g/clip.mp4", frame({"sports car": 0.9}, timestamp=0.0),
                  frame({"sports car": 0.8}, timestamp=1.0), frame({"violin": 0.7}, timestamp=2.0), kind="video")
    assert set(media_interests(video, taxonomy)) == {("transport", "cars"), ("music", "strings")}
    counter = InterestCounter(taxonomy)
    counter.add(video)
    section = counter.section()
    cats = {c["id"]: c for c in section["categories"]}
    assert cats["transport"]["photos"] == 1 and cats["music"]["photos"] == 1


def test_counters_distribution_and_evidence(taxonomy):
    counter = InterestCounter(taxonomy)
    for i in range(6):
        counter.add(media(f"/g/food{i}.jpg", frame({"pizza": 0.5 + i / 20})))
    for i in range(2):
        counter.add(media(f"/g/dog{i}.jpg", frame({"Beagle": 0.9}, {"dog": 0.8})))
    counter.add(media("/g/nothing.jpg", frame({"abacus": 0.9})))
    section = counter.section(top_k=3)
    assert section["top"] == ["food", "animals"]
    assert section["media"] == 9 and section["media_with_interests"] == 8
    assert section["distribution"] == {"food": 0.75, "animals": 0.25}
    assert sum(section["distribution"].values()) == pytest.approx(1.0)
    food = section["categories"][0]
    assert food["evidence"]["classes"][0] == {"label": "pizza", "source": "classifier", "photos": 6}
    assert food["evidence"]["examples"] == ["/g/food5.jpg", "/g/food4.jpg", "/g/food3.jpg"]
    dogs = section["categories"][1]
    assert {e["source"] for e in dogs["evidence"]["classes"]} == {"classifier", "detector"}
    assert counter.objects_section()["classes"] == [{"label": "dog", "photos": 2, "max_score": 0.8}]
    assert counter.classes_section()["classes"][0]["label"] == "pizza"


def test_features_export(tmp_path: Path):
    classes = read_labels(MODELS / "labels" / "imagenet1k.txt")
    objects = read_labels(MODELS / "labels" / "coco80.txt")
    items = [media("/g/a.jpg", frame({"pizza": 0.7, "plate": 0.2}, {"dog": 0.6})),
             media("/g/v.mp4", frame({"violin": 0.3}), frame({"violin": 0.6}, {"person": 0.9}), kind="video")]
    out = tmp_path / "features.npz"
    assert export_features(items, classes, objects, out) == 2
    data = np.load(out)
    assert data["f"].shape == (2, 1280) and data["p"].shape == (2, 1000) and data["o"].shape == (2, 80)
    assert list(data["paths"]) == ["/g/a.jpg", "/g/v.mp4"]
    assert data["p"][0, classes.index("pizza")] == pytest.approx(0.7)
    assert data["p"][1, classes.index("violin")] == pytest.approx(0.6)  # max over the video's frames
    assert data["o"][0, objects.index("dog")] == pytest.approx(0.6)
    assert data["o"][1, objects.index("person")] == pytest.approx(0.9)
    assert np.count_nonzero(data["p"][0]) == 2


# ---- themed galleries of real photos (packaged models) ----

THEMES = [("food", "food"), ("pets", "animals"), ("music", "music"), ("vehicles", "transport")]


@pytest.mark.slow
@pytest.mark.parametrize(("theme", "expected"), THEMES)
def test_themed_gallery_top_interest(shared_data, theme, expected):
    doc = theme_profile(shared_data, theme)
    interests = doc["interests"]
    print(theme, interests["top"], interests["distribution"])
    assert interests["top"][0] == expected, interests["distribution"]
    top = interests["categories"][0]
    assert top["photos"] >= 0.6 * interests["media"]
    assert top["evidence"]["examples"] and all(f"/{theme}/" in p for p in top["evidence"]["examples"])


@pytest.mark.slow
def test_features_of_a_real_scan(shared_data, tmp_path):
    """`galprof features CACHE` on the themed gallery's cache: the stored top-k becomes p, the
    embedding f is the classifier's 1280-d vector, o the detector's maxima."""
    from click.testing import CliRunner

    from galprof.cli import main
    from tests.profile_factory import themed_scan

    result, _ = themed_scan(shared_data)
    out = tmp_path / "features.npz"
    run = CliRunner().invoke(main, ["features", str(result.store.path), "-o", str(out), "-q"])
    assert run.exit_code == 0, run.output
    data = np.load(out)
    n = len(result.paths)
    assert data["f"].shape == (n, 1280) and data["p"].shape == (n, 1000) and data["o"].shape == (n, 80)
    assert np.all(np.linalg.norm(data["f"], axis=1) > 0)
    assert np.all(data["p"].sum(axis=1) <= 1.0 + 1e-3)
    stored = {m.path: m for m in result.iter_media()}
    labels = list(data["class_labels"])
    for i, path in enumerate(data["paths"]):
        best = max(stored[str(path)].frames[0].classes, key=lambda c: c.score)
        assert labels[int(np.argmax(data["p"][i]))] == best.label
