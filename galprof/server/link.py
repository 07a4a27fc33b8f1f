"""The client's connection to `galprof serve`: TLS checked (a CA file or a pinned SHA-256 fingerprint)
before any byte of an image is written, the bearer token, retries with backoff for what may pass
(unreachable, timeout, 5xx, 429), and a pause after repeated failures so that a dead server costs one
timeout, not one per photo. Standard library only (http.client, ssl).

Every failure is a RemoteFailure with a short reason; the caller keeps the device's results.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import ssl
import time
import urllib.parse
from dataclasses import dataclass

from galprof.server.net import is_loopback

FRAMES_PATH = "/v1/frames"
RETRY_STATUSES = {429, 500, 502, 503, 504}
MAX_REPLY_BYTES = 4 * 2**20  # one frame's facts are ~100 kB; a larger answer is not trusted


class RemoteFailure(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class LinkOptions:
    url: str  # https://host:port (http:// only to a loopback address)
    token: str
    cafile: str | None = None
    pin: str | None = None  # sha256 hex of the server certificate (normalised)
    timeout: float = 30.0  # seconds per request
    retries: int = 2  # extra attempts for what may pass
    backoff: float = 0.5  # seconds before the first retry, doubled each time
    pause_after: int = 3  # consecutive failed frames before the server is skipped for `pause` seconds
    pause: float = 60.0
    max_side: int = 1024  # frames are sent at most this large (the server analyzes at 1024)


def parse_url(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a server URL (ValueError with the reason otherwise)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError("must look like https://HOST:PORT")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ValueError("must be just https://HOST:PORT (no path, query or user)")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ValueError("plain http is only allowed to a loopback address; use https")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ValueError("the port is not a number from 0 to 65535") from None
    return parts.scheme, parts.hostname, port


class ServerLink:
    def __init__(self, options: LinkOptions):
        self.options = options
        self.scheme, self.host, self.port = parse_url(options.url)
        self.max_side = options.max_side
        self.conn: http.client.HTTPConnection | None = None
        self.failures = 0  # consecutive frames that could not be analyzed remotely
        self.paused_until = 0.0
        self.refused: str | None = None  # a failure retrying cannot fix (token, certificate)

    def _context(self) -> ssl.SSLContext:
        if self.options.pin:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE  # the pin below is the check
        else:
            context = ssl.create_default_context(cafile=self.options.cafile)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context

    def _connect(self) -> http.client.HTTPConnection:
        if self.conn is not None:
            return self.conn
        if self.scheme == "http":
            conn = http.client.HTTPConnection(self.host, self.port, timeout=self.options.timeout)
            conn.connect()
        else:
            conn = http.client.HTTPSConnection(self.host, self.port, timeout=self.options.timeout,
                                               context=self._context())
            try:
                conn.connect()
            except ssl.SSLCertVerificationError:
                conn.close()
                raise _Permanent("certificate not trusted (--cafile)") from None
            if self.options.pin:
                der = conn.sock.getpeercert(binary_form=True) or b""
                if hashlib.sha256(der).hexdigest() != self.options.pin:
                    conn.close()
                    raise _Permanent("certificate does not match --pin")
        self.conn = conn
        return conn

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def analyze(self, body: bytes, timestamp: float | None) -> object:
        """The server's JSON answer for one JPEG (RemoteFailure when there is none)."""
        if self.refused:
            raise RemoteFailure(self.refused)
        if time.monotonic() < self.paused_until:
            raise RemoteFailure("unavailable (skipped after repeated failures)")
        try:
            answer = self._with_retries(body, timestamp)
        except _Permanent as exc:
            self.refused = exc.reason
            self.close()
            raise RemoteFailure(exc.reason) from None
        except RemoteFailure:
            self.failures += 1
            if self.failures >= self.options.pause_after:
                self.paused_until = time.monotonic() + self.options.pause
                self.failures = 0
            raise
        self.failures = 0
        return answer

    def _with_retries(self, body: bytes, timestamp: float | None) -> object:
        delay = self.options.backoff
        for attempt in range(self.options.retries + 1):
            try:
                return self._post(body, timestamp)
            except _Transient as exc:
                if attempt == self.options.retries:
                    raise RemoteFailure(exc.reason) from None
                time.sleep(min(max(delay, exc.retry_after), 5.0))
                delay *= 2
        raise AssertionError("unreachable")

    def _post(self, body: bytes, timestamp: float | None) -> object:
        path = FRAMES_PATH if timestamp is None else f"{FRAMES_PATH}?timestamp={float(timestamp):.3f}"
        headers = {"Authorization": f"Bearer {self.options.token}", "Content-Type": "image/jpeg"}
        try:
            conn = self._connect()
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read(MAX_REPLY_BYTES + 1)
        except TimeoutError:
            self.close()
            raise _Transient("timeout") from None
        except (ConnectionError, http.client.HTTPException, ssl.SSLError, OSError) as exc:
            self.close()
            raise _Transient(f"unreachable ({type(exc).__name__})") from None
        if response.getheader("Connection", "").lower() == "close":
            self.close()
        if response.status in (401, 403):
            raise _Permanent(f"token refused ({response.status})")
        if response.status in RETRY_STATUSES:
            retry_after = response.getheader("Retry-After", "")
            wait = float(retry_after) if retry_after.isdigit() else 0.0
            raise _Transient(f"HTTP {response.status}", wait)
        if response.status != 200:
            raise RemoteFailure(f"HTTP {response.status}")
        if len(data) > MAX_REPLY_BYTES:
            self.close()  # the rest of the body is still on the connection
            raise RemoteFailure("bad answer (too large)")
        try:
            return json.loads(data)
        except ValueError:
            raise RemoteFailure("bad answer (not JSON)") from None


class _Transient(Exception):
    def __init__(self, reason: str, retry_after: float = 0.0):
        super().__init__(reason)
        self.reason, self.retry_after = reason, retry_after


class _Permanent(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason
