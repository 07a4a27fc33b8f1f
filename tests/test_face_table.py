"""The columnar people stage (galprof.analysis.face_table, owner.OwnerFacts) keeps what the people and
owner steps read and finds the same people, owner and photo rows as the object-per-face stage before it
(tests/data/people_stage_golden.json, made by that tree from `people_stage_gallery.mixed_gallery()`)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from galprof.analysis import face_table
from galprof.analysis.face_table import NO_TIME, FaceTable
from galprof.analysis.owner import OwnerFacts, _image_rule, selfie_geometry, selfie_rules
from galprof.analysis.people import FaceRecord, face_quality
from galprof.config import Settings
from galprof.facts import MediaFacts
from galprof.profile import profile_from_media
from galprof.store import Store
from tests.people_stage_gallery import mixed_gallery, people_stage_summary

GOLDEN = Path(__file__).parent / "data" / "people_stage_golden.json"


def test_the_table_holds_every_embedded_face_as_it_was():
    items = mixed_gallery()
    table = FaceTable.from_media(items)
    expected = [(m, fi, ki, frame, f) for m in items for fi, frame in enumerate(m.frames)
                for ki, f in enumerate(frame.faces) if f.embedding is not None]
    assert len(table) == len(expected) and len(table.paths) == len({m.path for m, *_ in expected})
    codes, clips, seconds = table.frame_codes(), table.clip_codes(), table.taken_seconds()
    quality = table.quality()
    for i, (m, fi, ki, frame, f) in enumerate(expected):
        assert table.key(i) == (m.path, fi, ki) and table.box[i].tolist() == [f.box.x1, f.box.y1, f.box.x2, f.box.y2]
        assert table.embeddings[i].tobytes() == f.embedding.tobytes() and table.score[i] == f.score
        assert (None if np.isnan(table.age[i]) else table.age[i]) == f.age
        assert (None if np.isnan(table.female[i]) else table.female[i]) == f.female_probability
        assert table.frame_size[i].tolist() == [frame.width, frame.height] and bool(table.video[i]) == (m.kind == "video")
        record = FaceRecord(m.path, fi, ki, m.kind, f, frame.width, frame.height, None)
        assert quality[i] == face_quality(record)  # the same float64 operations, bit for bit
        dated = m.exif is not None and m.exif.taken_at and m.exif.taken_at_source != "mtime"
        assert (table.taken_us[i] != NO_TIME) == bool(dated)
        if dated:
            taken = datetime.fromisoformat(m.exif.taken_at)
            assert table.taken([i]) == [taken] and seconds[i] == (taken - datetime(1970, 1, 1)).total_seconds()
        else:
            assert table.taken([i]) == [None] and np.isnan(seconds[i])
        assert clips[i] == (table.file[i] if m.kind == "video" else None)
    same_frame = {(table.key(i)[0], table.key(i)[1]) for i in range(len(table))}
    assert len(set(codes)) == len(same_frame)  # one code per photo or frame, none shared


def test_the_embedding_matrix_is_the_same_whatever_the_chunk(monkeypatch):
    items = mixed_gallery()
    whole = FaceTable.from_media(items).embeddings
    monkeypatch.setattr(face_table, "CHUNK", 7)
    chunked = FaceTable.from_media(items).embeddings
    assert chunked.dtype == whole.dtype == np.float32 and np.array_equal(chunked, whole)
    empty = FaceTable.from_media([MediaFacts("/g/x.jpg", "photo", "jpeg", 1, 0.0)])
    assert len(empty) == 0 and empty.embeddings.shape == (0, 128) and empty.paths == []


def test_owner_facts_find_the_selfies_of_the_whole_files():
    items = mixed_gallery()
    person_of_face = {(m.path, 0, 0): k % 3 for k, m in enumerate(items)}
    rules = selfie_rules(items)
    expected = []  # the owner step as it read whole files
    for m in items:
        rule = rules.get(m.path) or _image_rule(m)
        subject, confirmed = selfie_geometry(m.frames[0]) if m.frames else (None, False)
        if rule is not None and subject is not None:
            expected.append((m.path, rule, confirmed, person_of_face.get((m.path, 0, subject))))
    gathered = OwnerFacts.of(items)
    got = [(s.path, s.rule, s.confirmed, s.person_id) for s in gathered.selfies(person_of_face)]
    assert got == expected and {r for _, r, _, _ in got} == {"lens"}
    assert {m.path: r for m in items if (r := gathered.rules.rule(m))} == rules
    assert gathered.rules.for_photo(items[0]) == {items[0].path: "lens"} and gathered.rules.for_photo(items[-1]) == {}


def test_the_profile_finds_the_people_the_object_stage_found(tmp_path):
    """The golden file is the summary of this gallery's profile made by the tree before the columnar stage."""
    items = mixed_gallery()
    doc = profile_from_media(lambda: iter(items), Settings(ocr=False), root="/g")
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert people_stage_summary(doc) == golden
    assert doc["owner"]["status"] == "found" and len(doc["people"]) >= 4


@pytest.mark.parametrize("state", [False, True])
def test_a_store_with_remembered_people_gives_the_same_document(tmp_path, state):
    """From a cache (and again with the people state the first profile left) the document is the same."""
    from galprof.profile import profile_from_store

    items = mixed_gallery()
    with Store(tmp_path / "c.sqlite") as store:
        for m in items:
            store.put(m, "sig")
        first = profile_from_store(store, Settings(ocr=False), root="/g")
        again = profile_from_store(store, Settings(ocr=False), root="/g") if state else first
    golden = json.loads(GOLDEN.read_text("utf-8"))
    golden["photos"].sort()  # the store reads its rows in path order
    assert people_stage_summary(again) == people_stage_summary(first) == golden
