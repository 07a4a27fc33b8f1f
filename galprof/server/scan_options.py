"""The options `galprof scan` takes for the remote tier, and the analyzer factory they make."""

from __future__ import annotations

from pathlib import Path

import click

from galprof.errors import UsageError
from galprof.render.safe import safe_text


def remote_options(command):
    """Adds --remote, --token-file, --cafile and --pin to a click command."""
    for option in reversed([
        click.option("--remote", "remote_url", default=None, metavar="URL",
                     help="Send public photos to your own `galprof serve` (https://HOST:PORT); private "
                          "ones never leave this machine. Off by default."),
        click.option("--token-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="The bearer token for --remote (the first token in the file)."),
        click.option("--cafile", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="Trust this CA or certificate (PEM) for --remote."),
        click.option("--pin", default=None, metavar="SHA256",
                     help="Trust only the server certificate with this SHA-256 fingerprint (as `serve` prints it)."),
    ]):
        command = option(command)
    return command


def remote_factory(settings, remote_url: str | None, token_file: Path | None, cafile: Path | None,
                   pin: str | None):
    """The pipeline's analyzer_factory for --remote, or None without it (UsageError for bad options)."""
    if remote_url is None:
        if token_file or cafile or pin:
            raise UsageError("--token-file, --cafile and --pin go with --remote")
        return None
    from galprof.analysis.ocr import unavailable_reason
    from galprof.server.client import RemoteFactory
    from galprof.server.limits import read_tokens
    from galprof.server.link import LinkOptions, parse_url
    from galprof.server.tls import normalise_pin
    from galprof.vision.signature import analysis_signature

    try:
        parse_url(remote_url)
    except ValueError as exc:
        raise UsageError(f"--remote {safe_text(remote_url)}: {exc}") from None
    if token_file is None:
        raise UsageError("--remote needs --token-file")
    try:
        token = read_tokens(str(token_file))[0]
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"token file {safe_text(token_file)}: {getattr(exc, 'strerror', None) or exc}") from None
    if cafile and pin:
        raise UsageError("give --cafile or --pin, not both")
    if cafile is not None and not cafile.is_file():
        raise UsageError(f"--cafile not found: {safe_text(cafile)}")
    try:
        pin = normalise_pin(pin) if pin else None
    except ValueError as exc:
        raise UsageError(f"--pin: {exc}") from None
    if not settings.ocr or unavailable_reason():
        raise UsageError("--remote needs OCR to rule out documents before sending: "
                         f"{'--no-ocr was given' if not settings.ocr else unavailable_reason()}")
    options = LinkOptions(url=remote_url, token=token, cafile=str(cafile) if cafile else None, pin=pin)
    return RemoteFactory(options, analysis_signature(settings))
