"""The errors the command line reports as one line on stderr with exit code 2 (usage or fatal)."""

from __future__ import annotations


class UsageError(Exception):
    """A bad argument, input file or output: the message is shown as `error: <message>`, exit 2."""


class OutputError(UsageError):
    """The output (a file, a device, a FIFO or stdout) could not be written."""

    def __init__(self, target: str, reason: str) -> None:
        super().__init__(f"cannot write the output {target}: {reason}")
        self.target = target
        self.reason = reason
