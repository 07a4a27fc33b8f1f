"""`galprof serve`: the accurate tier on uvicorn, for the public photos of `galprof scan --remote`."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import click

from galprof.errors import UsageError
from galprof.render.safe import safe_text
from galprof.server.net import is_loopback


def _tls_files(host: str, cert: Path | None, key: Path | None, self_signed: bool, state_dir: Path | None):
    """(cert, key) to serve with, or (None, None) for plain HTTP (loopback only)."""
    from galprof.server import tls

    if self_signed and (cert or key):
        raise UsageError("give either --cert and --key or --self-signed, not both")
    if bool(cert) != bool(key):
        raise UsageError("--cert and --key go together")
    if self_signed:
        try:
            return tls.self_signed(host, state_dir)
        except OSError as exc:
            raise UsageError(f"cannot keep the self-signed certificate in {safe_text(state_dir or tls.default_state_dir())}: "
                             f"{exc.strerror or exc}") from None
    if cert and key:
        for path in (cert, key):
            if not path.is_file():
                raise UsageError(f"TLS file not found: {safe_text(path)}")
        return cert, key
    if not is_loopback(host):
        raise UsageError(f"binding to {safe_text(host)} (not loopback) needs TLS: --cert/--key or --self-signed")
    return None, None


class _Server:
    """uvicorn's Server, printing `listening on URL` once the socket accepts connections."""

    @staticmethod
    def make(config, scheme: str):
        import uvicorn

        class Announcing(uvicorn.Server):
            async def startup(self, sockets=None) -> None:
                await super().startup(sockets)
                if self.started:
                    host, port = self.servers[0].sockets[0].getsockname()[:2]
                    shown = f"[{host}]" if ":" in host else host
                    print(f"listening on {scheme}://{shown}:{port}", file=sys.stderr, flush=True)

        return Announcing(config)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (non-loopback needs TLS).")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535), help="0 = any free port.")
@click.option("--token-file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Bearer tokens clients must send, one per line (>= 16 characters each).")
@click.option("--cert", type=click.Path(dir_okay=False, path_type=Path), default=None, help="TLS certificate (PEM).")
@click.option("--key", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Its private key (PEM).")
@click.option("--self-signed", is_flag=True,
              help="Make (once) and use a self-signed certificate; prints the SHA-256 fingerprint to pin.")
@click.option("--state-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where --self-signed keeps its certificate [default: $XDG_STATE_HOME/galprof/serve].")
@click.option("--tier", type=click.Choice(["accurate", "device"]), default="accurate", show_default=True,
              help="accurate: larger/fp32 models; device: the scan's own models.")
@click.option("--threads", type=click.IntRange(0), default=0, show_default=True,
              help="ONNX Runtime threads per model (0 = the cores).")
@click.option("--slots", type=click.IntRange(1, 64), default=2, show_default=True, help="Frames analyzed at once.")
@click.option("--max-connections", type=click.IntRange(1, 10_000), default=32, show_default=True,
              help="Open connections; more are answered 503 (bounds memory).")
@click.option("--max-body-mb", type=click.FloatRange(0.01, 256), default=16, show_default=True,
              help="Largest request body (413 above).")
@click.option("--rate", type=click.FloatRange(0), default=20, show_default=True,
              help="Requests per second per token (429 above; 0 = no limit).")
@click.option("--timeout", type=click.FloatRange(1), default=60, show_default=True,
              help="Seconds to answer one frame, queue included (503 after).")
def serve(host: str, port: int, token_file: Path, cert: Path | None, key: Path | None, self_signed: bool,
          state_dir: Path | None, tier: str, threads: int, slots: int, max_connections: int,
          max_body_mb: float, rate: float, timeout: float) -> None:
    """Serve the accurate tier to `galprof scan --remote` (your own machine: a desktop for a phone or Pi).

    Images are analyzed in memory and never written to disk; nothing is logged about them.
    """
    from galprof.server.limits import read_tokens

    try:
        tokens = read_tokens(str(token_file))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise UsageError(f"token file {safe_text(token_file)}: {reason}") from None
    cert_path, key_path = _tls_files(host, cert, key, self_signed, state_dir)
    try:
        socket.getaddrinfo(host, port)
    except socket.gaierror:
        raise UsageError(f"cannot resolve --host {safe_text(host)}") from None
    app = _build_app(tokens, tier, threads, slots, max_body_mb, rate, timeout)
    import uvicorn

    config = uvicorn.Config(app, host=host, port=port, access_log=False, log_level="warning",
                            limit_concurrency=max_connections, timeout_keep_alive=15, server_header=False,
                            ssl_certfile=str(cert_path) if cert_path else None,
                            ssl_keyfile=str(key_path) if key_path else None)
    if cert_path is not None:
        from galprof.server.tls import fingerprint_of_pem

        click.echo(f"certificate {safe_text(cert_path)} sha256 fingerprint: {fingerprint_of_pem(cert_path)}",
                   err=True)
    server = _Server.make(config, "https" if cert_path else "http")
    try:
        server.run()
    except OSError as exc:
        raise UsageError(f"cannot listen on {safe_text(host)}:{port}: {exc.strerror or exc}") from None
    if not server.started:
        raise UsageError(f"cannot listen on {safe_text(host)}:{port}")


def _build_app(tokens, tier, threads, slots, max_body_mb, rate, timeout):
    try:
        import uvicorn  # noqa: F401

        from galprof.server.app import ServerLimits, create_app
    except ImportError as exc:
        raise UsageError(f"galprof serve needs the server extra (pip install 'galprof[server]'): {exc}") from None
    from galprof.server.tier import build_analyzer

    threads = threads or max(1, os.cpu_count() or 1)
    try:
        analyzer = build_analyzer(tier, threads=threads)
    except (FileNotFoundError, KeyError, ValueError) as exc:
        raise UsageError(f"cannot load the models: {exc}") from None
    limits = ServerLimits(max_body_bytes=int(max_body_mb * 2**20), rate=rate, burst=max(1, int(2 * rate)),
                          analyze_timeout=timeout, slots=slots)
    return create_app(analyzer, tokens, limits, tier=tier)
