"""`galprof report`: a profile (or a cache) as one self-contained HTML page."""

from __future__ import annotations

from pathlib import Path

import click

from galprof.errors import UsageError
from galprof.render.safe import safe_text


@click.command("report")
@click.argument("source", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="The HTML file to write (new files are created 0600: the report holds faces).")
@click.option("--link", is_flag=True,
              help="Link the photos (paths relative to the report) instead of embedding thumbnails; "
                   "faces are still embedded.")
@click.option("--max-thumbnails", type=click.IntRange(0), default=600, show_default=True,
              help="At most this many photo thumbnails are embedded (the report stays light).")
@click.option("--per-grid", type=click.IntRange(1), default=24, show_default=True,
              help="Photos shown per category, person, finding or event.")
@click.option("-q", "--quiet", is_flag=True, help="No messages on stderr.")
def report(source: Path | None, output: Path, link: bool, max_thumbnails: int, per_grid: int, quiet: bool) -> None:
    """Write an HTML report of a profile: interests with their photos, people with their faces, the
    demography, a timeline, places, privacy, and what the gallery gives away.

    SOURCE is a profile JSON written by `galprof scan -o`, or a cache database (default: the user cache).
    The file needs nothing from the network: open it from anywhere, offline.
    """
    from galprof.documents import load_document
    from galprof.render.output import output_problem, write_output
    from galprof.report.page import ReportMeta, render_report
    from galprof.report.thumbs import Thumbnailer

    if problem := output_problem(output):
        raise UsageError(problem)
    if output.suffix.lower() in (".json", ".sqlite", ".db") and output.exists():
        raise UsageError(f"refusing to overwrite {safe_text(output)} with an HTML report (it is a profile or cache)")
    note = None if quiet else (lambda line: click.echo(line, err=True))
    document = load_document(source, note)
    settings = document.get("settings") or {}
    thumbs = Thumbnailer(max_side=int(settings.get("max_side", 1024)), video_fps=float(settings.get("video_fps", 1.0)),
                         video_max_frames=int(settings.get("video_max_frames", 30)), link=link,
                         link_base=output.resolve().parent, limit=max_thumbnails)
    shown_source = safe_text(source) if source is not None else "the user cache"
    html = render_report(document, thumbs, ReportMeta(shown_source), per_grid)
    write_output(html, output)
    if not quiet:
        click.echo(f"galprof: report written to {safe_text(output)} ({len(html) / 1e6:.1f} MB, "
                   f"{thumbs.embedded} photo thumbnails{', photos linked' if link else ''})", err=True)
