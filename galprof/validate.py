"""Input files checked before any work: the --config settings, taxonomies, labels files and saved
profiles, each against its bundled JSON Schema (galprof/schema/). A problem is one UsageError naming
the file and the field, e.g. `--config s.json: workers: 'abc' is not of type 'integer'`.

JSON is parsed strictly (no NaN/Infinity, no number that overflows to infinity, no nesting that would
exhaust the stack) and schemas are resolved locally only: nothing is ever fetched over the network.
"""

from __future__ import annotations

import functools
import json
import math
from importlib import resources
from pathlib import Path
from typing import Any

from galprof.errors import UsageError
from galprof.render.safe import safe_text

SCHEMAS = ("profile-v1", "settings", "taxonomy")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number out of range: {text}")
    return value


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(text: str) -> Any:
    """json.loads without NaN/Infinity and with deep nesting reported as a ValueError."""
    try:
        return json.loads(text, parse_float=_finite, parse_constant=_no_constant)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def read_json_file(path: str | Path, what: str) -> Any:
    """The JSON value in a file; UsageError `<what>: <why>` when it cannot be read or parsed."""
    try:
        return parse_json(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"{what}: cannot read it: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{what}: not UTF-8 text") from None
    except ValueError as exc:  # json.JSONDecodeError included
        raise UsageError(f"{what}: not valid JSON: {exc}") from None


def _refuse_retrieval(uri: str):
    from referencing.exceptions import NoSuchResource

    raise NoSuchResource(ref=uri)


@functools.cache
def schema(name: str) -> dict:
    """A bundled schema (package data) by name: profile-v1, settings, taxonomy."""
    return json.loads(resources.files("galprof").joinpath(f"schema/{name}.schema.json").read_text("utf-8"))


@functools.cache
def _validator(name: str):
    # jsonschema and referencing cost ~60 ms of imports: only runs that check a document pay them
    import jsonschema
    from referencing import Registry

    registry = Registry(retrieve=_refuse_retrieval)  # a $ref to anything but the schema itself fails
    return jsonschema.Draft202012Validator(schema(name), registry=registry,
                                           format_checker=jsonschema.FormatChecker())


def _where(path) -> str:
    parts = ""
    for p in path:
        parts += f"[{p}]" if isinstance(p, int) else (f".{p}" if parts else str(p))
    return parts or "(top level)"


def problem(data: Any, name: str) -> str | None:
    """The most relevant schema violation of `data` as `field.path: message`, or None when valid."""
    from jsonschema.exceptions import best_match

    error = best_match(_validator(name).iter_errors(data))
    if error is None:
        return None
    message = error.message if len(error.message) <= 200 else error.message[:200] + "..."
    return f"{_where(error.absolute_path)}: {message}"


def check(data: Any, name: str, what: str) -> Any:
    """`data` unchanged when it matches the schema `name`, else UsageError `<what>: <field>: <why>`."""
    if (found := problem(data, name)) is not None:
        raise UsageError(safe_text(f"{what}: {found}"))
    return data


def load_taxonomy_data(path: str | Path, what: str | None = None) -> dict:
    what = what or f"the taxonomy {path}"
    return check(read_json_file(path, what), "taxonomy", what)


def check_labels_file(path: str | Path, what: str) -> None:
    """A classifier labels file must be UTF-8 text with at least one label."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"{what}: cannot read it: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{what}: not a text file (not UTF-8)") from None
    if "\x00" in text:
        raise UsageError(f"{what}: not a text file (NUL bytes)")
    if not any(line.strip() for line in text.splitlines()):
        raise UsageError(f"{what}: no labels (one label per line)")
