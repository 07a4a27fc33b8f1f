"""A scan worker's memory over many photos, and the whole process tree of a CLI scan.

    # one in-process worker over the first N media files of FOLDER: RSS (MB) and Python's blocks every STEP
    # files, CPU seconds; allocator settings to compare: no-ort-arena, mmap-threshold=BYTES,
    # malloc-arenas=N (glibc mallopt, set before the models load), trim-every=FILES (malloc_trim)
    PYTHONPATH=TREE .venv/bin/python benchmarks/worker_memory.py inline FOLDER --files 600 --step 100 [--setting S]...

    # `galprof scan FOLDER` of TREE into a fresh cache: peak RSS of the whole tree (every 0.5 s), the
    # largest processes, wall and CPU seconds; a line of per-process RSS every 30 s
    .venv/bin/python benchmarks/worker_memory.py cli TREE FOLDER [-- SCAN OPTIONS]

Run under the CPU lock; compare settings in the same hour (the machine is shared).
"""

from __future__ import annotations

import argparse
import ctypes
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

M_MMAP_THRESHOLD, M_ARENA_MAX = -3, -8  # glibc's mallopt parameters
# The /proc readers below are this script's own, not galprof.bench.memory's: `inline` runs with an older
# tree on PYTHONPATH, whose galprof may not have them.


def rss_mb(pid: int | str = "self") -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0


def process_tree(pid: int) -> list[int]:
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return pids
    for child in children:
        pids += process_tree(int(child))
    return pids


def _sessions_without_arena() -> None:
    import onnxruntime as ort

    opened = ort.InferenceSession

    def without_arena(path, sess_options=None, **kwargs):
        sess_options.enable_cpu_mem_arena = False
        return opened(path, sess_options=sess_options, **kwargs)

    ort.InferenceSession = without_arena


def _apply(settings: list[str]) -> int:
    """Applies the allocator settings; returns every how many files to call malloc_trim (0: never)."""
    libc, trim_every = ctypes.CDLL("libc.so.6"), 0
    for setting in settings:
        name, _, value = setting.partition("=")
        if name == "mmap-threshold":
            libc.mallopt(M_MMAP_THRESHOLD, int(value))
        elif name == "malloc-arenas":
            libc.mallopt(M_ARENA_MAX, int(value))
        elif name == "no-ort-arena":
            _sessions_without_arena()
        elif name == "trim-every":
            trim_every = int(value)
        else:
            raise SystemExit(f"unknown setting {setting!r}")
    return trim_every


def inline(folder: str, files: int, step: int, settings: list[str]) -> None:
    trim_every = _apply(settings)
    from galprof.config import Settings
    from galprof.engine.worker import Worker
    from galprof.media.discover import MediaItem, discover

    items = [i for i in discover(folder) if isinstance(i, MediaItem)][:files]
    worker = Worker(Settings(), 1)
    worker.load()
    marks = []
    started = time.process_time()
    for done, item in enumerate(items, 1):
        worker(item)
        if trim_every and done % trim_every == 0:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        if done % step == 0:
            marks.append(rss_mb())
            print(done, "files: RSS", marks[-1], "MB, Python blocks", sys.getallocatedblocks(), flush=True)
    print(f"settings {settings or ['as shipped']}: CPU {time.process_time() - started:.1f} s for {len(items)} files,"
          f" RSS marks {marks}, peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB", flush=True)


def cli(tree: str, folder: str, scan_options: list[str]) -> None:
    work = tempfile.mkdtemp(prefix="worker-memory-", dir="/var/tmp")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.time()
    galprof = str(Path(sys.executable).with_name("galprof"))
    scan = subprocess.Popen([galprof, "scan", folder, "--cache", f"{work}/cache.sqlite", "-q", "-o",
                             f"{work}/profile.json", *scan_options], env=dict(os.environ, PYTHONPATH=tree))
    peak, largest, printed = 0, {}, 0.0
    while scan.poll() is None:
        sizes = {pid: rss_mb(pid) for pid in process_tree(scan.pid)}
        peak = max(peak, sum(sizes.values()))
        for pid, size in sizes.items():
            largest[pid] = max(largest.get(pid, 0), size)
        if time.time() - printed > 30:
            printed = time.time()
            print(f"{printed - started:5.0f} s: tree {sum(sizes.values())} MB,",
                  " ".join(f"{pid}:{size}" for pid, size in sizes.items()), flush=True)
        time.sleep(0.5)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    print(f"exit {scan.returncode}, wall {time.time() - started:.0f} s, CPU {cpu:.0f} s, peak {peak} MB for the "
          f"whole tree, largest processes {sorted(largest.values(), reverse=True)[:4]} MB; output in {work}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    one = commands.add_parser("inline")
    one.add_argument("folder")
    one.add_argument("--files", type=int, default=600)
    one.add_argument("--step", type=int, default=100)
    one.add_argument("--setting", dest="settings", action="append", default=[],
                     help="no-ort-arena, mmap-threshold=BYTES, malloc-arenas=N or trim-every=FILES "
                          "(malloc_trim(0) after every FILES files) (repeatable)")
    whole = commands.add_parser("cli")
    whole.add_argument("tree")
    whole.add_argument("folder")
    whole.add_argument("scan_options", nargs="*")
    args = parser.parse_args(argv)
    if args.command == "inline":
        inline(args.folder, args.files, args.step, args.settings)
    else:
        cli(args.tree, args.folder, args.scan_options)
    return 0


if __name__ == "__main__":
    sys.exit(main())
