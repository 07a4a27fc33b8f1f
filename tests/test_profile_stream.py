"""The profile step's memory savers change nothing in the document: the store's reader without photo
embeddings, the people stage's one pass that keeps no file, the neighbour graph ranked a few rows at a time, the
JSON written in pieces."""

from __future__ import annotations

import json

import numpy as np

from galprof.analysis import density, neighbours
from galprof.analysis.owner import owner_step
from galprof.analysis.people import analyze_people
from galprof.config import Settings
from galprof.facts import Box, ClassScore, ExifFacts, Face, FrameFacts, MediaFacts, ObjectDetection
from galprof.profile import profile_from_media, profile_from_store
from galprof.render.json import dumps, iter_dumps, write_json
from galprof.store import Store

RUN_FIELDS = ("created_at", "timings")


def gallery(photos: int = 240, people: int = 6, seed: int = 7) -> list[MediaFacts]:
    """Photos of a few people over many days, a third with GPS, the owner's front-camera selfies."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(people, 128))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    items = []
    for i in range(photos):
        selfie = i % 10 == 0
        who = [0] if selfie else list(rng.choice(people, size=int(rng.integers(0, 3)), replace=False))
        faces = []
        for k, person in enumerate(who):
            x = centres[person] + rng.normal(scale=0.02, size=128)
            side, cx = (400.0, 500.0) if selfie else (120.0, 150.0 + 300 * k)
            faces.append(Face(Box(cx - side / 2, 375 - side / 2, cx + side / 2, 375 + side / 2), 0.9,
                              rng.uniform(0, 900, (6, 2)).astype(np.float32), (x / np.linalg.norm(x)).astype(np.float32),
                              age=20.0 + 5 * person, female_probability=float(person % 2)))
        gps = i % 3 == 0
        exif = ExifFacts(taken_at=f"2024-{1 + i % 12:02d}-{1 + i % 27:02d}T12:00:00", taken_at_source="exif",
                         make="Apple", model="iPhone 13", lens_model="iPhone 13 front camera" if selfie else
                         "iPhone 13 back camera", focal_length=2.7 if selfie else 5.1,
                         latitude=48.85 if gps else None, longitude=2.35 if gps else None)
        frame = FrameFacts(width=1000, height=750, faces=faces,
                           classes=[ClassScore("pizza", 0.6), ClassScore("golden_retriever", 0.3)][: 1 + i % 2],
                           objects=[ObjectDetection("dog", 0.8, Box(0, 0, 50, 50))] if i % 4 == 0 else [],
                           embedding=rng.normal(size=1280).astype(np.float32))
        items.append(MediaFacts(f"/g/{i:04d}.jpg", "photo", "jpeg", 1000 + i, float(i), exif, [frame]))
    return items


def without_run_fields(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if k not in RUN_FIELDS}


def test_the_store_reads_rows_without_photo_embeddings(tmp_path):
    items = gallery(photos=20)
    with Store(tmp_path / "c.sqlite") as store:
        for m in items:
            store.put(m, "sig")
        full = list(store.iter_media())
        slim = list(store.iter_media([m.path for m in items], photo_embeddings=False))
    assert [m.path for m in slim] == [m.path for m in items]
    assert all(f.embedding is not None for m in full for f in m.frames)
    assert all(f.embedding is None for m in slim for f in m.frames)
    for a, b in zip(full, slim, strict=True):
        assert a.exif == b.exif and len(a.frames[0].faces) == len(b.frames[0].faces)
        assert a.frames[0].classes == b.frames[0].classes and a.frames[0].objects == b.frames[0].objects
        for fa, fb in zip(a.frames[0].faces, b.frames[0].faces, strict=True):
            assert np.array_equal(fa.embedding, fb.embedding) and fa.box == fb.box


def test_the_people_stage_finds_the_same_people_in_one_pass_that_keeps_no_file():
    """The profile's people and owner steps (faces as columns, the owner's facts gathered in the same pass)
    give what the steps give on the whole files."""
    items = gallery()
    full = analyze_people(items, Settings())
    full_owner = owner_step(items, full, Settings())
    doc = profile_from_media(lambda: iter(items), Settings(ocr=False), root="/g")
    assert len(full.people) >= 3 and full_owner.status == "found"  # the comparison covers people and owner
    sections = json.loads(json.dumps({**full.sections(), "owner": full_owner.to_dict()}))
    assert {k: doc[k] for k in ("people", "demography", "owner")} == sections


def test_the_profile_of_a_store_equals_the_profile_of_the_full_facts(tmp_path):
    items = gallery()
    settings = Settings(ocr=False)
    with Store(tmp_path / "c.sqlite") as store:
        for m in items:
            store.put(m, "sig")
        streamed = profile_from_store(store, settings, root="/g")
    reference = profile_from_media(lambda: iter(items), settings, root="/g")
    assert len(streamed["photos"]) == len(items) and streamed["places"]["media_with_gps"] == 80
    assert streamed["owner"]["status"] == "found"
    assert without_run_fields(streamed) == without_run_fields(reference)


def test_the_neighbour_graph_is_the_same_when_ranked_a_few_rows_at_a_time(monkeypatch):
    rng = np.random.default_rng(11)
    x = rng.normal(size=(700, 32))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    whole = density.neighbour_graph(x, 5)
    monkeypatch.setattr(neighbours, "BLOCK_BYTES", 4 * 700 * 3)  # products of 3 rows instead of all 700
    ranked = density.neighbour_graph(x, 5)
    # the same edges; products of another shape may round the last bit of a distance otherwise
    assert whole.nnz == ranked.nnz >= 700 * 5 and ((whole != 0) != (ranked != 0)).nnz == 0
    assert abs(whole - ranked).max() < 1e-6


def one_string_dumps(doc: dict, indent: int = 2) -> str:
    """The writer as it was before it streamed (one string), to check the pieces add up to the same text."""
    pad, parts = " " * indent, []
    for key, value in doc.items():
        name = json.dumps(key, ensure_ascii=False)
        if isinstance(value, list) and len(value) > 50 and all(isinstance(v, dict) for v in value):
            lines = ",\n".join(pad * 2 + json.dumps(v, ensure_ascii=False, separators=(", ", ": ")) for v in value)
            parts.append(f"{pad}{name}: [\n{lines}\n{pad}]")
        else:
            text = json.dumps(value, indent=indent, ensure_ascii=False)
            parts.append(f"{pad}{name}: " + text.replace("\n", "\n" + pad))
    return "{\n" + ",\n".join(parts) + "\n}\n"


def test_the_json_is_written_in_pieces_that_add_up_to_the_same_text(tmp_path):
    doc = profile_from_media(lambda: iter(gallery(photos=2500, people=4)), Settings(ocr=False), root="/g")
    pieces = list(iter_dumps(doc))
    assert len(pieces) > len(doc) + 2  # the photos list came in several pieces
    assert max(len(p) for p in pieces) < len(dumps(doc)) / 2
    assert "".join(pieces) == dumps(doc) == one_string_dumps(doc)
    out = tmp_path / "profile.json"
    write_json(doc, out)
    assert out.read_text(encoding="utf-8") == dumps(doc) and (out.stat().st_mode & 0o777) == 0o600
    assert json.loads(out.read_text(encoding="utf-8"))["photos"] == doc["photos"]
    assert list(iter_dumps({})) == ["{}\n"] and dumps([1]) == "[\n  1\n]\n"
