"""A bounded load test of `galprof serve` on 127.0.0.1: N concurrent clients each send M frames (a fixed
number of requests; it stops by itself), over TLS with keep-alive; reports status counts, latency
percentiles, throughput and the server's peak memory (VmHWM of its process).

    .venv/bin/python benchmarks/remote_load.py [--clients 8] [--requests 10] [--slots 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import ssl
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.server_helpers import ServeProcess, make_token_file


def sample_frames(count: int) -> list[bytes]:
    """JPEGs of real photos when ../shared/data is there, else noise (the server's work is the same)."""
    photos = sorted((ROOT.parent / "shared/data/imagenet-samples").glob("*.JPEG"))[:count]
    frames = []
    for path in photos:
        out = io.BytesIO()
        Image.open(path).convert("RGB").save(out, "JPEG", quality=90)
        frames.append(out.getvalue())
    rng = np.random.default_rng(0)
    while len(frames) < count:
        out = io.BytesIO()
        Image.fromarray(rng.integers(0, 255, (375, 500, 3), np.uint8)).save(out, "JPEG")
        frames.append(out.getvalue())
    return frames


def client(port: int, cafile: str, token: str, frames: list[bytes], latencies: list, statuses: list) -> None:
    context = ssl.create_default_context(cafile=cafile)
    context.check_hostname = False  # the certificate names 127.0.0.1; pinned by the CA file
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=120)
    for body in frames:
        t0 = time.perf_counter()
        try:
            conn.request("POST", "/v1/frames", body=body,
                         headers={"Authorization": f"Bearer {token}", "Content-Type": "image/jpeg"})
            response = conn.getresponse()
            response.read()
            statuses.append(response.status)
        except (OSError, http.client.HTTPException) as exc:
            statuses.append(type(exc).__name__)
            conn.close()
            conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=120)
        latencies.append(time.perf_counter() - t0)
    conn.close()


def run_load(clients: int, requests: int, slots: int, threads: int = 1) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        token_file, tokens = make_token_file(Path(tmp))
        serve = ServeProcess(Path(tmp) / "server", token_file, "--slots", str(slots), "--rate", "0",
                             "--threads", str(threads))
        try:
            serve.wait_ready()
            idle_mb = serve.peak_rss_mb()
            cafile = str(serve.state / "galprof" / "serve" / "cert.pem")
            frames = sample_frames(requests)
            latencies: list[float] = []
            statuses: list = []
            workers = [threading.Thread(target=client, args=(serve.port, cafile, tokens[0], frames, latencies,
                                                            statuses)) for _ in range(clients)]
            t0 = time.perf_counter()
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            wall = time.perf_counter() - t0
            peak_mb = serve.peak_rss_mb()
        finally:
            serve.stop()
    ms = np.array(latencies) * 1000
    counts: dict[str, int] = {}
    for s in statuses:
        counts[str(s)] = counts.get(str(s), 0) + 1
    return {"clients": clients, "requests_per_client": requests, "slots": slots, "statuses": counts,
            "latency_ms": {p: round(float(np.percentile(ms, q)), 1) for p, q in (("p50", 50), ("p90", 90),
                                                                                  ("p99", 99), ("max", 100))},
            "frames_per_second": round(len(statuses) / wall, 2), "wall_s": round(wall, 1),
            "server_rss_mb": {"after_start": round(idle_mb), "peak": round(peak_mb)}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--slots", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    report = run_load(args.clients, args.requests, args.slots)
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
