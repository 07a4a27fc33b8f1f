"""A large gallery's photo rows kept as their JSON text (galprof.photo_rows.PhotoRows): the same rows for
every reader, the same JSON text, stored and reused by the profile cache as text."""

from __future__ import annotations

import json
import pickle

import pytest
from rich.console import Console

from galprof import photo_rows
from galprof.config import Settings
from galprof.documents import select_photos
from galprof.photo_rows import PhotoRows
from galprof.profile import profile_from_media
from galprof.render.json import dumps
from galprof.render.terminal import photos_table, view
from tests.test_profile_stream import gallery

RUN_FIELDS = ("created_at", "timings")


def _profile(items) -> dict:
    doc = profile_from_media(lambda: iter(items), Settings(ocr=False), root="/g")
    return {k: v for k, v in doc.items() if k not in RUN_FIELDS}


@pytest.fixture
def docs(monkeypatch):
    """The same gallery's profile with plain rows and with rows kept as text (above 60 photos)."""
    items = gallery(photos=120, people=4)
    plain = _profile(items)
    monkeypatch.setattr(photo_rows, "ENCODED_ABOVE", 60)
    return plain, _profile(items)


def test_rows_are_kept_as_text_above_the_limit_and_read_the_same(docs):
    plain, encoded = docs
    assert type(plain["photos"]) is list and isinstance(encoded["photos"], PhotoRows)
    rows = encoded["photos"]
    assert len(rows) == 120 and rows == plain["photos"] and plain["photos"] == rows and rows[5] == plain["photos"][5]
    assert rows[-3:] == plain["photos"][-3:] and list(rows) == plain["photos"]
    assert rows != plain["photos"][:-1] and rows != [dict(plain["photos"][0], place="x")] + plain["photos"][1:]
    assert pickle.loads(pickle.dumps(rows)) == rows  # a batch profile made by a Ray task comes back pickled
    assert encoded == plain


def test_the_json_text_is_the_same(docs):
    plain, encoded = docs
    assert dumps(encoded) == dumps(plain)
    assert json.loads(dumps(encoded))["photos"] == plain["photos"]
    few = {"photos": PhotoRows(plain["photos"][:3])}  # a short list is indented, as a plain one is
    assert dumps(few) == dumps({"photos": plain["photos"][:3]})


def test_the_readers_see_the_same_rows(docs):
    plain, encoded = docs

    def text(renderable) -> str:
        console = Console(width=160, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
        console.print(renderable)
        return console.export_text()

    assert text(view(encoded)) == text(view(plain))
    for query in ({"category": "food"}, {"person": plain["people"][0]["id"]}, {"private": False}):
        rows, title = select_photos(encoded, **query)
        assert (rows, title) == select_photos(plain, **query) and rows
        assert text(photos_table(rows, title)) == text(photos_table(select_photos(plain, **query)[0], title))
    from galprof.report import giveaways, sections

    for read in (sections.categories, sections.private_photos, giveaways.documents, sections.months):
        assert read(encoded) == read(plain)


def test_the_cache_stores_and_reuses_rows_as_text(tmp_path, monkeypatch):
    from galprof import profile_cache
    from galprof.store import Store
    from tests.scan_fakes import color_gallery
    from tests.test_profile_cache import _gallery_part
    from tests.test_profile_cache import _profile as scan_profile

    gallery_dir, cache = color_gallery(tmp_path / "g"), tmp_path / "c.sqlite"
    plain = scan_profile(gallery_dir, cache)
    with Store(cache) as store, store.conn:
        store.conn.execute("DELETE FROM state WHERE key LIKE 'profile.document:%'")
    monkeypatch.setattr(photo_rows, "ENCODED_ABOVE", 2)
    monkeypatch.setattr(profile_cache, "PHOTO_PIECE", 4)
    from galprof.pipeline import scan
    from tests.scan_fakes import color_factory

    documents = []
    for _ in range(2):  # built and stored, then reused
        result = scan(gallery_dir, Settings(workers=1), cache_path=cache, quiet=True, analyzer_factory=color_factory)
        try:
            documents.append(profile_cache.profile_for_scan(result, Settings(workers=1)))
        finally:
            result.store.close()
    built, reused = documents
    assert reused["scan"]["profile_reused"] is True
    assert isinstance(built["photos"], PhotoRows) and isinstance(reused["photos"], PhotoRows)
    assert dumps(_gallery_part(reused)) == dumps(_gallery_part(built)) == dumps(_gallery_part(plain))
    with Store(cache, create=False) as store:
        key = profile_cache.STATE_PREFIX + str(gallery_dir)
        assert "texts" in store.get_state(f"{key}#photos:0")
