"""The scan end to end with the real models: bad files listed with reasons, cache reuse, changed and
vanished files, an interrupted scan resumed, worker crashes isolated, CLI exit codes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from galprof.cli import main
from galprof.config import Settings
from galprof.facts import FrameFacts, MediaFacts
from galprof.media.discover import discover
from galprof.pipeline import ScanUsageError, process_item, scan
from tests.media_factory import huge_png_header, image_bytes, write_video

REAL_FILES = {  # name in the gallery: path under ../shared/data
    "portrait.jpg": "immich-assets/metadata/faces/portrait.jpg",
    "rotated/portrait_6.jpg": "exif-samples/jpg/orientation/portrait_6.jpg",
    "gps/DSCN0010.jpg": "exif-samples/jpg/gps/DSCN0010.jpg",
    "small.heif": "exif-samples/heic/samplefilehub.heif",
    "clips/bird.mkv": "videos/asl_gestures/bird.mkv",
}


def _good_gallery(shared_data: Path, root: Path) -> Path:
    for name, source in REAL_FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shared_data / source, root / name)
    return root


def _add_bad_files(shared_data: Path, root: Path) -> None:
    jpeg = (shared_data / "exif-samples/jpg/gps/DSCN0012.jpg").read_bytes()
    (root / "bad").mkdir()
    (root / "bad/empty.jpg").write_bytes(b"")
    (root / "bad/truncated.jpg").write_bytes(jpeg[: len(jpeg) // 3])
    (root / "bad/random.jpg").write_bytes(bytes((i * 131 + 17) % 256 for i in range(20000)))
    (root / "bad/text.mp4").write_text("not a video\n" * 50)
    good_video = write_video(root / "bad/tmp.mp4", frames=30).read_bytes()
    (root / "bad/tmp.mp4").unlink()
    (root / "bad/corrupt.mp4").write_bytes(good_video[:40] + bytes((i * 7 + 3) % 256 for i in range(4000)))
    (root / "bad/dangling.jpg").symlink_to(root / "bad/nowhere.jpg")
    (root / "bad/bomb.png").write_bytes(huge_png_header())
    (root / "png_named.jpg").write_bytes(image_bytes("PNG"))
    with open(os.fsencode(root) + b"/caf\xe9.jpg", "wb") as f:  # a non-UTF-8 file name
        f.write(image_bytes("JPEG"))


EXPECTED_ERRORS = {  # relative path: stage
    "bad/empty.jpg": "discover", "bad/random.jpg": "discover", "bad/text.mp4": "discover",
    "bad/dangling.jpg": "discover", "bad/truncated.jpg": "decode", "bad/corrupt.mp4": "decode",
    "bad/bomb.png": "decode",
}


def _rel(result, path: str) -> str:
    return os.path.relpath(path, result.folder)


def _summary(media: MediaFacts) -> tuple:
    """What a re-run must reproduce: per frame, top classes, objects and faces (rounded)."""
    frames = tuple(
        (f.width, f.height, f.timestamp, tuple(c.label for c in f.classes[:3]),
         tuple(sorted(o.label for o in f.objects)), len(f.faces),
         None if f.embedding is None else tuple(np.round(f.embedding[:8], 2)))
        for f in media.frames)
    return media.path, media.kind, media.exif.taken_at, frames


_ANALYZERS: dict = {}


def shared_analyzer(settings: Settings, threads: int):
    """The real FrameAnalyzer, loaded once for this test module (the scan's signature stays the real
    one: this factory has no `signature`)."""
    if threads not in _ANALYZERS:
        from galprof.vision.analyzer import FrameAnalyzer

        _ANALYZERS[threads] = FrameAnalyzer(settings, threads=threads)
    return _ANALYZERS[threads]


@pytest.fixture(scope="module")
def models_ready():
    try:
        shared_analyzer(Settings(), Settings(workers=1).resolved_threads())
    except Exception as exc:  # noqa: BLE001 - any missing model: these tests need all of them
        pytest.skip(f"packaged models not available: {exc}")


def test_scan_bad_files_cache_and_changes(shared_data, tmp_path, models_ready):
    root = _good_gallery(shared_data, tmp_path / "gallery")
    _add_bad_files(shared_data, root)
    cache = tmp_path / "cache.sqlite"
    settings = Settings(workers=1)
    result = scan(root, settings, cache_path=cache, quiet=True, analyzer_factory=shared_analyzer)
    try:
        errors = {_rel(result, e.path): e for e in result.errors}
        assert {k: e.stage for k, e in errors.items()} == EXPECTED_ERRORS
        assert all(e.reason and "\n" not in e.reason for e in result.errors)
        assert "decompression-bomb" in errors["bad/bomb.png"].reason
        assert "truncated" in errors["bad/truncated.jpg"].reason
        notes = {_rel(result, w.path): w.reason for w in result.warnings}
        assert "content is png" in notes["png_named.jpg"] and "UTF-8" in notes["caf\\xe9.jpg"]
        stats = result.stats
        assert stats["analyzed"] == 7 and stats["failed"] == 3 and stats["cached"] == 0
        assert stats["videos"] == 1 and stats["frames"] == 6 + 2 - 0  # 6 photos + 2 video frames
        media = {_rel(result, m.path): m for m in result.iter_media()}
        assert set(media) == set(REAL_FILES) | {"png_named.jpg", "caf\\xe9.jpg"}
        portrait = media["portrait.jpg"].frames[0]
        assert len(portrait.faces) >= 1 and portrait.embedding.shape == (1280,) and portrait.classes
        assert media["rotated/portrait_6.jpg"].frames[0].height > media["rotated/portrait_6.jpg"].frames[0].width
        assert media["gps/DSCN0010.jpg"].exif.latitude == pytest.approx(43.4674, abs=1e-3)
        clip = media["clips/bird.mkv"]
        assert clip.kind == "video" and clip.duration == pytest.approx(2.133, abs=0.01)
        assert [round(f.timestamp, 3) for f in clip.frames] == [0.533, 1.533]
        first = {k: _summary(m) for k, m in media.items()}
    finally:
        result.store.close()

    # an unchanged folder: nothing analyzed again, the failed files retried (and failing again)
    again = scan(root, settings, cache_path=cache, quiet=True, analyzer_factory=shared_analyzer)
    try:
        assert again.stats["analyzed"] == 0 and again.stats["cached"] == 7 and again.stats["failed"] == 3
        assert {_rel(again, e.path) for e in again.errors} == set(EXPECTED_ERRORS)
        assert {_rel(again, m.path): _summary(m) for m in again.iter_media()} == first
    finally:
        again.store.close()

    # one file changed, one removed, one bad file repaired
    changed = root / "gps/DSCN0010.jpg"
    os.utime(changed, (time.time(), changed.stat().st_mtime + 10))
    (root / "small.heif").unlink()
    shutil.copyfile(shared_data / "exif-samples/jpg/gps/DSCN0012.jpg", root / "bad/truncated.jpg")
    third = scan(root, settings, cache_path=cache, quiet=True, analyzer_factory=shared_analyzer)
    try:
        assert third.stats["analyzed"] == 2 and third.stats["cached"] == 5 and third.stats["removed"] == 1
        assert not any(p.endswith("small.heif") for p in third.paths)
        assert "bad/truncated.jpg" not in {_rel(third, e.path) for e in third.errors}
        assert third.store.get(str(root / "small.heif")) is None
    finally:
        third.store.close()


def test_vanished_and_replaced_files(tmp_path):
    (tmp_path / "a.jpg").write_bytes(image_bytes("JPEG"))
    (tmp_path / "b.jpg").write_bytes(image_bytes("JPEG"))
    items = {Path(i.path).name: i for i in discover(tmp_path)}
    (tmp_path / "a.jpg").unlink()  # vanishes between discovery and analysis
    (tmp_path / "b.jpg").unlink()
    (tmp_path / "b.jpg").mkdir()  # a folder where a file was
    gone = process_item(items["a.jpg"], Settings(), analyzer=None)
    assert gone.media is None and (gone.error.stage, gone.error.reason) == ("read", "file vanished during the scan")
    folder = process_item(items["b.jpg"], Settings(), analyzer=None)
    assert folder.media is None and folder.error.stage == "read" and "not a regular file" in folder.error.reason


class _CrashOnBlue:
    """A stand-in analyzer for the crash test: kills its worker process on an all-blue frame."""

    def analyze(self, rgb: np.ndarray, timestamp: float | None = None) -> FrameFacts:
        if rgb[..., 2].min() > 200 and rgb[..., 0].max() < 50:
            os._exit(3)  # what a segfaulting decoder does to a worker
        return FrameFacts(width=rgb.shape[1], height=rgb.shape[0], timestamp=timestamp,
                          embedding=rgb.reshape(-1, 3).mean(axis=0).astype(np.float32))


def crash_factory(settings: Settings, threads: int) -> _CrashOnBlue:
    return _CrashOnBlue()


crash_factory.signature = "crash-test"


def test_worker_crash_is_isolated_to_its_file(tmp_path):
    for i in range(6):
        (tmp_path / f"p{i}.png").write_bytes(image_bytes("PNG", np.full((20, 20, 3), 40 * i, np.uint8)))
    (tmp_path / "blue.png").write_bytes(image_bytes("PNG", np.tile(np.uint8([0, 0, 255]), (20, 20, 1))))
    result = scan(tmp_path, Settings(workers=2), cache_path=tmp_path / "c.sqlite", quiet=True,
                  analyzer_factory=crash_factory)
    try:
        assert [(Path(e.path).name, e.stage) for e in result.errors] == [("blue.png", "decode")]
        assert "crashed" in result.errors[0].reason
        assert result.stats["analyzed"] == 6 and result.stats["workers"] == 2
    finally:
        result.store.close()


def test_inline_scan_crash_does_not_block_the_next_scan(tmp_path):
    """With one worker the scan runs in-process: a decoder crash kills it. The next scan must finish,
    reporting the file that crashed (analyzed in a separate process) and keeping what was done."""
    gallery = tmp_path / "g"
    gallery.mkdir()
    for i in range(4):
        (gallery / f"p{i}.png").write_bytes(image_bytes("PNG", np.full((20, 20, 3), 50 * i, np.uint8)))
    (gallery / "z_blue.png").write_bytes(image_bytes("PNG", np.tile(np.uint8([0, 0, 255]), (20, 20, 1))))
    cache = tmp_path / "c.sqlite"
    code = ("import sys; from galprof.config import Settings; from galprof.pipeline import scan; "
            "from tests.test_scan import crash_factory; "
            "scan(sys.argv[1], Settings(workers=1), cache_path=sys.argv[2], quiet=True, "
            "analyzer_factory=crash_factory)")
    crashed = subprocess.run([sys.executable, "-c", code, str(gallery), str(cache)], check=False,
                             cwd=Path(__file__).parents[1], capture_output=True, timeout=120)
    assert crashed.returncode == 3, crashed.stderr.decode()[-500:]  # os._exit(3) in the analyzer
    assert _rows(cache) == 4
    result = scan(gallery, Settings(workers=1), cache_path=cache, quiet=True, analyzer_factory=crash_factory)
    try:
        assert [(Path(e.path).name, e.reason) for e in result.errors] == [
            ("z_blue.png", "the worker process crashed on this file")]
        assert result.stats["cached"] == 4 and result.stats["analyzed"] == 0
        assert result.store.get_state("pipeline.inline_inflight") == {}
    finally:
        result.store.close()


def _rows(cache: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{cache}?mode=ro", uri=True, timeout=5)
        try:
            return conn.execute("SELECT COUNT(*) FROM media").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to find the worker processes")
def test_killed_scan_resumes_to_the_same_result(shared_data, tmp_path, models_ready):
    """kill -9 in the middle of a 2-worker scan: the cache stays consistent, the workers exit, and the
    next scan analyzes only the rest and ends with the same results as an uninterrupted scan."""
    folder = shared_data / "exif-samples" / "jpg" / "gps"
    total = len(list(folder.glob("*.jpg")))
    killed_cache = tmp_path / "killed.sqlite"
    command = [sys.executable, "-m", "galprof", "scan", str(folder), "--cache", str(killed_cache),
               "--workers", "2", "--quiet", "-o", str(tmp_path / "out.json")]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while _rows(killed_cache) < 2 and process.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    workers = _children(process.pid)
    process.send_signal(signal.SIGKILL)
    assert len(workers) >= 2, "the scan's worker processes were not found"
    process.wait()
    done_before = _rows(killed_cache)
    assert 2 <= done_before < total, "the scan should have been killed part way"
    conn = sqlite3.connect(killed_cache)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    deadline = time.time() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in workers) and time.time() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()], "orphaned worker processes"

    settings = Settings(workers=1, threads_per_worker=1)  # the killed scan's workers ran 1 thread each
    resumed = scan(folder, settings, cache_path=killed_cache, quiet=True, analyzer_factory=shared_analyzer)
    fresh = scan(folder, settings, cache_path=tmp_path / "fresh.sqlite", quiet=True,
                 analyzer_factory=shared_analyzer)
    try:
        assert resumed.stats["cached"] == done_before and resumed.stats["analyzed"] == total - done_before
        assert fresh.stats["analyzed"] == total and not resumed.errors
        assert [_summary(m) for m in resumed.iter_media()] == [_summary(m) for m in fresh.iter_media()]
    finally:
        resumed.store.close()
        fresh.store.close()


def test_scan_usage_errors(tmp_path):
    with pytest.raises(ScanUsageError, match="folder not found"):
        scan(tmp_path / "missing", Settings(), cache_path=tmp_path / "c.sqlite")
    (tmp_path / "file.jpg").write_bytes(b"x")
    with pytest.raises(ScanUsageError, match="not a folder"):
        scan(tmp_path / "file.jpg", Settings(), cache_path=tmp_path / "c.sqlite")


def test_cli_exit_codes(shared_data, tmp_path, models_ready):
    runner = CliRunner()
    cache = str(tmp_path / "c.sqlite")
    missing = runner.invoke(main, ["scan", str(tmp_path / "nope"), "--cache", cache])
    assert missing.exit_code == 2 and missing.stderr.strip().count("\n") == 0 and "not found" in missing.stderr
    assert missing.stdout == ""
    (tmp_path / "a_file").write_text("x")
    unwritable = runner.invoke(main, ["scan", str(tmp_path), "-o", str(tmp_path / "a_file/p.json"), "--cache", cache])
    assert unwritable.exit_code == 2 and unwritable.stderr.strip().count("\n") == 0
    assert "not a folder" in unwritable.stderr

    good = tmp_path / "good"
    good.mkdir()
    shutil.copyfile(shared_data / REAL_FILES["gps/DSCN0010.jpg"], good / "a.jpg")
    ok = runner.invoke(main, ["scan", str(good), "--cache", cache, "--workers", "1", "-q"])
    assert ok.exit_code == 0, ok.stderr
    document = json.loads(ok.stdout)  # JSON only on stdout
    assert document["errors"] == [] and ok.stderr == ""

    (good / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 100)
    out = tmp_path / "new_folder" / "profile.json"  # missing folders are created
    partial = runner.invoke(main, ["scan", str(good), "--cache", cache, "--workers", "1", "-q", "-o", str(out)])
    assert partial.exit_code == 1 and partial.stdout == ""
    errors = json.loads(out.read_text())["errors"]
    assert [(Path(e["path"]).name, e["stage"]) for e in errors] == [("broken.jpg", "decode")]


def test_progress_says_models_load_before_the_first_result(tmp_path, capsys):
    for i in range(3):
        (tmp_path / f"p{i}.png").write_bytes(image_bytes("PNG", np.full((20, 20, 3), 60 * i, np.uint8)))
    result = scan(tmp_path, Settings(workers=1), cache_path=tmp_path / "c.sqlite", quiet=False,
                  analyzer_factory=crash_factory)
    result.store.close()
    err = capsys.readouterr().err
    # the bar opens on the loading label (the workers' start-up) and ends on the analysis with all files
    assert "loading models, analyzing:   0%" in err
    final = err.replace("\r", "\n").strip().splitlines()[-1]
    assert final.startswith("analyzing: 100%") and "3/3" in final
