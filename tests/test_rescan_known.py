"""A re-scan does not open the files its cache knows unchanged; new and changed files are sniffed as ever.

Discovery learns the kind and format of a file whose path, size and mtime match an intact cache row from
that row (discover's `known`), so an unchanged re-scan only lists folders and stats files. The reads are
counted by wrapping discover's `_read_head` (as root, a mode-000 file is still readable).
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import galprof.media.discover as discover_module
from galprof.config import Settings
from galprof.media.discover import MediaItem, discover
from galprof.pipeline import scan
from galprof.profile_cache import _stamp_text
from galprof.store import Store
from tests.media_factory import image_bytes
from tests.scan_fakes import color_factory, color_gallery


@pytest.fixture
def head_reads(monkeypatch) -> list[str]:
    """The paths discovery opens for their first bytes, in order."""
    opened: list[str] = []
    read = discover_module._read_head

    def counting(path: str) -> bytes:
        opened.append(os.path.basename(path))
        return read(path)

    monkeypatch.setattr(discover_module, "_read_head", counting)
    return opened


def _scan(gallery: Path, cache: Path):
    result = scan(gallery, Settings(workers=1), cache_path=cache, quiet=True, analyzer_factory=color_factory)
    result.store.close()
    return result


def test_unchanged_files_are_not_opened(tmp_path, head_reads):
    gallery, cache = color_gallery(tmp_path / "g"), tmp_path / "c.sqlite"
    first = _scan(gallery, cache)
    assert first.stats["analyzed"] == 6 and sorted(head_reads) == [f"p{i}.png" for i in range(6)]
    head_reads.clear()
    again = _scan(gallery, cache)
    assert head_reads == []
    assert (again.stats["cached"], again.stats["analyzed"], again.errors) == (6, 0, [])
    assert again.paths == first.paths


def test_a_known_file_that_cannot_be_read_is_still_unchanged(tmp_path, monkeypatch):
    gallery, cache = color_gallery(tmp_path / "g"), tmp_path / "c.sqlite"
    _scan(gallery, cache)

    def unreadable(path: str) -> bytes:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(discover_module, "_read_head", unreadable)
    again = _scan(gallery, cache)
    assert (again.stats["cached"], again.errors) == (6, [])
    (gallery / "new.png").write_bytes(image_bytes("PNG", np.full((16, 16, 3), 200, np.uint8)))
    third = _scan(gallery, cache)  # a new file is opened: its error says so
    assert [(Path(e.path).name, e.stage, e.reason) for e in third.errors] == [
        ("new.png", "discover", "cannot read: Permission denied")]


def test_a_changed_file_is_sniffed_again_and_its_new_kind_found(tmp_path, head_reads):
    gallery, cache = color_gallery(tmp_path / "g"), tmp_path / "c.sqlite"
    _scan(gallery, cache)
    head_reads.clear()
    (gallery / "p2.png").write_bytes(image_bytes("JPEG", np.full((24, 24, 3), 90, np.uint8)))  # a JPEG named .png
    os.utime(gallery / "p2.png", (1_000_000, 1_000_000))
    (gallery / "p4.png").write_bytes(b"not a picture any more, and not the same size")
    again = _scan(gallery, cache)
    assert sorted(head_reads) == ["p2.png", "p4.png"]
    assert again.stats["cached"] == 4 and again.stats["analyzed"] == 1
    assert [(Path(e.path).name, e.stage) for e in again.errors] == [("p4.png", "discover")]
    assert "not a photo or video" in again.errors[0].reason
    assert [Path(n.path).name for n in again.warnings if "content is jpeg" in n.reason] == ["p2.png"]
    with Store(cache) as store:
        media = store.get(str(gallery / "p2.png"))
        assert (media.kind, media.format) == ("photo", "jpeg")
        assert store.get(str(gallery / "p4.png")) is None
        assert store.fresh_index(color_factory.signature)[str(gallery / "p2.png")][2:] == ("photo", "jpeg")


def test_same_size_and_mtime_is_the_cache_s_unchanged_test(tmp_path, head_reads):
    """A file rewritten with its size and mtime restored keeps its row, so it keeps its kind too."""
    gallery, cache = color_gallery(tmp_path / "g"), tmp_path / "c.sqlite"
    _scan(gallery, cache)
    path = gallery / "p1.png"
    st = os.stat(path)
    path.write_bytes(bytes(st.st_size))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    head_reads.clear()
    again = _scan(gallery, cache)
    assert head_reads == [] and again.stats["cached"] == 6 and not again.errors
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1000))  # one microsecond later: opened, and failing
    third = _scan(gallery, cache)
    assert head_reads == ["p1.png"] and [Path(e.path).name for e in third.errors] == ["p1.png"]


def test_rows_without_a_format_are_sniffed_once_then_known(tmp_path, head_reads):
    """A cache written before rows kept their format: its files are opened on the first re-scan only."""
    gallery, cache = color_gallery(tmp_path / "g"), tmp_path / "c.sqlite"
    _scan(gallery, cache)
    with sqlite3.connect(cache) as conn:
        conn.execute("UPDATE media SET format = NULL")
    head_reads.clear()
    again = _scan(gallery, cache)
    assert len(head_reads) == 6 and again.stats["cached"] == 6
    with sqlite3.connect(cache) as conn:
        assert conn.execute("SELECT DISTINCT format FROM media").fetchall() == [("png",)]
    head_reads.clear()
    assert _scan(gallery, cache).stats["cached"] == 6 and head_reads == []


def test_discover_takes_known_kinds_only_for_a_matching_size_and_mtime(tmp_path, head_reads):
    (tmp_path / "a.jpg").write_bytes(image_bytes("JPEG"))
    (tmp_path / "b.jpg").write_bytes(image_bytes("PNG"))
    (tmp_path / "c.jpg").write_bytes(image_bytes("JPEG"))
    stats = {name: os.stat(tmp_path / name) for name in ("a.jpg", "b.jpg", "c.jpg")}
    told = {str(tmp_path / "a.jpg"): (stats["a.jpg"].st_size, stats["a.jpg"].st_mtime, ("photo", "jpeg")),
            str(tmp_path / "b.jpg"): (stats["b.jpg"].st_size + 1, stats["b.jpg"].st_mtime, ("photo", "jpeg"))}

    def known(display: str, size: int, mtime: float):
        row = told.get(display)
        return row[2] if row and row[:2] == (size, mtime) else None

    found = {Path(f.path).name: f for f in discover(tmp_path, known=known)}
    assert sorted(head_reads) == ["b.jpg", "c.jpg"]
    assert all(isinstance(f, MediaItem) for f in found.values())
    assert {n: (f.kind, f.format) for n, f in found.items()} == {
        "a.jpg": ("photo", "jpeg"), "b.jpg": ("photo", "png"), "c.jpg": ("photo", "jpeg")}
    assert found["a.jpg"].size == stats["a.jpg"].st_size and found["a.jpg"].mtime == stats["a.jpg"].st_mtime


def test_an_old_cache_gets_the_format_column_and_the_stamps_index(tmp_path):
    cache = tmp_path / "c.sqlite"
    with Store(cache):
        pass
    with sqlite3.connect(cache) as conn:
        conn.execute("DROP INDEX media_stamps")
        conn.execute("ALTER TABLE media DROP COLUMN format")
    with Store(cache) as store:
        columns = {row[1] for row in store.conn.execute("PRAGMA table_info(media)")}
        plan = store.conn.execute("EXPLAIN QUERY PLAN SELECT path, size, mtime, signature, scanned_at FROM media"
                                  " ORDER BY path").fetchall()
    assert "format" in columns
    assert "COVERING INDEX media_stamps" in " ".join(str(step[-1]) for step in plan)  # no row's blob read


@pytest.mark.parametrize("row", [
    ["/g/a.jpg", 123, 1700000000.123456, "sig", 1764600000.5],
    ['/g/"quoted"\\back\\slash.jpg', 0, 0.0, "s", 1.0],
    ["/g/caf\u00e9 \u65e5\u672c \U0001f600 \x07.jpg", 2**62, -1.5e-7, "s\u00e9", 1e16],
    ["/g/b.jpg", 5, 1700000000, "sig", 1.0],  # an integer mtime: json.dumps' own text
    ["/g/c.jpg", True, 1.0, "sig", 2.0],
    ["/g/d.jpg", 5, math.inf, "sig", 2.0],
    [None, 5, 1.0, None, None],
])
def test_stamp_text_is_json_dumps(row):
    assert _stamp_text(row) == json.dumps(row)


def test_a_quiet_rescan_does_not_import_tqdm(tmp_path):
    gallery, cache = color_gallery(tmp_path / "g"), tmp_path / "c.sqlite"
    _scan(gallery, cache)
    code = ("import sys; from galprof.config import Settings; from galprof.pipeline import scan; "
            "from tests.scan_fakes import color_factory; "
            f"r = scan({str(gallery)!r}, Settings(workers=1), cache_path={str(cache)!r}, quiet=True, "
            "analyzer_factory=color_factory); r.store.close(); "
            "print(r.stats['cached'], 'tqdm' in sys.modules)")
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, cwd=root,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(root)})
    assert done.stdout.split() == ["6", "False"], done.stderr[-2000:]
