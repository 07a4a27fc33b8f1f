"""A real Ray cluster for tests, inside a network namespace that has only a loopback interface.

Ray rewrites 127.0.0.1 to the machine's external address and listens on every interface; inside a
namespace of its own the only address is 127.0.0.1, so nothing can leave the machine. The namespace
also fences what the test started: teardown kills every process in it (and nothing else; `ray stop`
would stop every Ray process on the machine) and deletes it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PORT = 6379


@dataclass
class RayCluster:
    namespace: str
    temp_dir: str
    address: str = f"127.0.0.1:{PORT}"

    def env(self) -> dict:
        return {**os.environ, "PYTHONPATH": str(REPO), "RAY_USAGE_STATS_ENABLED": "0",
                "ORT_DISABLE_TELEMETRY": "1", "RAY_ADDRESS": self.address}

    def command(self, *args: str) -> list[str]:
        return ["ip", "netns", "exec", self.namespace, *args]

    def run(self, *args: str, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run(self.command(*args), env=self.env(), capture_output=True, text=True,
                              timeout=timeout, check=False, **kwargs)

    def popen(self, *args: str, **kwargs) -> subprocess.Popen:
        return subprocess.Popen(self.command(*args), env=self.env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, **kwargs)

    def pids(self) -> list[int]:
        out = subprocess.run(["ip", "netns", "pids", self.namespace], capture_output=True, text=True, check=False)
        return [int(p) for p in out.stdout.split()]

    def processes(self, name_part: str) -> list[int]:
        """Processes in the namespace whose command line holds `name_part` (Ray sets actor titles)."""
        found = []
        for pid in self.pids():
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if name_part in cmdline:
                found.append(pid)
        return found


def start_cluster(cpus: int = 2) -> RayCluster:
    """Create the namespace and start a Ray head in it; raises RuntimeError with the reason."""
    namespace = f"galprof-test-{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", namespace], capture_output=True, text=True, check=False)
    if made.returncode != 0:
        raise RuntimeError(f"cannot create a network namespace (needs root): {made.stderr.strip()}")
    cluster = RayCluster(namespace, tempfile.mkdtemp(prefix="gray", dir="/tmp"))  # short: socket paths
    try:
        subprocess.run(cluster.command("ip", "link", "set", "lo", "up"), check=True, capture_output=True)
        ray = str(Path(sys.executable).parent / "ray")
        started = cluster.run(ray, "start", "--head", "--port", str(PORT), "--num-cpus", str(cpus),
                              "--node-ip-address", "127.0.0.1", "--include-dashboard=false",
                              "--disable-usage-stats", "--temp-dir", cluster.temp_dir, timeout=120)
        if started.returncode != 0:
            raise RuntimeError(f"ray start failed: {started.stderr.strip()[-500:]}")
    except BaseException:
        stop_cluster(cluster)
        raise
    return cluster


def stop_cluster(cluster: RayCluster) -> None:
    """Kill every process in the namespace (only this test's), then delete it and the temp dir."""
    deadline = time.time() + 30
    while (pids := cluster.pids()) and time.time() < deadline:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.2)
    subprocess.run(["ip", "netns", "del", cluster.namespace], capture_output=True, check=False)
    shutil.rmtree(cluster.temp_dir, ignore_errors=True)
