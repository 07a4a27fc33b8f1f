"""Memory and CPU time of the bench process and its workers: peak RSS, and the whole tree sampled live."""

from __future__ import annotations

import os
import resource
import sys
import threading
from pathlib import Path
from typing import Self


def _kb_to_mb(kb: int) -> float:
    # ru_maxrss is in kilobytes on Linux and in bytes on macOS
    return round(kb / (1024 * 1024) if sys.platform == "darwin" else kb / 1024, 1)


def peak_rss() -> dict:
    """Peak resident memory so far: this process, and the largest of its finished child processes
    (on Linux a spawned child's figure can include the parent's peak at fork time: the sampled
    whole-tree peak of the scan is the one to trust)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"self_mb": _kb_to_mb(own), "largest_child_mb": _kb_to_mb(children)}


def children_cpu_seconds() -> float:
    """User + system CPU seconds of this process's waited-for children so far (a CLI run and its workers)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return children.ru_utime + children.ru_stime


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and of its waited-for children so far."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime + children_cpu_seconds()


def process_rss_kb(pid: int) -> int:
    """Current RSS of one process, from /proc (Linux only; 0 elsewhere or once it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)


def _tree_rss_kb(root: int) -> int:
    """Current RSS of a process and all its descendants, from /proc (Linux only; 0 elsewhere)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return 0
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        pid = int(entry.name)
        for line in status.splitlines():
            if line.startswith("PPid:"):
                parents[pid] = int(line.split()[1])
            elif line.startswith("VmRSS:"):
                rss[pid] = int(line.split()[1])
    total, stack = 0, [root]
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


class TreeMemorySampler:
    """Samples the summed RSS of this process and its workers in a background thread.

    getrusage only knows the largest single child; a pool of workers holds its models at the same
    time, so the figure that matters to a 4 GB board is the sum, sampled while the scan runs.
    """

    def __init__(self, interval: float = 0.05):
        self.interval = interval
        self.peak_kb = 0
        self.own_peak_kb = 0  # this process alone (the scan's main process)
        self.baseline_kb = _tree_rss_kb(os.getpid())  # this process before the measured work
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def _sample(self) -> None:
        pid = os.getpid()
        self.peak_kb = max(self.peak_kb, _tree_rss_kb(pid))
        self.own_peak_kb = max(self.own_peak_kb, process_rss_kb(pid))

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    @property
    def peak_mb(self) -> float:
        return round(self.peak_kb / 1024, 1)
