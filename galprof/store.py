"""The SQLite results cache: one row per analyzed file, so a re-scan only analyzes what changed.

A row is valid for a file while its path, size, mtime and `signature` (the model versions and the
settings that change what models see) are unchanged. The database runs in WAL mode and every write
is a short transaction, so a scan killed at any moment (Ctrl-C, kill -9, power loss) leaves a
consistent cache that lost at most the rows not yet committed.

A MediaFacts row is serialized as a small JSON header plus the raw bytes of its numpy arrays
(float32 face embeddings and keypoints; the 1280-d photo embedding as float16, which halves the size
and changes cosine similarities by < 1e-3). `get_state` / `set_state` keep small JSON documents for
later stages (e.g. stable person ids between runs).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import struct
import time
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Self

from galprof.cache_file import APPLICATION, CacheError, open_cache
from galprof.facts import (
    Box,
    ClassScore,
    ExifFacts,
    Face,
    FrameFacts,
    MediaFacts,
    ObjectDetection,
    ScanError,
    SelfieCues,
)

if TYPE_CHECKING:
    import numpy as np

SCHEMA_VERSION = 1
_HEADER = struct.Struct("<4sI")  # magic, JSON header length
_MAGIC = b"GPF1"


def default_cache_path() -> Path:
    """$XDG_CACHE_HOME/galprof/cache.sqlite (~/.cache/galprof/cache.sqlite when unset)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "galprof" / "cache.sqlite"


class FreshRow(NamedTuple):
    """What the cache knows of a file from an intact row: its size and mtime then, kind and format
    (None in rows written before the store kept formats)."""

    size: int
    mtime: float
    kind: str
    format: str | None

    def describes(self, size: int, mtime: float) -> bool:
        """Whether the row was made from the file as it is now (the cache's test of an unchanged file)."""
        return self.size == size and self.mtime == mtime


class Store:
    """The cache database. Use as a context manager or call close().

    create=False opens an existing cache only, never rebuilding or moving it (show, photos, features).
    Raises cache_file.CacheError (one line: path and reason) when the file cannot be used. `notes`
    collects what the caller should report: permissions, a damaged cache moved aside, rows that could
    not be decoded (skipped, so the scan analyzes their files again)."""

    def __init__(self, path: str | os.PathLike | None = None, create: bool = True):
        self.path = Path(path) if path is not None else default_cache_path()
        owned = path is None or os.path.abspath(self.path) == os.path.abspath(default_cache_path())
        self.conn, self.notes = open_cache(self.path, create=create, owned=owned)
        self._unreadable: set[str] = set()
        try:
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: never corrupt, fast commits
            self.conn.execute("PRAGMA busy_timeout=30000")
            self._create(create)
        except sqlite3.Error as exc:
            self.conn.close()
            raise CacheError(f"cannot use the cache {self.path}: {exc}") from None

    def _create(self, create: bool) -> None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() if not create else None
        if not create:
            if row is None or row[0] != str(SCHEMA_VERSION):
                raise CacheError(f"the cache {self.path} was written by another galprof version (layout "
                                 f"{row[0] if row else '?'}, this one reads {SCHEMA_VERSION}): run galprof scan")
            return
        with self._transaction():
            self.conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            row = self.conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            if row is not None and row[0] != str(SCHEMA_VERSION):
                # galprof's own older (or newer) layout: its rows cannot be read, so they are re-analyzed
                self.conn.execute("DROP TABLE IF EXISTS media")
                self.notes.append(ScanError(str(self.path), "cache", f"the cache had layout {row[0]} (this "
                                            f"galprof writes {SCHEMA_VERSION}): its files are analyzed again"))
            self.conn.execute("INSERT OR REPLACE INTO meta VALUES ('application', ?)", (APPLICATION,))
            self.conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS media ("
                " path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime REAL NOT NULL,"
                " signature TEXT NOT NULL, kind TEXT NOT NULL, data BLOB NOT NULL, scanned_at REAL NOT NULL)"
            )
            columns = {row[1] for row in self.conn.execute("PRAGMA table_info(media)")}
            if "crc" not in columns:  # added after the first release: rows without one are decoded to check
                self.conn.execute("ALTER TABLE media ADD COLUMN crc INTEGER")
            if "format" not in columns:  # added later too: rows without one have their files sniffed (once)
                self.conn.execute("ALTER TABLE media ADD COLUMN format TEXT")
            # row_stamps from this index alone: scanned_at lies after the row's blob, so reading it from
            # the table walks every row's overflow pages (the whole cache, 0.07 s at 20 000 rows)
            self.conn.execute("CREATE INDEX IF NOT EXISTS media_stamps"
                              " ON media (path, size, mtime, signature, scanned_at)")
            self.conn.execute("CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL)")

    def take_notes(self) -> list[ScanError]:
        """The notes gathered so far, emptying the list."""
        notes, self.notes = self.notes, []
        return notes

    def _decode(self, path: str, blob, photo_embeddings: bool = True) -> MediaFacts | None:
        """A row's MediaFacts, or None (with a note) for a row that cannot be decoded."""
        try:
            return decode_media(blob, photo_embeddings)
        except Exception as exc:  # noqa: BLE001 - any damage in a row: the row is treated as missing
            self._note_unreadable(path, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
            return None

    def _note_unreadable(self, path: str, reason: str) -> None:
        if path in self._unreadable:  # noted once, though a profile reads every row twice
            return
        self._unreadable.add(path)
        self.notes.append(ScanError(path, "cache", f"unreadable cache row ({reason.rstrip(': ')[:160]}) in "
                                                   f"{self.path}: treated as not analyzed"))

    def _transaction(self):
        return _Transaction(self.conn)

    # --- media rows -------------------------------------------------------------------------------
    def is_fresh(self, path: str, size: int, mtime: float, signature: str) -> bool:
        """True when `path` has a row for this exact size, mtime and analysis signature."""
        row = self.conn.execute("SELECT size, mtime, signature FROM media WHERE path = ?", (path,)).fetchone()
        return row is not None and row[0] == size and row[1] == mtime and row[2] == signature

    def fresh_index(self, signature: str) -> dict[str, FreshRow]:
        """path -> FreshRow(size, mtime, kind, format) for every intact row made with `signature` (one query for
        a whole re-scan), so that a damaged row is analyzed again; format is None in rows written before
        it had a column. A row is checked against the CRC-32 written with it (~1 us); an older row
        without one is decoded (~50 us)."""
        rows = self.conn.execute("SELECT path, size, mtime, kind, format, data, crc FROM media"
                                 " WHERE signature = ?", (signature,))
        return {path: FreshRow(size, mtime, kind, fmt) for path, size, mtime, kind, fmt, data, crc in rows
                if self._intact(path, data, crc)}

    def set_formats(self, formats: Iterable[tuple[str, str]]) -> None:
        """Fill in the format of rows written before it had a column: (path, format) pairs."""
        with self._transaction():
            self.conn.executemany("UPDATE media SET format = ? WHERE path = ?", [(f, p) for p, f in formats])

    def _intact(self, path: str, data, crc: int | None) -> bool:
        if crc is None:
            return self._decode(path, data) is not None
        if isinstance(data, bytes) and zlib.crc32(data) == crc:
            return True
        self._note_unreadable(path, "checksum mismatch")
        return False

    def put(self, media: MediaFacts, signature: str) -> None:
        """Insert or replace the row of one analyzed file, committed at once."""
        blob = encode_media(media)
        with self._transaction():
            self.conn.execute(
                "INSERT OR REPLACE INTO media (path, size, mtime, signature, kind, data, scanned_at, crc,"
                " format) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (media.path, media.size, media.mtime, signature, media.kind, blob, time.time(),
                 zlib.crc32(blob), media.format),
            )

    def get(self, path: str) -> MediaFacts | None:
        """The stored facts of `path`; None when absent or unreadable (noted)."""
        row = self.conn.execute("SELECT data FROM media WHERE path = ?", (path,)).fetchone()
        return self._decode(path, row[0]) if row else None

    def paths(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT path FROM media ORDER BY path")]

    def iter_media(self, paths: Iterable[str] | None = None, photo_embeddings: bool = True) -> Iterator[MediaFacts]:
        """Every stored file (sorted by path), or just `paths` (in their order, skipping absent ones).
        Rows are read one at a time, so memory does not grow with the gallery. photo_embeddings=False
        leaves each frame's 1280-d embedding out (None): a third faster to decode, for readers that
        never look at it (the profile)."""
        if paths is None:
            cursor = self.conn.execute("SELECT path, data FROM media ORDER BY path")
            for path, blob in cursor:
                media = self._decode(path, blob, photo_embeddings)
                if media is not None:
                    yield media
            return
        for path in paths:
            row = self.conn.execute("SELECT data FROM media WHERE path = ?", (path,)).fetchone()
            media = self._decode(path, row[0], photo_embeddings) if row else None
            if media is not None:
                yield media

    def count(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM media").fetchone()[0])

    def remove(self, paths: Iterable[str]) -> int:
        """Delete the rows of these paths; returns how many were deleted."""
        paths = list(paths)
        with self._transaction():
            before = self.conn.total_changes
            self.conn.executemany("DELETE FROM media WHERE path = ?", [(p,) for p in paths])
            return self.conn.total_changes - before

    def paths_under(self, folder: str) -> list[str]:
        """Stored paths inside `folder` (absolute, no trailing slash)."""
        prefix = folder.rstrip(os.sep) + os.sep
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = self.conn.execute("SELECT path FROM media WHERE path LIKE ? ESCAPE '\\'", (escaped + "%",))
        return [r[0] for r in rows if r[0].startswith(prefix)]

    def row_stamps(self, paths: Iterable[str]) -> list[list]:
        """[path, size, mtime, signature, scanned_at] of the stored rows of `paths`, sorted by path: what
        a profile of them depends on (a re-analyzed file has a new scanned_at)."""
        wanted = set(paths)
        rows = self.conn.execute("SELECT path, size, mtime, signature, scanned_at FROM media ORDER BY path")
        return [list(row) for row in rows if row[0] in wanted]

    # --- small JSON state ---------------------------------------------------------------------------
    def get_state(self, key: str) -> dict | None:
        row = self.conn.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def state_stamp(self, exclude_prefix: str | tuple[str, ...]) -> str:
        """A digest of every state document whose key does not start with `exclude_prefix` (or any of them)."""
        digest = hashlib.sha256()
        for key, value in self.conn.execute("SELECT key, value FROM state ORDER BY key"):
            if not key.startswith(exclude_prefix):
                digest.update(f"{len(key)}:{key}{len(value)}:{value}".encode())
        return digest.hexdigest()

    def set_state(self, key: str, value: dict) -> None:
        with self._transaction():
            self.conn.execute("INSERT OR REPLACE INTO state VALUES (?, ?)", (key, json.dumps(value)))

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def __enter__(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, exc, tb) -> None:
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")


# --- serialization ------------------------------------------------------------------------------------

def encode_media(media: MediaFacts) -> bytes:
    """MediaFacts -> bytes: JSON header (arrays replaced by [offset, dtype, shape]) + array bytes."""
    import numpy as np  # here: an unchanged re-scan opens the cache without reading a row's arrays
    chunks: list[bytes] = []
    offset = 0

    def array(value: np.ndarray | None, dtype: str) -> list | None:
        nonlocal offset
        if value is None:
            return None
        data = np.ascontiguousarray(value, dtype=dtype)
        raw = data.tobytes()
        chunks.append(raw)
        ref = [offset, dtype, list(data.shape)]
        offset += len(raw)
        return ref

    frames = []
    for frame in media.frames:
        frames.append({
            "width": frame.width, "height": frame.height, "timestamp": frame.timestamp, "text": frame.text,
            "analyzed": frame.analyzed, "kept_local": frame.kept_local,
            "selfie": None if frame.selfie is None else asdict(frame.selfie),
            "objects": [[o.label, o.score, _box(o.box)] for o in frame.objects],
            "classes": [[c.label, c.score] for c in frame.classes],
            "embedding": array(frame.embedding, "float16"),
            "faces": [{
                "box": _box(f.box), "score": f.score, "keypoints": array(f.keypoints, "float32"),
                "embedding": array(f.embedding, "float32"), "age": f.age,
                "female_probability": f.female_probability,
            } for f in frame.faces],
        })
    header = {
        "path": media.path, "kind": media.kind, "format": media.format, "size": media.size,
        "mtime": media.mtime, "exif": asdict(media.exif), "duration": media.duration, "fps": media.fps,
        "frames": frames,
    }
    head = json.dumps(header, separators=(",", ":"), default=_json_default).encode("utf-8")
    return _HEADER.pack(_MAGIC, len(head)) + head + b"".join(chunks)


def _json_default(value):
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot store {type(value).__name__}")


def _box(box: Box) -> list[float]:
    return [float(box.x1), float(box.y1), float(box.x2), float(box.y2)]


def decode_media(blob: bytes, photo_embeddings: bool = True) -> MediaFacts:
    """bytes -> MediaFacts; raises (ValueError, KeyError, TypeError, struct.error, ...) on a damaged row.
    photo_embeddings=False: frames get embedding None (the row's bytes are not read for it)."""
    import numpy as np

    if not isinstance(blob, bytes):
        raise TypeError(f"a {type(blob).__name__} value where the row's bytes were expected")
    magic, length = _HEADER.unpack_from(blob, 0)
    if magic != _MAGIC:
        raise ValueError("not a galprof cache row")
    start = _HEADER.size
    header = json.loads(blob[start:start + length].decode("utf-8"))
    body = memoryview(blob)[start + length:]

    def array(ref: list | None) -> np.ndarray | None:
        if ref is None:
            return None
        offset, dtype, shape = ref
        count = int(np.prod(shape)) if shape else 1
        data = np.frombuffer(body, dtype=dtype, count=count, offset=offset).reshape(shape)
        return data.astype(np.float32)  # a writable float32 copy

    frames = []
    for fr in header["frames"]:
        frames.append(FrameFacts(
            width=fr["width"], height=fr["height"], timestamp=fr["timestamp"], text=fr["text"],
            analyzed=fr.get("analyzed", "local"), kept_local=fr.get("kept_local"),
            selfie=SelfieCues(**fr["selfie"]) if fr.get("selfie") else None,
            objects=[ObjectDetection(label, score, Box(*box)) for label, score, box in fr["objects"]],
            classes=[ClassScore(label, score) for label, score in fr["classes"]],
            embedding=array(fr["embedding"]) if photo_embeddings else None,
            faces=[Face(box=Box(*f["box"]), score=f["score"], keypoints=array(f["keypoints"]),
                        embedding=array(f["embedding"]), age=f["age"],
                        female_probability=f["female_probability"]) for f in fr["faces"]],
        ))
    return MediaFacts(path=header["path"], kind=header["kind"], format=header["format"], size=header["size"],
                      mtime=header["mtime"], exif=ExifFacts(**header["exif"]), frames=frames,
                      duration=header["duration"], fps=header["fps"])
