"""The profile document: sections, per-photo index, JSON Schema validation of generated and real output."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest
import referencing
import referencing.exceptions

from galprof.config import Settings
from galprof.facts import ScanError
from galprof.profile import SCHEMA_VERSION, build_profile, load_schema, profile_from_media, profile_from_store
from tests.profile_factory import GPS_PHOTOS, face, frame, media, theme_profile, themed_scan

SECTIONS = {"gallery", "interests", "objects", "classes", "people", "owner", "demography", "places", "privacy",
            "photos", "errors", "settings", "models", "timings"}


def _no_remote(uri: str):
    raise referencing.exceptions.NoSuchResource(uri)  # jsonschema would otherwise fetch it with urllib


def validate(doc: dict) -> None:
    schema = load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker(),
                                    registry=referencing.Registry(retrieve=_no_remote)).validate(doc)


def test_schema_refs_are_local():
    refs = re.findall(r'"\$ref": "([^"]*)"', json.dumps(load_schema()))
    assert refs and all(ref.startswith("#/") for ref in refs)


def sample_gallery() -> list:
    return [
        media("/g/pizza.jpg", frame({"pizza": 0.9}, {"dining table": 0.7}), make="Apple", model="iPhone 12",
              lat=41.89, lon=12.49, taken_at="2024-05-01T12:00:00"),
        media("/g/dog.heic", frame({"Beagle": 0.8}, {"dog": 0.9}), make="Apple", model="iPhone 12",
              fmt="heic", taken_at="2024-05-02T12:00:00", lat=60.17, lon=24.94),
        media("/g/me.jpg", frame(faces=[face(400, 250, 600, 500)]), make="Canon", model="Canon EOS 5D",
              taken_at="2023-12-24T18:00:00"),
        media("/g/clip.mp4", frame({"sports car": 0.7}, timestamp=0.0), frame({"sports car": 0.6}, timestamp=1.0),
              kind="video", taken_at=None),
    ]


@pytest.fixture(scope="module")
def doc() -> dict:
    items = sample_gallery()
    return profile_from_media(lambda: iter(items), Settings(), root="/g", paths=5,
                              errors=[ScanError("/g/broken.jpg", "decode", "truncated JPEG")])


def test_document_has_every_section_and_validates(doc):
    assert SECTIONS <= set(doc)
    assert doc["schema_version"] == SCHEMA_VERSION
    validate(doc)
    json.dumps(doc, allow_nan=False)  # plain JSON, no NaN


def test_gallery_summary(doc):
    g = doc["gallery"]
    assert (g["files"], g["analyzed"], g["failed"], g["photos"], g["videos"], g["frames"]) == (5, 4, 1, 3, 1, 5)
    assert g["date_range"]["first"] == "2023-12-24T18:00:00" and g["date_range"]["last"] == "2024-05-02T12:00:00"
    assert g["formats"] == {"jpeg": 2, "heic": 1, "mp4": 1}
    assert g["devices"] == [{"device": "Apple iPhone 12", "media": 2}, {"device": "Canon EOS 5D", "media": 1}]
    assert g["with_gps"] == 2 and g["with_faces"] == 1


def test_sections_content(doc):
    # one photo each; ties broken by the best evidence score, then by id
    assert doc["interests"]["top"] == ["animals", "food", "transport"]
    photos = {p["path"]: p for p in doc["photos"]}
    assert photos["/g/pizza.jpg"]["categories"]["food"] == ["dishes"]
    assert photos["/g/pizza.jpg"]["place"]["city"] == "Rome"
    assert photos["/g/me.jpg"]["privacy"]["status"] == "private"
    assert photos["/g/clip.mp4"]["categories"] == {"transport": ["cars"]}
    assert doc["places"]["countries"][0]["country"] in {"IT", "FI"}
    assert doc["errors"] == [{"path": "/g/broken.jpg", "stage": "decode", "reason": "truncated JPEG"}]
    assert doc["settings"]["private_face_width"] == 0.05
    assert doc["privacy"]["counts"] == {"public": 3, "private": 1}
    assert set(doc["timings"]["profile"]) == {"people", "aggregate", "places", "total"}


def test_schema_rejects_a_broken_document(doc):
    broken = json.loads(json.dumps(doc))
    broken["photos"][0]["privacy"]["status"] = "secret"
    with pytest.raises(jsonschema.ValidationError):
        validate(broken)
    missing = {k: v for k, v in doc.items() if k != "privacy"}
    with pytest.raises(jsonschema.ValidationError):
        validate(missing)


def test_profile_from_a_cache_database(tmp_path):
    from galprof.store import Store

    with Store(tmp_path / "cache.sqlite") as store:
        for item in sample_gallery():
            store.put(item, "sig")
        doc = profile_from_store(store)
    validate(doc)
    assert doc["gallery"]["analyzed"] == 4
    assert doc["interests"]["distribution"]["food"] == pytest.approx(1 / 3, abs=1e-3)


# ---- real photos through the pipeline and the packaged models ----


@pytest.mark.slow
def test_real_scan_profile_validates(shared_data):
    result, gallery = themed_scan(shared_data)
    doc = build_profile(result, Settings(workers=1))
    validate(doc)
    assert doc["gallery"]["root"] == str(gallery.resolve()) or doc["gallery"]["root"].endswith("gallery")
    assert doc["gallery"]["analyzed"] == len(result.paths) and not doc["errors"]
    assert doc["models"] and all(len(m["sha256"]) == 16 for m in doc["models"].values())
    assert doc["timings"]["scan"]["total"] > 0
    print(json.dumps({"top": doc["interests"]["top"], "distribution": doc["interests"]["distribution"],
                      "privacy": doc["privacy"]["counts"], "by_rule": doc["privacy"]["by_rule"],
                      "home": doc["places"]["home"]}, indent=1))


@pytest.mark.slow
def test_real_gps_photos_in_the_profile(shared_data):
    doc = theme_profile(shared_data, "gps")
    validate(doc)
    places = {p["path"].rsplit("/", 1)[1]: p["place"] for p in doc["photos"]}
    for rel, (city, country) in GPS_PHOTOS.items():
        place = places[rel.rsplit("/", 1)[1]]
        assert (place["city"], place["country"]) == (city, country), rel
    assert doc["places"]["home"]["city"] == "Arezzo"
    assert {c["country"] for c in doc["places"]["countries"]} == {"IT", "US", "FI"}
