"""The JSON renderer: the profile document to stdout or to a file (see render/output.py for how)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from galprof.photo_rows import PhotoRows, compact, plain
from galprof.render.output import write_output, write_stdout

LINE_PER_ITEM = 50  # a list of more objects than this is written one compact object per line
LINES_PER_CHUNK = 1000


def dumps(doc: Any, indent: int | None = 2) -> str:
    """The document as JSON text. Indented, except that long lists of objects (a profile's `photos`,
    `errors`, `notes`) hold one compact object per line: as easy to read and to grep, and encoded by
    json's C encoder, which indented output never uses (5x slower: 3 s for 20 000 photos)."""
    return "".join(iter_dumps(doc, indent))


def iter_dumps(doc: Any, indent: int | None = 2) -> Iterator[str]:
    """The text of `dumps` in pieces (a long list LINES_PER_CHUNK lines at a time), so that a writer
    never holds the whole text of a large gallery's profile."""
    if indent is None or not isinstance(doc, dict):
        yield json.dumps(doc, indent=indent, ensure_ascii=False, allow_nan=False) + "\n"
        return
    if not doc:
        yield "{}\n"
        return
    pad = " " * indent
    for n, (key, value) in enumerate(doc.items()):
        head = ("{\n" if n == 0 else ",\n") + f"{pad}{json.dumps(key, ensure_ascii=False)}: "
        if _one_per_line(value):
            yield head + "["
            for start in range(0, len(value), LINES_PER_CHUNK):
                lines = _texts(value, start, start + LINES_PER_CHUNK)
                yield ("\n" if start == 0 else ",\n") + ",\n".join(pad * 2 + line for line in lines)
            yield f"\n{pad}]"
        else:
            text = json.dumps(plain(value) if isinstance(value, PhotoRows) else value, indent=indent,
                              ensure_ascii=False, allow_nan=False)
            yield head + text.replace("\n", "\n" + pad)
    yield "\n}\n"


def _one_per_line(value: Any) -> bool:
    if isinstance(value, PhotoRows):
        return len(value) > LINE_PER_ITEM
    return isinstance(value, list) and len(value) > LINE_PER_ITEM and all(isinstance(v, dict) for v in value)


def _texts(rows: list | PhotoRows, start: int, stop: int) -> list[str]:
    """The compact text of rows[start:stop]: PhotoRows keep it, other rows are encoded here."""
    if isinstance(rows, PhotoRows):
        return rows.texts()[start:stop]
    return [compact(v) for v in rows[start:stop]]


def write_json(doc: Any, output: str | os.PathLike | None = None, stream: TextIO | None = None,
               indent: int | None = 2) -> None:
    """Write `doc` to the path `output`, or to `stream` (default stdout) when output is None or "-".
    Raises OutputError when it cannot be written."""
    text = iter_dumps(doc, indent)
    if output is None or str(output) == "-":
        write_stdout(text, stream)
    else:
        write_output(text, output)


def read_json(path: str | os.PathLike) -> dict[str, Any]:
    """A profile document from a file (ValueError when it is not one). Not validated: see documents.py."""
    from galprof.validate import parse_json

    data = parse_json(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or "schema_version" not in data or "interests" not in data:
        raise ValueError(f"{path} is not a galprof profile")
    return data


def emit(doc: dict[str, Any], fmt: str = "json", output: str | os.PathLike | None = None) -> None:
    """Deliver a document as the CLI does: JSON to `output` or stdout; with fmt == "table" the
    terminal view goes to stdout and JSON only to `output` when one is given."""
    if fmt == "table":
        from galprof.render.terminal import render_to_stdout

        if output is not None:
            write_json(doc, output)
        render_to_stdout(doc)
        return
    write_json(doc, output)
