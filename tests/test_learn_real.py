"""Algorithm 2 on the real models and the real CUFED event albums: later photos of each album are
recognised by a model trained on its earlier photos (the held-out photos are never trained on)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from galprof.cli import main

TRAIN, HELD_OUT = 10, 6


@pytest.mark.slow
def test_events_of_real_albums(shared_data: Path, tmp_path: Path):
    albums = sorted(p for p in (shared_data / "events").glob("*/*") if p.is_dir())
    assert len(albums) == 5
    for album in albums:
        photos = sorted(album.glob("*.jpg"))
        assert len(photos) >= TRAIN + HELD_OUT
        event = album.parent.name
        for i, photo in enumerate(photos[:TRAIN]):  # two training albums per event: validation by album
            target = tmp_path / "train" / event / f"part{i % 2}"
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy(photo, target / photo.name)
        held = tmp_path / "mine" / event.lower()
        held.mkdir(parents=True)
        for photo in photos[-HELD_OUT:]:
            shutil.copy(photo, held / photo.name)
    cache, model = str(tmp_path / "cache.sqlite"), str(tmp_path / "events.model")
    result = CliRunner().invoke(main, ["train", "events", "--albums", str(tmp_path / "train"), "-o", model,
                                       "--cache", cache, "-q"])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(main, ["events", str(tmp_path / "mine"), "--model", model, "--cache", cache, "-q"])
    assert result.exit_code == 0, result.output
    decided = {Path(a["path"]).name: a["event"].lower() for a in json.loads(result.output)["albums"]}
    right = sum(folder == event for folder, event in decided.items())
    assert len(decided) == 5 and right >= 4, decided
