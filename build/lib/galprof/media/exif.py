"""Metadata of photos (EXIF via exifread) and videos (container tags via PyAV) as ExifFacts.

Everything is best effort: a malformed, truncated or hostile EXIF block yields missing fields, never
an exception. When neither EXIF nor the container gives a capture time, the file's modification time
is used and labelled `taken_at_source="mtime"` so later stages can tell how far to trust it.
"""

from __future__ import annotations

import contextlib
import logging
import re
from datetime import datetime, timedelta, timezone
from fractions import Fraction

import exifread

from galprof.facts import ExifFacts

# exifread logs every oddity of a broken file at WARNING/ERROR; a scan reports files, not parser chatter.
logging.getLogger("exifread").setLevel(logging.CRITICAL)

_DATE_RE = re.compile(r"^\s*(\d{4})[:\-/](\d{1,2})[:\-/](\d{1,2})[ T](\d{1,2}):(\d{1,2})(?::(\d{1,2}))?")
_OFFSET_RE = re.compile(r"^\s*([+-])(\d{1,2}):?(\d{2})\s*$")
_ISO6709_RE = re.compile(r"([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)?")


def read_photo_exif(path: str) -> ExifFacts:
    """EXIF of a photo file (JPEG, TIFF, HEIC, PNG, WebP). Never raises; missing fields stay None."""
    try:
        with open(path, "rb") as f:
            tags = exifread.process_file(f, details=False, extract_thumbnail=False)
    except Exception:  # noqa: BLE001 - exifread raises many kinds of errors on hostile files
        return ExifFacts()
    return exif_from_tags(tags or {})


def exif_from_tags(tags: dict) -> ExifFacts:
    """ExifFacts from exifread's tag dict (IfdTag values); each field parsed on its own."""
    facts = ExifFacts()
    for field_name, parse in (
        ("make", lambda: _text(tags, "Image Make")),
        ("model", lambda: _text(tags, "Image Model")),
        ("lens_model", lambda: _text(tags, "EXIF LensModel")),
        ("focal_length", lambda: _positive(_number(tags, "EXIF FocalLength"))),
        ("focal_length_35mm", lambda: _positive(_number(tags, "EXIF FocalLengthIn35mmFilm"))),
        ("orientation", lambda: _orientation(tags)),
        ("width", lambda: _int(tags, "EXIF ExifImageWidth") or _int(tags, "Image ImageWidth")),
        ("height", lambda: _int(tags, "EXIF ExifImageLength") or _int(tags, "Image ImageLength")),
    ):
        with contextlib.suppress(Exception):  # one bad tag must not cost the others
            setattr(facts, field_name, parse())
    try:
        facts.taken_at = _taken_at(tags)
        if facts.taken_at:
            facts.taken_at_source = "exif"
    except Exception:  # noqa: BLE001
        facts.taken_at = None
    try:
        facts.latitude, facts.longitude, facts.altitude = _gps(tags)
    except Exception:  # noqa: BLE001
        facts.latitude = facts.longitude = facts.altitude = None
    return facts


def _values(tags: dict, key: str) -> list:
    tag = tags.get(key)
    if tag is None:
        return []
    values = getattr(tag, "values", tag)
    if isinstance(values, (str, bytes)):
        return [values]
    return list(values) if isinstance(values, (list, tuple)) else [values]


def _text(tags: dict, key: str) -> str | None:
    tag = tags.get(key)
    if tag is None:
        return None
    value = getattr(tag, "values", tag)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        value = getattr(tag, "printable", str(value))
    value = value.replace("\x00", " ").strip()
    return value[:200] or None


def _to_float(value) -> float | None:
    if isinstance(value, Fraction) or hasattr(value, "numerator"):
        den = getattr(value, "denominator", 1)
        if den == 0:
            return None
        return float(Fraction(value.numerator, den)) if isinstance(value.numerator, int) else float(value)
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _number(tags: dict, key: str) -> float | None:
    values = _values(tags, key)
    return _to_float(values[0]) if values else None


def _positive(value: float | None) -> float | None:
    return round(value, 3) if value is not None and 0 < value < 1e5 else None


def _int(tags: dict, key: str) -> int | None:
    value = _number(tags, key)
    return int(value) if value is not None and 0 < value < 1e6 else None


def _orientation(tags: dict) -> int | None:
    value = _number(tags, "Image Orientation")
    return int(value) if value is not None and 1 <= value <= 8 and value == int(value) else None


def _taken_at(tags: dict) -> str | None:
    for date_key, offset_key in (("EXIF DateTimeOriginal", "EXIF OffsetTimeOriginal"),
                                 ("EXIF DateTimeDigitized", "EXIF OffsetTimeDigitized"),
                                 ("Image DateTime", "EXIF OffsetTime")):
        stamp = _parse_date(_text(tags, date_key))
        if stamp is None:
            continue
        offset = _parse_offset(_text(tags, offset_key)) or _parse_offset(_text(tags, "EXIF OffsetTime"))
        if offset is not None:
            stamp = stamp.replace(tzinfo=offset)
        return stamp.isoformat()
    return None


def _parse_date(text: str | None) -> datetime | None:
    if not text:
        return None
    match = _DATE_RE.match(text)
    if not match:
        return None
    year, month, day, hour, minute = (int(g) for g in match.groups()[:5])
    second = int(match.group(6) or 0)
    if year < 1900:  # "0000:00:00 00:00:00" is a common placeholder
        return None
    try:
        return datetime(year, month, day, hour, minute, min(second, 59))
    except ValueError:
        return None


def _parse_offset(text: str | None) -> timezone | None:
    match = _OFFSET_RE.match(text or "")
    if not match:
        return None
    sign, hours, minutes = match.groups()
    delta = timedelta(hours=int(hours), minutes=int(minutes))
    if delta > timedelta(hours=14):
        return None
    return timezone(-delta if sign == "-" else delta)


def _dms(values: list) -> float | None:
    parts = [_to_float(v) for v in values[:3]]
    if not parts or any(p is None for p in parts):
        return None
    while len(parts) < 3:
        parts.append(0.0)
    degrees, minutes, seconds = parts
    return degrees + minutes / 60.0 + seconds / 3600.0


def _gps(tags: dict) -> tuple[float | None, float | None, float | None]:
    lat = _dms(_values(tags, "GPS GPSLatitude"))
    lon = _dms(_values(tags, "GPS GPSLongitude"))
    if lat is None or lon is None:
        return None, None, None
    if (_text(tags, "GPS GPSLatitudeRef") or "N").upper().startswith("S"):
        lat = -lat
    if (_text(tags, "GPS GPSLongitudeRef") or "E").upper().startswith("W"):
        lon = -lon
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):  # 0,0 = "no fix" placeholder
        return None, None, None
    altitude = _number(tags, "GPS GPSAltitude")
    if altitude is not None:
        ref = _values(tags, "GPS GPSAltitudeRef")
        if ref and _to_float(ref[0]) == 1:
            altitude = -altitude
        altitude = round(altitude, 2) if abs(altitude) < 1e5 else None
    return round(lat, 7), round(lon, 7), altitude


def parse_iso6709(text: str | None) -> tuple[float | None, float | None, float | None]:
    """Latitude, longitude, altitude from an ISO 6709 string such as "+37.7858-122.4064+012.345/"
    (QuickTime ©xyz, com.apple.quicktime.location.ISO6709, Android's `location`)."""
    match = _ISO6709_RE.search(text or "")
    if not match:
        return None, None, None
    lat, lon = float(match.group(1)), float(match.group(2))
    alt = float(match.group(3)) if match.group(3) else None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        return None, None, None
    return lat, lon, alt


def exif_from_container(metadata: dict) -> ExifFacts:
    """ExifFacts from a video container's tags (PyAV `container.metadata`, keys lower-cased here)."""
    meta = {str(k).lower(): str(v) for k, v in (metadata or {}).items()}
    facts = ExifFacts()
    created = meta.get("com.apple.quicktime.creationdate") or meta.get("creation_time") or meta.get("date")
    stamp = _parse_container_time(created)
    if stamp:
        facts.taken_at, facts.taken_at_source = stamp, "container"
    facts.make = (meta.get("com.apple.quicktime.make") or meta.get("com.android.manufacturer")
                  or meta.get("make") or None)
    facts.model = (meta.get("com.apple.quicktime.model") or meta.get("com.android.model")
                   or meta.get("model") or None)
    location = (meta.get("com.apple.quicktime.location.iso6709") or meta.get("location")
                or meta.get("location-eng") or meta.get("\xa9xyz"))
    facts.latitude, facts.longitude, facts.altitude = parse_iso6709(location)
    return facts


def _parse_container_time(text: str | None) -> str | None:
    if not text:
        return None
    value = text.strip().replace("Z", "+00:00")
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        parsed = _parse_date(value)
        return parsed.isoformat() if parsed else None
    if stamp.year < 1971:  # 1904-01-01 / 1970-01-01: the QuickTime / Unix "unset" epochs
        return None
    if stamp.tzinfo is not None and stamp.utcoffset() == timedelta(0) and "+00:00" in value:
        return stamp.replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return stamp.replace(microsecond=0).isoformat()


def mtime_fallback(facts: ExifFacts, mtime: float) -> ExifFacts:
    """Fill taken_at from the file's modification time (local time with offset) when nothing else did."""
    if facts.taken_at is None:
        try:
            facts.taken_at = datetime.fromtimestamp(mtime).astimezone().replace(microsecond=0).isoformat()
            facts.taken_at_source = "mtime"
        except (OverflowError, OSError, ValueError):
            pass
    return facts
