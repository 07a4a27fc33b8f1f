"""The sample gallery of `make run` shows every part of a profile: two people (one a close person), the
owner from front-camera selfies, places in two cities, a document, a video, an event day; and its
report has no empty section. The gallery is built by `make samples` (which `make test` runs) from the
photos in scikit-image's and matplotlib's wheels; the scan uses the packaged models."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from galprof import samples
from galprof.cli import main
from galprof.config import Settings
from galprof.media.exif import read_photo_exif

GALLERY = Path(__file__).resolve().parents[1] / ".cache" / "sample-gallery"


def test_a_shot_gets_phone_exif_and_its_own_pixels(tmp_path: Path):
    selfie, trip = samples.SHOTS[0], samples.SHOTS[3]
    source = Image.new("RGB", (400, 300), (120, 80, 40))
    source.paste((250, 250, 250), (0, 0, 200, 300))  # left half white: a mirror must move it right
    plain, mirrored = samples.render_shot(source, selfie), samples.render_shot(source, trip)
    assert max(plain.size) == selfie.side and plain.getpixel((5, 5)) != mirrored.getpixel((5, 5))
    path = tmp_path / "shot.jpg"
    plain.save(path, "JPEG", exif=samples.exif_bytes(selfie))
    exif = read_photo_exif(str(path))
    assert exif.lens_model == samples.FRONT["lens"] and exif.focal_length == pytest.approx(2.71)
    assert exif.taken_at == "2024-05-04T09:12:00"
    assert exif.latitude == pytest.approx(samples.PARIS[0], abs=1e-4)
    assert exif.longitude == pytest.approx(samples.PARIS[1], abs=1e-4)
    west = samples.exif_bytes(trip)
    trip_path = tmp_path / "trip.jpg"
    plain.save(trip_path, "JPEG", exif=west)
    assert read_photo_exif(str(trip_path)).longitude == pytest.approx(samples.NEW_YORK[1], abs=1e-4)


@pytest.fixture(scope="module")
def sample_profile(tmp_path_factory) -> tuple[dict, Path]:
    if not (GALLERY / ".done").is_file():
        pytest.skip(f"the sample gallery is not built at {GALLERY} (make samples; make test builds it)")
    from galprof.pipeline import scan
    from galprof.profile import build_profile

    tmp = tmp_path_factory.mktemp("samples")
    result = scan(GALLERY, Settings(workers=1), cache_path=tmp / "cache.sqlite", quiet=True)
    try:
        document = build_profile(result, Settings(workers=1))
    finally:
        result.store.close()
    assert result.errors == []
    path = tmp / "profile.json"
    path.write_text(json.dumps(document))
    return document, path


def test_the_sample_gallery_shows_people_owner_places_document_video_and_an_event_day(sample_profile):
    document, _ = sample_profile
    people = sorted(document["people"], key=lambda p: -p["photos"])
    assert len(people) >= 2 and all(p["photos"] >= 4 for p in people[:2])
    assert any(p["close"] for p in people), "someone is seen often enough to be a close person"
    owner = document["owner"]
    assert owner["status"] == "found" and owner["evidence"]["owner_selfies"] >= 3
    selfies = {Path(p).name for p in owner["evidence"]["owner_selfie_paths"]}
    assert selfies <= {s.name for s in samples.SHOTS if s.camera is samples.FRONT}
    places = document["places"]
    assert places["home"]["city"] == "Paris"
    assert {c["city"] for c in places["cities"]} >= {"Paris", "New York City"}
    rules = Counter(r["rule"] for p in document["photos"] for r in p["privacy"]["reasons"])
    assert rules["ocr_document"] >= 1 or document["privacy"]["rules"]["ocr"]["enabled"] is False
    assert document["gallery"]["videos"] == 1
    days = Counter((p["taken_at"] or "")[:10] for p in document["photos"])
    assert days["2024-06-08"] >= 5, "the event day holds several photos and the video"


def test_the_report_of_the_sample_gallery_has_no_empty_section(sample_profile, tmp_path: Path):
    document, profile = sample_profile
    out = tmp_path / "report.html"
    result = CliRunner().invoke(main, ["report", str(profile), "-o", str(out)])
    assert result.exit_code == 0, result.output
    html = out.read_text("utf-8")
    for empty in ("No person was seen", "Nobody was seen", "No photo has a GPS", "No photo has a capture date",
                  "could not be identified", "No interest category"):
        assert empty not in html
    assert "Home is probably Paris" in html and "owner</span>" in html
    if document["privacy"]["rules"]["ocr"]["enabled"]:
        assert "a page of text" in html


def test_building_the_gallery_never_downloads_unless_asked(tmp_path, monkeypatch):
    """`galprof bench` builds its set with download=False: no pip, no network, one clear error."""
    import subprocess

    def no_network(*args, **kwargs):
        raise AssertionError(f"tried to run {args[0]!r}")

    monkeypatch.setattr(subprocess, "run", no_network)
    monkeypatch.setattr(samples, "_installed_folder", lambda *args: None)  # as without scikit-image
    with pytest.raises(samples.SamplesUnavailable, match="python -m galprof.samples"):
        samples.build_sample_gallery(tmp_path / "g")
