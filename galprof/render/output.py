"""Where the CLI's output goes: stdout, or a path given with -o, written the way that path needs.

* a regular file or a new path: a temporary sibling, fsynced, then renamed over the target, so a reader
  never sees half a profile and a failed run leaves the previous file intact. An existing file keeps
  its mode (and owner where we may set it); a new file is created 0600, because a profile holds faces,
  places and private photos (what ssh-keygen and gpg do for private files).
* a symlink: resolved first, so the link stays and its target is written.
* a character device (/dev/null, a tty) or a FIFO: opened for writing and written in place, never
  replaced (the way a shell's `>` does it).

Every failure (ENOSPC, EIO, EACCES...) becomes an OutputError naming the path, or "stdout".
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from galprof.errors import OutputError

NEW_FILE_MODE = 0o600
STDOUT = "stdout"


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def output_problem(path: str | os.PathLike) -> str | None:
    """Why the output could not be written to `path` (checked before a long scan), or None.
    Missing parent folders are fine (the writer creates them) when the nearest existing one is a
    writable folder."""
    target = Path(os.path.realpath(path))
    if target.is_dir():
        return f"cannot write the output: {path} is a folder"
    if target.exists():
        return None if os.access(target, os.W_OK) else f"cannot write the output: {path} is not writable"
    ancestor = target.parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        return f"cannot write the output: {ancestor} is not a folder"
    if not os.access(ancestor, os.W_OK | os.X_OK):
        return f"cannot write the output: folder {ancestor} is not writable"
    return None


def stdout_stream(stream: TextIO | None = None) -> TextIO:
    """The stream to write to; Python sets sys.stdout to None when file descriptor 1 is closed."""
    out = stream or sys.stdout
    if out is None:
        raise OutputError(STDOUT, os.strerror(9))  # EBADF: "Bad file descriptor", as coreutils report it
    return out


def write_stdout(text: str | Iterable[str], stream: TextIO | None = None) -> None:
    """Write and flush `text` (a str, or its pieces: see render/json.py's iter_dumps), as UTF-8 when the
    stream is a real file; a closed pipe (BrokenPipeError) is left to the CLI, which exits quietly."""
    out = stdout_stream(stream)
    try:
        try:
            fd = out.fileno()
        except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation: an in-memory stream
            fd = None
        if fd is None:
            for piece in _pieces(text):
                out.write(piece)
            out.flush()
        else:
            # Straight to the descriptor: io.BufferedWriter can return a short count on a large
            # write to a pipe whose reader left, and TextIOWrapper would drop the rest silently.
            out.flush()
            for piece in _pieces(text):
                _write_all(fd, piece.encode("utf-8"))
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise OutputError(STDOUT, _reason(exc)) from None


def write_output(text: str | bytes | Iterable[str], output: str | os.PathLike) -> None:
    """Write `text` (str as UTF-8, bytes, or the pieces of a str, written as they come) to the path
    `output` (see the module doc for how each kind of path is written)."""
    data = (piece if isinstance(piece, bytes) else piece.encode("utf-8") for piece in _pieces(text))
    real = Path(os.path.realpath(output))
    try:
        info = os.stat(real)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise OutputError(str(output), _reason(exc)) from None
    try:
        if info is None or stat.S_ISREG(info.st_mode):
            _replace_file(data, real, info)
        elif stat.S_ISDIR(info.st_mode):
            raise OutputError(str(output), os.strerror(21))  # EISDIR
        else:
            _write_in_place(data, real)
    except OSError as exc:
        raise OutputError(str(output), _reason(exc)) from None


def _pieces(text: str | bytes | Iterable[str]) -> Iterable[str | bytes]:
    return (text,) if isinstance(text, str | bytes) else text


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _write_in_place(data: Iterable[bytes], path: Path) -> None:
    fd = os.open(path, os.O_WRONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        for piece in data:
            _write_all(fd, piece)
    finally:
        os.close(fd)


def _replace_file(data: Iterable[bytes], target: Path, existing: os.stat_result | None) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        try:
            if existing is None:
                os.fchmod(fd, NEW_FILE_MODE)
            else:
                with contextlib.suppress(PermissionError):  # only root may give a file to another owner
                    os.fchown(fd, existing.st_uid, existing.st_gid)
                os.fchmod(fd, stat.S_IMODE(existing.st_mode))
            for piece in data:
                _write_all(fd, piece)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
