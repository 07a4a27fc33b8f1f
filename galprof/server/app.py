"""`galprof serve`'s ASGI application: one frame in, its FrameFacts out, nothing kept.

POST /v1/frames takes one JPEG or PNG as the raw request body (told by its first bytes) and answers
the facts the device's analyzer would give (wire.FRAME_SCHEMA). Images live only in memory: the body
is read into bytes, decoded with Pillow from a BytesIO and dropped after the answer; no access log is
written. /health and /openapi.json are public; the frames endpoint needs a bearer token.

Limits, in the order they apply: token (401), rate per token (429), body size (413), body read time
(408), content (415 when not JPEG/PNG, 413 above max_pixels, 422 when it does not decode), analysis
time (503, with Retry-After). At most `slots` frames are decoded and analyzed at once; waiting
requests are bounded by the server's connection limit, so memory stays bounded.
"""


import asyncio
import contextlib
import io
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from galprof import __version__
from galprof.server.limits import RateLimiter, TokenCheck
from galprof.server.wire import FRAME_SCHEMA, MEDIA_TYPES, frame_to_json, sniff_media_type

MIN_SIDE = 16  # px: smaller images carry nothing the models can use


@dataclass
class ServerLimits:
    max_body_bytes: int = 16 * 2**20
    max_pixels: int = 40_000_000
    max_side: int = 1024  # frames are analyzed at most this large (the device tier's size)
    rate: float = 20.0  # requests per second per token
    burst: int = 40
    read_timeout: float = 30.0  # seconds to receive a body
    analyze_timeout: float = 60.0  # seconds from the end of the body to the answer (queue included)
    slots: int = 2  # frames analyzed at once


class Refused(Exception):
    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status, self.detail, self.headers = status, detail, headers or {}


def _error(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def decode_body(data: bytes, limits: ServerLimits) -> np.ndarray:
    """The upright RGB array of an accepted image, at most limits.max_side (Refused otherwise)."""
    from PIL import Image

    if sniff_media_type(data) is None:
        raise Refused(415, "the body is not a JPEG or PNG image")
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in ("JPEG", "PNG"):
                raise Refused(415, "the body is not a JPEG or PNG image")
            width, height = image.size
            if width * height > limits.max_pixels:
                raise Refused(413, f"image of {width}x{height} pixels is above the limit of {limits.max_pixels}")
            if min(width, height) < MIN_SIDE:
                raise Refused(422, f"image of {width}x{height} pixels is too small")
            if image.format == "JPEG":
                image.draft("RGB", (limits.max_side, limits.max_side))
            rgb = image.convert("RGB")
            if max(rgb.size) > limits.max_side:
                rgb.thumbnail((limits.max_side, limits.max_side), Image.Resampling.LANCZOS)
            return np.asarray(rgb, np.uint8)
    except Refused:
        raise
    except Exception as exc:  # noqa: BLE001 - any decoder failure is the client's bad image
        raise Refused(422, f"the image does not decode: {type(exc).__name__}") from None


async def read_body(request: Request, limits: ServerLimits) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limits.max_body_bytes):
        raise Refused(413, f"body larger than {limits.max_body_bytes} bytes")
    chunks: list[bytes] = []
    size = 0

    async def receive() -> None:
        nonlocal size
        async for chunk in request.stream():
            size += len(chunk)
            if size > limits.max_body_bytes:
                raise Refused(413, f"body larger than {limits.max_body_bytes} bytes")
            chunks.append(chunk)

    try:
        await asyncio.wait_for(receive(), limits.read_timeout)
    except TimeoutError:
        raise Refused(408, "the body took too long to arrive") from None
    return b"".join(chunks)


_FRAME_BODY = {"required": True, "content": {t: {"schema": {"type": "string", "format": "binary"}}
                                             for t in MEDIA_TYPES}}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The frame's facts", "content": {"application/json": {"schema": FRAME_SCHEMA}}},
    **{code: {"description": text} for code, text in (
        (401, "missing or wrong bearer token"), (408, "body too slow"), (413, "body or image too large"),
        (415, "not a JPEG or PNG"), (422, "the image does not decode or a parameter is wrong"),
        (429, "too many requests for this token"), (503, "busy or analysis too slow; retry later"))},
}


def create_app(analyzer, tokens: list[str], limits: ServerLimits | None = None, tier: str = "accurate") -> FastAPI:
    """The application around a loaded analyzer (anything with `analyze(rgb, timestamp) -> FrameFacts`)."""
    limits = limits or ServerLimits()
    check = TokenCheck(tokens)
    rates = RateLimiter(limits.rate, limits.burst)
    pool = ThreadPoolExecutor(max_workers=limits.slots, thread_name_prefix="galprof-analyze")

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        pool.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="galprof serve", version=__version__, docs_url=None, redoc_url=None,
                  openapi_url="/openapi.json", lifespan=lifespan,
                  description="The accurate tier for public photos of `galprof scan --remote`. Keeps nothing.")
    bearer = HTTPBearer(auto_error=False, description="a token of the server's --token-file")

    @app.exception_handler(Refused)
    async def refused(_request: Request, exc: Refused) -> JSONResponse:
        return _error(exc.status, exc.detail, exc.headers)

    @app.get("/health", summary="Public: is the server up, and what does it run")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "version": __version__, "tier": tier, "max_side": limits.max_side}

    def token_key(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> str:
        key = check.match(credentials.credentials if credentials else None)
        if key is None:
            raise Refused(401, "missing or wrong bearer token", {"WWW-Authenticate": "Bearer"})
        wait = rates.take(key)
        if wait > 0:
            raise Refused(429, "too many requests for this token", {"Retry-After": str(max(1, round(wait)))})
        return key

    @app.post("/v1/frames", summary="Analyze one frame (JPEG or PNG body); nothing is stored",
              openapi_extra={"requestBody": _FRAME_BODY}, responses=_RESPONSES)
    async def frames(request: Request, _key: Annotated[str, Depends(token_key)],
                     timestamp: Annotated[float | None, Query(ge=0, le=1e7)] = None) -> JSONResponse:
        data = await read_body(request, limits)
        loop = asyncio.get_running_loop()

        def work() -> dict:
            rgb = decode_body(data, limits)
            return frame_to_json(analyzer.analyze(rgb, timestamp))

        future = loop.run_in_executor(pool, work)
        try:
            return JSONResponse(await asyncio.wait_for(asyncio.shield(future), limits.analyze_timeout))
        except TimeoutError:
            future.cancel()  # a frame still queued never runs; one running finishes and is dropped
            raise Refused(503, "analysis took too long", {"Retry-After": "5"}) from None

    return app
