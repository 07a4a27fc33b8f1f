"""A hostile gallery, generated at test time: every bad file, name, link and piece of metadata that
galprof has met, each checked for what a user must get. Per case: no traceback, the documented exit
code (1 when a file failed, 0 when files were only noted), the file named with its reason, and the rest
of the profile identical to a scan of the same gallery without it.

Per-case scans use a model-free analyzer (the cases are about reading files, not about models); one
scan of the whole hostile gallery runs the real models through the CLI.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path

import numpy as np
import piexif
import pillow_heif
import pytest
from click.testing import CliRunner

from galprof import pipeline
from galprof.cli import main
from tests.media_factory import huge_png_header, image_bytes, set_mp4_matrix, write_video
from tests.scan_fakes import color_factory

CLEAR, TITLE = "\x1b[2J", "\x1b]0;owned\x07"


def _jpeg(value: int, size: int = 32, exif: bytes | None = None) -> bytes:
    rgb = np.full((size, size, 3), value, np.uint8)
    rgb[: size // 2, :, 0] = 255 - value  # two colours, so a truncated copy decodes differently
    return image_bytes("JPEG", rgb, **({"exif": exif} if exif else {}))


def _write(root: Path, rel: str | bytes, data: bytes) -> None:
    path = os.path.join(os.fsencode(root), rel if isinstance(rel, bytes) else os.fsencode(rel))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def _heic(size: tuple[int, int] = (256, 192)) -> bytes:
    rgb = bytes((i * 7) % 256 for i in range(size[0] * size[1] * 3))
    out = io.BytesIO()
    pillow_heif.from_bytes(mode="RGB", size=size, data=rgb).save(out, quality=80)
    return out.getvalue()


def _video(tmp: Path, name: str = "v.mp4", frames: int = 30) -> bytes:
    return write_video(tmp / name, frames=frames, width=64, height=48).read_bytes()


def _cut(data: bytes, fraction: float) -> bytes:
    return data[: int(len(data) * fraction)]


def _deep(root: Path) -> None:
    fd = os.open(root, os.O_RDONLY)
    for _ in range(1200):  # deeper than Python's recursion limit
        os.mkdir("d", dir_fd=fd)
        fd, old = os.open("d", os.O_RDONLY, dir_fd=fd), fd
        os.close(old)
    os.close(os.open("bottom.jpg", os.O_WRONLY | os.O_CREAT, dir_fd=fd))  # empty: an error, far down
    os.close(fd)


def _remove_deep(root: Path) -> None:
    """Undo _deep without recursion (shutil.rmtree, and so pytest's tmp_path clean-up, would hit the
    recursion limit on it in a later session)."""
    if not (root / "d").is_dir():
        return
    fds = [os.open(root, os.O_RDONLY)]
    while "d" in os.listdir(fds[-1]):
        fds.append(os.open("d", os.O_RDONLY, dir_fd=fds[-1]))
    for name in os.listdir(fds[-1]):
        os.unlink(name, dir_fd=fds[-1])
    os.close(fds.pop())
    while fds:
        os.rmdir("d", dir_fd=fds[-1])
        os.close(fds.pop())


@pytest.fixture(autouse=True)
def _no_deep_leftovers(tmp_path):
    yield
    _remove_deep(tmp_path / "gallery")


def _odd_matrix_video(root: Path) -> None:
    source = root.parent / "plain.mp4"
    source.write_bytes(_video(root.parent))
    set_mp4_matrix(source, root / "odd_matrix.mp4", (0,) * 9)


def _outside_links(root: Path) -> None:
    outside = root.parent / "outside"
    outside.mkdir(exist_ok=True)
    (outside / "elsewhere.jpg").write_bytes(_jpeg(7))
    (root / "to_outside").symlink_to(outside, target_is_directory=True)
    (root / "to_root").symlink_to("/", target_is_directory=True)


HOSTILE_EXIF = piexif.dump({"0th": {piexif.ImageIFD.Make: b"[/x]", piexif.ImageIFD.Model: f"Cam{TITLE}".encode()}})

# name: (builder(root), "error" | "note", part of the path named, part of the reason)
CASES: dict[str, tuple[Callable[[Path], None], str, str, str]] = {
    "empty": (lambda r: _write(r, "bad/empty.jpg", b""), "error", "bad/empty.jpg", "empty file"),
    "random bytes": (lambda r: _write(r, "bad/random.jpg", bytes((i * 131 + 17) % 256 for i in range(9000))),
                     "error", "bad/random.jpg", "not a photo or video"),
    "truncated jpeg": (lambda r: _write(r, "bad/cut.jpg", _jpeg(90, 256)[:400]), "error", "bad/cut.jpg", ""),
    "text as video": (lambda r: _write(r, "bad/text.mp4", b"not a video\n" * 50), "error", "bad/text.mp4",
                      "not a photo or video"),
    "corrupt video": (lambda r: _write(r, "bad/corrupt.mp4", _video(r.parent)[:40] + bytes(range(256)) * 16),
                      "error", "bad/corrupt.mp4", ""),
    "dangling link": (lambda r: (r / "dangling.jpg").symlink_to(r / "nowhere.jpg"), "error", "dangling.jpg",
                      "dangling symlink"),
    "pixel bomb": (lambda r: _write(r, "bad/bomb.png", huge_png_header()), "error", "bad/bomb.png", ""),
    "over the memory budget": (lambda r: _write(r, "bad/big.png", huge_png_header(9400, 9400)), "error",
                               "bad/big.png", "memory budget"),
    "truncated heic": (lambda r: _write(r, "bad/cut.heic", _heic()[:-600]), "error", "bad/cut.heic",
                       "truncated"),
    "escape codes in a name": (lambda r: _write(r, f"bad/{CLEAR}{TITLE}.jpg", b""), "error", CLEAR,
                               "empty file"),  # raw in the JSON (escaped as \u001b), escaped on stderr
    "1200 folders deep": (_deep, "error", "/d/d/d/", "empty file"),
    "outside links": (_outside_links, "note", "to_outside", "outside the scanned folder"),
    "png named .jpg": (lambda r: _write(r, "named.jpg", image_bytes("PNG")), "note", "named.jpg",
                       "content is png"),
    "odd display matrix": (_odd_matrix_video, "note", "odd_matrix.mp4", "unusual display matrix"),
    "video cut at 90 %": (lambda r: _write(r, "cut90.mkv", _cut(_video(r.parent, "long.mkv", 60), 0.9)),
                          "note", "cut90.mkv", "ends early"),
    "non-UTF-8 name and its escaped twin": (
        lambda r: (_write(r, b"caf\xe9.jpg", _jpeg(40)), _write(r, "caf\\xe9.jpg", _jpeg(200))), "note",
        "caf\\xe9.jpg", "not valid UTF-8"),
    "markup in EXIF and folder names": (
        lambda r: _write(r, "[/x] trip [paris] 2019/a.jpg", _jpeg(120, exif=HOSTILE_EXIF)), "none", "", ""),
}


NOT_ANALYZED = {"outside links"}  # noted, and nothing of them analyzed
# cases whose files are read and analyzed: how many photos and videos each adds to the profile
ANALYZED = {"png named .jpg": 1, "odd display matrix": 1, "video cut at 90 %": 1,
            "non-UTF-8 name and its escaped twin": 2, "markup in EXIF and folder names": 1}


def _clean_gallery(root: Path) -> Path:
    for i, value in enumerate((30, 100, 170, 240)):
        _write(root, f"good/p{i}.jpg", _jpeg(value, 48))
    return root


def _scan(root: Path, tmp: Path, *args: str) -> tuple[int, dict, str]:
    out = tmp / f"profile-{len(list(tmp.glob('profile-*.json')))}.json"
    result = CliRunner().invoke(main, ["scan", str(root), "--cache", str(out.with_suffix(".sqlite")),
                                       "--workers", "1", "-o", str(out), *args])
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, json.loads(out.read_text()), result.output


STABLE = ("interests", "objects", "classes", "people", "demography", "places")


def _comparable(doc: dict, drop: Callable[[str], bool]) -> dict:
    """The profile minus what describes the run (timings, settings) and the entries of `drop` paths."""
    return {**{key: doc[key] for key in STABLE}, "photos": [p for p in doc["photos"] if not drop(p["path"])]}


@pytest.fixture()
def fake_models(monkeypatch):
    monkeypatch.setattr(pipeline, "_default_factory", color_factory)


@pytest.mark.parametrize("case", list(CASES))
def test_each_hostile_case_alone(case, tmp_path, fake_models):
    build, kind, named, reason = CASES[case]
    root = _clean_gallery(tmp_path / "gallery")
    code_clean, clean, _ = _scan(root, tmp_path)
    build(root)
    code, doc, output = _scan(root, tmp_path)
    rescan_code, rescan, _ = _scan(root, tmp_path, "--cache", str(tmp_path / "profile-1.sqlite"))
    assert (rescan_code, rescan["scan"]["analyzed"]) == (code, 0)  # nothing re-analyzed forever
    assert code_clean == 0
    assert code == (1 if kind == "error" else 0), output
    listed = {"error": doc["errors"], "note": doc["notes"], "none": []}[kind]
    hits = [e for e in listed if named in e["path"] and reason in e["reason"]]
    assert hits or kind == "none", (listed, output)
    if kind == "error":
        assert not set(doc) - set(clean) and doc["gallery"]["failed"] == len(doc["errors"])
    assert CLEAR not in output and TITLE not in output  # escaped on stderr as well
    for entry in doc["errors"] + doc["notes"]:
        json.dumps(entry, ensure_ascii=True)  # valid, printable JSON for every path
    clean_paths = {p["path"] for p in clean["photos"]}
    if kind == "error" or case in NOT_ANALYZED:
        assert _comparable(doc, lambda path: path not in clean_paths) == _comparable(clean, lambda path: False)
    else:  # the case's files were analyzed too: the clean photos' entries are unchanged
        assert [p for p in doc["photos"] if p["path"] in clean_paths] == clean["photos"]
        assert len(doc["photos"]) == len(clean["photos"]) + ANALYZED[case]


def test_whole_hostile_gallery_with_the_real_models(tmp_path):
    root = _clean_gallery(tmp_path / "gallery")
    code_clean, clean, _ = _scan(root, tmp_path)
    for build, *_ in CASES.values():
        build(root)
    code, doc, output = _scan(root, tmp_path, "--format", "table")
    assert (code_clean, code) == (0, 1)
    for case, (_, kind, named, reason) in CASES.items():
        if kind != "none":
            listed = doc["errors"] if kind == "error" else doc["notes"]
            assert any(named in e["path"] and reason in e["reason"] for e in listed), case
    clean_paths = {p["path"] for p in clean["photos"]}
    assert [p for p in doc["photos"] if p["path"] in clean_paths] == clean["photos"]
    assert "[/x]" in output and "Cam\\x1b]0;owned\\x07" in output  # the table shows data literally
    assert CLEAR not in output and TITLE not in output
    rescan_code, again, _ = _scan(root, tmp_path, "--cache", str(tmp_path / "profile-1.sqlite"))
    assert rescan_code == 1 and again["scan"]["analyzed"] == 0  # every good file, and only once


@pytest.mark.parametrize(("config", "field"), [
    ({"workers": "abc"}, "workers"), ({"workers": True}, "workers"), ("{\"workers\": 1e999}", "1e999"),
    ({"face_attach_distance": "x"}, "face_attach_distance"), ({"max_side": -5}, "max_side"),
    ("[" * 100_000 + "]" * 100_000, "nested"), ({"no_such_setting": 1}, "no_such_setting"),
])
def test_bad_config_fails_before_scanning(tmp_path, config, field):
    root = _clean_gallery(tmp_path / "gallery")
    (tmp_path / "c.json").write_text(config if isinstance(config, str) else json.dumps(config))
    result = CliRunner().invoke(main, ["scan", str(root), "--cache", str(tmp_path / "c.sqlite"),
                                       "--config", str(tmp_path / "c.json")])
    assert result.exit_code == 2 and field in result.output and "Traceback" not in result.output
    assert not (tmp_path / "c.sqlite").exists()  # nothing was scanned


def test_malformed_taxonomy_fails_before_scanning(tmp_path):
    root = _clean_gallery(tmp_path / "gallery")
    (tmp_path / "t.json").write_text(json.dumps({"categories": [{"id": "food", "subcategories": [{}]}]}))
    result = CliRunner().invoke(main, ["scan", str(root), "--cache", str(tmp_path / "c.sqlite"),
                                       "--taxonomy", str(tmp_path / "t.json")])
    assert result.exit_code == 2 and "t.json" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "c.sqlite").exists()


def test_outputs_that_are_not_regular_files(tmp_path, fake_models, char_devices):
    root = _clean_gallery(tmp_path / "gallery")
    cache = str(tmp_path / "c.sqlite")
    null, full_device = char_devices
    assert CliRunner().invoke(main, ["scan", str(root), "--cache", cache, "-o", str(null)]).exit_code == 0
    assert stat.S_ISCHR(os.stat(null).st_mode)
    full = CliRunner().invoke(main, ["scan", str(root), "--cache", cache, "-o", str(full_device)])
    assert full.exit_code == 2 and "No space left on device" in full.output


def test_damaged_and_foreign_caches(tmp_path, fake_models):
    root = _clean_gallery(tmp_path / "gallery")
    cache = tmp_path / "c.sqlite"
    _scan(root, tmp_path, "--cache", str(cache))
    data = bytearray(cache.read_bytes())
    data[4096:8192] = os.urandom(4096)  # garbage over a middle page
    cache.write_bytes(bytes(data))
    code, doc, _ = _scan(root, tmp_path, "--cache", str(cache))
    assert code == 0 and doc["scan"]["analyzed"] == 4
    assert any("corrupt" in n["reason"] for n in doc["notes"])
    foreign = tmp_path / "other.sqlite"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE contacts (name TEXT)")
    before = foreign.read_bytes()
    result = CliRunner().invoke(main, ["scan", str(root), "--cache", str(foreign)])
    assert result.exit_code == 2 and "other.sqlite" in result.output
    assert foreign.read_bytes() == before
