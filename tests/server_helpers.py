"""A real `galprof serve` for the tests, on 127.0.0.1 only, with TLS from a generated certificate:
in this process (uvicorn in a thread, with a recorder of every request it receives) or as a
`galprof serve` subprocess (to kill it, or to watch its filesystem)."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

import uvicorn

from galprof.server.tls import fingerprint_of_pem, self_signed


def make_token_file(folder: Path, tokens: int = 1) -> tuple[Path, list[str]]:
    values = [secrets.token_urlsafe(24) for _ in range(tokens)]
    path = folder / "tokens.txt"
    path.write_text("".join(v + "\n" for v in values))
    path.chmod(0o600)
    return path, values


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""


@dataclass
class Recorder:
    """ASGI middleware keeping what reached the server (the test's view of the wire)."""

    app: object
    requests: list[Received] = field(default_factory=list)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        record = Received(scope["method"], scope["path"],
                          {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]})
        self.requests.append(record)

        async def recording_receive():
            message = await receive()
            if message["type"] == "http.request":
                record.body += message.get("body", b"")
            return message

        return await self.app(scope, recording_receive, send)

    def frames(self) -> list[Received]:
        return [r for r in self.requests if r.path == "/v1/frames"]


class ThreadServer:
    """uvicorn serving `app` over TLS on 127.0.0.1:<free port> in a daemon thread."""

    def __init__(self, app, cert: Path, key: Path):
        self.recorder = Recorder(app)
        config = uvicorn.Config(self.recorder, host="127.0.0.1", port=0, log_level="warning", access_log=False,
                                ssl_certfile=str(cert), ssl_keyfile=str(key), limit_concurrency=32)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.cert = cert

    def __enter__(self) -> Self:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"https://127.0.0.1:{self.port}"
        self.pin = fingerprint_of_pem(self.cert)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def tls_files(folder: Path) -> tuple[Path, Path]:
    return self_signed("127.0.0.1", folder / "tls")


class ServeProcess:
    """`galprof serve --self-signed` as a child process in its own working and temp folders."""

    def __init__(self, folder: Path, token_file: Path, *extra: str, tls: tuple[str, ...] = ("--self-signed",)):
        self.folder = folder
        self.work, self.tmp, self.state = folder / "work", folder / "tmp", folder / "state"
        for path in (self.work, self.tmp, self.state):
            path.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "TMPDIR": str(self.tmp), "XDG_STATE_HOME": str(self.state),
               "ORT_DISABLE_TELEMETRY": "1"}
        self.stderr_path = folder / "serve.err"
        self.stderr = open(self.stderr_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "galprof", "serve", "--host", "127.0.0.1", "--port", "0",
             "--token-file", str(token_file), *tls, "--threads", "1", *extra],
            cwd=self.work, env=env, stdout=subprocess.DEVNULL, stderr=self.stderr)

    def wait_ready(self, timeout: float = 90) -> Self:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.stderr_path.read_text()
            found = re.search(r"listening on https://127\.0\.0\.1:(\d+)", text)
            if found:
                self.port = int(found.group(1))
                self.url = f"https://127.0.0.1:{self.port}"
                self.pin = re.search(r"fingerprint: ([0-9a-f]{64})", text).group(1)
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"galprof serve exited: {text[-500:]}")
            time.sleep(0.1)
        raise RuntimeError("galprof serve did not start in time")

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.stderr.close()


def listing(*folders: Path) -> set[str]:
    """Every path under the folders (files and folders), for before/after comparisons."""
    found = set()
    for folder in folders:
        for root, dirs, files in os.walk(folder):
            found.update(os.path.join(root, name) for name in dirs + files)
    return found
