"""Nothing leaves the machine: a real `galprof scan` (real models, two worker processes) run under
strace creates no internet socket and writes nothing outside its own cache.

onnxruntime's telemetry writes its files at the first session and contacts its host only ~20 s after,
so the scan is kept alive for > 25 s: once the workers have analyzed a first file, the main process is
paused (SIGSTOP) while the workers, their sessions loaded, wait for more work; then it is resumed.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.media_factory import image_bytes, write_video

STRACE = shutil.which("strace")
MIN_SECONDS = 25.0  # how long the worker processes must live with their sessions loaded
INET_SOCKET = re.compile(r"socket\(AF_INET6?\b")


def _strace_works() -> str | None:
    """None when strace can trace a child here, else why not (no binary, ptrace not permitted)."""
    if STRACE is None:
        return "strace is not installed (make install adds it with apt)"
    probe = subprocess.run([STRACE, "-f", "-o", os.devnull, "true"], check=False, capture_output=True,
                           timeout=30)
    if probe.returncode != 0:
        return f"strace cannot trace here: {probe.stderr.decode(errors='replace').strip()[:200]}"
    return None


def _gallery(root: Path, photos: int = 24) -> Path:
    root.mkdir()
    rng = np.random.default_rng(7)
    for i in range(photos):
        rgb = (rng.random((480, 640, 3)) * 255).astype(np.uint8)
        (root / f"p{i:02d}.jpg").write_bytes(image_bytes("JPEG", rgb))
    write_video(root / "clip.mp4", frames=100, rate=10, width=320, height=240)
    return root


def _rows(cache: Path) -> int:
    if not cache.exists():
        return 0
    try:
        conn = sqlite3.connect(f"file:{cache}?mode=ro", uri=True, timeout=1)
        try:
            return int(conn.execute("SELECT COUNT(*) FROM media").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.Error:  # not created yet
        return 0


def _child_of(pid: int) -> int | None:
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return None
    return int(children[0]) if children else None


def _files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def _run_paced_scan(cmd: list[str], env: dict, cache: Path, log: Path) -> tuple[int, float]:
    """Run `cmd` (strace + galprof scan); pause galprof once the workers stored a file, until the scan
    has lasted MIN_SECONDS. Returns (exit code, seconds)."""
    started = time.monotonic()
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            while proc.poll() is None and _rows(cache) == 0 and time.monotonic() - started < 120:
                time.sleep(0.2)
            scan_pid = _child_of(proc.pid)
            if proc.poll() is None and scan_pid is not None:
                os.kill(scan_pid, signal.SIGSTOP)
                time.sleep(max(0.0, started + MIN_SECONDS + 1 - time.monotonic()))
                os.kill(scan_pid, signal.SIGCONT)
            code = proc.wait(timeout=180)
        finally:
            if proc.poll() is None:
                proc.kill()
    return code, time.monotonic() - started


def test_scan_opens_no_internet_socket_and_writes_only_its_cache(tmp_path):
    if (why := _strace_works()) is not None:
        pytest.skip(why)
    gallery = _gallery(tmp_path / "gallery")
    home, cache_home = tmp_path / "home", tmp_path / "xdg-cache"
    home.mkdir()
    cache_home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORT_")}  # galprof must set it itself
    env.update(HOME=str(home), XDG_CACHE_HOME=str(cache_home))
    trace, profile = tmp_path / "trace.txt", tmp_path / "profile.json"
    cmd = [STRACE, "-f", "-e", "trace=network", "-o", str(trace), sys.executable, "-m", "galprof", "scan",
           str(gallery), "--workers", "2", "-o", str(profile)]
    code, seconds = _run_paced_scan(cmd, env, cache_home / "galprof" / "cache.sqlite", tmp_path / "log.txt")

    log = (tmp_path / "log.txt").read_text(errors="replace")
    assert code == 0, log[-2000:]
    assert '"path"' in profile.read_text() and "25 analyzed" in log
    assert seconds >= MIN_SECONDS
    assert _files_under(home) == []
    cache_files = _files_under(cache_home)  # before the fix: Microsoft/DeveloperTools/.onnxruntime/deviceid
    own = r"galprof/(cache\.sqlite(-wal|-shm)?|geonames-\d+-\d+\.npz)"  # the cache, the parsed city table
    assert cache_files[0] == "galprof" and all(re.fullmatch(own, f) for f in cache_files[1:]), cache_files
    lines = trace.read_text().splitlines()
    assert len({line.split()[0] for line in lines if "+++ exited" in line}) >= 3  # main + 2 workers traced
    assert [line for line in lines if INET_SOCKET.search(line)] == []  # AF_UNIX (nscd, pools) is fine
