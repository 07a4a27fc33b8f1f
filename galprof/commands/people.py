"""`galprof people name|merge|not|corrections`: the user's corrections of the people found, kept in the
cache (see galprof/analysis/corrections.py) and applied to every profile built from it afterwards."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from galprof.errors import UsageError
from galprof.render.safe import safe_text

CACHE_OPTION = click.option("--cache", "cache_path", type=click.Path(path_type=Path), default=None,
                            help="The results cache [default: the user cache].")


@contextmanager
def _cache(cache_path: Path | None) -> Iterator:
    from galprof.cache_file import CacheError
    from galprof.store import Store, default_cache_path

    path = cache_path or default_cache_path()
    if not path.is_file():
        raise UsageError(f"no such cache: {safe_text(path)} (scan a folder first)")
    try:
        store = Store(path, create=False)
    except CacheError as exc:
        raise UsageError(safe_text(exc)) from None
    try:
        yield store
    finally:
        store.close()


def _known_ids(store) -> list[int]:
    from galprof.analysis.people import STATE_KEY

    state = store.get_state(STATE_KEY) or {}
    return sorted(int(p["id"]) for p in state.get("people", []))


def _check_person(store, person: int) -> None:
    known = _known_ids(store)
    if person not in known:
        listed = ", ".join(map(str, known[:30])) if known else "none yet (scan or show the gallery first)"
        raise UsageError(f"no person {person} in the cache {safe_text(store.path)}; people: {listed}")


def _record(store, action: str, person: int, **fields) -> None:
    from galprof.analysis.corrections import STATE_KEY, Corrections

    corrections = Corrections.from_state(store.get_state(STATE_KEY))
    added = corrections.add(action, person, **fields)
    store.set_state(STATE_KEY, corrections.to_state())
    click.echo(safe_text(f"correction {added.number}: {added.describe()}"), err=True)


@click.group("people")
def people() -> None:
    """Correct the people found: name them, merge them, take a face out of one.

    Corrections are kept in the cache and applied to every profile built from it afterwards (scan,
    show, report), new photos and re-scans included. `galprof people corrections` lists them.
    """


@people.command("name")
@click.argument("person", type=int)
@click.argument("name")
@CACHE_OPTION
def name_person(person: int, name: str, cache_path: Path | None) -> None:
    """Give PERSON (an id from the profile's people) a NAME, shown as people[].name."""
    if not name.strip():
        raise UsageError("the name is empty")
    with _cache(cache_path) as store:
        _check_person(store, person)
        _record(store, "name", person, name=name.strip())


@people.command("merge")
@click.argument("person", type=int)
@click.argument("other", type=int)
@CACHE_OPTION
def merge_people(person: int, other: int, cache_path: Path | None) -> None:
    """OTHER is the same person as PERSON: its faces join PERSON, which keeps its id."""
    if person == other:
        raise UsageError(f"cannot merge person {person} with itself")
    with _cache(cache_path) as store:
        _check_person(store, person)
        _check_person(store, other)
        _record(store, "merge", person, other=other)


@people.command("not")
@click.argument("person", type=int)
@click.argument("path", type=click.Path(path_type=Path))
@CACHE_OPTION
def not_person(person: int, path: Path, cache_path: Path | None) -> None:
    """The faces in PATH (a photo or video of the gallery) are not PERSON: they leave that person, and
    later scans do not give them back."""
    from galprof.media.discover import display_path

    with _cache(cache_path) as store:
        _check_person(store, person)
        stored = set(store.paths())
        # as the profile shows it (display form), or as the file system names it
        candidates = (os.fspath(path), display_path(os.path.abspath(path)))
        key = next((p for p in candidates if p in stored), None)
        if key is None:
            raise UsageError(f"{safe_text(path)} is not in the cache {safe_text(store.path)} (scan its folder first)")
        _record(store, "not", person, path=key)


@people.command("corrections")
@click.option("--undo", "undo", type=int, default=None, metavar="N", help="Remove correction N.")
@CACHE_OPTION
def list_corrections(undo: int | None, cache_path: Path | None) -> None:
    """List the corrections (number and what it says), or remove one with --undo N."""
    from galprof.analysis.corrections import STATE_KEY, Corrections

    with _cache(cache_path) as store:
        corrections = Corrections.from_state(store.get_state(STATE_KEY))
        if undo is not None:
            removed = corrections.undo(undo)
            if removed is None:
                numbers = ", ".join(str(c.number) for c in corrections.items) or "none"
                raise UsageError(f"no correction {undo}; corrections: {numbers}")
            store.set_state(STATE_KEY, corrections.to_state())
            click.echo(safe_text(f"removed correction {removed.number}: {removed.describe()}"), err=True)
            return
        for c in corrections.items:
            click.echo(f"{c.number}\t{c.action}\t{safe_text(c.describe())}")
