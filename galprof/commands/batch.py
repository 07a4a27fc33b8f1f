"""`galprof batch PARENT -o OUTDIR`: one profile per gallery and a summary.csv."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from galprof.commands.engines import ENGINE_CHOICES, engine_for
from galprof.errors import UsageError
from galprof.render.safe import safe_text


def _settings(config_path: Path | None):
    """Settings from a --config file, with the scan's checks of the files they name."""
    from galprof.analysis.interests import Taxonomy
    from galprof.config import Settings
    from galprof.validate import check_labels_file, read_json_file

    if config_path is None:
        return Settings()
    source = f"--config {safe_text(config_path)}"
    settings = Settings.from_dict(read_json_file(config_path, source), source)
    if settings.classifier_model and not settings.classifier_labels:
        raise UsageError(f"{source}: classifier_model needs classifier_labels")
    if settings.classifier_labels:
        check_labels_file(settings.classifier_labels, f"the classifier labels {safe_text(settings.classifier_labels)}")
    if settings.taxonomy:
        Taxonomy.load(settings.taxonomy)
    return settings


@click.command("batch")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--output", "outdir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for <gallery>.json profiles and summary.csv (created).")
@click.option("--engine", "engine_name", type=click.Choice(ENGINE_CHOICES), default="local", show_default=True,
              help="local: inline with one worker, a process pool otherwise; ray: actors on a Ray cluster.")
@click.option("--address", default=None, metavar="auto|HOST:PORT",
              help="The Ray cluster to join (with --engine ray) [default: auto].")
@click.option("--workers", type=click.IntRange(0), default=0, show_default=True,
              help="Worker processes, or Ray actors (0 = one per core here; with Ray, the cluster's CPUs).")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Per-gallery result caches [default: OUTDIR/cache].")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="A JSON file of settings, as for scan.")
@click.option("-q", "--quiet", is_flag=True, help="No messages on stderr.")
def batch(source: Path, outdir: Path, engine_name: str, address: str | None, workers: int,
          cache_dir: Path | None, config_path: Path | None, quiet: bool) -> None:
    """Profile many galleries: each sub-folder of SOURCE is one user's gallery (or SOURCE is a file
    listing gallery folders, one per line).

    Writes OUTDIR/<gallery>.json (the profile `scan` writes) and OUTDIR/summary.csv (one row per
    gallery). Finished galleries are skipped when run again. Exit code 0 when every gallery and file
    was read, 1 when some failed (see the summary's status, errors and message columns).
    """
    from galprof.batch.galleries import find_galleries
    from galprof.batch.runner import BatchOptions, run_batch

    if outdir.exists() and not outdir.is_dir():
        raise UsageError(f"not a folder: {safe_text(outdir)}")
    galleries = find_galleries(source, outdir)
    if not galleries:
        raise UsageError(f"no gallery folders in {safe_text(source)}")
    settings = _settings(config_path)
    engine = engine_for(engine_name, workers or settings.workers, address)
    if not quiet:
        click.echo(f"galprof batch: {len(galleries)} galleries on the {engine.name} engine with "
                   f"{engine.concurrency} worker(s)", err=True)
    try:
        rows = run_batch(galleries, engine, BatchOptions(outdir, settings, cache_dir, quiet=quiet))
    except KeyboardInterrupt:
        click.echo("interrupted: finished galleries are in OUTDIR; run the batch again to continue", err=True)
        sys.exit(130)
    finally:
        engine.close()
    failed = [r for r in rows if r["status"] == "failed"]
    with_errors = [r for r in rows if r["status"] != "failed" and int(r["errors"] or 0)]
    if not quiet:
        click.echo(f"galprof batch: {len(rows) - len(failed)} profiled ({sum(r['status'] == 'skipped' for r in rows)} "
                   f"already done), {len(failed)} failed; summary in {safe_text(outdir / 'summary.csv')}", err=True)
    sys.exit(1 if failed or with_errors else 0)
