"""The SQLite cache: lossless round trip, freshness keys, removal, state, WAL, default location."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from galprof.facts import Box, ClassScore, ExifFacts, Face, FrameFacts, MediaFacts, ObjectDetection
from galprof.store import Store, decode_media, default_cache_path, encode_media


def _media(path: str = "/g/a.jpg", seed: int = 0, frames: int = 1) -> MediaFacts:
    rng = np.random.default_rng(seed)
    frame_list = []
    for i in range(frames):
        face = Face(box=Box(10.5, 20.25, 50, 80), score=0.93, keypoints=rng.normal(size=(6, 2)).astype(np.float32),
                    embedding=rng.normal(size=128).astype(np.float32), age=31.5, female_probability=0.2)
        frame_list.append(FrameFacts(
            width=1024, height=768, timestamp=None if frames == 1 else i + 0.5,
            objects=[ObjectDetection("car", 0.8, Box(1, 2, 3, 4))], classes=[ClassScore("espresso", 0.95)],
            embedding=rng.normal(size=1280).astype(np.float32), faces=[face], text="MENU" if i == 0 else None))
    exif = ExifFacts(taken_at="2020-01-02T03:04:05+01:00", taken_at_source="exif", make="Apple", model="iPhone",
                     latitude=51.5, longitude=-0.1, width=4032, height=3024, orientation=6)
    return MediaFacts(path=path, kind="photo" if frames == 1 else "video", format="jpeg", size=1234,
                      mtime=1_600_000_000.123456, exif=exif, frames=frame_list,
                      duration=None if frames == 1 else 3.0, fps=None if frames == 1 else 30.0)


def test_round_trip_is_lossless_except_float16_photo_embedding():
    media = _media(frames=3)
    back = decode_media(encode_media(media))
    assert back.path == media.path and back.exif == media.exif and back.duration == 3.0
    for a, b in zip(media.frames, back.frames, strict=True):
        assert (b.width, b.height, b.timestamp, b.text) == (a.width, a.height, a.timestamp, a.text)
        assert b.objects == a.objects and b.classes == a.classes
        assert b.embedding.dtype == np.float32 and b.embedding.shape == (1280,)
        cosine = float(a.embedding @ b.embedding / np.linalg.norm(a.embedding) / np.linalg.norm(b.embedding))
        assert cosine > 0.9999
        fa, fb = a.faces[0], b.faces[0]
        assert np.array_equal(fa.embedding, fb.embedding) and np.array_equal(fa.keypoints, fb.keypoints)
        assert (fb.box, fb.score, fb.age, fb.female_probability) == (fa.box, fa.score, fa.age, fa.female_probability)
        assert fb.gender == "male"


def test_row_size_is_small():
    assert len(encode_media(_media())) < 5000  # one photo with one face
    assert len(encode_media(_media(frames=30))) < 30 * 4000


def test_freshness_and_signature(tmp_path):
    with Store(tmp_path / "c.sqlite") as store:
        media = _media()
        assert not store.is_fresh(media.path, media.size, media.mtime, "sig1")
        store.put(media, "sig1")
        assert store.is_fresh(media.path, media.size, media.mtime, "sig1")
        assert not store.is_fresh(media.path, media.size + 1, media.mtime, "sig1")
        assert not store.is_fresh(media.path, media.size, media.mtime + 1, "sig1")
        assert not store.is_fresh(media.path, media.size, media.mtime, "sig2")  # other models
        assert store.fresh_index("sig1") == {media.path: (media.size, media.mtime, media.kind, media.format)}
        assert store.fresh_index("sig2") == {}


def test_iter_remove_and_paths_under(tmp_path):
    with Store(tmp_path / "c.sqlite") as store:
        for path in ["/g/a.jpg", "/g/b_%.jpg", "/g/sub/c.jpg", "/gx/d.jpg", "/h/e.jpg"]:
            store.put(_media(path), "s")
        assert store.count() == 5
        assert [m.path for m in store.iter_media()] == sorted(store.paths())
        assert [m.path for m in store.iter_media(["/h/e.jpg", "/nope.jpg", "/g/a.jpg"])] == ["/h/e.jpg", "/g/a.jpg"]
        assert sorted(store.paths_under("/g")) == ["/g/a.jpg", "/g/b_%.jpg", "/g/sub/c.jpg"]  # not /gx
        assert store.remove(["/g/a.jpg", "/missing.jpg"]) == 1
        assert store.get("/g/a.jpg") is None and store.count() == 4


def test_state(tmp_path):
    with Store(tmp_path / "c.sqlite") as store:
        assert store.get_state("people") is None
        store.set_state("people", {"next_id": 3, "centroids": [[0.1, 0.2]]})
    with Store(tmp_path / "c.sqlite") as store:  # persisted
        assert store.get_state("people") == {"next_id": 3, "centroids": [[0.1, 0.2]]}


def test_wal_and_reopen(tmp_path):
    path = tmp_path / "c.sqlite"
    with Store(path) as store:
        store.put(_media(), "s")
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    with Store(path) as store:
        assert store.get("/g/a.jpg").exif.make == "Apple"


def test_default_cache_path(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_path() == tmp_path / "galprof" / "cache.sqlite"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_path().parts[-3:] == (".cache", "galprof", "cache.sqlite")


def test_non_media_blob_rejected():
    with pytest.raises(ValueError):
        decode_media(b"XXXX\x00\x00\x00\x00")
