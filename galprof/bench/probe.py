"""The machine the figures belong to: CPU, cores, memory, library versions, the thread counts to time."""

from __future__ import annotations

import importlib.metadata
import os
import platform
from pathlib import Path

LIBRARIES = ["numpy", "onnxruntime", "pillow", "pillow-heif", "av", "scikit-learn", "hdbscan", "click", "rich"]


def usable_cores() -> int:
    """Cores this process may run on (affinity and cgroup-free count), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def thread_counts(cores: int | None = None) -> list[int]:
    """1, 2, 4, ... and the core count itself: enough points to see scaling without timing every count."""
    cores = cores or usable_cores()
    counts = {cores}
    n = 1
    while n < cores:
        counts.add(n)
        n *= 2
    return sorted(counts)


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        text = ""
    keys = ("model name", "Model", "Hardware", "cpu model", "Processor")
    for key in keys:
        for line in text.splitlines():
            if line.split(":")[0].strip() == key and ":" in line:
                value = line.split(":", 1)[1].strip()
                if value:
                    return value
    parts = []  # ARM boards often give only implementer/part numbers
    for key in ("CPU implementer", "CPU part"):
        for line in text.splitlines():
            if line.startswith(key):
                parts.append(f"{key.split()[-1]} {line.split(':', 1)[1].strip()}")
                break
    return ", ".join(parts) or platform.processor() or platform.machine()


def _memory_total_mb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024, 0)
    except OSError:
        pass
    return None


def hardware_info() -> dict:
    """The machine the figures belong to."""
    return {
        "cpu": _cpu_model(),
        "arch": platform.machine(),
        "cores": os.cpu_count(),
        "usable_cores": usable_cores(),
        "memory_mb": _memory_total_mb(),
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }


def library_versions() -> dict:
    """Versions of galprof and of the libraries that decide its speed; None when not installed."""
    from galprof import __version__

    versions: dict[str, str | None] = {"galprof": __version__}
    for name in LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions
