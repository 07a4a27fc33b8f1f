"""Timing helpers of `galprof bench`: summaries of repeated calls, in milliseconds."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable

Progress = Callable[[str], None]


def summarize(samples_s: Iterable[float]) -> dict:
    """Median, p90, mean and min of timings given in seconds, returned in milliseconds."""
    values = sorted(samples_s)
    if not values:
        return {"n": 0}
    ms = [v * 1000.0 for v in values]
    p90 = ms[min(len(ms) - 1, round(0.9 * (len(ms) - 1)))]
    return {
        "n": len(ms),
        "median_ms": round(statistics.median(ms), 3),
        "p90_ms": round(p90, 3),
        "mean_ms": round(statistics.fmean(ms), 3),
        "min_ms": round(ms[0], 3),
    }


def time_calls(fn: Callable[[], object], repeats: int, warmup: int = 1,
               clock: Callable[[], float] = time.perf_counter) -> dict:
    """Call `fn` warmup times untimed, then `repeats` times timed by `clock`; summary in ms."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(max(1, repeats)):
        start = clock()
        fn()
        samples.append(clock() - start)
    return summarize(samples)
