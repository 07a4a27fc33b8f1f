"""`galprof events DIR --model events.model`: the event of every album folder, as JSON on stdout."""

from __future__ import annotations

import os
from pathlib import Path

import click

from galprof.errors import UsageError
from galprof.render.safe import safe_text


def album_groups(media, class_labels: list[str], object_labels: list[str]):
    """One PhotoGroup per folder that directly holds photos, keyed by that folder's path."""
    from galprof.analysis.interests import photo_features
    from galprof.learn.datasets import PhotoGroup

    groups: dict[str, PhotoGroup] = {}
    for m in media:
        folder = os.path.dirname(m.path)
        group = groups.setdefault(folder, PhotoGroup((folder,)))
        f, p, o = photo_features(m, class_labels, object_labels)
        group.paths.append(m.path)
        group.f.append(f), group.p.append(p), group.o.append(o)
    return [groups[k] for k in sorted(groups)]


def album_entries(model, groups) -> list[dict]:
    entries = []
    for g in groups:
        scores = model.album_scores(g)
        event = max(scores, key=lambda e: (scores[e], e))
        entries.append({"path": g.key[0], "event": event, "confidence": round(scores[event], 4),
                        "photos": len(g.paths), "scores": {e: round(s, 4) for e, s in scores.items()}})
    return entries


@click.command("events")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--model", "model_path", required=True, type=click.Path(path_type=Path),
              help="An event model written by `galprof train events`.")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Write the JSON to this file instead of stdout.")
@click.option("--cache", "cache_path", type=click.Path(path_type=Path), default=None,
              help="Results cache [default: the user cache].")
@click.option("--workers", type=click.IntRange(0), default=0, show_default=True,
              help="Worker processes (0 = one per core).")
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")
def events(folder: Path, model_path: Path, output: Path | None, cache_path: Path | None, workers: int,
           quiet: bool) -> None:
    """Recognise the event of every album under FOLDER (an album: a folder holding photos).

    Prints {"albums": [{"path", "event", "confidence", "photos", "scores": {event: score}}]}.
    """
    from galprof.learn.datasets import scan_and_group
    from galprof.learn.events import EventModel
    from galprof.render.json import write_json

    if not folder.is_dir():
        raise UsageError(f"not a folder: {safe_text(folder)}")
    model = EventModel.load(model_path)  # before the scan: a bad model fails at once
    groups = scan_and_group(folder, cache_path, workers, quiet,
                            lambda media, _root, classes, objects: album_groups(media, classes, objects))
    dims = {k: model.classifiers[k].mean.shape[0] for k in ("f", "p", "o")}
    if groups and dims != {k: len(getattr(groups[0], k)[0]) for k in dims}:
        raise UsageError(f"the event model {safe_text(model_path)} was trained on other features {dims}")
    write_json({"model": model_path.name, "events": model.events, "albums": album_entries(model, groups)},
               output)
