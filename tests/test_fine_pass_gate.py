"""The face detector's fine pass runs only on frames where NanoDet sees a person: the detector's switch,
and the analyzer opening it by the frame's objects."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from galprof.config import Settings
from galprof.vision.analyzer import FINE_PASS_NEEDS, FrameAnalyzer


@pytest.fixture(scope="module")
def analyzer() -> FrameAnalyzer:
    return FrameAnalyzer(Settings(ocr=False), threads=1)


def counted_runs(detector, monkeypatch) -> list[tuple]:
    """The input shapes of every BlazeFace run from now on."""
    shapes: list[tuple] = []
    inner = detector.model.run

    def run(tensor):
        shapes.append(tuple(tensor.shape))
        return inner(tensor)

    monkeypatch.setattr(detector.model, "run", run)
    return shapes


def small_face_scene(shared_data: Path, side: int = 150) -> np.ndarray:
    """A 1024 x 768 nature photo with an LFW photo pasted at `side` px: 150 px gives a ~70 px face, under
    what the whole-image pass sees (~96 px in a 1024 px frame)."""
    face = Image.open(min((shared_data / "lfw").glob("*/*.jpg"))).convert("RGB").resize((side, side))
    scene = Image.open(shared_data / "immich-assets" / "albums" / "nature" / "el_torcal_rocks.jpg")
    canvas = scene.convert("RGB").resize((1024, 768))
    canvas.paste(face, (600, 300))
    return np.asarray(canvas)


def test_without_the_fine_pass_a_small_face_is_not_found(analyzer, shared_data):
    detector = analyzer.faces.detector
    rgb = small_face_scene(shared_data)
    with_fine = detector.detect(rgb, 0.6)
    without = detector.detect(rgb, 0.6, fine_pass=False)
    near = [d for d in with_fine if 600 < d.box.center[0] < 750 and 300 < d.box.center[1] < 450]
    assert len(near) == 1 and 40 < near[0].box.width < 100
    assert not [d for d in without if 600 < d.box.center[0] < 750 and 300 < d.box.center[1] < 450]


def test_a_small_frame_has_no_fine_pass_to_leave_out(analyzer, shared_data):
    detector = analyzer.faces.detector
    rgb = np.asarray(Image.open(min((shared_data / "lfw").glob("*/*.jpg"))).convert("RGB"))
    assert len(detector.scales(rgb.shape[1], rgb.shape[0])) == 1
    with_fine, without = detector.detect(rgb, 0.6), detector.detect(rgb, 0.6, fine_pass=False)
    assert [d.box for d in with_fine] == [d.box for d in without] and with_fine


def test_the_analyzer_runs_the_fine_pass_only_where_a_person_is_seen(analyzer, shared_data, monkeypatch):
    shapes = counted_runs(analyzer.faces.detector, monkeypatch)
    scene = np.asarray(Image.open(shared_data / "immich-assets" / "albums" / "nature" / "el_torcal_rocks.jpg")
                       .convert("RGB").resize((1024, 768)))
    facts = analyzer.analyze(scene)
    assert not any(o.label == FINE_PASS_NEEDS for o in facts.objects)
    assert shapes and all(shape[1] * shape[2] <= 192 * 192 for shape in shapes)  # whole + retry only
    shapes.clear()
    group = next(p for p in sorted((shared_data / "events").rglob("*.jpg"))
                 if any(o.label == "person" and o.score > 0.6
                        for o in analyzer.objects.detect(np.asarray(Image.open(p).convert("RGB")))))
    image = Image.open(group).convert("RGB")
    scale = 1024 / max(image.size)
    rgb = np.asarray(image.resize((round(image.width * scale), round(image.height * scale))))
    facts = analyzer.analyze(rgb)
    assert any(o.label == FINE_PASS_NEEDS for o in facts.objects)
    assert any(shape[1] * shape[2] > 192 * 192 for shape in shapes), shapes  # the fine pass ran


def test_the_whole_image_pass_sees_the_same_pixels_without_the_fine_pass(analyzer, shared_data):
    from galprof.vision.frame_image import FrameImage

    detector = analyzer.faces.detector
    frame = FrameImage(small_face_scene(shared_data, side=400))  # a face the whole-image pass finds
    with_fine = detector._free_passes(frame, 0.3, fine_pass=True)
    without = detector._free_passes(frame, 0.3, fine_pass=False)
    assert len(with_fine) == len(without) + 1  # the fine pass's detections are the last part
    assert without[0][1].size  # the whole-image pass found the face: its scores are compared below
    for part_with, part_without in zip(with_fine, without, strict=False):
        for a, b in zip(part_with, part_without, strict=True):
            assert np.array_equal(a, b)


def test_without_a_gate_label_the_fine_pass_runs_on_every_frame(analyzer, shared_data, monkeypatch):
    shapes = counted_runs(analyzer.faces.detector, monkeypatch)
    monkeypatch.setattr(analyzer, "fine_pass_needs", None)
    scene = np.asarray(Image.open(shared_data / "immich-assets" / "albums" / "nature" / "el_torcal_rocks.jpg")
                       .convert("RGB").resize((1024, 768)))
    facts = analyzer.analyze(scene)
    assert not any(o.label == FINE_PASS_NEEDS for o in facts.objects)
    assert any(shape[1] * shape[2] > 192 * 192 for shape in shapes)  # the fine pass ran all the same
