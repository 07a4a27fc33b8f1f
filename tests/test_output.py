"""Where -o and stdout output goes: files (atomic, mode kept), symlinks, devices, FIFOs, full disks,
closed pipes. Runs `galprof show PROFILE.json` on a small generated profile, as root for real
(/dev/null and /dev/full are written in place, never replaced; as root the tests use private device
nodes, so a regression cannot destroy the machine's /dev/null)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from galprof.cli import main
from galprof.config import Settings
from galprof.errors import OutputError
from galprof.profile import profile_from_media
from galprof.render.json import write_json
from tests.profile_factory import frame, media


def _doc(n: int = 3, folder: str = "/g") -> dict:
    items = [media(f"{folder}/p{i}.jpg", frame({"pizza": 0.9})) for i in range(n)]
    return profile_from_media(lambda: iter(items), Settings(), root="/g")


@pytest.fixture(scope="module")
def doc() -> dict:
    return _doc()


@pytest.fixture
def profile(tmp_path: Path, doc: dict) -> Path:
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(doc))
    return path


def show(*args: str):
    return CliRunner().invoke(main, ["show", *args])


def galprof(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "galprof", *args], check=False, text=True, timeout=60, **kwargs)


def test_dev_null_is_written_in_place(profile, char_devices):
    null = char_devices[0]
    before = os.stat(null)
    result = show(str(profile), "--format", "json", "-o", str(null))
    assert result.exit_code == 0, result.output
    after = os.stat(null)
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev
    assert stat.S_IMODE(after.st_mode) == stat.S_IMODE(before.st_mode)


def test_scan_to_dev_null(tmp_path, char_devices):
    gallery = tmp_path / "empty"
    gallery.mkdir()
    result = CliRunner().invoke(main, ["scan", str(gallery), "-q", "-o", str(char_devices[0]),
                                       "--cache", str(tmp_path / "c.sqlite")])
    assert result.exit_code == 0, result.output
    assert stat.S_ISCHR(os.stat(char_devices[0]).st_mode) and result.stdout == ""


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_full_device_is_an_error(profile, char_devices):
    result = show(str(profile), "--format", "json", "-o", str(char_devices[1]))
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: cannot write the output {char_devices[1]}: No space left on device"


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
@pytest.mark.parametrize("fmt", ["json", "table"])
def test_full_stdout_is_an_error(profile, fmt):
    with open("/dev/full", "w") as full:
        result = galprof("show", str(profile), "--format", fmt, stdout=full, stderr=subprocess.PIPE)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: cannot write the output stdout: No space left on device"


def test_closed_pipe_is_silent(tmp_path):
    big = tmp_path / "big.json"
    big.write_text(json.dumps(_doc(2000, "/g/" + "x" * 100)))  # far more than a pipe buffer, even as paths
    for args in (["show", str(big), "--format", "json"], ["photos", str(big), "--public"]):
        proc = subprocess.Popen([sys.executable, "-m", "galprof", *args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        proc.stdout.read(1)
        proc.stdout.close()  # the reader is gone, like `| head -c1`
        stderr = proc.stderr.read()
        assert proc.wait(timeout=60) == 141, stderr
        assert stderr == b"", stderr


def test_closed_stdout_is_reported(profile):
    result = subprocess.run(f'"{sys.executable}" -m galprof show "{profile}" --format json >&-', shell=True,
                            check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: cannot write the output stdout: Bad file descriptor"
    assert "None" not in result.stderr


def test_symlink_is_written_through(profile, tmp_path, doc):
    target = tmp_path / "real" / "p.json"
    target.parent.mkdir()
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    assert show(str(profile), "--format", "json", "-o", str(link)).exit_code == 0
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert json.loads(target.read_text())["gallery"] == doc["gallery"]


def test_dangling_symlink_creates_its_target(profile, tmp_path):
    link = tmp_path / "link.json"
    link.symlink_to(tmp_path / "new.json")
    assert show(str(profile), "--format", "json", "-o", str(link)).exit_code == 0
    assert link.is_symlink() and json.loads((tmp_path / "new.json").read_text())["schema_version"]


def test_fifo_reader_gets_the_whole_document(profile, tmp_path, doc):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    result = show(str(profile), "--format", "json", "-o", str(fifo))
    reader.join(timeout=30)
    assert result.exit_code == 0, result.output
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert json.loads(received[0])["photos"] == doc["photos"]


def test_existing_file_keeps_its_mode_and_new_file_is_private(profile, tmp_path):
    existing = tmp_path / "shared.json"
    existing.write_text("old")
    existing.chmod(0o640)
    assert show(str(profile), "--format", "json", "-o", str(existing)).exit_code == 0
    assert stat.S_IMODE(existing.stat().st_mode) == 0o640 and existing.read_text().startswith("{")
    new = tmp_path / "sub" / "new.json"
    assert show(str(profile), "--format", "json", "-o", str(new)).exit_code == 0
    assert stat.S_IMODE(new.stat().st_mode) == 0o600
    assert sorted(os.listdir(tmp_path)) == ["profile.json", "shared.json", "sub"]  # no temporary left


def test_table_with_output_writes_both(profile, tmp_path, doc):
    out = tmp_path / "again.json"
    result = show(str(profile), "--format", "table", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "Interests" in result.stdout and not result.stdout.lstrip().startswith("{")
    assert json.loads(out.read_text())["interests"] == doc["interests"]


def test_writer_errors_name_the_path(tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    with pytest.raises(OutputError, match="folder: Is a directory"):
        write_json({"a": 1}, folder)
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="Not a directory"):
        write_json({"a": 1}, tmp_path / "file" / "p.json")
