"""No face in held-out photos without people (split B of benchmarks/face_finding.py: the food classes
and nature photos no choice was made on, and imagenet's buildings and structures of odd synset number),
through the scan's decoding and detector with its close-up retry; and none of them private by face size."""

from __future__ import annotations

from pathlib import Path

import pytest

from galprof.analysis.privacy import face_is_portrait
from galprof.config import Settings
from galprof.facts import FrameFacts
from galprof.media.decode import decode_image
from galprof.vision.align import as_image
from galprof.vision.blazeface import FaceDetector

# imagenet-samples of split B (odd synset number): dam, castle, water tower, drilling platform,
# container ship, tile roof, stone wall
STRUCTURES = ("n03160309", "n02980441", "n04562935", "n03240683", "n03095699", "n04435653", "n04326547")


def _held_out(shared_data: Path) -> list[Path]:
    food = [p for cls in ("baklava", "beignets") for p in sorted((shared_data / "food101" / cls).glob("*.jpg"))]
    nature = sorted((shared_data / "immich-assets" / "albums" / "nature").glob("*.jp*g"))[1::2]
    imagenet = [p for s in STRUCTURES for p in (shared_data / "imagenet-samples").glob(f"{s}_*.JPEG")]
    return food + nature + imagenet


def test_no_face_in_held_out_photos_without_people(shared_data: Path):
    photos = _held_out(shared_data)
    if len(photos) < 50:
        pytest.skip("food101 / nature / imagenet samples not found")
    settings = Settings()
    detector = FaceDetector(variant=settings.face_detector)
    faces, private = {}, []
    for path in photos:
        rgb = decode_image(str(path), settings.max_side).rgb
        found = detector.detect(as_image(rgb), min_score=settings.face_score)
        if found:
            faces[path.name] = [(round(d.score, 2), round(d.box.width)) for d in found]
        frame = FrameFacts(width=rgb.shape[1], height=rgb.shape[0])
        if any(face_is_portrait(frame, d.box, settings.private_face_width) for d in found):
            private.append(path.name)
    assert not faces, faces
    assert not private
