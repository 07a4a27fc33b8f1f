"""The command line: parse options, call the stages, choose the renderer. No logic of its own."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import click

from galprof import __version__
from galprof.command import GalprofGroup
from galprof.errors import UsageError
from galprof.render.safe import safe_text
from galprof.server.scan_options import remote_factory, remote_options

# Commands whose modules are imported only when they run (a scan need not import numpy for `faces`).
LAZY_COMMANDS = {name: f"galprof.commands.{name}:{name}"
                 for name in ("batch", "bench", "events", "faces", "people", "report", "selfie", "topics", "train")}
LAZY_COMMANDS["serve"] = "galprof.server.serve_cli:serve"


@click.group(cls=GalprofGroup, lazy_commands=LAZY_COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="galprof")
@click.option("--debug", is_flag=True, help="Show the traceback of an internal error (or set GALPROF_DEBUG=1).")
def main(debug: bool) -> None:
    """galprof: learn what a photo gallery says about its owner, privately, on this machine.

    Scan a folder of photos and videos with on-device models and get a JSON profile:
    interests, people and their demography, the owner, privacy status of each photo, places.

    Exit codes: 0 every file read, 1 some files failed, 2 usage or fatal error, 3 internal error,
    130 interrupted.
    """


@main.group()
def models() -> None:
    """The ONNX models galprof runs (see models/manifest.json)."""


@models.command("list")
def models_list() -> None:
    """List every model: name, role, size, licence, source package."""
    from rich.console import Console
    from rich.table import Table

    from galprof.vision.registry import load_manifest

    table = Table()
    table.add_column("name", no_wrap=True)
    for column in ("role", "precision", "size", "licence", "source"):
        table.add_column(column)
    for entry in load_manifest().values():
        src = entry.source
        table.add_row(entry.name, entry.role, entry.precision, f"{entry.bytes / 1e6:.1f} MB", entry.license,
                      f"{src.get('registry', '')}:{src.get('package', '')}=={src.get('version', '')}")
    Console().print(table)


@models.command("verify")
def models_verify() -> None:
    """Check every model file against the sha256 in the manifest."""
    from galprof.vision.registry import load_manifest, models_dir, verify

    try:
        problems = verify()
    except FileNotFoundError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    for line in problems:
        click.echo(f"error: {line}", err=True)
    if problems:
        sys.exit(1)
    click.echo(f"ok: {len(load_manifest())} models verified in {models_dir()}")


def _load_settings(config_path: Path | None, flags: dict):
    """Settings from a JSON config file (any subset of the fields) and the options that were given,
    all checked against the settings schema (UsageError naming the file or option and the field)."""
    from galprof.config import Settings

    settings = Settings()
    if config_path is not None:
        from galprof.validate import read_json_file

        source = f"--config {safe_text(config_path)}"
        settings = Settings.from_dict(read_json_file(config_path, source), source)
    for name, value in flags.items():
        if value is not None:
            settings = settings.updated({name: value}, "--" + name.replace("_", "-"))
    return settings


def _check_scan_inputs(settings) -> None:
    """The taxonomy and labels files read by the scan or its profile, checked before any photo is."""
    from galprof.validate import check_labels_file

    if settings.classifier_model and not settings.classifier_labels:
        raise UsageError("--classifier-model needs --classifier-labels")
    if settings.classifier_labels:
        check_labels_file(settings.classifier_labels, f"the classifier labels {safe_text(settings.classifier_labels)}")
    if settings.taxonomy:
        from galprof.analysis.interests import Taxonomy

        Taxonomy.load(settings.taxonomy)


@main.command("scan")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Write the JSON profile to this file (atomically) instead of stdout.")
@click.option("--format", "fmt", type=click.Choice(["json", "table"]), default="json", show_default=True,
              help="json: the profile on stdout (or -o); table: a readable summary on the terminal.")
@click.option("--cache", "cache_path", type=click.Path(path_type=Path), default=None,
              help="Results cache (SQLite) [default: $XDG_CACHE_HOME/galprof/cache.sqlite].")
@click.option("--workers", type=click.IntRange(0), default=0, show_default=True,
              help="Worker processes (0 = one per core).")
@click.option("--engine", "engine_name", type=click.Choice(["local", "inline", "pool", "ray"]), default="local",
              show_default=True, help="local: in this process with one worker, a process pool otherwise; "
              "ray: actors on a Ray cluster (see --address).")
@click.option("--address", default=None, metavar="auto|HOST:PORT", help="The Ray cluster to join [default: auto].")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or messages on stderr.")
@click.option("--include", multiple=True, metavar="GLOB",
              help="Only files whose relative path or name matches (case-insensitive, repeatable).")
@click.option("--exclude", multiple=True, metavar="GLOB",
              help="Skip files and folders whose relative path or name matches (case-insensitive, repeatable).")
@click.option("--follow-links", is_flag=True,
              help="Also follow symlinks whose target is outside FOLDER (by default they are listed as notes).")
@click.option("--video-fps", type=click.FloatRange(min=0.01), default=None,
              help="Video frames sampled per second [default: 1].")
@click.option("--face-detector", type=click.Choice(["full", "short", "back"]), default=None,
              help="BlazeFace variant [default: full, the most precise; short is fastest].")
@click.option("--accurate", is_flag=True, help="Classify photos with EfficientNet-Lite2 (slower, more accurate).")
@click.option("--classifier-model", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Your own ONNX image classifier (e.g. a Places365 scene model) in place of ours.")
@click.option("--classifier-labels", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Its labels file, one label per line in output order (needed with --classifier-model).")
@click.option("--taxonomy", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Your class -> interest mapping (same format as models/taxonomy.json), e.g. for your model's labels.")
@click.option("--no-ocr", is_flag=True, help="Do not run OCR (the document rule of privacy is then disabled).")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="A JSON file of settings (see the `settings` section of a profile).")
@remote_options
@click.option("--aggregator", "aggregator_path", type=click.Path(path_type=Path), default=None,
              help="A gallery aggregator from `galprof train aggregate`: adds interests.learned.")
def scan(folder: Path, output: Path | None, fmt: str, cache_path: Path | None, workers: int, quiet: bool,
         include: tuple[str, ...], exclude: tuple[str, ...], video_fps: float | None, face_detector: str | None,
         accurate: bool, classifier_model: str | None, classifier_labels: str | None, taxonomy: str | None,
         no_ocr: bool, config_path: Path | None, follow_links: bool, engine_name: str, address: str | None,
         remote_url: str | None, token_file: Path | None, cafile: Path | None, pin: str | None,
         aggregator_path: Path | None) -> None:
    """Scan FOLDER (photos and videos, recursively) and print the JSON profile.

    Only new or changed files are analyzed; results are cached. Exit code 0 when every file was read,
    1 when some failed (listed under "errors"), 2 for a usage error, 3 for an internal error.
    """
    from galprof.commands.engines import engine_for
    from galprof.pipeline import ScanUsageError
    from galprof.pipeline import scan as run_scan
    from galprof.render.output import output_problem

    if not folder.exists():
        raise UsageError(f"folder not found: {safe_text(folder)}")
    if not folder.is_dir():
        raise UsageError(f"not a folder: {safe_text(folder)}")
    if output is not None and (problem := output_problem(output)):
        raise UsageError(problem)
    if cache_path is not None and cache_path.is_dir():
        raise UsageError(f"the cache must be a file, not the folder {safe_text(cache_path)}")
    flags = {"workers": workers or None, "video_fps": video_fps, "face_detector": face_detector,
             "classifier_tier": "lite2" if accurate else None, "classifier_model": classifier_model,
             "classifier_labels": classifier_labels, "taxonomy": taxonomy, "ocr": False if no_ocr else None,
             "follow_links": True if follow_links else None}
    settings = _load_settings(config_path, flags)
    _check_scan_inputs(settings)
    engine = "local" if engine_name == "local" else engine_for(engine_name, workers, address)
    factory = remote_factory(settings, remote_url, token_file, cafile, pin)
    aggregator = None
    if aggregator_path is not None:
        from galprof.learn.runtime import Aggregator

        aggregator = Aggregator.load(aggregator_path)
        aggregator.check_settings(settings)
    try:
        result = run_scan(folder, settings, cache_path=cache_path, quiet=quiet, include=include, exclude=exclude,
                          engine=engine, analyzer_factory=factory)
    except ScanUsageError as exc:
        raise UsageError(safe_text(exc)) from None
    except KeyboardInterrupt:
        click.echo("interrupted: files analyzed so far are cached; run the scan again to continue", err=True)
        sys.exit(130)
    finally:
        if not isinstance(engine, str):
            engine.close()
    from galprof.profile_cache import profile_for_scan
    from galprof.render.json import emit

    try:
        document = profile_for_scan(result, settings, quiet)
        if aggregator is not None:  # applied on top of the stored profile: it is not part of its key
            from galprof.learn.runtime import add_learned_interests

            add_learned_interests(document, aggregator, result.iter_media())
        emit(document, fmt, output)
    except sqlite3.DatabaseError as exc:  # damage that the integrity check at open did not see
        raise UsageError(f"the cache {safe_text(result.store.path)} is damaged ({safe_text(exc)}): it is only "
                         "a cache; delete it (or move it aside) and scan again") from None
    finally:
        result.store.close()
    if not quiet:
        for error in result.errors[:5]:
            click.echo(safe_text(f"failed: {error.path}: {error.stage}: {error.reason}"), err=True)
        if len(result.errors) > 5:
            click.echo(f"failed: ... and {len(result.errors) - 5} more (all under \"errors\" in the profile)",
                       err=True)
        stats = result.stats
        notes = (f", {len(result.warnings)} notes (e.g. {safe_text(result.warnings[0].reason)})"
                 if result.warnings else "")
        click.echo(f"galprof: {stats['analyzed']} analyzed, {stats['cached']} cached, {len(result.errors)} failed, "
                   f"{stats['removed']} removed in {stats['seconds']['total']:.1f} s{notes}", err=True)
    sys.exit(1 if result.errors else 0)


# --- show, photos, features: re-use stored results without re-scanning -------------------------------

@main.command("show")
@click.argument("source", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="table: the terminal view; json: the profile document on stdout (or -o).")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Also write the JSON profile to this file (atomically).")
@click.option("-q", "--quiet", is_flag=True, help="No messages on stderr.")
def show(source: Path | None, fmt: str, output: Path | None, quiet: bool) -> None:
    """Show a profile again without re-scanning.

    SOURCE is a profile JSON written by `galprof scan -o`, or a cache database (default: the user cache),
    from which the profile is rebuilt (people, interests, privacy, places) without running any model.
    """
    from galprof.documents import load_document
    from galprof.render.json import emit

    emit(load_document(source, None if quiet else lambda line: click.echo(line, err=True)), fmt, output)


@main.command("photos")
@click.argument("source", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--category", default=None, help="A category id or label, e.g. food, animals, pets/animals.")
@click.option("--subcategory", default=None, help="Only photos of this subcategory (with --category).")
@click.option("--person", type=int, default=None, help="A person id from the profile's people.")
@click.option("--private/--public", "private", default=None, help="Only private (or public) photos.")
@click.option("--format", "fmt", type=click.Choice(["paths", "json", "table"]), default="paths",
              show_default=True, help="paths: one per line; json: the photos' entries; table: readable.")
def photos(source: Path | None, category: str | None, subcategory: str | None, person: int | None,
           private: bool | None, fmt: str) -> None:
    """List the photos behind a category or a person (the app's tap-through).

    SOURCE is a profile JSON or a cache database (default: the user cache).
    """
    from galprof.documents import load_document, select_photos

    if category is None and person is None and private is None:
        raise UsageError("give --category, --person or --private/--public")
    rows, title = select_photos(load_document(source), category, subcategory, person, private)
    if fmt == "json":
        from galprof.render.json import write_json

        write_json(rows)
    elif fmt == "table":
        from galprof.render.terminal import photos_table, print_to_stdout

        print_to_stdout(photos_table(rows, title))
    else:
        from galprof.render.output import stdout_stream, write_stdout

        # Like ls: file names verbatim into a pipe, control characters escaped on a terminal.
        shown = safe_text if stdout_stream().isatty() else str
        write_stdout("".join(shown(r["path"]) + "\n" for r in rows))


@main.command("features")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=Path("features.npz"),
              show_default=True, help="The .npz file to write.")
@click.option("--cache", "cache_path", type=click.Path(path_type=Path), default=None,
              help="Results cache used when SOURCE is a folder [default: the user cache].")
@click.option("--workers", type=click.IntRange(0), default=0, show_default=True,
              help="Worker processes when SOURCE must be scanned (0 = one per core).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or messages on stderr.")
def features(source: Path, output: Path, cache_path: Path | None, workers: int, quiet: bool) -> None:
    """Export the per-photo representation of the paper for your own classifiers.

    SOURCE is a gallery folder (scanned first; cached results are reused) or a cache database. The .npz
    holds f (N x 1280 photo embeddings), p (N x 1000 classifier scores rebuilt from the stored top-k),
    o (N x 80 maximum detector confidence per COCO class), paths, class_labels and object_labels.
    """
    from galprof.analysis.interests import export_features
    from galprof.config import Settings
    from galprof.documents import is_sqlite
    from galprof.store import Store
    from galprof.vision.onnx_model import read_labels
    from galprof.vision.registry import load_manifest

    manifest = load_manifest()
    class_labels = read_labels(manifest["efficientnet_lite0"].labels_path())
    object_labels = read_labels(manifest["nanodet"].labels_path())
    failed = 0
    if source.is_dir():
        from galprof.pipeline import ScanUsageError
        from galprof.pipeline import scan as run_scan

        try:
            result = run_scan(source, Settings(workers=workers), cache_path=cache_path, quiet=quiet)
        except ScanUsageError as exc:
            raise UsageError(safe_text(exc)) from None
        failed = len(result.errors)
        try:
            n = export_features(result.iter_media(), class_labels, object_labels, output)
        finally:
            result.store.close()
    elif is_sqlite(source):
        from galprof.cache_file import CacheError

        try:
            with Store(source, create=False) as store:
                n = export_features(store.iter_media(), class_labels, object_labels, output)
                for note in store.take_notes():
                    click.echo(f"warning: {safe_text(note.path)}: {safe_text(note.reason)}", err=True)
        except CacheError as exc:
            raise UsageError(safe_text(exc)) from None
    else:
        raise UsageError(f"{safe_text(source)} is neither a folder nor a cache database")
    if not quiet:
        click.echo(f"galprof: features of {n} photos/videos written to {safe_text(output)}", err=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
