"""Progress lines for steps of unknown length: none at first, then one per interval, none when quiet."""

from __future__ import annotations

from galprof import progress
from galprof.progress import Ticker


def test_ticker_waits_then_reports_at_intervals(monkeypatch, capsys):
    now = [100.0]
    monkeypatch.setattr(progress.time, "perf_counter", lambda: now[0])
    ticker = Ticker("media files found")
    ticker.tick(10)  # under a second: nothing
    now[0] += 1.5
    ticker.tick(500)
    now[0] += 3.0
    ticker.tick(900)  # a log file gets a line every 10 s, not every 2
    now[0] += 10.0
    ticker.tick(2000)
    ticker.done(2500)
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["galprof: media files found: 500 so far (2 s)", "galprof: media files found: 2000 so far (14 s)",
                     "galprof: media files found: 2500 in 14.5 s"]


def test_quiet_and_short_steps_print_nothing(monkeypatch, capsys):
    now = [0.0]
    monkeypatch.setattr(progress.time, "perf_counter", lambda: now[0])
    quiet, short = Ticker("x", quiet=True), Ticker("y")
    now[0] += 60
    quiet.tick(1)
    quiet.done(1)
    short.done(3)
    assert capsys.readouterr().err == ""


def test_counted_passes_items_through_and_says_what_comes_next(monkeypatch, capsys):
    now = [0.0]
    monkeypatch.setattr(progress.time, "perf_counter", lambda: now[0])

    def slow(n):
        for i in range(n):
            now[0] += 0.5
            yield i

    items = list(progress.counted(slow(6), Ticker("files read"), then="clustering"))
    assert items == list(range(6))
    assert capsys.readouterr().err.splitlines() == [
        "galprof: files read: 2 so far (1 s)", "galprof: files read: 6 in 3.0 s", "galprof: clustering"]
    assert list(progress.counted(range(3), Ticker("fast"), then="next")) == [0, 1, 2]
    assert capsys.readouterr().err == ""  # a short step prints nothing, not even what comes next
