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
