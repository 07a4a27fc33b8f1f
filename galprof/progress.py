"""Progress lines on stderr for steps without a known length (discovering files, building a profile):
at most one every 2 s on a terminal (rewritten in place) or every 10 s in a log file, none with -q."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


class Ticker:
    """`tick(count)` as work goes; `done()` at the end. Quiet until the step has taken `after` seconds."""

    def __init__(self, label: str, quiet: bool = False, after: float = 1.0) -> None:
        self.label, self.quiet = label, quiet
        self.terminal = sys.stderr.isatty() if sys.stderr is not None else False
        self.every = 2.0 if self.terminal else 10.0
        self.started = time.perf_counter()
        self.next_at = self.started + after
        self.shown = False

    def tick(self, count: int) -> None:
        now = time.perf_counter()
        if self.quiet or now < self.next_at:
            return
        self.next_at = now + self.every
        self._show(f"galprof: {self.label}: {count} so far ({now - self.started:.0f} s)")

    def done(self, count: int) -> None:
        if self.shown:
            self._show(f"galprof: {self.label}: {count} in {time.perf_counter() - self.started:.1f} s", end="\n")

    def _show(self, text: str, end: str | None = None) -> None:
        self.shown = True
        if self.terminal:
            print(f"\r{text}\x1b[K", end=end or "", file=sys.stderr, flush=True)
        else:
            print(text, file=sys.stderr, flush=True)


def counted(items: Iterable[T], ticker: Ticker, then: str | None = None) -> Iterator[T]:
    """`items` as they come, ticking `ticker` with the count; at the end its total, and the line `then`
    (what runs next without a count of its own) when the step was long enough to be shown."""
    n = 0
    for n, item in enumerate(items, 1):
        ticker.tick(n)
        yield item
    ticker.done(n)
    if then and ticker.shown:
        ticker._show(f"galprof: {then}", end="\n")


class NoBar:
    """What the scan uses of a tqdm bar, for a bar that shows nothing (-q, or nothing to analyze): tqdm's
    import (~40 ms) is then spared."""

    def __init__(self) -> None:
        self.n = 0

    def set_description(self, desc: str, refresh: bool = True) -> None:
        pass

    def update(self, n: int = 1) -> None:
        self.n += n

    def close(self) -> None:
        pass
