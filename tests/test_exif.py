"""EXIF and container metadata: fields from real phone photos, GPS signs, offsets, broken EXIF."""

from __future__ import annotations

import io
from fractions import Fraction

import piexif
import pytest
from PIL import Image

from galprof.media.exif import exif_from_container, mtime_fallback, parse_iso6709, read_photo_exif
from tests.media_factory import gradient


def test_phone_photo_fields(shared_data):
    facts = read_photo_exif(str(shared_data / "phones" / "Apple iPhone 6.jpg"))
    assert facts.make == "Apple" and facts.model == "iPhone 6"
    assert facts.lens_model == "iPhone 6 back camera 4.15mm f/2.2"
    assert facts.focal_length == pytest.approx(4.15)
    assert facts.focal_length_35mm == 29
    assert facts.taken_at == "2014-09-16T14:05:12" and facts.taken_at_source == "exif"
    assert facts.latitude == pytest.approx(51.7624, abs=1e-4)
    assert facts.longitude == pytest.approx(-0.31789, abs=1e-4)  # West is negative
    assert facts.altitude == pytest.approx(111.26, abs=0.01)
    assert (facts.width, facts.height, facts.orientation) == (3264, 2448, 1)


def test_every_phone_has_make_model_date(shared_data):
    photos = sorted((shared_data / "phones").glob("*.jpg"))
    assert len(photos) == 11
    for path in photos:
        facts = read_photo_exif(str(path))
        assert facts.make and facts.model and facts.taken_at and facts.focal_length, path.name
    note3 = read_photo_exif(str(shared_data / "phones" / "Samsung SM-N900A (Galaxy Note 3).jpg"))
    assert note3.longitude == pytest.approx(-115.17, abs=0.01) and note3.latitude == pytest.approx(36.12, abs=0.01)


def test_offset_time_and_heic(shared_data):
    facts = read_photo_exif(str(shared_data / "exif-samples" / "heic" / "mobile" / "iphone_13_pro_max.HEIC"))
    assert facts.taken_at == "2022-02-16T12:55:41+01:00"
    assert facts.model == "iPhone 13 Pro Max" and facts.orientation == 6
    nokia = read_photo_exif(str(shared_data / "exif-samples" / "jpg" / "mobile" / "HMD_Nokia_8.3_5G.jpg"))
    assert nokia.taken_at == "2022-08-14T14:12:31+03:00"


def test_malformed_exif_never_raises(shared_data):
    folder = shared_data / "exif-samples" / "jpg"
    paths = sorted((folder / "tests").iterdir()) + sorted((folder / "invalid").glob("*.jpg")) + \
        [folder / "corrupted.jpg"]
    for path in paths:
        read_photo_exif(str(path))  # must not raise
    assert read_photo_exif(str(folder / "tests" / "87_OSError.jpg")).model == "NIKON D70s"


def test_garbage_exif_block_gives_missing_fields(tmp_path):
    jpeg = io.BytesIO()
    Image.fromarray(gradient()).save(jpeg, "JPEG")
    data = jpeg.getvalue()
    garbage = b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\xff\xff" + bytes(range(256)) * 4
    app1 = b"\xff\xe1" + (len(garbage) + 2).to_bytes(2, "big") + garbage
    (tmp_path / "bad.jpg").write_bytes(data[:2] + app1 + data[2:])
    facts = read_photo_exif(str(tmp_path / "bad.jpg"))
    assert facts.taken_at is None and facts.latitude is None
    assert read_photo_exif(str(tmp_path / "missing.jpg")).make is None


def _jpeg_with_exif(tmp_path, exif: dict):
    path = tmp_path / "x.jpg"
    Image.fromarray(gradient()).save(path, "JPEG", exif=piexif.dump(exif))
    return str(path)


def _rational(value: float) -> tuple[int, int]:
    frac = Fraction(value).limit_denominator(10000)
    return frac.numerator, frac.denominator


def test_gps_south_west_below_sea_level(tmp_path):
    path = _jpeg_with_exif(tmp_path, {"GPS": {
        piexif.GPSIFD.GPSLatitudeRef: b"S", piexif.GPSIFD.GPSLatitude: ((33, 1), (51, 1), (3150, 100)),
        piexif.GPSIFD.GPSLongitudeRef: b"W", piexif.GPSIFD.GPSLongitude: ((70, 1), (30, 1), (0, 1)),
        piexif.GPSIFD.GPSAltitudeRef: 1, piexif.GPSIFD.GPSAltitude: (12, 1),
    }})
    facts = read_photo_exif(path)
    assert facts.latitude == pytest.approx(-(33 + 51 / 60 + 31.5 / 3600))
    assert facts.longitude == pytest.approx(-70.5)
    assert facts.altitude == -12


def test_zero_gps_and_placeholder_date_are_missing(tmp_path):
    path = _jpeg_with_exif(tmp_path, {
        "GPS": {piexif.GPSIFD.GPSLatitudeRef: b"N", piexif.GPSIFD.GPSLatitude: ((0, 1), (0, 1), (0, 1)),
                piexif.GPSIFD.GPSLongitudeRef: b"E", piexif.GPSIFD.GPSLongitude: ((0, 1), (0, 1), (0, 1))},
        "Exif": {piexif.ExifIFD.DateTimeOriginal: b"0000:00:00 00:00:00",
                 piexif.ExifIFD.FocalLength: (0, 0)},
    })
    facts = read_photo_exif(path)
    assert facts.latitude is None and facts.taken_at is None and facts.focal_length is None


def test_front_camera_lens(tmp_path):
    path = _jpeg_with_exif(tmp_path, {"0th": {piexif.ImageIFD.Make: b"Apple", piexif.ImageIFD.Model: b"iPhone 12"},
                                      "Exif": {piexif.ExifIFD.LensModel: b"iPhone 12 front camera 2.71mm f/2.2",
                                               piexif.ExifIFD.FocalLength: _rational(2.71),
                                               piexif.ExifIFD.DateTimeOriginal: b"2021:03:04 05:06:07",
                                               piexif.ExifIFD.OffsetTimeOriginal: b"-07:00"}})
    facts = read_photo_exif(path)
    assert facts.lens_model == "iPhone 12 front camera 2.71mm f/2.2"
    assert facts.focal_length == pytest.approx(2.71)
    assert facts.taken_at == "2021-03-04T05:06:07-07:00"


def test_container_metadata():
    facts = exif_from_container({
        "creation_time": "2018-04-19T22:46:00.000000Z", "location": "+48.8584+002.2945+035.000/",
        "com.apple.quicktime.make": "Apple", "com.apple.quicktime.model": "iPhone 12",
    })
    assert facts.taken_at == "2018-04-19T22:46:00Z" and facts.taken_at_source == "container"
    assert (facts.latitude, facts.longitude, facts.altitude) == (48.8584, 2.2945, 35.0)
    assert facts.make == "Apple" and facts.model == "iPhone 12"
    assert exif_from_container({"creation_time": "1904-01-01T00:00:00.000000Z"}).taken_at is None
    assert exif_from_container({"creation_time": "garbage"}).taken_at is None
    assert parse_iso6709("-33.8688+151.2093/") == (-33.8688, 151.2093, None)
    assert parse_iso6709("nonsense") == (None, None, None)


def test_mtime_fallback_is_labelled():
    facts = exif_from_container({})
    mtime_fallback(facts, 1_600_000_000.0)
    assert facts.taken_at_source == "mtime" and facts.taken_at.startswith("2020-09-1")
    kept = exif_from_container({"creation_time": "2018-04-19T22:46:00Z"})
    mtime_fallback(kept, 1_600_000_000.0)
    assert kept.taken_at_source == "container"
