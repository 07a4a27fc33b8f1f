"""`galprof batch` on a real Ray cluster (started inside a loopback-only network namespace): an
actor killed with SIGKILL mid-batch costs only its in-flight photos, retried, and the profiles equal
those of the local engine; the CLI with the real models gives the local engine's profiles too."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from galprof.batch.galleries import find_galleries
from galprof.batch.runner import BatchOptions, run_batch
from galprof.config import Settings
from galprof.engine.inline import InlineEngine
from tests.batch_fakes import label_factory, users
from tests.ray_cluster import REPO, start_cluster, stop_cluster
from tests.test_batch import stable

pytest.importorskip("ray", reason="the ray extra is not installed (pip install -e '.[ray]')")


@pytest.fixture(scope="module")
def cluster():
    if not shutil.which("ip"):
        pytest.skip("needs iproute2's ip to make a network namespace")
    try:
        running = start_cluster(cpus=2)
    except RuntimeError as exc:
        pytest.skip(str(exc))
    yield running
    stop_cluster(running)


def _rows(cache: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{cache}?mode=ro", uri=True, timeout=5)
        try:
            return conn.execute("SELECT COUNT(*) FROM media").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def _profiles(outdir: Path) -> dict[str, dict]:
    return {p.stem: stable(json.loads(p.read_text())) for p in sorted(outdir.glob("*.json"))}


def test_actor_killed_mid_batch_gives_the_local_profiles(cluster, tmp_path):
    parent = users(tmp_path / "users", count=3, photos=6)  # 3 galleries x 9 photos, 0.3 s each
    driver = cluster.popen(sys.executable, "-m", "tests.batch_driver", str(parent), str(tmp_path / "ray"), "ray", "2",
                           cluster.address, cwd=REPO)
    try:
        deadline = time.time() + 120
        while _rows(tmp_path / "ray/cache/user0.sqlite") < 2 and driver.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        actors = cluster.processes("_PhotoActor")
        assert driver.poll() is None and len(actors) == 2, "the batch should be analysing on two actors"
        os.kill(actors[0], signal.SIGKILL)
        out, err = driver.communicate(timeout=240)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
    assert driver.returncode == 0, err[-2000:]
    assert out.split() == ["user0=done", "user1=done", "user2=done"]
    assert not Path(f"/proc/{actors[0]}").exists() or actors[0] not in cluster.pids()

    local = tmp_path / "local"
    run_batch(find_galleries(parent), InlineEngine(),
              BatchOptions(local, Settings(), analyzer_factory=label_factory, quiet=True))
    ray_profiles, local_profiles = _profiles(tmp_path / "ray"), _profiles(local)
    assert sorted(ray_profiles) == ["user0", "user1", "user2"] and ray_profiles == local_profiles
    assert all(len(p["photos"]) == 9 and not p["errors"] for p in ray_profiles.values())
    scan = json.loads((tmp_path / "ray/user0.json").read_text())["scan"]
    assert scan["engine"] == "ray" and scan["workers"] == 2


def test_cli_batch_on_ray_with_the_real_models(cluster, shared_data, tmp_path):
    parent = tmp_path / "users"
    for user, photos in {"alice": ["DSCN0010.jpg", "DSCN0012.jpg"], "bob": ["DSCN0021.jpg", "DSCN0025.jpg"]}.items():
        (parent / user).mkdir(parents=True)
        for photo in photos:
            shutil.copyfile(shared_data / "exif-samples/jpg/gps" / photo, parent / user / photo)
    galprof = str(Path(sys.executable).parent / "galprof")
    on_ray = cluster.run(galprof, "batch", str(parent), "-o", str(tmp_path / "ray"), "--engine", "ray",
                         "--address", cluster.address, "-q", cwd=REPO)
    assert on_ray.returncode == 0, on_ray.stderr[-2000:]
    local = cluster.run(galprof, "batch", str(parent), "-o", str(tmp_path / "local"), "--workers", "1", "-q")
    assert local.returncode == 0, local.stderr[-2000:]
    ray_profiles = _profiles(tmp_path / "ray")
    assert sorted(ray_profiles) == ["alice", "bob"] and ray_profiles == _profiles(tmp_path / "local")
    assert ray_profiles["alice"]["gallery"]["photos"] == 2 and ray_profiles["alice"]["interests"]["top"]
    summary = (tmp_path / "ray/summary.csv").read_text().splitlines()
    assert summary[0].startswith("gallery,status,photos") and len(summary) == 3

    scanned = cluster.run(galprof, "scan", str(parent / "alice"), "--engine", "ray", "--address", cluster.address,
                          "--cache", str(tmp_path / "scan.sqlite"), "-q", cwd=REPO)
    assert scanned.returncode == 0, scanned.stderr[-2000:]
    document = json.loads(scanned.stdout)  # only the profile on stdout, whatever Ray has to say
    assert document["scan"]["engine"] == "ray" and stable(document) == ray_profiles["alice"]

    nobody = cluster.run(galprof, "batch", str(parent), "-o", str(tmp_path / "x"), "--engine", "ray",
                         "--address", "127.0.0.1:1", timeout=60)
    assert nobody.returncode == 2 and nobody.stderr.strip().count("\n") == 0
    assert "no Ray cluster at 127.0.0.1:1: Connection refused" in nobody.stderr


CRASH_SCAN = """
import json, sys
from galprof.config import Settings
from galprof.engine.ray_engine import RayEngine
from galprof.pipeline import scan
from tests.test_scan import crash_factory
engine = RayEngine(2, address=sys.argv[2])
try:
    result = scan(sys.argv[1], Settings(), cache_path=sys.argv[3], quiet=True, analyzer_factory=crash_factory,
                  engine=engine)
finally:
    engine.close()
print(json.dumps({"errors": [[e.path, e.stage, e.reason] for e in result.errors], "stats": result.stats}))
"""


def test_a_file_that_kills_its_actor_is_the_only_error(cluster, tmp_path):
    from tests.media_factory import image_bytes

    gallery = tmp_path / "g"
    gallery.mkdir()
    for i in range(5):
        (gallery / f"p{i}.png").write_bytes(image_bytes("PNG", np.full((20, 20, 3), 40 * i, np.uint8)))
    (gallery / "blue.png").write_bytes(image_bytes("PNG", np.tile(np.uint8([0, 0, 255]), (20, 20, 1))))
    run = cluster.run(sys.executable, "-c", CRASH_SCAN, str(gallery), cluster.address, str(tmp_path / "c.sqlite"),
                      cwd=REPO, timeout=240)
    assert run.returncode == 0, run.stderr[-2000:]
    report = json.loads(run.stdout)
    assert report["errors"] == [[str(gallery / "blue.png"), "decode", "the worker process crashed on this file"]]
    assert report["stats"]["analyzed"] == 5 and report["stats"]["engine"] == "ray"
