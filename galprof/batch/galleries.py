"""Which galleries a batch profiles: the sub-folders of a parent folder, or the folders listed in a
file (one per line). Each gallery's name (its folder's name) names its profile, OUTDIR/<name>.json."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from galprof.errors import UsageError
from galprof.render.safe import safe_text


@dataclass(frozen=True)
class Gallery:
    name: str
    path: str  # absolute


def _checked_name(path: Path) -> str:
    name = path.name
    if not name or name.startswith(".") or name == "summary":
        raise UsageError(f"{safe_text(path)}: a gallery folder name must not be empty, hidden or 'summary'")
    return name


def find_galleries(source: Path, outdir: Path | None = None) -> list[Gallery]:
    """The galleries of `source`: a folder (each visible sub-folder, except `outdir`) or a text file
    listing gallery folders (blank lines and lines starting with # are ignored). Raises UsageError
    for a missing source, a listed path that is not a folder, or two galleries with the same name."""
    if source.is_dir():
        skip = os.path.realpath(outdir) if outdir is not None else None
        folders = sorted((p for p in source.iterdir() if p.is_dir() and not p.name.startswith(".")
                          and os.path.realpath(p) != skip), key=lambda p: p.name)
    elif source.is_file():
        folders = []
        for number, line in enumerate(source.read_text(encoding="utf-8", errors="surrogateescape").splitlines(), 1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            folder = Path(text) if Path(text).is_absolute() else source.parent / text
            if not folder.is_dir():
                raise UsageError(f"{safe_text(source)}:{number}: not a folder: {safe_text(text)}")
            folders.append(folder)
    else:
        raise UsageError(f"not found: {safe_text(source)}")
    galleries: dict[str, Gallery] = {}
    for folder in folders:
        name = _checked_name(folder)
        if name in galleries:
            raise UsageError(f"two galleries are named {safe_text(name)}: {safe_text(galleries[name].path)} "
                             f"and {safe_text(folder)} (their profiles would share OUTDIR/{safe_text(name)}.json)")
        galleries[name] = Gallery(name, os.path.abspath(folder))
    return list(galleries.values())
