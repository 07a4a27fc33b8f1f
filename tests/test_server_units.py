"""The parts of `galprof serve` / `scan --remote` that need no server: the wire format, the metadata-free
encoding, token and rate checks, TLS material, URL rules and the device-side send decision."""

from __future__ import annotations

import io
import math
import stat

import numpy as np
import pytest
from PIL import Image

from galprof.config import Settings
from galprof.facts import Box, ClassScore, Face, FrameFacts, ObjectDetection
from galprof.server.limits import RateLimiter, TokenCheck, read_tokens
from galprof.server.link import parse_url
from galprof.server.send_policy import keep_reason
from galprof.server.tls import fingerprint_of_pem, normalise_pin, self_signed
from galprof.server.wire import encode_frame, frame_from_json, frame_to_json, scale_frame, sniff_media_type


def _face(x1, y1, x2, y2, score=0.9) -> Face:
    keypoints = np.array([[x1 + 5, y1 + 5], [x2 - 5, y1 + 5], [(x1 + x2) / 2, (y1 + y2) / 2],
                          [(x1 + x2) / 2, y2 - 5], [x1, y1 + 10], [x2, y1 + 10]], np.float32)
    return Face(Box(x1, y1, x2, y2), score, keypoints, np.arange(128, dtype=np.float32) / 128, 31.5, 0.2)


def _frame(**changes) -> FrameFacts:
    frame = FrameFacts(width=800, height=600, timestamp=None,
                       objects=[ObjectDetection("car", 0.8, Box(1, 2, 300, 200))],
                       classes=[ClassScore("sports car", 0.7), ClassScore("convertible", 0.1)],
                       embedding=np.linspace(0, 1, 1280, dtype=np.float32), faces=[], text="")
    for name, value in changes.items():
        setattr(frame, name, value)
    return frame


def test_frame_json_round_trip_keeps_every_fact():
    frame = _frame(faces=[_face(300, 200, 420, 340)], timestamp=2.5)
    back = frame_from_json(frame_to_json(frame))
    assert (back.width, back.height, back.timestamp) == (800, 600, 2.5)
    assert [(o.label, o.box.as_list()) for o in back.objects] == [("car", [1.0, 2.0, 300.0, 200.0])]
    assert [c.label for c in back.classes] == ["sports car", "convertible"]
    np.testing.assert_allclose(back.embedding, frame.embedding)
    face = back.faces[0]
    assert face.keypoints.shape == (6, 2) and face.embedding.shape == (128,)
    assert (face.age, face.female_probability) == (31.5, pytest.approx(0.2))
    assert back.text is None and "text" not in frame_to_json(frame)  # OCR text never travels


@pytest.mark.parametrize("damage", [
    lambda d: d.pop("faces"),
    lambda d: d.update(extra=1),
    lambda d: d.update(width=0),
    lambda d: d["classes"].append({"label": "x" * 500, "score": 0.1}),
    lambda d: d["objects"][0].update(box=[1, 2, 3]),
    lambda d: d.update(embedding=[math.nan] * 4),
    lambda d: d.update(timestamp="soon"),
])
def test_a_reply_off_the_schema_is_refused(damage):
    data = frame_to_json(_frame())
    damage(data)
    with pytest.raises(ValueError, match="not a frame document"):
        frame_from_json(data)


def _jpeg_markers(data: bytes) -> list[int]:
    """The JPEG segment markers before the image data."""
    markers, i = [], 2
    while i < len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        markers.append(marker)
        if marker == 0xDA:  # start of scan
            break
        i += 2 + int.from_bytes(data[i + 2:i + 4], "big")
    return markers


def test_encoded_frames_carry_pixels_only_and_are_downscaled():
    rgb = np.random.default_rng(0).integers(0, 255, (900, 1600, 3), np.uint8)
    data, scale = encode_frame(rgb, max_side=1024)
    assert scale == pytest.approx(0.64)
    markers = _jpeg_markers(data)
    assert all(m not in markers for m in (0xE1, 0xE2, 0xED, 0xFE)), markers  # EXIF/XMP, ICC, IPTC, comment
    for tag in (b"Exif", b"http://ns.adobe.com/xap", b"ICC_PROFILE", b"GPS"):
        assert tag not in data
    with Image.open(io.BytesIO(data)) as im:
        assert im.size == (1024, 576) and not im.getexif() and "icc_profile" not in im.info
    assert sniff_media_type(data) == "image/jpeg" and sniff_media_type(b"GIF89a") is None


def test_server_coordinates_map_back_to_the_frame():
    sent = _frame(width=512, height=384, faces=[_face(100, 100, 160, 170)])
    back = scale_frame(sent, 2.0, 1024, 768)
    assert (back.width, back.height) == (1024, 768)
    assert back.faces[0].box.as_list() == [200.0, 200.0, 320.0, 340.0]
    assert back.objects[0].box.as_list() == [2.0, 4.0, 600.0, 400.0]
    assert back.faces[0].keypoints[0].tolist() == [210.0, 210.0]


def test_tokens_match_in_constant_time_and_rates_are_per_token(tmp_path):
    check = TokenCheck(["a" * 20, "b" * 20])
    assert check.match("a" * 20) and check.match("b" * 20) and check.match("a" * 20) != check.match("b" * 20)
    assert check.match("a" * 19) is None and check.match("") is None and check.match(None) is None
    now = [0.0]
    limiter = RateLimiter(rate=2.0, burst=3, clock=lambda: now[0])
    assert [limiter.take("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("k") == pytest.approx(0.5)
    assert limiter.take("other") == 0.0  # another token has its own budget
    now[0] = 0.5
    assert limiter.take("k") == 0.0
    path = tmp_path / "t"
    path.write_text("# tokens\n\n" + "x" * 32 + "\n")
    assert read_tokens(str(path)) == ["x" * 32]
    for text, reason in (("", "no token"), ("short\n", "shorter than 16"), ("a" * 20 + " b\n", "spaces")):
        path.write_text(text)
        with pytest.raises(ValueError, match=reason):
            read_tokens(str(path))


def test_self_signed_certificate_is_private_and_kept(tmp_path):
    cert, key = self_signed("127.0.0.1", tmp_path / "state")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "state").stat().st_mode) == 0o700
    first = fingerprint_of_pem(cert)
    assert self_signed("127.0.0.1", tmp_path / "state")[0] == cert and fingerprint_of_pem(cert) == first
    self_signed("192.168.7.7", tmp_path / "state")  # a host it does not cover: a new certificate
    assert fingerprint_of_pem(cert) != first
    assert normalise_pin(":".join([first[i:i + 2].upper() for i in range(0, 64, 2)])) == first
    with pytest.raises(ValueError):
        normalise_pin("abc")


@pytest.mark.parametrize("url, problem", [
    ("ftp://127.0.0.1:1", "https://HOST:PORT"), ("https://127.0.0.1:1/v1", "no path"),
    ("http://192.168.1.2:8765", "only allowed to a loopback"), ("https://127.0.0.1:99999", "port"),
])
def test_server_urls_are_checked(url, problem):
    with pytest.raises(ValueError, match=problem):
        parse_url(url)


def test_parse_url_accepts_https_and_loopback_http():
    assert parse_url("https://desktop.lan:8765") == ("https", "desktop.lan", 8765)
    assert parse_url("http://127.0.0.1:8000") == ("http", "127.0.0.1", 8000)


SETTINGS = Settings()


@pytest.mark.parametrize("frame, reason", [
    (_frame(faces=[_face(350, 250, 450, 370)]), "portrait"),  # central, 0.125 of the width
    (_frame(faces=[_face(5, 5, 35, 40)]), "recognisable face"),  # in a corner, 30 px: a possible close person
    (_frame(text=None), "no OCR"),
    (_frame(text="Please pay to IBAN DE89 3704 0044 0532 0130 00 by Friday"), "text (iban)"),
    (_frame(text="P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10"),
     "text (mrz)"),
])
def test_frames_that_must_stay_on_the_device(frame, reason):
    assert reason in keep_reason(frame, SETTINGS)


def test_confidently_read_words_or_a_document_look_keep_a_frame():
    assert keep_reason(_frame(), SETTINGS, confident_words=4) == "private: text (words read)"
    assert keep_reason(_frame(), SETTINGS, confident_words=3) is None
    menu = _frame(classes=[ClassScore("menu", 0.4)])
    assert keep_reason(menu, SETTINGS) == "private: looks like a document or text"


@pytest.mark.parametrize("frame", [
    _frame(),  # no face, OCR read nothing
    _frame(faces=[_face(5, 5, 17, 18)]),  # a 12 px face in a crowd: not recognisable
    _frame(faces=[_face(350, 250, 450, 370, score=0.3)]),  # below the detector threshold
    _frame(text="EXIT 12 ->"),  # a road sign
])
def test_frames_that_may_be_sent(frame):
    assert keep_reason(frame, SETTINGS) is None


class _StubDevice:
    """The device's analyzer: a recognisable face on the frames at `faces_at` timestamps, no text."""

    def __init__(self, faces_at=()):
        self.faces_at = set(faces_at)
        self.seconds: dict[str, float] = {}

    def analyze(self, rgb, timestamp=None):
        faces = [_face(5, 5, 45, 50)] if timestamp in self.faces_at else []
        return FrameFacts(width=rgb.shape[1], height=rgb.shape[0], timestamp=timestamp, faces=faces,
                          embedding=np.ones(1280, np.float32), classes=[ClassScore("alp", 0.5)], text="")


class _StubLink:
    max_side = 1024

    def __init__(self):
        self.sent: list[float | None] = []

    def analyze(self, body, timestamp):
        self.sent.append(timestamp)
        with Image.open(io.BytesIO(body)) as im:
            width, height = im.size
        return frame_to_json(FrameFacts(width=width, height=height, timestamp=timestamp,
                                        classes=[ClassScore("volcano", 0.9)], embedding=np.zeros(1280, np.float32)))


@pytest.fixture()
def no_tesseract_needed(monkeypatch):
    from galprof.analysis import ocr

    monkeypatch.setattr(ocr, "ocr_available", lambda: True)
    monkeypatch.setattr(ocr, "read_text", lambda rgb, timeout=30.0: "")
    monkeypatch.setattr(ocr, "read_confident_words", lambda rgb, *a, **k: [])


def test_a_public_video_is_sent_frame_by_frame_and_keeps_device_text_and_embedding(no_tesseract_needed):
    from galprof.server.client import RemoteAnalyzer

    link = _StubLink()
    frames = [(np.zeros((600, 2000, 3), np.uint8), t) for t in (0.0, 1.0, 2.0)]
    facts = RemoteAnalyzer(_StubDevice(), link, SETTINGS).analyze_frames(frames)
    assert link.sent == [0.0, 1.0, 2.0]
    assert [f.analyzed for f in facts] == ["remote"] * 3 and all(f.kept_local is None for f in facts)
    assert [f.classes[0].label for f in facts] == ["volcano"] * 3  # the server's classes
    assert all(f.embedding.sum() == 1280 and f.text == "" for f in facts)  # the device's embedding and text
    assert [(f.width, f.height) for f in facts] == [(2000, 600)] * 3  # mapped back from the 1024 px copy


def test_one_private_frame_keeps_the_whole_video_on_the_device(no_tesseract_needed):
    from galprof.server.client import RemoteAnalyzer

    link = _StubLink()
    frames = [(np.zeros((480, 640, 3), np.uint8), t) for t in (0.0, 1.0, 2.0)]
    facts = RemoteAnalyzer(_StubDevice(faces_at={2.0}), link, SETTINGS).analyze_frames(frames)
    assert link.sent == []
    assert [f.analyzed for f in facts] == ["local"] * 3
    assert facts[2].kept_local.startswith("private: a recognisable face")
    assert facts[0].kept_local == facts[1].kept_local == "private: another frame of the video"


def test_the_terminal_view_says_what_left_the_device():
    from galprof.render.terminal import privacy_text

    doc = {"privacy": {"counts": {"public": 3, "private": 2}, "by_rule": {}, "rules": {"ocr": {"enabled": True}},
                       "left_device": {"photos": 3, "frames": 5},
                       "kept_on_device": {"private: portrait face": 2}}}
    assert "Sent to your server: 3 photos (5 frames); kept here: private: portrait face 2" in privacy_text(doc).plain
    doc["privacy"].update(left_device={"photos": 0, "frames": 0}, kept_on_device={})
    assert "Sent to your server" not in privacy_text(doc).plain  # a scan without --remote says nothing
