"""The command line: parse options, call the stages, choose the renderer. No logic of its own."""

from __future__ import annotations

import sys

import click

from galprof import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="galprof")
def main() -> None:
    """galprof: learn what a photo gallery says about its owner, privately, on this machine.

    Scan a folder of photos and videos with on-device models and get a JSON profile:
    interests, people and their demography, the owner, privacy status of each photo, places.
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


if __name__ == "__main__":
    main()
