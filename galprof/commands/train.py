"""`galprof train aggregate` and `galprof train events`: learn models from labelled folders."""

from __future__ import annotations

from pathlib import Path

import click

from galprof.errors import UsageError
from galprof.render.safe import safe_text

_cache_option = click.option("--cache", "cache_path", type=click.Path(path_type=Path), default=None,
                             help="Results cache for the scan of the training photos [default: the user cache].")
_workers_option = click.option("--workers", type=click.IntRange(0), default=0, show_default=True,
                               help="Scan worker processes (0 = one per core).")


def _say(quiet: bool, message: str) -> None:
    if not quiet:
        click.echo(safe_text(message), err=True)


@click.group("train")
def train() -> None:
    """Learn models from labelled galleries or albums (photos are scanned through the cache)."""


@train.command("aggregate")
@click.option("--galleries", "galleries_dir", required=True, type=click.Path(path_type=Path),
              help="A folder with one sub-folder per user (their gallery).")
@click.option("--labels", "labels_path", required=True, type=click.Path(path_type=Path),
              help="CSV with the header `user,categories`; categories are taxonomy ids separated by `;`.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The ONNX aggregator to write (use it with `galprof scan --aggregator`).")
@click.option("--aggregation", type=click.Choice(["attention", "average", "nan"]), default="attention",
              show_default=True, help="attention: eqs. 1-3; average: equal weights; nan: two attention blocks.")
@click.option("--dim", "descriptor_dim", type=click.IntRange(1), default=128, show_default=True,
              help="K~, the width of s(m) = Ws x(m).")
@click.option("--epochs", type=click.IntRange(1), default=60, show_default=True,
              help="At most this many passes; the epoch kept is chosen on the validation galleries.")
@click.option("--learning-rate", type=click.FloatRange(min=0, min_open=True), default=1e-3, show_default=True)
@click.option("--l2", type=click.FloatRange(min=0), default=1e-2, show_default=True, help="Weight decay.")
@click.option("--validation", type=click.FloatRange(0, 0.9), default=0.2, show_default=True,
              help="Share of users held out to choose the epoch (0: the epoch of lowest training loss).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--taxonomy", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="The taxonomy whose category ids the labels use [default: the packaged one].")
@_cache_option
@_workers_option
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")
def train_aggregate(galleries_dir: Path, labels_path: Path, output: Path, aggregation: str, descriptor_dim: int,
                    epochs: int, learning_rate: float, l2: float, validation: float, seed: int,
                    taxonomy: Path | None, cache_path: Path | None, workers: int, quiet: bool) -> None:
    """Train a gallery aggregator (the paper's eqs. 1-3) on labelled users and write it as ONNX."""
    import numpy as np

    from galprof.analysis.interests import Taxonomy
    from galprof.learn.datasets import read_user_labels, scan_groups
    from galprof.learn.export import _onnx, write_onnx
    from galprof.learn.fit import FitOptions, fit

    _onnx()  # fail before the scan when the train extra is missing
    tax = Taxonomy.load(taxonomy)
    labels = read_user_labels(labels_path, [c.id for c in tax.categories])
    groups = {key[0]: g for key, g in scan_groups(galleries_dir, 1, cache_path, workers, quiet).items()}
    missing = sorted(set(labels) - set(groups))
    if missing:
        raise UsageError(f"the labels {safe_text(labels_path)} name user {safe_text(missing[0])}, who has no "
                         f"photos in {safe_text(galleries_dir)}")
    unlabelled = sorted(set(groups) - set(labels))
    if unlabelled:
        _say(quiet, f"galprof: {len(unlabelled)} folder(s) without labels left out (e.g. {unlabelled[0]})")
    users = sorted(labels)
    used = {c for u in users for c in labels[u]}
    categories = [c for c in tax.categories if c.id in used]
    if len(users) < 2 or not categories:
        raise UsageError("training needs at least 2 labelled users and one category in the labels")
    Y = np.array([[c.id in labels[u] for c in categories] for u in users], dtype=float)
    galleries = [groups[u].matrix() for u in users]
    dims = {"f": len(groups[users[0]].f[0]), "p": len(groups[users[0]].p[0]), "o": len(groups[users[0]].o[0])}
    options = FitOptions(aggregation=aggregation, descriptor_dim=descriptor_dim, epochs=epochs,
                         learning_rate=learning_rate, l2=l2, validation=validation, seed=seed)

    def progress(epoch: int, train_loss: float, val_loss: float | None) -> None:
        shown = f", validation {val_loss:.4f}" if val_loss is not None else ""
        _say(quiet, f"epoch {epoch}: loss {train_loss:.4f}{shown}")

    model, report = fit(galleries, Y, [c.id for c in categories], options, progress)
    summary = {"users": len(users), "photos": int(sum(g.shape[0] for g in galleries)),
               "best_epoch": report.best_epoch, "validation_loss": report.validation_loss,
               "options": vars(options)}
    write_onnx(model, dims, [c.label for c in categories], summary, output)
    _say(quiet, f"galprof: {aggregation} aggregator over {len(categories)} categories from {len(users)} users "
                f"(epoch {report.best_epoch}) written to {output}")


@train.command("events")
@click.option("--albums", "albums_dir", required=True, type=click.Path(path_type=Path),
              help="A folder laid out as <event>/<album>/photos.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The event model to write (use it with `galprof events`).")
@click.option("--validation", type=click.FloatRange(0.05, 0.9), default=0.3, show_default=True,
              help="Share of each album's photos held out to search the fusion weights (Algorithm 2).")
@click.option("--album-pooling", type=click.Choice(["average", "attention"]), default="average", show_default=True,
              help="How an album's photos are combined: equal weights, or attention to confident photos.")
@click.option("--seed", type=int, default=0, show_default=True)
@_cache_option
@_workers_option
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")
def train_events(albums_dir: Path, output: Path, validation: float, album_pooling: str, seed: int,
                 cache_path: Path | None, workers: int, quiet: bool) -> None:
    """Train the event classifier of Algorithm 2: classifiers on f, p and o, fused with searched weights."""
    from galprof.learn.datasets import scan_groups
    from galprof.learn.events import EventTrainingError, train_event_model

    groups = scan_groups(albums_dir, 2, cache_path, workers, quiet)
    try:
        model = train_event_model(list(groups.values()), validation=validation, seed=seed, pooling=album_pooling)
    except EventTrainingError as exc:
        raise UsageError(f"{safe_text(albums_dir)}: {exc}") from None
    model.save(output)
    weights = ", ".join(f"{k} {v:.2f}" for k, v in model.fusion_weights.items())
    _say(quiet, f"galprof: {len(model.events)} events from {len(groups)} albums; fusion weights {weights}; "
                f"validation accuracy {model.validation_accuracy:.3f}; written to {output}")
