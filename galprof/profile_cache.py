"""An unchanged re-scan reads and prints: the profile of a scan whose inputs did not change is taken
from the cache instead of being rebuilt (people clustering, aggregation, places).

The key covers everything a profile is made from: every stored row of the gallery (path, size, mtime,
analysis signature and when it was written), the files that failed and the notes of this scan, the
settings (and the size and mtime of every file a setting names: a taxonomy, a labels file, a model),
the small state of the later stages (stable person ids and whatever else they keep), the galprof and
schema versions. It is taken after a profile is built (the people stage updates its state while
building), so the next scan finds it unchanged only when nothing changed. One document is kept per
scanned folder.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import time
from json.encoder import encode_basestring_ascii as _quote  # how json.dumps writes a str
from typing import Any

from galprof import PROFILE_SCHEMA_VERSION, __version__
from galprof.config import Settings
from galprof.photo_rows import PhotoRows

STATE_PREFIX = "profile.document:"
# The scan's own bookkeeping (the inline engine's in-flight marker, written only by scans that use that
# engine) is no input of the profile: keying on it made the re-scan after a pool scan rebuild it.
NOT_PROFILE_STATE = (STATE_PREFIX, "pipeline.")
RUN_FIELDS = ("created_at", "timings", "scan")  # describe the run, not the gallery: always fresh
PHOTO_PIECE = 2000  # photo rows per stored piece of the document (~1 MB of JSON)


def profile_for_scan(result: Any, settings: Settings, quiet: bool = True) -> dict[str, Any]:
    """The profile of a finished scan (pipeline.ScanResult): reused when its key is unchanged."""
    started = time.perf_counter()
    store, state_key = result.store, STATE_PREFIX + result.folder
    saved = store.get_state(state_key)
    if saved and saved.get("key") == profile_key(result, settings, PROFILE_SCHEMA_VERSION):
        document = _with_stored_photos(store, state_key, saved)
        fresh = build_run_fields(result)
        document.update(fresh)
        document["timings"]["profile"] = {"total": round(time.perf_counter() - started, 3)}
        document["scan"]["profile_reused"] = True
        return document
    if not quiet:
        print(f"galprof: building the profile of {len(result.paths)} files (people, interests, privacy, "
              "places)", file=sys.stderr, flush=True)
    from galprof.profile import build_profile

    document = build_profile(result, settings, quiet)
    stale = int(saved.get("photo_pieces", 0)) if saved else 0
    _store_document(store, state_key, profile_key(result, settings, PROFILE_SCHEMA_VERSION), document, stale)
    return document


def _store_document(store: Any, state_key: str, key: str, document: dict[str, Any], stale: int = 0) -> None:
    """Keep the document for the next unchanged scan: its `photos` rows in pieces of PHOTO_PIECE rows (state
    keys STATE_KEY#photos:N; rows kept as text, photo_rows.PhotoRows, stored as their texts), so the JSON
    text of a 100 000-photo document (~65 MB, and SQLite's copy of it while binding) is never made
    whole; the rest in STATE_KEY, "photos" keeping its place as null. Pieces of the previous document past
    the new ones (`stale` of them in all) are emptied, so no old rows linger in the cache."""
    photos = document["photos"]
    pieces = 0
    for start in range(0, len(photos), PHOTO_PIECE):
        piece = ({"texts": photos.texts()[start:start + PHOTO_PIECE]} if isinstance(photos, PhotoRows)
                 else {"photos": photos[start:start + PHOTO_PIECE]})
        store.set_state(f"{state_key}#photos:{pieces}", piece)
        pieces += 1
    for n in range(pieces, stale):
        store.set_state(f"{state_key}#photos:{n}", {})
    cached = {k: (None if k == "photos" else v) for k, v in document.items() if k not in RUN_FIELDS}
    store.set_state(state_key, {"key": key, "document": cached, "photo_pieces": pieces})


def _with_stored_photos(store: Any, state_key: str, saved: dict[str, Any]) -> dict[str, Any]:
    """The stored document with its photo rows put back (a document stored whole, before pieces, as it is)."""
    document = saved["document"]
    if "photo_pieces" in saved:
        rows: list = []
        texts: list[str] = []
        for n in range(int(saved["photo_pieces"])):
            piece = store.get_state(f"{state_key}#photos:{n}") or {}
            rows.extend(piece.get("photos", []))
            texts.extend(piece.get("texts", []))
        document["photos"] = PhotoRows.from_texts(texts) if texts else rows
    return document


def build_run_fields(result: Any) -> dict[str, Any]:
    from datetime import UTC, datetime

    stats = json.loads(json.dumps(getattr(result, "stats", {}) or {}, default=str))
    return {"created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "timings": {"scan": stats.get("seconds", {})}, "scan": stats}


def profile_key(result: Any, settings: Settings, schema_version: str) -> str:
    digest = hashlib.sha256()
    head = {
        "galprof": __version__, "schema": schema_version, "root": result.folder,
        "signature": result.signature, "settings": settings.to_dict(), "named_files": _named_files(settings),
        "errors": [[e.path, e.stage, e.reason] for e in result.errors],
        "notes": [[n.path, n.stage, n.reason] for n in result.warnings],
        "state": result.store.state_stamp(exclude_prefix=NOT_PROFILE_STATE),
    }
    digest.update(json.dumps(head, sort_keys=True, default=str).encode())
    digest.update("".join(map(_stamp_text, result.store.row_stamps(result.paths))).encode())
    return digest.hexdigest()


def _stamp_text(row: list) -> str:
    """json.dumps(row) of a [path, size, mtime, signature, scanned_at] row, made directly for the usual
    types (7x faster: 20 000 rows per unchanged re-scan); any other row through json.dumps."""
    path, size, mtime, signature, scanned_at = row
    if (type(path) is str and type(size) is int and type(mtime) is float and type(signature) is str
            and type(scanned_at) is float and math.isfinite(mtime) and math.isfinite(scanned_at)):
        return f"[{_quote(path)}, {size}, {mtime!r}, {_quote(signature)}, {scanned_at!r}]"
    return json.dumps(row)


def _named_files(settings: Settings) -> dict[str, list[float]]:
    """Size and mtime of every file a setting names (a changed taxonomy or model changes the profile)."""
    named = {}
    for name, value in settings.to_dict().items():
        if isinstance(value, str) and value:
            try:
                st = os.stat(value)
            except (OSError, ValueError):
                continue
            named[name] = [st.st_size, st.st_mtime]
    return named
