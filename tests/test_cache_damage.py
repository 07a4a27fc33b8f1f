"""The cache file: private permissions, a damaged cache never crashes a scan (damaged rows are analyzed
again, a malformed database is moved aside and rebuilt), another application's SQLite file is refused
untouched, and show / photos report a damaged cache in one line."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from galprof.cache_file import CacheError
from galprof.cli import main
from galprof.config import Settings
from galprof.pipeline import ScanUsageError, scan
from galprof.profile import profile_from_store
from galprof.store import Store
from tests.scan_fakes import color_factory, color_gallery


def _scan(gallery: Path, cache: Path | None):
    result = scan(gallery, Settings(workers=1), cache_path=cache, quiet=True, analyzer_factory=color_factory)
    result.store.close()
    return result


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _notes(result, word: str) -> list[str]:
    return [f"{n.path}: {n.reason}" for n in result.warnings if word in n.reason]


# --- permissions -----------------------------------------------------------------------------------

def test_new_cache_folder_and_files_are_private(tmp_path):
    cache = tmp_path / "made" / "by" / "galprof" / "cache.sqlite"
    old_umask = os.umask(0o022)
    try:
        with Store(cache) as store:
            store.set_state("k", {"v": 1})
            assert _mode(cache.parent) == 0o700 and _mode(cache) == 0o600
            assert _mode(Path(f"{cache}-wal")) == 0o600 and _mode(Path(f"{cache}-shm")) == 0o600
    finally:
        os.umask(old_umask)
    assert _mode(tmp_path / "made") == 0o755  # folders above the cache's own keep the user's umask


def test_user_folder_is_not_chmodded(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    with Store(folder / "c.sqlite") as store:
        assert store.notes == []  # a user-chosen folder is theirs: not judged
    assert _mode(folder) == 0o755 and _mode(folder / "c.sqlite") == 0o600


def test_readable_cache_and_default_folder_are_reported(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    (tmp_path / "galprof").mkdir(mode=0o755)
    os.chmod(tmp_path / "galprof", 0o755)  # as older galprof versions made it
    cache = tmp_path / "galprof" / "cache.sqlite"
    Store().close()
    os.chmod(cache, 0o644)
    with Store() as store:
        reasons = {n.path: n.reason for n in store.take_notes()}
    assert f"chmod 600 {cache}" in reasons[str(cache)]
    assert f"chmod 700 {cache.parent}" in reasons[str(cache.parent)]
    assert _mode(cache) == 0o644  # reported, not changed


# --- damaged caches ----------------------------------------------------------------------------------

def _smash_middle_pages(cache: Path) -> None:
    data = bytearray(cache.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    assert len(data) >= 4 * page
    for i in range(page, len(data) - page):
        data[i] = (i * 151 + 7) % 256
    cache.write_bytes(bytes(data))


def test_garbage_pages_move_the_cache_aside_and_rebuild(tmp_path):
    gallery = color_gallery(tmp_path / "g", n=12)
    cache = tmp_path / "c.sqlite"
    _scan(gallery, cache)
    _smash_middle_pages(cache)
    damaged = cache.read_bytes()

    result = _scan(gallery, cache)
    assert result.stats["analyzed"] == 12 and result.errors == []
    (note,) = _notes(result, "moved it aside")
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("c.sqlite.corrupt-")]
    assert [p.name for p in aside if not p.name.endswith(("-wal", "-shm"))] != []
    main_aside = next(p for p in aside if not p.name.endswith(("-wal", "-shm")))
    assert str(cache) in note and str(main_aside) in note
    assert main_aside.read_bytes() == damaged
    assert _scan(gallery, cache).stats["cached"] == 12  # the new cache works


def test_show_and_photos_on_a_damaged_cache_say_one_line(tmp_path):
    gallery = color_gallery(tmp_path / "g", n=12)
    cache = tmp_path / "c.sqlite"
    _scan(gallery, cache)
    _smash_middle_pages(cache)
    damaged = cache.read_bytes()
    for args in (["show", str(cache)], ["photos", str(cache), "--private"]):
        out = CliRunner().invoke(main, args)
        assert out.exit_code == 2 and isinstance(out.exception, SystemExit), out.output
        errors = [line for line in out.output.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and str(cache) in errors[0] and "malformed" in errors[0], out.output
        assert "Traceback" not in out.output
    assert cache.read_bytes() == damaged  # show never moves or rebuilds


def test_undecodable_rows_are_analyzed_again_with_a_note(tmp_path):
    gallery = color_gallery(tmp_path / "g")
    cache = tmp_path / "c.sqlite"
    _scan(gallery, cache)
    bad_blob, text_value = str(gallery / "p1.png"), str(gallery / "p4.png")
    conn = sqlite3.connect(cache)
    conn.execute("UPDATE media SET data = ? WHERE path = ?", (b"GPF1\x05\x00\x00\x00{bad", bad_blob))
    conn.execute("UPDATE media SET data = 'some text' WHERE path = ?", (text_value,))
    conn.commit()
    conn.close()

    result = _scan(gallery, cache)
    assert result.stats["analyzed"] == 2 and result.stats["cached"] == 4 and result.errors == []
    noted = {n.path for n in result.warnings if "unreadable cache row" in n.reason}
    assert noted == {bad_blob, text_value}
    again = _scan(gallery, cache)
    assert again.stats["analyzed"] == 0 and again.warnings == []


def test_profile_skips_an_undecodable_row_with_a_note(tmp_path):
    cache = tmp_path / "c.sqlite"
    _scan(color_gallery(tmp_path / "g"), cache)
    conn = sqlite3.connect(cache)
    conn.execute("UPDATE media SET data = x'00' WHERE path = ?", (str(tmp_path / "g" / "p2.png"),))
    conn.commit()
    conn.close()
    with Store(cache, create=False) as store:
        assert store.get(str(tmp_path / "g" / "p2.png")) is None
        doc = profile_from_store(store)
    assert len(doc["photos"]) == 5
    assert [n["path"] for n in doc["notes"]] == [str(tmp_path / "g" / "p2.png")]


def test_broken_header_of_a_galprof_cache_is_moved_aside(tmp_path):
    gallery = color_gallery(tmp_path / "g")
    cache = tmp_path / "c.sqlite"
    _scan(gallery, cache)
    data = cache.read_bytes()
    cache.write_bytes(b"\xff" * 100 + data[100:])  # "file is not a database", page 1 text intact
    result = _scan(gallery, cache)
    assert result.stats["analyzed"] == 6 and _notes(result, "moved it aside")


# --- files that are not galprof caches --------------------------------------------------------------

def _foreign_db(path: Path, meta: bool = False) -> bytes:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("INSERT INTO users (name) VALUES ('ada')")
    if meta:
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        conn.execute("INSERT INTO meta VALUES ('schema', '7')")
    conn.commit()
    conn.close()
    return path.read_bytes()


@pytest.mark.parametrize("meta", [False, True])
def test_another_applications_database_is_refused_untouched(tmp_path, meta):
    gallery = color_gallery(tmp_path / "g", n=2)
    other = tmp_path / "app.db"
    before = _foreign_db(other, meta)
    with pytest.raises(ScanUsageError, match="not a galprof cache"):
        _scan(gallery, other)
    assert other.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.db", "g"]  # no -wal, nothing moved aside
    out = CliRunner().invoke(main, ["scan", str(gallery), "--cache", str(other), "-q"])
    assert out.exit_code == 2 and "not a galprof cache" in out.output and other.read_bytes() == before


def test_a_file_that_is_not_sqlite_is_refused_untouched(tmp_path):
    gallery = color_gallery(tmp_path / "g", n=2)
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n" * 100)
    with pytest.raises(ScanUsageError, match="left untouched"):
        _scan(gallery, notes)
    assert notes.read_text() == "my notes\n" * 100 and not list(tmp_path.glob("notes.txt.corrupt-*"))


def test_empty_file_is_a_new_cache(tmp_path):
    cache = tmp_path / "c.sqlite"
    cache.touch()
    assert _scan(color_gallery(tmp_path / "g", n=2), cache).stats["analyzed"] == 2


def test_older_galprof_layout_is_rebuilt_but_foreign_meta_is_not(tmp_path):
    gallery = color_gallery(tmp_path / "g", n=3)
    cache = tmp_path / "c.sqlite"
    _scan(gallery, cache)
    conn = sqlite3.connect(cache)
    conn.execute("UPDATE meta SET value = '0' WHERE key = 'schema'")
    conn.execute("DELETE FROM meta WHERE key = 'application'")  # as written before that key existed
    conn.commit()
    conn.close()
    with pytest.raises(CacheError, match="another galprof version"):
        Store(cache, create=False)  # show: no silent rebuild
    result = _scan(gallery, cache)
    assert result.stats["analyzed"] == 3 and _notes(result, "layout 0")
    conn = sqlite3.connect(cache)
    assert dict(conn.execute("SELECT key, value FROM meta")) == {"application": "galprof", "schema": "1"}
    conn.close()


def test_show_of_a_missing_or_foreign_cache(tmp_path):
    other = tmp_path / "app.db"
    before = _foreign_db(other)
    out = CliRunner().invoke(main, ["show", str(other)])
    assert out.exit_code == 2 and "not a galprof cache" in out.output and other.read_bytes() == before


def test_damage_found_while_building_the_profile_is_one_line(tmp_path, monkeypatch):
    """Damage the integrity check at open missed (a page read later fails): one line, exit 2."""
    from galprof import pipeline

    monkeypatch.setattr(pipeline, "_default_factory", color_factory)

    def broken(self, paths=None, photo_embeddings=True):
        raise sqlite3.DatabaseError("database disk image is malformed")
        yield  # a generator, like the real one

    monkeypatch.setattr(Store, "iter_media", broken)
    gallery = color_gallery(tmp_path / "g")
    result = CliRunner().invoke(main, ["scan", str(gallery), "--cache", str(tmp_path / "c.sqlite"), "-q"])
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1 and "is damaged" in result.output and "c.sqlite" in result.output


def test_a_row_damaged_in_place_is_caught_by_its_checksum(tmp_path):
    """A flipped byte inside a row's JSON (same length, still starts like a row) is analyzed again."""
    gallery = color_gallery(tmp_path / "g")
    cache = tmp_path / "c.sqlite"
    _scan(gallery, cache)
    target = str(gallery / "p3.png")
    conn = sqlite3.connect(cache)
    (data,) = conn.execute("SELECT data FROM media WHERE path = ?", (target,)).fetchone()
    damaged = bytearray(data)
    damaged[20] ^= 0x55
    conn.execute("UPDATE media SET data = ? WHERE path = ?", (bytes(damaged), target))
    conn.commit()
    conn.close()
    result = _scan(gallery, cache)
    assert result.stats["analyzed"] == 1 and result.stats["cached"] == 5
    assert [n.path for n in result.warnings if "checksum mismatch" in n.reason] == [target]


def test_rows_of_a_cache_from_before_checksums_are_still_checked(tmp_path):
    gallery = color_gallery(tmp_path / "g")
    cache = tmp_path / "c.sqlite"
    _scan(gallery, cache)
    conn = sqlite3.connect(cache)
    conn.execute("UPDATE media SET crc = NULL")
    conn.execute("UPDATE media SET data = x'00' WHERE path = ?", (str(gallery / "p0.png"),))
    conn.commit()
    conn.close()
    result = _scan(gallery, cache)
    assert result.stats["analyzed"] == 1 and result.stats["cached"] == 5
