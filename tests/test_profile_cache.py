"""An unchanged re-scan reuses the stored profile; any change to what a profile is made from rebuilds it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from galprof.config import Settings
from galprof.pipeline import scan
from galprof.profile_cache import RUN_FIELDS, profile_for_scan
from tests.media_factory import image_bytes
from tests.scan_fakes import color_factory, color_gallery


def _profile(gallery: Path, cache: Path, settings: Settings | None = None) -> dict:
    settings = settings or Settings(workers=1)
    result = scan(gallery, settings, cache_path=cache, quiet=True, analyzer_factory=color_factory)
    try:
        return json.loads(json.dumps(profile_for_scan(result, settings)))
    finally:
        result.store.close()


def _gallery_part(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if k not in RUN_FIELDS}


def test_unchanged_rescan_reuses_the_profile(tmp_path):
    gallery, cache = color_gallery(tmp_path / "g"), tmp_path / "c.sqlite"
    first = _profile(gallery, cache)
    again = _profile(gallery, cache)
    assert "profile_reused" not in first["scan"] and again["scan"]["profile_reused"] is True
    assert _gallery_part(again) == _gallery_part(first)
    assert again["scan"]["cached"] == 6 and again["scan"]["analyzed"] == 0


def test_each_change_rebuilds_the_profile(tmp_path):
    gallery, cache = color_gallery(tmp_path / "g"), tmp_path / "c.sqlite"
    _profile(gallery, cache)

    def rebuilt(settings: Settings | None = None) -> bool:
        doc = _profile(gallery, cache, settings)
        return "profile_reused" not in doc["scan"]

    (gallery / "new.png").write_bytes(image_bytes("PNG", np.full((16, 16, 3), 99, np.uint8)))
    assert rebuilt() and not rebuilt()  # a new photo, then nothing new
    (gallery / "p0.png").write_bytes(image_bytes("PNG", np.full((16, 16, 3), 7, np.uint8)))
    os.utime(gallery / "p0.png", (1, 1))
    assert rebuilt() and not rebuilt()  # a changed photo
    (gallery / "broken.jpg").write_bytes(b"")
    assert rebuilt() and not rebuilt()  # a failing file is listed in the profile
    assert rebuilt(Settings(workers=1, close_person_photos=9)) and not rebuilt(
        Settings(workers=1, close_person_photos=9))  # another setting
    taxonomy = tmp_path / "taxonomy.json"
    taxonomy.write_text((Path(__file__).resolve().parents[1] / "models" / "taxonomy.json").read_text())
    with_taxonomy = Settings(workers=1, taxonomy=str(taxonomy))
    assert rebuilt(with_taxonomy) and not rebuilt(with_taxonomy)
    os.utime(taxonomy, (2, 2))  # the file a setting names changed
    assert rebuilt(with_taxonomy)
    (gallery / "p1.png").unlink()
    assert rebuilt(with_taxonomy)  # a removed photo


def test_later_stage_state_is_part_of_the_key(tmp_path):
    """People ids (and corrections, later) live in the store's state: changing them rebuilds."""
    from galprof.store import Store

    gallery, cache = color_gallery(tmp_path / "g"), tmp_path / "c.sqlite"
    _profile(gallery, cache)
    assert _profile(gallery, cache)["scan"].get("profile_reused")
    with Store(cache) as store:
        store.set_state("people.corrections", {"names": {"1": "Alice"}})
    assert "profile_reused" not in _profile(gallery, cache)["scan"]


def test_the_scans_own_state_is_not_part_of_the_key(tmp_path):
    """The inline engine's in-flight marker is written by some scans only (not by a pool scan): a
    re-scan that writes it for the first time still reuses the profile."""
    from galprof.pipeline import INFLIGHT_KEY
    from galprof.store import Store

    gallery, cache = color_gallery(tmp_path / "g"), tmp_path / "c.sqlite"
    _profile(gallery, cache)
    with Store(cache) as store:
        store.conn.execute("DELETE FROM state WHERE key = ?", (INFLIGHT_KEY,))
        store.conn.commit()
        store.set_state("pipeline.something_else", {"x": 1})
    assert _profile(gallery, cache)["scan"].get("profile_reused")


def test_the_stored_document_keeps_its_photos_in_pieces(tmp_path, monkeypatch):
    """The photo rows are stored a piece at a time (never the whole document's text) and come back in
    order and in their place: the reused document's JSON text is the built one's, run fields aside."""
    from galprof import profile_cache
    from galprof.render.json import dumps
    from galprof.store import Store

    monkeypatch.setattr(profile_cache, "PHOTO_PIECE", 4)  # 6 photos: two pieces
    gallery, cache = color_gallery(tmp_path / "g"), tmp_path / "c.sqlite"
    first = _profile(gallery, cache)
    again = _profile(gallery, cache)
    assert again["scan"]["profile_reused"] is True and len(again["photos"]) == 6
    assert dumps(_gallery_part(again)) == dumps(_gallery_part(first))
    with Store(cache, create=False) as store:
        key = profile_cache.STATE_PREFIX + str(gallery)
        saved = store.get_state(key)
        pieces = [store.get_state(f"{key}#photos:{n}")["photos"] for n in range(saved["photo_pieces"])]
    assert saved["photo_pieces"] == 2 and [len(p) for p in pieces] == [4, 2]
    assert saved["document"]["photos"] is None and [r for p in pieces for r in p] == first["photos"]


def test_pieces_of_a_previous_document_are_emptied(tmp_path, monkeypatch):
    from galprof import profile_cache
    from galprof.store import Store

    gallery, cache = color_gallery(tmp_path / "g"), tmp_path / "c.sqlite"
    monkeypatch.setattr(profile_cache, "PHOTO_PIECE", 2)  # 6 photos: three pieces
    _profile(gallery, cache)
    monkeypatch.setattr(profile_cache, "PHOTO_PIECE", 4)  # two pieces, built again for other settings
    rebuilt = _profile(gallery, cache, Settings(workers=1, private_face_width=0.2))
    key = profile_cache.STATE_PREFIX + str(gallery)
    with Store(cache, create=False) as store:
        assert store.get_state(key)["photo_pieces"] == 2 and store.get_state(f"{key}#photos:2") == {}
        kept = store.get_state(f"{key}#photos:0")["photos"] + store.get_state(f"{key}#photos:1")["photos"]
    assert kept == rebuilt["photos"] and "profile_reused" not in rebuilt["scan"]
