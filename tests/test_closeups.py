"""Close-ups (faces filling the frame, as in selfies) are found by the scan's detector: UTKFace's tight
200 px crops of the held-out half (odd file index; the retry's zoom was chosen on the even half) and
tight crops cut here from LFW photos, on which no choice was made. Photos are decoded as the scan does."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from galprof.config import Settings
from galprof.media.decode import decode_image
from galprof.vision.align import as_image
from galprof.vision.blazeface import FaceDetector


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector(variant=Settings().face_detector)


def _found(detector: FaceDetector, image: Image.Image) -> bool:
    """A face holding the image centre and at least a third of its width (the close-up itself)."""
    cx, cy = image.width / 2, image.height / 2
    return any(d.box.x1 <= cx <= d.box.x2 and d.box.y1 <= cy <= d.box.y2 and d.box.width > image.width / 3
               for d in detector.detect(image, min_score=Settings().face_score))


def test_held_out_utkface_crops_are_found(shared_data: Path, detector):
    crops = sorted((shared_data / "utkface").glob("*.jpg"))[1::2][:150]
    if not crops:
        pytest.skip("no UTKFace crops in ../shared/data/utkface")
    missed = [p.name for p in crops if not _found(detector, as_image(decode_image(str(p)).rgb))]
    # 499 / 500 of the whole held-out half are found (benchmarks/face_finding.py); before: 452 / 500
    assert len(missed) <= 1, missed


def test_tight_lfw_crops_are_found(lfw: Path, detector):
    photos = [min(person.glob("*.jpg")) for person in sorted(p for p in lfw.iterdir() if p.is_dir())]
    if not photos:
        pytest.skip("no LFW photos")
    missed = []
    for path in photos:
        image = as_image(decode_image(str(path)).rgb)
        # LFW's subject is centred, about 100 px wide in 240 px: a crop of 130 px is a tight close-up
        crop = image.resize((200, 200), Image.Resampling.BILINEAR, box=(55, 55, 185, 185))
        if not _found(detector, crop):
            missed.append(path.name)
    assert len(missed) <= 1, missed



def test_close_up_retry_input_has_a_margin(detector):
    """The retry shrinks the photo by CLOSEUP_ZOOM onto the model's square: a wide black margin on
    every side (what full-range needs around a face filling the frame), mapped back exactly."""
    from galprof.vision.blazeface import CLOSEUP_ZOOM

    image = Image.new("RGB", (200, 160), (250, 250, 250))
    scale = detector.size / 200 / CLOSEUP_ZOOM
    tensor, mapping, resized = detector.scaled_input(image, scale, square=True)
    assert tensor.shape[1:3] == (detector.size, detector.size)
    lit = (tensor[0] > 0).all(axis=2)
    ys, xs = lit.nonzero()
    assert xs.min() > 50 and detector.size - 1 - xs.max() > 50 and ys.min() > 50
    assert (xs.max() - xs.min() + 1) == resized.width
    assert xs.min() / mapping.sx + mapping.ox == pytest.approx(0.0, abs=1.0)
