"""The profile's `photos` rows of a large gallery kept as their JSON text instead of as dicts.

A row as a dict (with its nested categories, privacy and selfie dicts) costs ~1.3 KB; its compact JSON
text ~0.6 KB, and that text is what the JSON writer prints for it anyway (one compact object per line,
render/json.py). `PhotoRows` is the sequence a document holds under "photos" above ENCODED_ABOVE photos:
the writer takes each row's text as it is (`texts`), every other reader (terminal, report, `galprof
photos`, the stored document) gets a dict decoded on access. Smaller galleries keep a plain list, so a
document made from a few photos is plain JSON data for any caller (json.dumps, jsonschema).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

ENCODED_ABOVE = 5000  # photos; a plain list below


def compact(row: Any) -> str:
    """A row as the JSON writer prints it on its line."""
    return json.dumps(row, ensure_ascii=False, allow_nan=False, separators=(", ", ": "))


class PhotoRows(Sequence):
    """Rows kept as compact JSON text, decoded on access; equal to a list of the same rows."""

    def __init__(self, rows: Sequence[dict] = ()) -> None:
        self._texts: list[str] = [compact(r) for r in rows]

    @classmethod
    def from_texts(cls, texts: list[str]) -> PhotoRows:
        """Rows from their compact texts (as `texts()` gave them), taken as they are."""
        rows = cls()
        rows._texts = texts
        return rows

    def append(self, row: dict[str, Any]) -> None:
        self._texts.append(compact(row))

    def texts(self) -> list[str]:
        return self._texts

    def __len__(self) -> int:
        return len(self._texts)

    def __getitem__(self, i):  # an int gives a dict, a slice a list of dicts
        if isinstance(i, slice):
            return [json.loads(t) for t in self._texts[i]]
        return json.loads(self._texts[i])

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for text in self._texts:
            yield json.loads(text)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PhotoRows):
            return self._texts == other._texts
        if isinstance(other, list):
            return len(other) == len(self) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # a mutable sequence, as a list

    def __repr__(self) -> str:
        return f"PhotoRows({len(self)} rows)"


def appended(rows: list | PhotoRows, row: dict[str, Any]) -> list | PhotoRows:
    """`rows` with `row` added: a plain list up to ENCODED_ABOVE rows, PhotoRows once there are more."""
    rows.append(row)
    if isinstance(rows, list) and len(rows) > ENCODED_ABOVE:
        return PhotoRows(rows)
    return rows


def plain(rows: Sequence[dict]) -> list[dict]:
    """The rows as a plain list (for json.dumps and schema checks)."""
    return rows if isinstance(rows, list) else list(rows)
