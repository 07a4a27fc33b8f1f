"""`galprof serve`'s API on a real server: uvicorn over TLS on 127.0.0.1 with a generated certificate,
the accurate tier's real models; every limit answered with its status, and the API fuzzed from its
own OpenAPI document with schemathesis."""

from __future__ import annotations

import http.client
import io
import json
import ssl

import hypothesis
import numpy as np
import pytest
import schemathesis
from PIL import Image

from galprof.server.app import ServerLimits, create_app
from galprof.server.tier import build_analyzer
from galprof.server.wire import frame_from_json
from tests.server_helpers import ThreadServer, tls_files

TOKEN, RATE_TOKEN = "test-token-" + "a" * 24, "rate-token-" + "b" * 24
LIMITS = ServerLimits(max_body_bytes=3 * 2**20, max_pixels=6_000_000, rate=5.0, burst=12, slots=2)


@pytest.fixture(scope="module")
def analyzer():
    return build_analyzer("accurate", threads=1)


@pytest.fixture(scope="module")
def app(analyzer):
    return create_app(analyzer, [TOKEN, RATE_TOKEN], LIMITS)


@pytest.fixture(scope="module")
def server(app, tmp_path_factory):
    cert, key = tls_files(tmp_path_factory.mktemp("tls"))
    with ThreadServer(app, cert, key) as running:
        yield running


def request(server, method, path, body=None, headers=None, token=TOKEN):
    context = ssl.create_default_context(cafile=str(server.cert))
    conn = http.client.HTTPSConnection("127.0.0.1", server.port, context=context, timeout=60)
    headers = dict(headers or {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response, data


def jpeg(rgb: np.ndarray, **save) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, "JPEG", quality=90, **save)
    return out.getvalue()


def scene(width=640, height=480) -> np.ndarray:
    """A sky over a green field: a photo without faces or text."""
    rgb = np.zeros((height, width, 3), np.uint8)
    rgb[: height // 2] = (120, 170, 230)
    rgb[height // 2:] = (60, 140, 50)
    rgb += np.random.default_rng(1).integers(0, 20, rgb.shape, np.uint8)
    return rgb


def test_health_and_openapi_are_public_everything_else_needs_the_token(server):
    response, data = request(server, "GET", "/health", token=None)
    assert response.status == 200 and json.loads(data)["status"] == "ok"
    response, data = request(server, "GET", "/openapi.json", token=None)
    assert response.status == 200 and "/v1/frames" in json.loads(data)["paths"]
    for token in (None, "wrong-token-" + "c" * 24, TOKEN[:-1]):
        response, data = request(server, "POST", "/v1/frames", jpeg(scene()), token=token)
        assert response.status == 401 and response.getheader("WWW-Authenticate") == "Bearer"
    assert request(server, "GET", "/docs", token=None)[0].status == 404  # no page loading scripts from a CDN


def test_a_frame_comes_back_as_the_facts_the_local_analyzer_makes(server, analyzer):
    rgb = scene()
    response, data = request(server, "POST", "/v1/frames?timestamp=1.5", jpeg(rgb), {"Content-Type": "image/jpeg"})
    assert response.status == 200
    facts = frame_from_json(json.loads(data))
    assert (facts.width, facts.height, facts.timestamp) == (640, 480, 1.5)
    assert facts.embedding.shape == (1280,) and facts.faces == [] and facts.text is None
    decoded = np.asarray(Image.open(io.BytesIO(jpeg(rgb))).convert("RGB"))
    direct = analyzer.analyze(decoded, 1.5)
    assert [c.label for c in facts.classes] == [c.label for c in direct.classes]


@pytest.mark.parametrize("body, headers, status", [
    (b"hello, not an image", {"Content-Type": "image/jpeg"}, 415),
    (b"GIF89a" + bytes(200), {"Content-Type": "image/gif"}, 415),
    (b"\xff\xd8\xff\xe0" + bytes(100), {"Content-Type": "image/jpeg"}, 422),  # a JPEG cut after its header
    (None, {"Content-Type": "image/png"}, 413),  # 4000 x 2000 px: above max_pixels (filled in below)
    (bytes(4 * 2**20), {"Content-Type": "image/jpeg"}, 413),  # above max_body_bytes
])
def test_bad_bodies_are_refused_with_their_status(server, body, headers, status):
    if body is None:
        out = io.BytesIO()
        Image.new("RGB", (4000, 2000)).save(out, "PNG")
        body = out.getvalue()
    response, data = request(server, "POST", "/v1/frames", body, headers)
    assert response.status == status, data
    assert "detail" in json.loads(data)


def test_a_body_above_the_limit_is_refused_from_its_declared_length(server):
    response, _ = request(server, "POST", "/v1/frames", b"x", {"Content-Length": str(50 * 2**20)})
    assert response.status == 413


def test_requests_above_the_rate_get_429_with_retry_after(analyzer, tmp_path):
    limits = ServerLimits(rate=0.02, burst=3)  # 3 at once, then one per 50 s
    with ThreadServer(create_app(analyzer, [TOKEN, RATE_TOKEN], limits), *tls_files(tmp_path)) as slow:
        small = jpeg(scene(64, 48))
        statuses = [request(slow, "POST", "/v1/frames", small, token=RATE_TOKEN)[0] for _ in range(6)]
        assert [r.status for r in statuses] == [200, 200, 200, 429, 429, 429]
        assert all(int(r.getheader("Retry-After")) >= 1 for r in statuses[3:])
        assert request(slow, "POST", "/v1/frames", small)[0].status == 200  # the other token is unaffected


def test_remote_and_local_tiers_agree_on_top_classes(server, shared_data):
    from galprof.media.decode import decode_image
    from galprof.vision.analyzer import FrameAnalyzer

    local = FrameAnalyzer(build_analyzer("device").settings, threads=1)
    photos = sorted((shared_data / "imagenet-samples").glob("*.JPEG"))[::40]
    agree = 0
    for path in photos:
        rgb = decode_image(str(path), 1024).rgb
        response, data = request(server, "POST", "/v1/frames", jpeg(rgb))
        assert response.status == 200
        remote = [c.label for c in frame_from_json(json.loads(data)).classes[:5]]
        mine = [c.label for c in local.analyze(rgb).classes[:5]]
        agree += mine[0] in remote or remote[0] in mine
    assert agree >= 0.8 * len(photos), (agree, len(photos))


def test_fuzzed_requests_never_get_a_server_error(app):
    """Every operation of the OpenAPI document, with generated parameters and bodies (random bytes
    under each declared image type), with and without the token: no 5xx, and 200 answers follow the
    document's schema."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.label for op in operations} == {"GET /health", "POST /v1/frames"}
    seen: list[int] = []
    for operation in operations:
        @hypothesis.given(case=operation.as_strategy())
        @hypothesis.settings(max_examples=40, deadline=None, derandomize=True, database=None,
                             suppress_health_check=list(hypothesis.HealthCheck))
        def check(case):
            for headers in ({"Authorization": f"Bearer {TOKEN}"}, {}):
                response = case.call(headers=headers)
                seen.append(response.status_code)
                assert response.status_code < 500, (response.status_code, response.text[:200])
                if response.status_code == 200:
                    case.validate_response(response, headers=headers)

        check()
    assert {200, 401} <= set(seen) and ({415, 422} & set(seen))
