"""The exit-code policy shared by every command (galprof/command.py): 2 usage, 3 internal error
(one line, the traceback with --debug or GALPROF_DEBUG=1), 130 interrupted."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import galprof.documents
from galprof.cli import main


def _raise(exc: BaseException):
    def fail(*_args, **_kwargs):
        raise exc
    return fail


@pytest.fixture
def broken_loader(monkeypatch):
    monkeypatch.setattr(galprof.documents, "load_document", _raise(RuntimeError("boom\x1b[2J")))


def test_internal_error_is_one_line_with_code_3(broken_loader, tmp_path):
    result = CliRunner().invoke(main, ["show", str(tmp_path / "p.json")])
    assert result.exit_code == 3
    assert result.stderr == ("error: internal error: RuntimeError: boom\\x1b[2J "
                             "(run with --debug for the traceback)\n")
    assert result.stdout == ""


@pytest.mark.parametrize("how", ["option", "env"])
def test_debug_prints_the_traceback(broken_loader, tmp_path, how):
    args, env = (["--debug"], {}) if how == "option" else ([], {"GALPROF_DEBUG": "1"})
    result = CliRunner().invoke(main, [*args, "show", str(tmp_path / "p.json")], env=env)
    assert result.exit_code == 3
    assert "Traceback (most recent call last)" in result.stderr and "RuntimeError: boom" in result.stderr
    assert result.stderr.rstrip().splitlines()[-1] == "error: internal error: RuntimeError: boom\\x1b[2J"


def test_same_policy_for_every_command(monkeypatch, tmp_path):
    from galprof.analysis import interests

    monkeypatch.setattr(interests, "export_features", _raise(ValueError("bad shape")))
    from galprof.store import Store

    with Store(tmp_path / "c.sqlite"):
        pass
    result = CliRunner().invoke(main, ["features", str(tmp_path / "c.sqlite"), "-o", str(tmp_path / "f.npz")])
    assert result.exit_code == 3 and "internal error: ValueError: bad shape" in result.stderr


def test_interrupt_is_130(monkeypatch, tmp_path):
    monkeypatch.setattr(galprof.documents, "load_document", _raise(KeyboardInterrupt()))
    result = CliRunner().invoke(main, ["show", str(tmp_path / "p.json")])
    assert result.exit_code == 130 and "Traceback" not in result.stderr


def test_usage_errors_stay_2(tmp_path):
    runner = CliRunner()
    missing = runner.invoke(main, ["show", str(tmp_path / "nope.json")])
    assert missing.exit_code == 2 and missing.stderr.startswith("error: no such profile")
    assert missing.stderr.count("\n") == 1
    assert runner.invoke(main, ["show", "--format", "nope"]).exit_code == 2  # click's own usage errors
    assert runner.invoke(main, ["photos", str(tmp_path)]).exit_code == 2
