"""Real faces: strangers seen once (UTKFace crops, a quarter of them babies and children) in a gallery
with recurring LFW people. With the settings before the age rule and the cross-validated distances
(cluster_young_age 0, face_attach_distance 0.40, cluster_member_distance 0.42) one "person" here held 45
different strangers (32 in the next); the LFW people must still be found."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from galprof.analysis.people import analyze_people
from galprof.config import Settings
from tests.people_factory import PhotoReader, central_face, lfw_people

PER_PERSON = 6


def test_utkface_strangers_form_no_person_and_lfw_people_are_found(shared_data: Path, lfw: Path,
                                                                    reader: PhotoReader):
    if not (shared_data / "utkface").is_dir():
        pytest.skip(f"UTKFace crops not found in {shared_data}")
    strangers = sorted((shared_data / "utkface").glob("*.jpg"))[::4]  # 250 crops, every age
    names = sorted(p.name for p in lfw.iterdir() if p.is_dir())
    people = lfw_people(lfw, names, PER_PERSON)
    photos = strangers + [p for ps in people.values() for p in ps]
    report = analyze_people([reader.read(p) for p in photos], Settings())

    stranger_paths = {str(p) for p in strangers}
    young = {str(p) for p in strangers if int(p.name.split("_", 1)[0]) < 13}
    assert len(young) >= 50
    in_person = [sum(path in stranger_paths for path in person.paths) for person in report.people]
    young_in_person = [sum(path in young for path in person.paths) for person in report.people]
    assert max(in_person, default=0) <= 8, sorted(in_person)[-5:]
    assert max(young_in_person, default=0) <= 6, sorted(young_in_person)[-5:]

    found = 0
    for photos_of_person in people.values():
        votes = Counter(report.person_of_face.get((str(p), 0, central_face(reader.faces(p), 240, 240)))
                        for p in photos_of_person if reader.faces(p))
        votes.pop(None, None)
        found += bool(votes) and votes.most_common(1)[0][1] > PER_PERSON / 2
    assert found >= len(people) - 2, f"{found} of {len(people)} LFW people found"
