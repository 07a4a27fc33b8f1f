"""`galprof batch` on the local engines: one profile per gallery equal to what `scan` gives, a summary
row per gallery, a failing gallery reported, finished galleries skipped on a re-run, the CLI."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from galprof.batch.galleries import find_galleries
from galprof.batch.runner import BatchOptions, run_batch
from galprof.batch.summary import read_summary
from galprof.cli import main
from galprof.config import Settings
from galprof.engine.base import make_engine
from galprof.errors import UsageError
from galprof.pipeline import scan
from galprof.profile import build_profile
from tests.batch_fakes import label_factory, users
from tests.test_scan import _children, _rows

VOLATILE = ("created_at", "timings", "scan")


def stable(document: dict) -> dict:
    """A profile without what depends on the run (clock, timings, engine and worker counts)."""
    return {k: v for k, v in document.items() if k not in VOLATILE}


def _batch(parent: Path, outdir: Path, engine_name: str = "inline", workers: int = 1) -> list[dict]:
    engine = make_engine(engine_name, workers)
    try:
        return run_batch(find_galleries(parent, outdir), engine,
                         BatchOptions(outdir, Settings(), analyzer_factory=label_factory, quiet=True))
    finally:
        engine.close()


def test_batch_profiles_equal_scan_and_summary_rows(tmp_path):
    parent = users(tmp_path / "users", count=3, photos=4)
    rows = _batch(parent, tmp_path / "out")
    assert [r["gallery"] for r in rows] == ["user0", "user1", "user2"] and {r["status"] for r in rows} == {"done"}
    for row in rows:
        document = json.loads((tmp_path / "out" / f"{row['gallery']}.json").read_text())
        alone = scan(parent / row["gallery"], Settings(), cache_path=tmp_path / f"{row['gallery']}.sqlite",
                     quiet=True, analyzer_factory=label_factory)
        try:
            assert stable(document) == stable(json.loads(json.dumps(build_profile(alone, Settings()))))
        finally:
            alone.store.close()
        assert int(row["photos"]) == 6 == document["gallery"]["photos"] and row["errors"] == 0
        assert row["top_interests"].split() == document["interests"]["top"] and len(document["interests"]["top"]) == 2
    written = read_summary(tmp_path / "out" / "summary.csv")
    assert [r["gallery"] for r in written] == ["user0", "user1", "user2"]
    assert written[0]["top_interests"] == rows[0]["top_interests"] and written[0]["status"] == "done"
    assert (tmp_path / "out" / "user0.json").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "out" / "cache").stat().st_mode & 0o777 == 0o700


def test_pool_batch_equals_inline_batch(tmp_path):
    parent = users(tmp_path / "users", count=3, photos=3)
    _batch(parent, tmp_path / "inline")
    _batch(parent, tmp_path / "pool", "pool", 2)
    for name in ("user0", "user1", "user2"):
        assert stable(json.loads((tmp_path / "inline" / f"{name}.json").read_text())) == \
            stable(json.loads((tmp_path / "pool" / f"{name}.json").read_text()))


def test_failed_gallery_is_reported_and_a_rerun_skips_finished_ones(tmp_path):
    parent = users(tmp_path / "users", count=3, photos=2)
    out = tmp_path / "out"
    (out / "cache" / "user1.sqlite").mkdir(parents=True)  # user1's cache cannot be opened
    rows = {r["gallery"]: r for r in _batch(parent, out)}
    assert rows["user0"]["status"] == rows["user2"]["status"] == "done"
    assert rows["user1"]["status"] == "failed" and rows["user1"]["message"].startswith("scan: ")
    assert "user1.sqlite" in rows["user1"]["message"] and not (out / "user1.json").exists()
    before = (out / "user0.json").read_text()

    (out / "cache" / "user1.sqlite").rmdir()
    (parent / "user0" / "pizza_0.png").unlink()  # a finished gallery is not looked at again
    again = {r["gallery"]: r for r in _batch(parent, out)}
    assert again["user0"]["status"] == again["user2"]["status"] == "skipped"
    assert again["user1"]["status"] == "done" and (out / "user1.json").is_file()
    assert (out / "user0.json").read_text() == before and again["user0"]["photos"] == rows["user0"]["photos"]
    summary = {r["gallery"]: r["status"] for r in read_summary(out / "summary.csv")}
    assert summary == {"user0": "skipped", "user1": "done", "user2": "skipped"}


def test_gallery_list_file_and_bad_sources(tmp_path):
    parent = users(tmp_path / "users", count=2, photos=1)
    (tmp_path / "other" / "user0").mkdir(parents=True)
    listing = tmp_path / "list.txt"
    listing.write_text(f"# galleries\n{parent / 'user1'}\n\nusers/user0\n")
    assert [(g.name, Path(g.path)) for g in find_galleries(listing)] == [
        ("user1", parent / "user1"), ("user0", parent / "user0")]
    listing.write_text(f"{parent / 'user0'}\n{tmp_path / 'other' / 'user0'}\n")
    with pytest.raises(UsageError, match="two galleries are named user0"):
        find_galleries(listing)
    listing.write_text("users/nobody\n")
    with pytest.raises(UsageError, match=r"list.txt:1: not a folder: users/nobody"):
        find_galleries(listing)
    # OUTDIR inside PARENT and hidden folders are not galleries
    (parent / ".thumbs").mkdir()
    assert [g.name for g in find_galleries(parent, parent / "out")] == ["user0", "user1"]
    (parent / "out").mkdir()
    assert [g.name for g in find_galleries(parent, parent / "out")] == ["user0", "user1"]


def test_cli_batch_with_the_real_models(shared_data, tmp_path):
    parent = tmp_path / "users"
    for user, photos in {"alice": ["gps/DSCN0010.jpg", "gps/DSCN0012.jpg"], "bob": ["gps/DSCN0021.jpg"]}.items():
        (parent / user).mkdir(parents=True)
        for photo in photos:
            shutil.copyfile(shared_data / "exif-samples/jpg" / photo, parent / user / Path(photo).name)
    (parent / "bob" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 100)
    runner = CliRunner()
    out = tmp_path / "out"
    result = runner.invoke(main, ["batch", str(parent), "-o", str(out), "--workers", "1", "-q"])
    assert result.exit_code == 1, result.output  # bob has a broken file
    assert result.stdout == "" and result.stderr == ""
    summary = {r["gallery"]: r for r in read_summary(out / "summary.csv")}
    assert summary["alice"]["photos"] == "2" and summary["alice"]["errors"] == "0"
    assert summary["bob"]["photos"] == "1" and summary["bob"]["errors"] == "1"
    bob = json.loads((out / "bob.json").read_text())
    assert [Path(e["path"]).name for e in bob["errors"]] == ["broken.jpg"] and bob["photos"]
    again = runner.invoke(main, ["batch", str(parent), "-o", str(out), "--workers", "1"])
    assert again.exit_code == 1 and "2 profiled (2 already done), 0 failed" in again.stderr

    missing = runner.invoke(main, ["batch", str(tmp_path / "nope"), "-o", str(out)])
    assert missing.exit_code == 2 and "does not exist" in missing.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    nothing = runner.invoke(main, ["batch", str(empty), "-o", str(out)])
    assert nothing.exit_code == 2 and nothing.stderr.strip() == f"error: no gallery folders in {empty}"
    no_ray = runner.invoke(main, ["batch", str(parent), "-o", str(out), "--engine", "spark"])
    assert no_ray.exit_code == 2 and "spark" in no_ray.stderr


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to find the worker processes")
def test_pool_worker_killed_mid_batch_gives_the_inline_profiles(tmp_path):
    parent = users(tmp_path / "users", count=3, photos=6)  # 3 galleries x 9 photos, 0.3 s each
    driver = subprocess.Popen([sys.executable, "-m", "tests.batch_driver", str(parent), str(tmp_path / "pool"),
                               "pool", "2"], cwd=Path(__file__).parents[1], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        while _rows(tmp_path / "pool/cache/user1.sqlite") < 2 and driver.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        workers = [pid for pid in _children(driver.pid) if b"spawn" in Path(f"/proc/{pid}/cmdline").read_bytes()]
        assert driver.poll() is None and len(workers) >= 2, "the batch should be analysing in two workers"
        os.kill(workers[0], signal.SIGKILL)
        out, err = driver.communicate(timeout=240)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
    assert driver.returncode == 0, err[-2000:]
    assert out.split() == ["user0=done", "user1=done", "user2=done"]
    _batch(parent, tmp_path / "inline")
    for name in ("user0", "user1", "user2"):
        killed = json.loads((tmp_path / "pool" / f"{name}.json").read_text())
        assert not killed["errors"] and len(killed["photos"]) == 9
        assert stable(killed) == stable(json.loads((tmp_path / "inline" / f"{name}.json").read_text()))
