"""Shared test fixtures. Integration tests read the real evaluation data in ../shared/data."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.people_factory import PhotoReader

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real evaluation data folder; tests that need it are skipped when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real evaluation data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="module")
def lfw(shared_data: Path) -> Path:
    """The LFW photos of the real evaluation data (one folder per person)."""
    return shared_data / "lfw"


@pytest.fixture(scope="module")
def reader() -> PhotoReader:
    """MediaFacts of real photo files through galprof's EXIF reader and face pipeline (people tests)."""
    from tests.people_factory import PhotoReader

    return PhotoReader()


@pytest.fixture()
def char_devices(tmp_path: Path) -> tuple[Path, Path]:
    """(a null device, a full device) to write output to. As root (CI, the developers' machines) these are
    private device nodes in tmp_path, so a regression that replaces its output with a regular file
    destroys a test file, not the machine's /dev/null; otherwise the system's own, which an
    unprivileged user cannot replace."""
    import os
    import stat

    if os.geteuid() != 0:
        return Path("/dev/null"), Path("/dev/full")
    null, full = tmp_path / "null", tmp_path / "full"
    os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    os.mknod(full, 0o666 | stat.S_IFCHR, os.makedev(1, 7))
    return null, full


@pytest.fixture(autouse=True, scope="session")
def _private_cache_home(tmp_path_factory: pytest.TempPathFactory):
    """Tests never write into the user's own cache folder (the default cache, the parsed city table)."""
    import os

    saved = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
    yield
    if saved is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = saved
