"""Opening the cache database file safely: private permissions, never writing into someone else's
SQLite file, and moving a damaged cache aside instead of crashing on it.

The cache holds face embeddings, GPS positions and OCR text, so galprof creates its folder 0700 and
the database 0600 (SQLite gives the -wal and -shm files the mode of the database). Existing files or
galprof's own folder readable by others are reported with the chmod that fixes them, not changed.

A file is a galprof cache when its `meta` table says application = galprof (caches written before
that key: a `meta` table with a `schema` key and no tables but meta, media, state). An empty or
zero-byte file is a new cache. Anything else is refused untouched. A galprof cache that SQLite reports
as malformed (or that fails PRAGMA quick_check) is renamed to `<name>.corrupt-<time>` (with its -wal
and -shm) and a new one is started: it is only a cache, and the moved file can still be inspected.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import time
from pathlib import Path

from galprof.facts import ScanError

APPLICATION = "galprof"
SQLITE_MAGIC = b"SQLite format 3\x00"
LEGACY_TABLES = {"meta", "media", "state"}
# The start of the media table's DDL, kept verbatim in sqlite_master (page 1): evidence that a file
# whose header or schema SQLite cannot read any more was a galprof cache.
DDL_MARK = b"CREATE TABLE media ( path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime REAL NOT NULL,"


class CacheError(Exception):
    """The cache cannot be used: a one-line message naming the path and the reason."""


def open_cache(path: Path, create: bool, owned: bool) -> tuple[sqlite3.Connection, list[ScanError]]:
    """An open connection to the galprof cache at `path`, and notes about it (permissions, a damaged
    cache moved aside). create=False: the cache must exist and is never moved or rebuilt (show,
    photos). owned: the path is galprof's default location, whose folder galprof owns."""
    notes: list[ScanError] = []
    _prepare_folder(path.parent, create, owned, notes)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        size = None
    if size is None and not create:
        raise CacheError(f"no such cache: {path}")
    if size:
        notes.extend(_readable_by_others(path))
        if _head(path) != SQLITE_MAGIC:
            return _damaged(path, "not a SQLite database", create, owned, notes)
    elif size is None:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        conn = sqlite3.connect(path, timeout=30.0, isolation_level=None)
    except sqlite3.Error as exc:
        raise CacheError(f"cannot open the cache {path}: {exc}") from None
    try:
        kind = _identify(conn)
    except sqlite3.DatabaseError as exc:
        conn.close()
        return _damaged(path, str(exc).splitlines()[0] if str(exc) else type(exc).__name__, create, owned, notes)
    if kind == "foreign":
        tables = ", ".join(_tables(conn)[:5])
        conn.close()
        raise CacheError(f"{path} is not a galprof cache (another application's SQLite database, tables: "
                         f"{tables}); left untouched: choose another --cache file")
    if kind == "new" and not create:
        conn.close()
        raise CacheError(f"{path} is an empty database, not a galprof cache")
    return conn, notes


def _prepare_folder(folder: Path, create: bool, owned: bool, notes: list[ScanError]) -> None:
    if folder.is_dir():
        mode = folder.stat().st_mode
        if owned and mode & 0o077:
            notes.append(ScanError(str(folder), "cache", f"the cache folder can be read by other users "
                                                         f"(mode {stat.S_IMODE(mode):o}): chmod 700 {folder}"))
        return
    if not create:
        raise CacheError(f"no such cache folder: {folder}")
    try:
        folder.mkdir(parents=True, mode=0o700)  # only the last folder gets the mode: the user's stay theirs
        os.chmod(folder, 0o700)  # in case a umask took bits away
    except OSError as exc:
        raise CacheError(f"cannot create the cache folder {folder}: {exc.strerror or exc}") from None


def _readable_by_others(path: Path) -> list[ScanError]:
    notes = []
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            mode = stat.S_IMODE(name.stat().st_mode)
        except OSError:
            continue
        if mode & 0o077:
            notes.append(ScanError(str(name), "cache", f"the cache file can be read by other users (mode {mode:o}): "
                                                       f"chmod 600 {name}"))
    return notes


def _head(path: Path, size: int = 16) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(size)
    except OSError as exc:
        raise CacheError(f"cannot read the cache {path}: {exc.strerror or exc}") from None


def _tables(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]


def _identify(conn: sqlite3.Connection) -> str:
    """'new' (no tables), 'galprof' (checked with quick_check) or 'foreign'. Raises sqlite3.DatabaseError
    for a damaged file."""
    tables = _tables(conn)
    if not tables:
        return "new"
    if "meta" not in tables:
        return "foreign"
    try:
        meta = dict(conn.execute("SELECT key, value FROM meta"))
    except sqlite3.OperationalError:  # a `meta` table of another layout
        return "foreign"
    legacy = "application" not in meta and "schema" in meta and set(tables) <= LEGACY_TABLES
    if meta.get("application") != APPLICATION and not legacy:
        return "foreign"
    problems = [r[0] for r in conn.execute("PRAGMA quick_check(3)")]
    if problems != ["ok"]:
        raise sqlite3.DatabaseError(f"database disk image is malformed ({problems[0]})")
    return "galprof"


def _damaged(path: Path, reason: str, create: bool, owned: bool,
             notes: list[ScanError]) -> tuple[sqlite3.Connection, list[ScanError]]:
    """Move a damaged galprof cache aside and open a new one; refuse anything that may not be ours."""
    if not create:
        raise CacheError(f"cannot read the cache {path}: {reason} (`galprof scan` moves it aside and rebuilds it)")
    if not owned and DDL_MARK not in _head(path, 1 << 16):
        raise CacheError(f"cannot read the cache {path}: {reason}; it may not be a galprof cache, so it was "
                         f"left untouched: remove it or choose another --cache file")
    aside = move_aside(path)
    notes.append(ScanError(str(path), "cache", f"the cache was damaged ({reason}): moved it aside to {aside} "
                                               f"and started a new one (every file is analyzed again)"))
    conn, more = open_cache(path, create=True, owned=owned)
    return conn, notes + more


def move_aside(path: Path) -> Path:
    """Rename the database and its -wal/-shm to <name>.corrupt-<time>[-wal|-shm]; returns the new name."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while aside.exists():
        n += 1
        aside = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    for suffix in ("-wal", "-shm", ""):  # the database last: a crash in between leaves it in place
        source = Path(f"{path}{suffix}")
        if source.exists():
            try:
                os.replace(source, f"{aside}{suffix}")
            except OSError as exc:
                raise CacheError(f"the cache {path} is damaged and cannot be moved aside: "
                                 f"{exc.strerror or exc}") from None
    return aside
