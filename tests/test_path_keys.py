"""Display paths are one-to-one with real paths, so a non-UTF-8 name and a name literally spelled with
the same \\xNN text are two photos in the cache and the profile, each analyzed once."""

from __future__ import annotations

import json
import os

import numpy as np

from galprof.config import Settings
from galprof.media.discover import display_path, real_path
from galprof.pipeline import scan
from galprof.profile import build_profile
from tests.media_factory import image_bytes
from tests.scan_fakes import color_factory


def test_display_path_is_reversible_and_one_to_one():
    names = ["/g/a.jpg", "/g/caf\udce9.jpg", "/g/caf\\xe9.jpg", "/g/a\\b.jpg", "/g/a\\\\b.jpg", "/g/\\",
             "/g/é\\\udcff.jpg", "/g/\\\\xe9\udce9"]
    shown = [display_path(n) for n in names]
    assert len(set(shown)) == len(names)
    assert [real_path(s) for s in shown] == names
    assert display_path("/g/ordinary é.jpg") == "/g/ordinary é.jpg"
    for s in shown:
        s.encode("utf-8")


def test_non_utf8_name_and_its_escaped_spelling_are_two_photos(tmp_path):
    gallery = tmp_path / "g"
    gallery.mkdir()
    with open(os.fsencode(gallery) + b"/caf\xe9.jpg", "wb") as f:
        f.write(image_bytes("JPEG", np.full((16, 16, 3), 200, np.uint8)))
    (gallery / "caf\\xe9.jpg").write_bytes(image_bytes("JPEG", np.full((16, 16, 3), 20, np.uint8)))
    settings = Settings(workers=1)
    cache = tmp_path / "c.sqlite"
    first = scan(gallery, settings, cache_path=cache, quiet=True, analyzer_factory=color_factory)
    try:
        assert first.stats["analyzed"] == 2 and first.errors == []
        media = {m.path: m for m in first.iter_media()}
        assert set(media) == {f"{gallery}/caf\\xe9.jpg", f"{gallery}/caf\\\\xe9.jpg"}
        assert media[f"{gallery}/caf\\xe9.jpg"].frames[0].embedding[0] > 150  # the 0xE9 file's pixels
        assert media[f"{gallery}/caf\\\\xe9.jpg"].frames[0].embedding[0] < 50
        doc = json.loads(json.dumps(build_profile(first, settings), ensure_ascii=False))
        assert sorted(p["path"] for p in doc["photos"]) == sorted(media)
    finally:
        first.store.close()
    again = scan(gallery, settings, cache_path=cache, quiet=True, analyzer_factory=color_factory)
    try:
        assert again.stats["analyzed"] == 0 and again.stats["cached"] == 2 and again.stats["removed"] == 0
    finally:
        again.store.close()
