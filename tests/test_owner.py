"""Selfies and the owner: EXIF rules and geometry on hand-made facts, then real galleries assembled
from LFW photos with front/back camera EXIF written by piexif, read back by galprof's EXIF reader."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import piexif
import pytest

from galprof.analysis.owner import NOT_ENOUGH, owner_step, selfie_geometry, selfie_rules
from galprof.analysis.people import analyze_people
from galprof.config import Settings
from tests.people_factory import PhotoReader, central_face, face, media, side_by_side

FRONT = {"make": "Apple", "model": "iPhone 12", "lens": "iPhone 12 front camera 2.71mm f/2.2", "focal": 2.71}
BACK = {"make": "Apple", "model": "iPhone 12", "lens": "iPhone 12 back dual wide camera 4.2mm f/1.6", "focal": 4.2}
# a phone that writes no LensModel: only the focal lengths tell its cameras apart
SAMSUNG_FRONT = {"make": "samsung", "model": "SM-G991B", "lens": None, "focal": 2.2}
SAMSUNG_BACK = {"make": "samsung", "model": "SM-G991B", "lens": None, "focal": 5.4}


# ------------------------------------------------------------------ rules on hand-made facts


def test_selfie_rules_lens_and_focal_length():
    e = np.ones(128, np.float32)
    items = [
        media("front.jpg", [[face(e)]], lens_model="iPhone 12 front camera 2.71mm f/2.2", make="Apple",
              model="iPhone 12", focal_length=2.71),
        media("wide.jpg", [[face(e)]], lens_model="iPhone 12 back dual wide camera 4.2mm f/1.6", make="Apple",
              model="iPhone 12", focal_length=4.2),
        # the ultra-wide back lens is the shortest focal length, but its lens name says "back"
        media("ultra.jpg", [[face(e)]], lens_model="iPhone 12 back dual wide camera 1.55mm f/2.4",
              make="Apple", model="iPhone 12", focal_length=1.55),
        media("s_front.jpg", [[face(e)]], make="samsung", model="SM-G991B", focal_length=2.2),
        media("s_back.jpg", [[face(e)]], make="samsung", model="SM-G991B", focal_length=5.4),
        # a camera with one focal length in the gallery: nothing to compare, no selfie
        media("nikon.jpg", [[face(e)]], make="NIKON", model="D750", focal_length=50.0),
        media("video.mp4", [[face(e)]], kind="video", lens_model="front camera"),
    ]
    assert selfie_rules(items) == {"front.jpg": "lens", "s_front.jpg": "focal"}


def test_selfie_geometry():
    e = np.ones(128, np.float32)
    big_centre = face(e, box=(70, 60, 170, 180))
    other_big = face(e, box=(150, 60, 230, 160))
    small = face(e, box=(10, 10, 30, 30))
    frame = media("a.jpg", [[small, big_centre]]).frames[0]
    assert selfie_geometry(frame) == (1, True)
    assert selfie_geometry(media("b.jpg", [[big_centre, other_big]]).frames[0])[1]
    crowd = [big_centre, other_big, face(e, box=(0, 60, 80, 160))]
    assert selfie_geometry(media("c.jpg", [crowd]).frames[0]) == (0, False)
    assert selfie_geometry(media("d.jpg", [[small]]).frames[0]) == (0, False)  # far away, at the edge
    assert selfie_geometry(media("e.jpg", [[]]).frames[0]) == (None, False)


# ------------------------------------------------------------------ real galleries


def copy_with_exif(src: Path, dst: Path, camera: dict, day: int | None) -> Path:
    """A copy of a photo with a phone camera's EXIF (pixels untouched); no capture date when `day` is
    None (the reader then falls back to the file's mtime)."""
    shutil.copy(src, dst)
    exif_ifd = {piexif.ExifIFD.FocalLength: (round(camera["focal"] * 100), 100)}
    if day is not None:
        exif_ifd[piexif.ExifIFD.DateTimeOriginal] = f"2023:05:{day:02d} 10:00:00".encode()
    if camera["lens"]:
        exif_ifd[piexif.ExifIFD.LensModel] = camera["lens"].encode()
    zeroth = {piexif.ImageIFD.Make: camera["make"].encode(), piexif.ImageIFD.Model: camera["model"].encode()}
    piexif.insert(piexif.dump({"0th": zeroth, "Exif": exif_ifd}), str(dst))
    return dst


class Gallery:
    """A gallery folder assembled in a test: photos of named LFW people with chosen cameras."""

    def __init__(self, lfw: Path, root: Path, reader: PhotoReader):
        self.lfw, self.root, self.reader = lfw, root, reader
        self.files: list[Path] = []
        self.by_name: dict[str, list[Path]] = {}
        self.used: dict[str, int] = {}

    def next_photo(self, name: str) -> Path:
        photos = sorted((self.lfw / name).glob("*.jpg"))
        k = self.used.get(name, 0)
        self.used[name] = k + 1
        return photos[k]

    def add(self, name: str, count: int, camera: dict, dated: bool = True) -> None:
        for _ in range(count):
            src = self.next_photo(name)
            dst = copy_with_exif(src, self.root / f"{len(self.files):03d}_{src.name}", camera,
                                 day=1 + len(self.files) % 28 if dated else None)
            self.files.append(dst)
            self.by_name.setdefault(name, []).append(dst)

    def add_together(self, left: str, right: str, camera: dict) -> Path:
        pair = side_by_side(self.next_photo(left), self.next_photo(right), self.root / "pair_tmp.jpg")
        dst = copy_with_exif(pair, self.root / f"{len(self.files):03d}_{left}_{right}.jpg", camera,
                             day=1 + len(self.files) % 28)
        pair.unlink()
        self.files.append(dst)
        return dst

    def analyze(self, settings: Settings | None = None):
        """The people step, then the owner step on the same items, as the profile runs them."""
        settings = settings or Settings()
        items = [self.reader.read(p) for p in self.files]
        report = analyze_people(items, settings)
        return report, owner_step(items, report, settings).to_dict()

    def person_of(self, report, name: str) -> int:
        votes = [report.person_of_face.get((str(p), 0, central_face(self.reader.faces(p), 240, 240)))
                 for p in self.by_name[name]]
        votes = [v for v in votes if v is not None]
        return max(set(votes), key=votes.count)


def test_owner_found_from_front_camera_selfies(lfw: Path, reader: PhotoReader, tmp_path: Path):
    g = Gallery(lfw, tmp_path, reader)
    g.add("Gloria_Macapagal_Arroyo", 5, FRONT)  # the owner's selfies
    g.add("Gloria_Macapagal_Arroyo", 3, BACK)
    g.add("Hugo_Chavez", 1, FRONT)  # someone else once borrowed the phone
    g.add("Hugo_Chavez", 6, BACK)
    g.add("Jeb_Bush", 6, BACK)
    for _ in range(3):
        g.add_together("Gloria_Macapagal_Arroyo", "Jeb_Bush", BACK)
    report, owner = g.analyze()
    assert owner["status"] == "found", owner
    assert owner["person_id"] == g.person_of(report, "Gloria_Macapagal_Arroyo")
    # one selfie face may stay out of every person: loose faces join a person only within
    # attach_distance 0.34 (cross-validated; 0.40 put strangers into persons)
    selfies = owner["evidence"]["owner_selfies"]
    assert selfies in (4, 5) and owner["evidence"]["owner_selfies_confirmed"] == selfies
    assert owner["evidence"]["selfie_photos"] == 6
    assert owner["confidence"] == pytest.approx(selfies / (selfies + 1), abs=1e-3)
    assert owner["gender"] == "female" and owner["gender_confidence"] >= 0.6
    assert owner["birth_year"] is not None and 20 <= owner["age"] <= 90 and owner["age_source"] == "birth_year"
    relatives = {r["person_id"]: r for r in owner["relatives"]}
    jeb = g.person_of(report, "Jeb_Bush")
    assert jeb in relatives and relatives[jeb]["guess"] is True and relatives[jeb]["photos_together"] == 3
    assert g.person_of(report, "Hugo_Chavez") not in relatives


def test_owner_from_shortest_focal_length(lfw: Path, reader: PhotoReader, tmp_path: Path):
    g = Gallery(lfw, tmp_path, reader)
    g.add("Serena_Williams", 4, SAMSUNG_FRONT)
    g.add("Serena_Williams", 2, SAMSUNG_BACK)
    g.add("Venus_Williams", 6, SAMSUNG_BACK)
    g.add("Jennifer_Garner", 5, SAMSUNG_BACK)
    report, owner = g.analyze()
    assert owner["status"] == "found", owner
    assert owner["person_id"] == g.person_of(report, "Serena_Williams")
    assert owner["person_id"] != g.person_of(report, "Venus_Williams")  # the sister is someone else
    assert owner["evidence"]["owner_selfies"] == 4


def test_tied_selfie_counts_give_no_owner(lfw: Path, reader: PhotoReader, tmp_path: Path):
    g = Gallery(lfw, tmp_path, reader)
    g.add("Andre_Agassi", 3, FRONT)
    g.add("Andre_Agassi", 2, BACK)
    g.add("Kim_Clijsters", 3, FRONT)
    g.add("Kim_Clijsters", 2, BACK)
    _, owner = g.analyze()
    assert owner["status"] == "tie"
    assert owner["person_id"] is None and owner["message"].startswith(NOT_ENOUGH)
    weights = [w["weight"] for w in owner["evidence"]["selfie_weight_by_person"]]
    assert weights[:2] == [3.0, 3.0]


def test_no_selfie_gives_a_clear_status(lfw: Path, reader: PhotoReader, tmp_path: Path):
    g = Gallery(lfw, tmp_path, reader)
    g.add("Hu_Jintao", 5, BACK)
    g.add("Tommy_Franks", 5, BACK)
    report, owner = g.analyze()
    assert owner["status"] == "not_enough_selfies"
    assert owner["person_id"] is None and NOT_ENOUGH in owner["message"]
    assert len(report.people) == 2  # the people are still there


def test_owner_alone_in_undated_photos(lfw: Path, reader: PhotoReader, tmp_path: Path):
    """A gallery of one person only (4 front-camera selfies, 2 back-camera photos), copied files with no
    capture date in their EXIF: one person, the owner, with no birth year (file times are copy times)
    and an age from the face estimate, labelled so; not seen on any day, so not close."""
    g = Gallery(lfw, tmp_path, reader)
    g.add("Gloria_Macapagal_Arroyo", 4, FRONT, dated=False)
    g.add("Gloria_Macapagal_Arroyo", 2, BACK, dated=False)
    report, owner = g.analyze(Settings(close_person_photos=5, close_person_days=1))
    assert len(report.people) == 1
    assert owner["status"] == "found" and owner["evidence"]["owner_selfies"] == 4, owner
    assert owner["birth_year"] is None and owner["age_source"] == "face_estimate" and 20 <= owner["age"] <= 90
    person = report.sections()["people"][0]
    assert person["photos"] >= 5 and person["days_seen"] == 0 and person["first_seen"] is None
    assert person["close"] is False and report.close_people == set()
