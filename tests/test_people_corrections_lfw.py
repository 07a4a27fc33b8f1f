"""People corrections on real photos: LFW photos of two people scanned with the real models, one named,
the two merged, a photo taken out of the merged person, and re-scans with more photos keeping it all."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from galprof.cli import main
from tests.people_factory import lfw_people

NAMES = ["Andre_Agassi", "Hans_Blix"]


def _copy(photos: dict[str, list[Path]], gallery: Path, start: int, stop: int) -> None:
    for name, files in photos.items():
        for f in files[start:stop]:
            shutil.copy(f, gallery / f"{name}_{f.name}")


def _scan(gallery: Path, cache: Path) -> dict:
    result = CliRunner().invoke(main, ["scan", str(gallery), "--cache", str(cache), "-q", "--workers", "1",
                                       "--no-ocr"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _person_holding(doc: dict, prefix: str) -> dict:
    [person] = [p for p in doc["people"] if all(Path(x).name.startswith(prefix) for x in p["photo_list"])]
    return person


def _people(*args: str, cache: Path) -> None:
    result = CliRunner().invoke(main, ["people", *args, "--cache", str(cache)])
    assert result.exit_code == 0, result.output


def test_name_merge_not_through_rescans_of_real_photos(lfw, tmp_path):
    photos = lfw_people(lfw, NAMES, per_person=7)
    gallery, cache = tmp_path / "gallery", tmp_path / "cache.sqlite"
    gallery.mkdir()
    _copy(photos, gallery, 0, 4)
    first = _scan(gallery, cache)
    agassi, blix = _person_holding(first, NAMES[0]), _person_holding(first, NAMES[1])
    assert agassi["photos"] >= 3 and blix["photos"] >= 3 and agassi["name"] is None

    _people("name", str(agassi["id"]), "Andre", cache=cache)
    named = _scan(gallery, cache)
    assert "profile_reused" not in named["scan"]  # the correction changed the cache's state: rebuilt
    assert _person_holding(named, NAMES[0])["name"] == "Andre"
    assert _scan(gallery, cache)["scan"]["profile_reused"] is True  # nothing changed since

    _copy(photos, gallery, 4, 7)  # 3 new photos of each
    more = _scan(gallery, cache)
    grown = _person_holding(more, NAMES[0])
    assert grown["id"] == agassi["id"] and grown["name"] == "Andre" and grown["photos"] > agassi["photos"]

    _people("merge", str(agassi["id"]), str(blix["id"]), cache=cache)
    taken_out = min(p for p in _person_holding(more, NAMES[1])["photo_list"])
    _people("not", str(agassi["id"]), taken_out, cache=cache)
    merged = _scan(gallery, cache)
    by_id = {p["id"]: p for p in merged["people"]}
    assert blix["id"] not in by_id
    both = by_id[agassi["id"]]
    assert both["name"] == "Andre" and both["merged_ids"] == [blix["id"]]
    assert taken_out not in both["photo_list"]
    assert {Path(p).name.split("_")[0] for p in both["photo_list"]} == {"Andre", "Hans"}
    assert next(p for p in merged["photos"] if p["path"] == taken_out)["people"] == []
    # the same profile from the cache alone (show), with every correction applied
    shown = CliRunner().invoke(main, ["show", str(cache), "--format", "json", "-q"])
    assert {p["id"]: p["name"] for p in json.loads(shown.stdout)["people"]} == {agassi["id"]: "Andre"}
