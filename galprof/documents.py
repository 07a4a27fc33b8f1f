"""Profile documents for `show`, `photos` and `features`: from a saved profile JSON (checked against
the bundled schema first, so a crafted or foreign file is one clear error rather than a KeyError) or
rebuilt from a cache database; and the photo selections of `galprof photos`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from galprof.errors import UsageError
from galprof.photo_rows import plain
from galprof.render.safe import safe_text


def is_sqlite(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


def load_document(source: Path | None, note: Callable[[str], None] | None = None) -> dict[str, Any]:
    """A profile document from a saved profile JSON or from a cache database (default: the user cache).
    UsageError when the source is neither or is not a valid profile. `note` gets progress messages."""
    from galprof.store import default_cache_path

    path = source or default_cache_path()
    shown = safe_text(path)
    if not path.is_file():
        raise UsageError(f"no such profile or cache: {shown}")
    if is_sqlite(path):
        return _from_cache(path, note)
    from galprof.validate import check, parse_json

    try:
        data = parse_json(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read {shown}: {exc.strerror or exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"{shown} is neither a galprof profile (JSON) nor a cache database: {exc}") from None
    if not isinstance(data, dict) or "schema_version" not in data:
        raise UsageError(f"{shown} is not a galprof profile (no schema_version)")
    return check(data, "profile-v1", f"{shown} is not a valid galprof profile")


def _from_cache(path: Path, note: Callable[[str], None] | None) -> dict[str, Any]:
    from galprof.cache_file import CacheError
    from galprof.config import Settings
    from galprof.profile import profile_from_store
    from galprof.store import Store

    if note is not None:
        note(f"galprof: building the profile from the cache {safe_text(path)}")
    try:
        with Store(path, create=False) as store:
            for warning in store.take_notes():  # e.g. readable by other users
                print(f"warning: {safe_text(warning.path)}: {safe_text(warning.reason)}", file=sys.stderr)
            document = profile_from_store(store, Settings())
    except CacheError as exc:  # damaged, foreign, another version: the message names the path
        raise UsageError(safe_text(exc)) from None
    except Exception as exc:  # noqa: BLE001 - a damaged or foreign database: one line, exit 2
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UsageError(f"cannot read the cache {safe_text(path)}: {safe_text(first)}") from None
    # show, photos and report read the rows many times over: decoded once (photo_rows.PhotoRows)
    document["photos"] = plain(document["photos"])
    return document


def select_photos(document: dict[str, Any], category: str | None = None, subcategory: str | None = None,
                  person: int | None = None, private: bool | None = None) -> tuple[list[dict], str]:
    """The photo entries behind a category, a person and/or a privacy status, and a title for them."""
    rows = document["photos"]
    title = []
    if category is not None:
        from galprof.analysis.interests import Taxonomy

        taxonomy = Taxonomy.load(document["settings"].get("taxonomy"))
        cat = taxonomy.category(category)
        if cat is None:
            raise UsageError(safe_text(f"unknown category {category!r}; categories: "
                                       + ", ".join(c.id for c in taxonomy.categories)))
        rows = [r for r in rows if cat.id in r["categories"]]
        if subcategory is not None:
            rows = [r for r in rows if subcategory in r["categories"][cat.id]]
        known = {c["id"]: c for c in document["interests"]["categories"]}
        title.append(f"{cat.label} ({len(rows)} of {known.get(cat.id, {}).get('photos', 0)} counted)")
    if person is not None:
        if not any(p["id"] == person for p in document["people"]):
            raise UsageError(f"no person {person}; people: "
                             + ", ".join(str(p["id"]) for p in document["people"][:30]))
        rows = [r for r in rows if person in r["people"]]
        title.append(f"person {person}")
    if private is not None:
        wanted = "private" if private else "public"
        rows = [r for r in rows if r["privacy"]["status"] == wanted]
        title.append(wanted)
    return rows, ", ".join(title)
