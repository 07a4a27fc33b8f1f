"""`galprof faces [FOLDER|CACHE]`: one JSON line per face of the gallery, for `jq` and other pipes.

The people stage runs first (it needs every embedding at once to cluster, as a profile does, and
applies the user's corrections); the lines are then written while the cache is read a second time, a
few kilobytes at a time, so the output is never held whole in memory.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import click

from galprof import facts
from galprof.errors import UsageError
from galprof.render.safe import safe_text

CHUNK_CHARS = 64 * 1024


def face_lines(media: Iterable[facts.MediaFacts], person_of_face: dict[tuple[str, int, int], int],
               names: dict[int, str | None], settings: Any,
               selfie_rules: dict[str, str] | None = None) -> Iterator[dict[str, Any]]:
    """One dict per face of `media`, in file, frame and face order. selfie_rules: the gallery's EXIF
    selfie rules (owner.selfie_rules) for the photo's selfie score."""
    from galprof.analysis.people import FaceRecord, face_quality, is_trusted
    from galprof.analysis.selfie import photo_selfie

    for m in media:
        verdict = photo_selfie(m, selfie_rules or {}) if any(f.faces for f in m.frames) else None
        for fi, frame in enumerate(m.frames):
            for ki, face in enumerate(frame.faces):
                record = FaceRecord(m.path, fi, ki, m.kind, face, frame.width, frame.height, None)
                person = person_of_face.get(record.key)
                yield {
                    "path": m.path, "kind": m.kind, "frame": fi, "timestamp": frame.timestamp,
                    "taken_at": m.exif.taken_at, "taken_at_source": m.exif.taken_at_source, "face": ki, "box": face.box.as_list(),
                    "score": round(float(face.score), 4),
                    "quality": {"size": round(float(min(face.box.width, face.box.height)), 1),
                                "weight": round(face_quality(record), 4),
                                "clusters": is_trusted(face, settings)},
                    "person": person, "name": names.get(person) if person is not None else None,
                    "age": None if face.age is None else round(float(face.age), 1),
                    "female_probability": (None if face.female_probability is None
                                           else round(float(face.female_probability), 4)),
                    "selfie_score": None if verdict is None else verdict.score,
                }


def write_lines(rows: Iterable[dict[str, Any]]) -> int:
    """Write each row as one JSON line on stdout, in chunks; returns the number of lines."""
    from galprof.render.output import write_stdout

    chunk: list[str] = []
    size = n = 0
    for row in rows:
        line = json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n"
        chunk.append(line)
        size += len(line)
        n += 1
        if size >= CHUNK_CHARS:
            write_stdout("".join(chunk))
            chunk, size = [], 0
    if chunk:
        write_stdout("".join(chunk))
    return n


def _emit(media: Callable[[], Iterable[facts.MediaFacts]], store, settings) -> int:
    """Cluster `media()` into people (ids kept stable through `store`), then write its faces."""
    from galprof.analysis.owner import selfie_rules
    from galprof.analysis.people import analyze_people

    exif_only: list[facts.MediaFacts] = []  # what the selfie rules read, kept from the people pass

    def people_pass() -> Iterator[facts.MediaFacts]:
        for m in media():
            exif_only.append(dataclasses.replace(m, frames=[]))
            yield m

    report = analyze_people(people_pass(), settings, store)
    names = {p.id: p.name for p in report.people}
    for note in report.notes:
        click.echo(f"note: {safe_text(note['reason'])}", err=True)
    return write_lines(face_lines(media(), report.person_of_face, names, settings, selfie_rules(exif_only)))


@click.command("faces")
@click.argument("source", required=False, type=click.Path(path_type=Path))
@click.option("--cache", "cache_path", type=click.Path(path_type=Path), default=None,
              help="Results cache used when SOURCE is a folder [default: the user cache].")
@click.option("--workers", type=click.IntRange(0), default=0, show_default=True,
              help="Worker processes when SOURCE must be scanned (0 = one per core).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or messages on stderr.")
def faces(source: Path | None, cache_path: Path | None, workers: int, quiet: bool) -> None:
    """One JSON line per face: path, kind, frame, timestamp (video seconds), taken_at (and its source:
    exif, container or mtime), face (index in
    the frame), box [x1, y1, x2, y2], score, quality (size in px, weight of its age/gender estimate,
    whether it is good enough to form clusters), person and name (after your corrections), age and
    female_probability, and selfie_score (the photo's, see `galprof selfie`; null for videos).

    SOURCE is a gallery folder (scanned first; cached results are reused) or a cache database
    (default: the user cache), read without running any model.
    """
    from galprof.config import Settings
    from galprof.documents import is_sqlite
    from galprof.store import Store, default_cache_path

    failed = 0
    source = source or default_cache_path()
    if source.is_dir():
        from galprof.pipeline import ScanUsageError
        from galprof.pipeline import scan as run_scan

        settings = Settings(workers=workers)
        try:
            result = run_scan(source, settings, cache_path=cache_path, quiet=quiet)
        except ScanUsageError as exc:
            raise UsageError(safe_text(exc)) from None
        failed = len(result.errors)
        try:
            n = _emit(result.iter_media, result.store, settings)
        finally:
            result.store.close()
    elif is_sqlite(source):
        from galprof.cache_file import CacheError

        try:
            with Store(source, create=False) as store:
                n = _emit(store.iter_media, store, Settings())
        except CacheError as exc:
            raise UsageError(safe_text(exc)) from None
    elif not source.exists():
        raise UsageError(f"no such folder or cache: {safe_text(source)}")
    else:
        raise UsageError(f"{safe_text(source)} is neither a folder nor a cache database")
    if not quiet:
        click.echo(f"galprof: {n} faces", err=True)
    sys.exit(1 if failed else 0)
