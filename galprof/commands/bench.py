"""`galprof bench`: the command; the measurements are in galprof/bench/, the tables in render/."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from galprof.render.safe import safe_text


@click.command("bench")
@click.argument("folder", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--repeats", default=20, show_default=True, type=click.IntRange(1), help="Timed runs per model.")
@click.option("--threads", "threads_text", default=None, metavar="1,2,4",
              help="Thread counts for model latency [default: 1, 2, 4, ... up to the cores].")
@click.option("--estimate", "estimate_n", default=20000, show_default=True, type=click.IntRange(1),
              help="Estimate the scan time of a gallery of this many photos.")
@click.option("--synthetic", default=4, show_default=True, type=click.IntRange(0),
              help="Synthetic 12 MP JPEGs added to the built-in set (ignored with FOLDER).")
@click.option("--workers", default=0, show_default=True, type=click.IntRange(0),
              help="Scan worker processes (0 = one per core).")
@click.option("--threads-per-worker", default=0, show_default=True, type=click.IntRange(0),
              help="ONNX Runtime threads per worker (0 = cores / workers).")
@click.option("--skip", multiple=True, type=click.Choice(["models", "stages", "scan", "floor"]),
              help="Leave out a part (repeatable).")
@click.option("--format", "fmt", default="table", show_default=True, type=click.Choice(["table", "json"]),
              help="table: rich tables on stderr; json: the report on stdout.")
@click.option("--json", "json_path", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the JSON report to this file.")
def bench(folder: Path | None, repeats: int, threads_text: str | None, estimate_n: int, synthetic: int,
          workers: int, threads_per_worker: int, skip: tuple[str, ...], fmt: str, json_path: Path | None) -> None:
    """Measure speed and memory on this machine: per-model latency, decode time by photo size,
    end-to-end photos/s (first scan and re-scan), peak RSS, and an estimate for a whole gallery.

    FOLDER defaults to a built-in set: the sample gallery plus synthetic 12 MP JPEGs made at run time.
    """
    import json

    from rich.console import Console
    from rich.text import Text

    from galprof.bench import BenchOptions, render_tables, run_bench
    from galprof.config import Settings

    threads = None
    if threads_text:
        try:
            threads = sorted({int(t) for t in threads_text.split(",") if t.strip()})
        except ValueError:
            raise click.BadParameter("a comma-separated list of integers, e.g. 1,2,4", param_hint="--threads")
        if not threads or min(threads) < 1:
            raise click.BadParameter("thread counts must be >= 1", param_hint="--threads")
    settings = Settings(workers=workers, threads_per_worker=threads_per_worker)
    options = BenchOptions(folder=folder, repeats=repeats, threads=threads, estimate=estimate_n,
                           synthetic=synthetic, settings=settings, models="models" not in skip,
                           stages="stages" not in skip, scan="scan" not in skip,
                           floor="floor" not in skip)
    err = Console(stderr=True)
    if not err.is_terminal:  # a log file: wide enough for the tables
        err = Console(stderr=True, width=160)
    try:
        with err.status("benchmarking") as status:
            report = run_bench(options, progress=lambda message: status.update(message))
    except Exception as exc:  # noqa: BLE001 - e.g. the sample set cannot be fetched offline: one line, exit 2
        click.echo(f"error: galprof bench: {type(exc).__name__}: {exc}", err=True)
        sys.exit(2)
    text = json.dumps(report, indent=2)
    if json_path is not None:
        from galprof.render.json import write_json

        write_json(report, json_path)
        err.print(Text(f"JSON report written to {safe_text(json_path)}"))
    if fmt == "json":
        click.echo(text)
    else:
        render_tables(report, err)
