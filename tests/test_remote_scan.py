"""`galprof scan --remote` against a real server on 127.0.0.1 over TLS (generated certificate): private
photos are never sent (requests counted at the server), what is sent carries no metadata, the server's
filesystem gains nothing, and every failure (wrong token, certificate mismatch, a server killed mid-scan)
ends in a complete profile analyzed locally."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import piexif
import pytest
from PIL import Image

from galprof.analysis import ocr
from galprof.config import Settings
from galprof.pipeline import scan
from galprof.profile import build_profile
from galprof.server.app import create_app
from galprof.server.client import RemoteFactory
from galprof.server.link import LinkOptions
from galprof.server.tier import build_analyzer
from galprof.vision.signature import analysis_signature
from tests.document_factory import flat_document, photograph
from tests.server_helpers import ServeProcess, ThreadServer, listing, make_token_file, tls_files
from tests.test_profile import validate

pytestmark = pytest.mark.skipif(not ocr.ocr_available(), reason="--remote needs tesseract (make install)")
TOKEN = "scan-test-token-" + "z" * 20
SETTINGS = Settings(workers=1)


def scene(seed: int, width=800, height=600) -> np.ndarray:
    """Sky, hills and a field with noise: a public photo (no face, no text)."""
    rng = np.random.default_rng(seed)
    rgb = np.zeros((height, width, 3), np.float32)
    horizon = (height * (0.45 + 0.1 * np.sin(np.linspace(0, 3 + seed, width)))).astype(int)
    rows = np.arange(height)[:, None]
    rgb[:] = np.where((rows < horizon)[..., None], [110, 160, 225], [70, 130 + seed * 5 % 40, 60])
    rgb += rng.normal(0, 8, rgb.shape)
    return np.clip(rgb, 0, 255).astype(np.uint8)


def public_jpeg_with_metadata(path: Path, seed: int) -> Path:
    """A public photo carrying EXIF with GPS, XMP and an ICC profile: none of it may leave."""
    from PIL import ImageCms

    gps = {piexif.GPSIFD.GPSLatitudeRef: b"N", piexif.GPSIFD.GPSLatitude: ((48, 1), (51, 1), (2964, 100)),
           piexif.GPSIFD.GPSLongitudeRef: b"E", piexif.GPSIFD.GPSLongitude: ((2, 1), (17, 1), (4020, 100))}
    exif = piexif.dump({"0th": {piexif.ImageIFD.Make: b"SecretCam", piexif.ImageIFD.Model: b"Model-X42"},
                        "Exif": {piexif.ExifIFD.DateTimeOriginal: b"2024:05:01 10:00:00"}, "GPS": gps})
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    xmp = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
           b'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" dc:creator="XMP-SECRET-AUTHOR"/>'
           b"</rdf:RDF></x:xmpmeta>")
    Image.fromarray(scene(seed)).save(path, "JPEG", quality=90, exif=exif, icc_profile=icc, xmp=xmp,
                                      comment=b"COMMENT-SECRET")
    return path


def gallery(folder: Path, shared_data: Path | None) -> dict[str, str]:
    """{file name: what it is}; faces come from LFW when the shared data is there."""
    import random

    folder.mkdir(parents=True, exist_ok=True)
    kinds = {}
    for i in range(2):
        public_jpeg_with_metadata(folder / f"public{i}.jpg", i)
        kinds[f"public{i}.jpg"] = "public"
    rng = random.Random(13)
    for kind in ("passport", "iban letter"):
        name = kind.replace(" ", "_") + ".jpg"
        (folder / name).write_bytes(photograph(flat_document(kind, rng), rng))
        kinds[name] = "document"
    if shared_data is not None:
        face = Image.open(min((shared_data / "lfw").glob("*/*.jpg"))).convert("RGB")
        face.save(folder / "portrait.jpg", quality=92)
        kinds["portrait.jpg"] = "portrait"
        # a close person seen small, off-centre: not a portrait, but a face the device could recognise
        wide = Image.fromarray(scene(7, 1000, 750))
        wide.paste(face.resize((120, 120)), (20, 20))
        wide.save(folder / "friend_far.jpg", quality=92)
        kinds["friend_far.jpg"] = "close person"
    return kinds


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    cert, key = tls_files(tmp_path_factory.mktemp("tls"))
    app = create_app(build_analyzer("accurate", threads=1), [TOKEN])
    with ThreadServer(app, cert, key) as running:
        yield running


def remote_scan(folder: Path, cache: Path, url: str, token: str = TOKEN, **link):
    factory = RemoteFactory(LinkOptions(url=url, token=token, backoff=0.05, **link), analysis_signature(SETTINGS))
    result = scan(folder, SETTINGS, cache_path=cache, quiet=True, analyzer_factory=factory)
    try:
        return build_profile(result, SETTINGS), result
    finally:
        result.store.close()


def by_name(profile: dict) -> dict[str, dict]:
    return {Path(p["path"]).name: p for p in profile["photos"]}


def test_private_photos_never_leave_and_public_ones_leave_bare(server, tmp_path, shared_data):
    kinds = gallery(tmp_path / "g", shared_data)
    before = len(server.recorder.frames())
    profile, result = remote_scan(tmp_path / "g", tmp_path / "c.sqlite", server.url, pin=server.pin)
    received = server.recorder.frames()[before:]
    photos = by_name(profile)
    public = sorted(n for n, k in kinds.items() if k == "public")
    assert len(received) == len(public)  # one request per public photo, none for the others
    assert sorted(n for n, p in photos.items() if p["analyzed"] == "remote") == public
    for name, kind in kinds.items():
        if kind != "public":
            assert photos[name]["analyzed"] == "local", name
        if kind in ("portrait", "document"):
            assert photos[name]["privacy"]["status"] == "private", name
    # a lone small face is public in the profile (no cluster yet), but the device could not know it was
    # no close person when it had to decide, so it stayed
    assert profile["privacy"]["left_device"] == {"photos": len(public), "frames": len(public)}
    assert profile["privacy"]["analyzed"] == {"local": len(kinds) - len(public), "remote": len(public)}
    kept = profile["privacy"]["kept_on_device"]
    assert sum(kept.values()) == len(kinds) - len(public) and all(r.startswith("private:") for r in kept)
    if "friend_far.jpg" in kinds:
        assert kept.get("private: a recognisable face (could be a close person)") == 1
    for request in received:
        body = request.body
        assert request.headers["content-type"] == "image/jpeg"
        for secret in (b"Exif", b"SecretCam", b"GPS", b"XMP-SECRET", b"http://ns.adobe.com/xap",
                       b"ICC_PROFILE", b"COMMENT-SECRET"):
            assert secret not in body, secret
        with Image.open(io.BytesIO(body)) as im:
            assert not im.getexif() and not im.info.get("icc_profile") and max(im.size) <= 1024
    assert not result.errors
    validate(json.loads(json.dumps(profile)))  # the new fields follow the profile schema


def test_remote_results_are_cached_and_not_sent_again(server, tmp_path):
    folder = tmp_path / "g"
    folder.mkdir()
    public_jpeg_with_metadata(folder / "a.jpg", 3)
    remote_scan(folder, tmp_path / "c.sqlite", server.url, pin=server.pin)
    before = len(server.recorder.frames())
    profile, _ = remote_scan(folder, tmp_path / "c.sqlite", server.url, pin=server.pin)
    assert len(server.recorder.frames()) == before
    assert by_name(profile)["a.jpg"]["analyzed"] == "remote" and profile["scan"]["cached"] == 1


@pytest.mark.parametrize("problem", ["wrong pin", "untrusted certificate"])
def test_a_certificate_mismatch_sends_nothing(server, tmp_path, problem):
    folder = tmp_path / "g"
    folder.mkdir()
    public_jpeg_with_metadata(folder / "a.jpg", 4)
    public_jpeg_with_metadata(folder / "b.jpg", 5)
    other_cert, _ = tls_files(tmp_path / "other")
    link = {"pin": "0" * 64} if problem == "wrong pin" else {"cafile": str(other_cert)}
    before = len(server.recorder.requests)
    profile, result = remote_scan(folder, tmp_path / "c.sqlite", server.url, **link)
    assert len(server.recorder.requests) == before  # not one HTTP request reached the server
    assert profile["privacy"]["left_device"]["photos"] == 0 and not result.errors
    assert [p["analyzed"] for p in profile["photos"]] == ["local", "local"]
    reason = "certificate does not match --pin" if problem == "wrong pin" else "certificate not trusted (--cafile)"
    assert profile["privacy"]["kept_on_device"] == {f"server: {reason}": 2}


def _cli_scan(folder: Path, cache: Path, url: str, token_file: Path, pin: str,
              workers: int = 1) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "galprof", "scan", str(folder), "--cache", str(cache), "--workers",
                           str(workers), "-q", "--remote", url, "--token-file", str(token_file), "--pin", pin],
                          check=False, capture_output=True, text=True, timeout=600)


def test_wrong_token_gets_401_and_the_scan_completes_locally(server, tmp_path):
    folder = tmp_path / "g"
    folder.mkdir()
    for i in range(3):
        public_jpeg_with_metadata(folder / f"p{i}.jpg", 10 + i)
    token_file, _ = make_token_file(tmp_path)  # not the server's token
    before = len(server.recorder.frames())
    done = _cli_scan(folder, tmp_path / "c.sqlite", server.url, token_file, server.pin)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    profile = json.loads(done.stdout)
    assert len(server.recorder.frames()) == before + 1  # refused once, then not tried again
    assert profile["gallery"]["analyzed"] == 3 and [p["analyzed"] for p in profile["photos"]] == ["local"] * 3
    assert profile["privacy"]["kept_on_device"] == {"server: token refused (401)": 3}
    assert all(p["categories"] is not None for p in profile["photos"])


def test_a_server_killed_mid_scan_leaves_a_complete_profile(tmp_path):
    token_file, tokens = make_token_file(tmp_path)
    serve = ServeProcess(tmp_path / "server", token_file).wait_ready()
    folder = tmp_path / "g"
    folder.mkdir()
    for i in range(4):
        public_jpeg_with_metadata(folder / f"p{i}.jpg", 20 + i)
    factory = RemoteFactory(LinkOptions(url=serve.url, token=tokens[0], pin=serve.pin, backoff=0.05),
                            analysis_signature(SETTINGS))

    def killing_factory(settings, threads):
        analyzer = factory(settings, threads)
        analyze_frames = analyzer.analyze_frames

        def analyze_then_kill(frames):
            facts = analyze_frames(frames)
            if any(f.analyzed == "remote" for f in facts):
                serve.stop()  # SIGKILL after the first photo the server answered
            return facts

        analyzer.analyze_frames = analyze_then_kill
        return analyzer

    killing_factory.signature = factory.signature
    try:
        result = scan(folder, SETTINGS, cache_path=tmp_path / "c.sqlite", quiet=True, analyzer_factory=killing_factory)
        profile = build_profile(result, SETTINGS)
        result.store.close()
    finally:
        serve.stop()
    assert not result.errors and profile["gallery"]["analyzed"] == 4
    where = sorted(p["analyzed"] for p in profile["photos"])
    assert where == ["local", "local", "local", "remote"]  # the first photo, then the server was gone
    reasons = profile["privacy"]["kept_on_device"]
    assert sum(reasons.values()) == 3 and all(r.startswith("server: unr") for r in reasons), reasons


def test_the_server_writes_no_file_during_a_scan(tmp_path):
    token_file, _ = make_token_file(tmp_path)
    serve = ServeProcess(tmp_path / "server", token_file).wait_ready()
    try:
        folder = tmp_path / "g"
        folder.mkdir()
        for i in range(3):
            public_jpeg_with_metadata(folder / f"p{i}.jpg", 30 + i)
        watched = (serve.work, serve.tmp, serve.state)
        before = listing(*watched)
        done = _cli_scan(folder, tmp_path / "c.sqlite", serve.url, token_file, serve.pin, workers=2)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["privacy"]["left_device"]["photos"] == 3  # from 2 worker processes
        assert listing(*watched) == before
        assert "p0.jpg" not in serve.stderr_path.read_text()  # nothing about the photos is logged
    finally:
        serve.stop()


def test_serve_with_your_own_certificate_and_a_client_trusting_it(tmp_path):
    cert, key = tls_files(tmp_path / "mine")
    token_file, _ = make_token_file(tmp_path)
    serve = ServeProcess(tmp_path / "server", token_file, tls=("--cert", str(cert), "--key", str(key)))
    try:
        serve.wait_ready()
        folder = tmp_path / "g"
        folder.mkdir()
        public_jpeg_with_metadata(folder / "a.jpg", 40)
        done = subprocess.run([sys.executable, "-m", "galprof", "scan", str(folder), "--cache", str(tmp_path / "c"),
                               "--workers", "1", "-q", "--remote", serve.url, "--token-file", str(token_file),
                               "--cafile", str(cert)], check=False, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["privacy"]["left_device"]["photos"] == 1  # host name checked: 127.0.0.1
    finally:
        serve.stop()


@pytest.mark.parametrize("args, message", [
    (["--remote", "https://127.0.0.1:9"], "--remote needs --token-file"),
    (["--remote", "http://192.0.2.1:80", "--token-file", "{token}"], "plain http is only allowed to a loopback"),
    (["--remote", "https://127.0.0.1:9", "--token-file", "{token}", "--no-ocr"], "--remote needs OCR"),
    (["--remote", "https://127.0.0.1:9", "--token-file", "{token}", "--pin", "xyz"], "--pin: a SHA-256"),
    (["--token-file", "{token}"], "go with --remote"),
])
def test_remote_usage_errors_are_one_line(tmp_path, args, message):
    token_file, _ = make_token_file(tmp_path)
    args = [a.replace("{token}", str(token_file)) for a in args]
    done = subprocess.run([sys.executable, "-m", "galprof", "scan", str(tmp_path), *args],
                          check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and message in done.stderr and len(done.stderr.splitlines()) == 1, done.stderr


@pytest.mark.parametrize("args, message", [
    (["--host", "0.0.0.0"], "needs TLS"),
    (["--cert", "/nonexistent.pem"], "go together"),
    (["--self-signed", "--cert", "a", "--key", "b"], "not both"),
])
def test_serve_usage_errors_are_one_line(tmp_path, args, message):
    token_file, _ = make_token_file(tmp_path)
    done = subprocess.run([sys.executable, "-m", "galprof", "serve", "--token-file", str(token_file), *args],
                          check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and message in done.stderr and len(done.stderr.splitlines()) == 1, done.stderr


def test_serve_refuses_a_weak_token_file(tmp_path):
    weak = tmp_path / "t"
    weak.write_text("secret\n")
    done = subprocess.run([sys.executable, "-m", "galprof", "serve", "--token-file", str(weak)],
                          check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "shorter than 16" in done.stderr
