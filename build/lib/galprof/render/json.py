"""The JSON renderer: the profile document to stdout or to a file, written atomically.

A file is written to a temporary sibling, flushed and fsynced, then renamed over the target, so a
reader never sees half a profile and an interrupted run leaves the previous file intact.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, TextIO


def dumps(doc: dict[str, Any], indent: int | None = 2) -> str:
    return json.dumps(doc, indent=indent, ensure_ascii=False, allow_nan=False) + "\n"


def write_json(doc: dict[str, Any], output: str | os.PathLike | None = None, stream: TextIO | None = None,
               indent: int | None = 2) -> None:
    """Write `doc` to `output` atomically, or to `stream` (default stdout) when output is None or "-"."""
    text = dumps(doc, indent)
    if output is None or str(output) == "-":
        out = stream or sys.stdout
        out.write(text)
        out.flush()
        return
    target = Path(output)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def read_json(path: str | os.PathLike) -> dict[str, Any]:
    """A profile document from a file (ValueError when it is not one)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or "schema_version" not in data or "interests" not in data:
        raise ValueError(f"{path} is not a galprof profile")
    return data


def emit(doc: dict[str, Any], fmt: str = "json", output: str | os.PathLike | None = None) -> None:
    """Deliver a document as the CLI does: JSON to `output` (atomically) or stdout; with
    fmt == "table" the terminal view goes to stdout and JSON only to `output` when one is given."""
    if fmt == "table":
        from galprof.render.terminal import render

        if output is not None:
            write_json(doc, output)
        render(doc)
        return
    write_json(doc, output)
