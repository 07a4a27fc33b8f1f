"""Strings from photos and profiles reach the terminal literally: no rich markup, no escape sequences."""

from __future__ import annotations

import io
import json

import pytest
from click.testing import CliRunner
from rich.console import Console

from galprof.cli import main
from galprof.config import Settings
from galprof.profile import profile_from_media
from galprof.render.safe import safe_text
from galprof.render.terminal import photos_table, render
from tests.profile_factory import frame, media

CLEAR = "\x1b[2J"
TITLE = "\x1b]0;owned\x07"
LINK = "[link=https://evil.invalid]click[/link]"


def test_safe_text_escapes_controls_and_direction_marks():
    assert safe_text(f"a{CLEAR}b") == "a\\x1b[2Jb"
    assert safe_text("tab\there\nnl\x7f\x9b") == "tab\\x09here\\x0anl\\x7f\\x9b"
    assert safe_text("invoice\u202egpj.exe") == "invoice\\u202egpj.exe"
    assert safe_text("\u2066x\u2069") == "\\u2066x\\u2069"
    assert safe_text("trip [paris] 2019 é 東京") == "trip [paris] 2019 é 東京"
    assert safe_text(None) == ""


@pytest.fixture(scope="module")
def hostile_doc() -> dict:
    items = [
        media(f"/g/trip [paris] 2019/{CLEAR}a.jpg", frame({"pizza": 0.9}), make="[/x]", model=f"Cam{TITLE}"),
        media("/g/[bold]b[/bold].jpg", frame({"Beagle": 0.8}, {"dog": 0.9}), make="Evil", model=LINK),
    ]
    doc = profile_from_media(lambda: iter(items), Settings(), root=f"/g/[/x]{TITLE}")
    doc = json.loads(json.dumps(doc))
    doc["interests"]["categories"][0]["label"] = f"[red]food{CLEAR}"
    doc["errors"] = [{"path": f"/g/{TITLE}x.jpg", "stage": "decode", "reason": f"bad [/] {CLEAR}"}]
    doc["owner"]["message"] = LINK
    return doc


def _record(renderable_or_doc, doc: bool = True) -> tuple[str, str]:
    """(the output with styles, the plain text) of a rendering on a colour terminal."""
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, color_system="truecolor", width=200, record=True)
    if doc:
        render(renderable_or_doc, console)
    else:
        console.print(renderable_or_doc)
    return out.getvalue(), console.export_text()


def test_terminal_view_shows_data_literally(hostile_doc):
    styled, text = _record(hostile_doc)
    for literal in ("/g/[/x]\\x1b]0;owned\\x07", "[/x] Cam\\x1b]0;owned\\x07", LINK, "[red]food\\x1b[2J",
                    "/g/\\x1b]0;owned\\x07x.jpg: decode: bad [/] \\x1b[2J"):
        assert literal in text, literal
    assert CLEAR not in styled and "\x1b]0;" not in styled
    assert "\x1b]8;" not in styled  # no hyperlink


def test_photos_table_shows_data_literally(hostile_doc):
    styled, text = _record(photos_table(hostile_doc["photos"], f"food {LINK}"), doc=False)
    assert "trip [paris] 2019/\\x1b[2Ja.jpg" in text and "/g/[bold]b[/bold].jpg" in text
    assert f"food {LINK}" in text
    assert CLEAR not in styled and "\x1b]8;" not in styled


def test_commands_show_data_literally(hostile_doc, tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps(hostile_doc))
    runner = CliRunner()
    shown = runner.invoke(main, ["show", str(path)])
    assert shown.exit_code == 0, shown.output
    assert "/g/[/x]\\x1b]0;owned\\x07" in shown.stdout and "\x1b]0;" not in shown.stdout
    table = runner.invoke(main, ["photos", str(path), "--public", "--format", "table"])
    assert table.exit_code == 0, table.output
    assert "/g/[bold]b[/bold].jpg" in table.stdout and CLEAR not in table.stdout
    # paths into a pipe stay verbatim (like ls), for scripts
    piped = runner.invoke(main, ["photos", str(path), "--public"])
    assert f"/g/trip [paris] 2019/{CLEAR}a.jpg" in piped.stdout.splitlines()


def test_scan_messages_and_table_show_names_literally(tmp_path):
    gallery = tmp_path / "[" / f"x]{TITLE}"  # the path holds "[/x]", a closing tag rich would choke on
    gallery.mkdir(parents=True)
    (gallery / f"bad{CLEAR}.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 64)
    result = CliRunner(env={"COLUMNS": "400"}).invoke(  # wide: the long tmp path is not wrapped mid-name
        main, ["scan", str(gallery), "--format", "table", "--workers", "1", "--cache", str(tmp_path / "c.sqlite")])
    assert result.exit_code == 1, result.output
    assert CLEAR not in result.stderr and "\x1b]0;" not in result.stderr
    assert "failed: " in result.stderr and "bad\\x1b[2J.jpg" in result.stderr
    assert "[/x]\\x1b]0;owned" in result.stdout  # the table is printed, no MarkupError
    assert "\x1b]0;" not in result.stdout and CLEAR not in result.stdout
