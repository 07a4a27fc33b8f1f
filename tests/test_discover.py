"""Discovery: media kind by signature, walk rules (hidden, caches, symlink loops, globs), bad names."""

from __future__ import annotations

import os
from pathlib import Path

import pillow_heif
import pytest

from galprof.facts import ScanError
from galprof.media.discover import MediaItem, discover, sniff, suffix_mismatch
from tests.media_factory import image_bytes, write_video


def _items(root: Path, **kwargs) -> tuple[dict[str, MediaItem], dict[str, ScanError]]:
    items, errors = {}, {}
    for found in discover(root, **kwargs):
        rel = os.path.relpath(found.path, root)
        (items if isinstance(found, MediaItem) else errors)[rel] = found
    return items, errors


@pytest.mark.parametrize("fmt, expected", [
    ("JPEG", "jpeg"), ("PNG", "png"), ("GIF", "gif"), ("WEBP", "webp"), ("TIFF", "tiff"), ("BMP", "bmp"),
])
def test_sniff_photo_formats(fmt, expected):
    assert sniff(image_bytes(fmt)[:64]) == ("photo", expected)


def test_sniff_heic(tmp_path):
    heif = pillow_heif.from_bytes(mode="RGB", size=(64, 48), data=bytes(64 * 48 * 3))
    heif.save(tmp_path / "a.heic", quality=50)
    assert sniff((tmp_path / "a.heic").read_bytes()[:64]) == ("photo", "heic")


@pytest.mark.parametrize("name, fmt, expected", [
    ("a.mp4", None, "mp4"), ("a.mov", None, "mov"), ("a.mkv", None, "mkv"), ("a.avi", None, "avi"),
    ("a.webm", None, "webm"), ("a.3gp", None, "3gp"),
])
def test_sniff_video_formats(tmp_path, name, fmt, expected):
    codec = "libvpx" if name.endswith(".webm") else ("h263" if name.endswith(".3gp") else "mpeg4")
    size = {"width": 176, "height": 144} if codec == "h263" else {}
    path = write_video(tmp_path / name, fmt=fmt, codec=codec, frames=5, **size)
    assert sniff(path.read_bytes()[:64]) == ("video", expected)


def test_sniff_rejects_non_media():
    assert sniff(b"hello, this is text\n" * 3) is None
    assert sniff(bytes(range(64))) is None
    assert sniff(b"") is None


def test_real_data_formats(shared_data):
    items, errors = _items(shared_data / "exif-samples")
    assert not [e for e in errors.values() if "README" not in e.path]
    formats = {item.format for item in items.values()}
    assert {"jpeg", "heic", "tiff"} <= formats
    assert items["heic/mobile/iphone_13_pro_max.HEIC"].kind == "photo"
    videos, _ = _items(shared_data / "videos")
    assert {v.format for v in videos.values()} == {"mkv", "mp4"}
    assert len(videos) == 23 and all(v.kind == "video" for v in videos.values())


def test_kind_by_content_not_name(tmp_path):
    (tmp_path / "really_png.jpg").write_bytes(image_bytes("PNG"))
    (tmp_path / "noext").write_bytes(image_bytes("JPEG"))
    (tmp_path / "notes.txt").write_text("not media")
    (tmp_path / "sidecar.xmp").write_text("<x:xmpmeta/>")
    items, errors = _items(tmp_path)
    assert set(items) == {"really_png.jpg", "noext"} and not errors
    assert items["really_png.jpg"].format == "png"
    assert "content is png" in suffix_mismatch(items["really_png.jpg"])
    assert suffix_mismatch(items["noext"]) is None


def test_bad_files_with_media_names_are_errors(tmp_path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "random.jpg").write_bytes(bytes((i * 37 + 11) % 256 for i in range(5000)))
    (tmp_path / "text.mp4").write_text("this is not a video\n" * 10)
    (tmp_path / "dangling.jpg").symlink_to(tmp_path / "missing.jpg")
    items, errors = _items(tmp_path)
    assert not items
    assert errors["empty.jpg"].reason == "empty file (0 bytes)"
    assert "unrecognized content" in errors["random.jpg"].reason
    assert "unrecognized content" in errors["text.mp4"].reason
    assert errors["dangling.jpg"].reason == "dangling symlink"
    assert {e.stage for e in errors.values()} == {"discover"}


def test_raw_and_audio_lookalikes_are_not_media(tmp_path):
    (tmp_path / "IMG_0001.DNG").write_bytes(image_bytes("TIFF"))  # RAW files are TIFF inside
    (tmp_path / "voice.m4a").write_bytes(b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00M4A mp42isom" + bytes(32))
    (tmp_path / "IMG_0002.CR3").write_bytes(b"\x00\x00\x00\x18ftypcrx \x00\x00\x00\x01crx isom" + bytes(32))
    assert _items(tmp_path) == ({}, {})


def test_hidden_and_thumbnail_caches_skipped(tmp_path):
    jpeg = image_bytes("JPEG")
    for rel in ["a.jpg", ".hidden.jpg", ".secret/b.jpg", "DCIM/.thumbnails/t.jpg", "DCIM/c.jpg",
                "@eaDir/d.jpg", "__MACOSX/e.jpg"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(jpeg)
    items, _ = _items(tmp_path)
    assert set(items) == {"a.jpg", "DCIM/c.jpg"}
    items, _ = _items(tmp_path, include_hidden=True)
    assert set(items) == {"a.jpg", ".hidden.jpg", ".secret/b.jpg", "DCIM/c.jpg"}  # caches stay skipped


def test_symlink_loops_terminate(tmp_path):
    (tmp_path / "album").mkdir()
    (tmp_path / "album" / "p.jpg").write_bytes(image_bytes("JPEG"))
    (tmp_path / "album" / "loop").symlink_to(tmp_path)  # points back up
    (tmp_path / "self").symlink_to(tmp_path / "self")  # a link to itself
    (tmp_path / "linked").symlink_to(tmp_path / "album")  # a second route to the same folder
    items, errors = _items(tmp_path)
    assert len(items) == 1
    assert not [e for e in errors.values() if not e.path.endswith("self")]


def test_linked_files_counted_once(tmp_path):
    (tmp_path / "a.jpg").write_bytes(image_bytes("JPEG"))
    os.link(tmp_path / "a.jpg", tmp_path / "b_hardlink.jpg")
    (tmp_path / "c_symlink.jpg").symlink_to(tmp_path / "a.jpg")
    items, errors = _items(tmp_path)
    assert list(items) == ["a.jpg"] and not errors


def test_include_exclude_globs(tmp_path):
    jpeg, png = image_bytes("JPEG"), image_bytes("PNG")
    for rel, data in [("a.jpg", jpeg), ("b.png", png), ("Screenshots/s.png", png), ("trip/c.jpg", jpeg)]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(data)
    assert set(_items(tmp_path, include=["*.jpg"])[0]) == {"a.jpg", "trip/c.jpg"}
    assert set(_items(tmp_path, include=["*.JPG", "TRIP/*"])[0]) == {"a.jpg", "trip/c.jpg"}  # any case
    assert set(_items(tmp_path, exclude=["Screenshots"])[0]) == {"a.jpg", "b.png", "trip/c.jpg"}
    assert set(_items(tmp_path, exclude=["*.png"])[0]) == {"a.jpg", "trip/c.jpg"}
    assert set(_items(tmp_path, include=["trip/*"], exclude=["*.png"])[0]) == {"trip/c.jpg"}


def test_non_utf8_name(tmp_path):
    raw = os.fsencode(tmp_path) + b"/caf\xe9.jpg"
    with open(raw, "wb") as f:
        f.write(image_bytes("JPEG"))
    (found,) = list(discover(tmp_path))
    assert isinstance(found, MediaItem)
    assert found.display.endswith("caf\\xe9.jpg")
    found.display.encode("utf-8")  # printable and storable
    assert os.path.exists(found.path)  # the real path still opens the file
