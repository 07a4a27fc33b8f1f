"""The device-side decision of `scan --remote` on photographed documents generated here (passport page
with an MRZ, bank card, ID card, letter with an IBAN, printed page; on a table, at an angle, blurred) and
on real landscapes: every document stays on the device, every landscape may go. The benchmark
(benchmarks/remote_privacy.py) runs the same on a larger set with another seed."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from galprof.analysis import ocr
from galprof.config import Settings
from galprof.media.decode import decode_image
from galprof.server.client import RemoteAnalyzer
from galprof.server.link import RemoteFailure
from galprof.server.tier import fine_face_detector
from tests.document_factory import KINDS, photographed_documents

pytestmark = pytest.mark.skipif(not ocr.ocr_available(), reason="needs tesseract (make install)")
SETTINGS = Settings(workers=1)


class CountingLink:
    """Records each frame the analyzer would send; sends nothing."""

    max_side = 1024

    def __init__(self):
        self.bodies: list[bytes] = []

    def analyze(self, body, timestamp):
        self.bodies.append(body)
        raise RemoteFailure("test: not sent")


@pytest.fixture(scope="module")
def device():
    from galprof.vision.analyzer import FrameAnalyzer

    return FrameAnalyzer(SETTINGS, threads=1)


def decide(device, rgb: np.ndarray) -> tuple[bool, str | None]:
    link = CountingLink()
    facts = RemoteAnalyzer(device, link, SETTINGS, fine_face_detector()).analyze(rgb)
    return bool(link.bodies), facts.kept_local


def fit(rgb: np.ndarray, side: int = 1024) -> np.ndarray:
    image = Image.fromarray(rgb)
    image.thumbnail((side, side))
    return np.asarray(image)


@pytest.mark.slow
def test_every_photographed_document_stays_on_the_device(device):
    documents = photographed_documents(1, seed=13)
    assert [kind for kind, _ in documents] == list(KINDS)
    for kind, data in documents:
        sent, reason = decide(device, fit(np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))))
        assert not sent and reason.startswith("private:"), (kind, reason)


@pytest.mark.slow
def test_landscapes_may_leave(device, shared_data):
    photos = sorted((shared_data / "immich-assets/albums/nature").glob("*.jpg"))[:4]
    photos += [shared_data / "imagenet-samples" / name for name in ("n09428293_seashore.JPEG", "n04532670_viaduct.JPEG")]
    for path in photos:
        sent, reason = decide(device, decode_image(str(path), SETTINGS.max_side).rgb)
        assert sent and reason == "server: test: not sent", (path.name, reason)
