"""The heap trimmer hands freed native memory back to the system, every N files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from galprof.engine.heap import _malloc_trim

pytestmark = pytest.mark.skipif(_malloc_trim() is None, reason="this C library has no malloc_trim (not glibc)")

# 3 000 blocks of 64 KB (under glibc's mmap threshold, so they come from the heap), all freed but the
# last, which pins the top of the heap: without a trim glibc keeps the ~190 MB resident.
_PROBE = """
import ctypes, sys
from galprof.engine.heap import HeapTrimmer

def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) // 1024

libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype, libc.free.argtypes = ctypes.c_void_p, [ctypes.c_void_p]
blocks = [libc.malloc(64 * 1024) for _ in range(3000)]
for block in blocks:
    ctypes.memset(block, 1, 64 * 1024)
for block in blocks[:-1]:
    libc.free(block)
trimmer = HeapTrimmer(every=int(sys.argv[1]))
before = rss_mb()
trimmed = [trimmer.file_done() for _ in range(3)]
print(before, rss_mb(), trimmed)
"""


def _run(every: int) -> tuple[int, int, str]:
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", _PROBE, str(every)], capture_output=True, text=True, check=True,
                          cwd=root, timeout=60)
    before, after, trimmed = done.stdout.split(maxsplit=2)
    return int(before), int(after), trimmed.strip()


def test_a_trim_gives_the_freed_heap_back():
    before, after, trimmed = _run(every=3)
    assert trimmed == "[False, False, True]"  # the third file trims
    assert before - after > 120, (before, after)


def test_no_trim_keeps_the_freed_heap():
    before, after, trimmed = _run(every=0)
    assert trimmed == "[False, False, False]"
    assert before - after < 20, (before, after)


def test_a_worker_trims_its_process_heap_every_25_files(tmp_path, monkeypatch):
    from galprof.config import Settings
    from galprof.engine import heap
    from galprof.engine.worker import Worker
    from galprof.media.discover import MediaItem, discover
    from tests.scan_fakes import color_factory, color_gallery

    trims = []
    monkeypatch.setattr(heap, "_malloc_trim", lambda: trims.append)
    items = [i for i in discover(color_gallery(tmp_path / "g", n=6)) if isinstance(i, MediaItem)]
    worker = Worker(Settings(workers=1), 1, factory=color_factory)
    results = [worker(items[k % len(items)]) for k in range(heap.TRIM_EVERY * 2 + 3)]
    assert all(r.media is not None for r in results)
    assert trims == [0, 0]  # malloc_trim(0) after the 25th and the 50th file
