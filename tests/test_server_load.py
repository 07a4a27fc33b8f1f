"""A bounded load test of `galprof serve` (loopback only, a fixed number of requests): concurrent clients
are all answered, and the server's memory stays bounded (benchmarks/remote_load.py reports more)."""

from __future__ import annotations

import pytest

from benchmarks.remote_load import run_load


@pytest.mark.slow
def test_concurrent_clients_are_served_with_bounded_memory():
    report = run_load(clients=6, requests=4, slots=2)
    print(f"\nload: {report}")
    assert report["statuses"] == {"200": 24}
    assert report["latency_ms"]["p50"] > 0 and report["latency_ms"]["max"] < 60_000
    # every model loaded (~300 MB) plus what 6 clients in flight need: bounded by slots, not by clients
    assert report["server_rss_mb"]["peak"] < 1200, report["server_rss_mb"]
    assert report["server_rss_mb"]["peak"] - report["server_rss_mb"]["after_start"] < 400
