"""The exit-code policy of every galprof command, in one place (the click group's `invoke`).

0: all files read; 1: some files failed (set by the command); 2: usage or fatal error (UsageError,
click's usage errors), one line on stderr; 3: an internal error (a bug): one line, the traceback with
--debug or GALPROF_DEBUG=1; 130: interrupted (Ctrl-C); 141: stdout closed by its reader (`| head`).

A closed pipe is silent, as with coreutils and git, which die of SIGPIPE and so exit 128 + 13 = 141
in the shell: the reader has what it wanted. A full or failing stdout is an error (exit 2).
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback

import click

from galprof.errors import OutputError, UsageError
from galprof.render.safe import safe_text

EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 128 + 13  # SIGPIPE


def debug_wanted(ctx: click.Context) -> bool:
    return bool(ctx.params.get("debug")) or os.environ.get("GALPROF_DEBUG", "") not in ("", "0")


def _flush_stdout() -> None:
    if sys.stdout is None:
        return
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise OutputError("stdout", exc.strerror or str(exc)) from None


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's last flush does not complain about the pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):  # not a real file (tests) or already gone
        pass


def _error(message: str, code: int) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


class GalprofGroup(click.Group):
    """A click group whose commands all follow the exit-code policy above.

    `lazy_commands` maps a command name to "module:attribute": the module is imported only when that
    command runs (or help lists it), so a scan does not pay for the imports of every other command.
    """

    def __init__(self, *args, lazy_commands: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy_commands:
            module, _, attribute = self.lazy_commands[cmd_name].partition(":")
            self.add_command(getattr(importlib.import_module(module), attribute), cmd_name)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context):
        try:
            try:
                return super().invoke(ctx)
            finally:
                _flush_stdout()  # a full stdout reported here rather than lost at interpreter exit
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except BrokenPipeError:
            _silence_stdout()
            sys.exit(EXIT_BROKEN_PIPE)
        except UsageError as exc:
            _error(safe_text(exc), EXIT_USAGE)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except Exception as exc:  # noqa: BLE001 - a bug: one line, the traceback on request
            if debug_wanted(ctx):
                traceback.print_exc()
                _error(safe_text(f"internal error: {type(exc).__name__}: {exc}"), EXIT_INTERNAL)
            _error(safe_text(f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)"),
                   EXIT_INTERNAL)
