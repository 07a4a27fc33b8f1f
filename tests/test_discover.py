"""Discovery: media kind by signature, walk rules (hidden, caches, symlink loops, globs), bad names."""

from __future__ import annotations

import os
from pathlib import Path

import pillow_heif
import pytest

from galprof.facts import ScanError
from galprof.media.discover import DiscoverNote, MediaItem, discover, sniff, suffix_mismatch
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


def test_deeply_nested_folders_do_not_abort_the_walk(tmp_path):
    """1500 levels (deeper than Python's recursion limit): the photo at the bottom is found."""
    levels = [os.path.join(str(tmp_path), *["d"] * n) for n in range(1, 1501)]
    for level in levels:  # os.makedirs and shutil.rmtree are recursive themselves
        os.mkdir(level)
    bottom = os.path.join(levels[-1], "bottom.jpg")
    with open(bottom, "wb") as f:
        f.write(image_bytes("JPEG"))
    (tmp_path / "top.jpg").write_bytes(image_bytes("JPEG"))
    try:
        found = list(discover(tmp_path))
        assert [f.path for f in found] == [str(tmp_path / "top.jpg"), bottom]
        assert all(isinstance(f, MediaItem) for f in found)
    finally:
        os.remove(bottom)
        for level in reversed(levels):
            os.rmdir(level)


def test_walk_order_files_first_then_subfolders_depth_first(tmp_path):
    jpeg = image_bytes("JPEG")
    for rel in ["b/y.jpg", "b/a/x.jpg", "a/z/w.jpg", "a/v.jpg", "c.jpg", "a.jpg"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(jpeg)
    order = [os.path.relpath(f.path, tmp_path) for f in discover(tmp_path)]
    assert order == ["a.jpg", "c.jpg", "a/v.jpg", "a/z/w.jpg", "b/y.jpg", "b/a/x.jpg"]


def _outside_layout(tmp_path: Path) -> Path:
    """root/ with links to a folder and a photo outside it, and links that stay inside it."""
    outside, root = tmp_path / "outside", tmp_path / "root"
    (outside / "album").mkdir(parents=True)
    (outside / "album" / "far.jpg").write_bytes(image_bytes("JPEG"))
    (outside / "single.jpg").write_bytes(image_bytes("PNG"))
    (root / "own").mkdir(parents=True)
    (root / "own" / "near.jpg").write_bytes(image_bytes("JPEG"))
    (root / "to_album").symlink_to(outside / "album")
    (root / "to_single.jpg").symlink_to(outside / "single.jpg")
    (root / "to_disk").symlink_to("/")
    (root / "inside_link").symlink_to(root / "own")  # same folder again: walked once
    (root / "near_link.png").symlink_to(root / "own" / "near.jpg")  # same file again: counted once
    (outside / "album" / "back").symlink_to(root)  # a loop when links are followed
    return root


def test_symlinks_leaving_the_folder_are_notes_not_followed(tmp_path):
    root = _outside_layout(tmp_path)
    found = list(discover(root))
    items = [os.path.relpath(f.path, root) for f in found if isinstance(f, MediaItem)]
    notes = {os.path.relpath(f.path, root): f.reason for f in found if isinstance(f, DiscoverNote)}
    assert items == ["near_link.png"]  # files first; inside_link/ and own/ hold the same file: once
    assert set(notes) == {"to_album", "to_single.jpg", "to_disk"}
    assert notes["to_disk"] == "symlink to outside the scanned folder, not followed: /; use --follow-links"
    assert str(tmp_path / "outside" / "album") in notes["to_album"]
    assert not [f for f in found if isinstance(f, ScanError)]


def test_follow_links_opts_in_and_stays_loop_safe(tmp_path):
    root = _outside_layout(tmp_path)
    (root / "to_disk").unlink()  # keep the test off the real disk
    found = list(discover(root, follow_links=True))
    items = sorted(os.path.relpath(f.path, root) for f in found if isinstance(f, MediaItem))
    assert items == ["near_link.png", "to_album/far.jpg", "to_single.jpg"]
    assert not [f for f in found if not isinstance(f, MediaItem)]


def test_scan_lists_outside_links_as_notes(tmp_path):
    """Through the pipeline: a note in warnings, not an error (the exit code stays 0)."""
    from galprof.config import Settings
    from galprof.pipeline import scan

    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "elsewhere.jpg").write_bytes(image_bytes("JPEG"))
    (root / "link.jpg").symlink_to(tmp_path / "elsewhere.jpg")
    result = scan(root, Settings(workers=1), cache_path=tmp_path / "c.sqlite", quiet=True,
                  analyzer_factory=_NoAnalyzer)
    try:
        assert result.paths == [] and result.errors == []
        assert [(w.stage, w.reason.split(":")[0]) for w in result.warnings] == [
            ("discover", "symlink to outside the scanned folder, not followed")]
    finally:
        result.store.close()


class _NoAnalyzer:
    signature = "test"

    def __init__(self, settings, threads):
        pass
