"""Hand the C heap's free pages back to the system every few files (glibc's `malloc_trim`).

A photo's decode and model runs allocate and free tens of MB of native buffers; glibc keeps much of
what was freed inside its heaps, so a worker's RSS creeps up between renewals (engine/pool.py) and the
inline engine, which is never renewed, grows the same way. Trimming every TRIM_EVERY files keeps the
resident size near what is in use at no measurable CPU cost (benchmarks/README.md, "Worker memory,
third pass"); trimming after every file cost ~7 % more CPU for the same effect. Where the C library
has no `malloc_trim` (musl, macOS) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

TRIM_EVERY = 25


@functools.lru_cache(maxsize=1)
def _malloc_trim():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


class HeapTrimmer:
    """Counts the files a process analysed; trims its heap after every `every` of them (0: never)."""

    def __init__(self, every: int = TRIM_EVERY):
        self.every = every
        self.files = 0

    def file_done(self) -> bool:
        """Count one file; True when the heap was trimmed now."""
        self.files += 1
        if not self.every or self.files % self.every:
            return False
        trim = _malloc_trim()
        if trim is None:
            return False
        trim(0)
        return True
