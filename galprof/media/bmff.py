"""Header checks on ISO-BMFF files (HEIF/AVIF stills, MP4/MOV videos) made before any decoder runs.

Truncation of HEIF/AVIF stills:
libheif decodes a cut HEIC "successfully", painting the tiles whose bytes are missing solid green. The
`iloc` box (inside the top-level `meta` box) lists where each item's data lies in the file; an extent
that ends past the end of the file means the file was cut. The parser reads at most a few boxes and
MAX_BOX bytes, checks every bound, and gives up (returns None: no judgement) on anything unexpected.

Video frame size: FFmpeg decodes a first frame while it opens a file, so a 12000 x 12000 video costs
hundreds of MB before its size can be refused; the track headers (`moov/trak/tkhd`) give it first.
"""

from __future__ import annotations

import os
import struct

MAX_BOX = 4 * 2**20  # a `meta` box larger than this is not read (real ones are a few KB)
MAX_TOP_BOXES = 64  # top-level boxes looked at before `meta` (ftyp, meta, mdat in practice)


class _Short(Exception):
    """The box ended before a field: malformed, not judged."""


class _Reader:
    def __init__(self, data: bytes, pos: int = 0, end: int | None = None) -> None:
        self.data, self.pos = data, pos
        self.end = len(data) if end is None else min(end, len(data))

    def uint(self, size: int) -> int:
        if size == 0:
            return 0
        if self.pos + size > self.end:
            raise _Short
        value = int.from_bytes(self.data[self.pos:self.pos + size], "big")
        self.pos += size
        return value


def _boxes(data: bytes, pos: int, end: int):
    """(type, payload start, payload end) of the boxes in data[pos:end]."""
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            if pos + 16 > end:
                return
            size, header = struct.unpack_from(">Q", data, pos + 8)[0], 16
        elif size == 0:
            size = end - pos
        if size < header:
            return
        yield kind, pos + header, min(pos + size, end)
        pos += size


def _read_top_box(f, file_size: int, wanted: bytes) -> bytes | None:
    """The payload of the first top-level box of type `wanted` (at most MAX_BOX bytes), or None."""
    pos = 0
    for _ in range(MAX_TOP_BOXES):
        f.seek(pos)
        head = f.read(16)
        if len(head) < 8:
            return None
        size, kind = struct.unpack_from(">I4s", head)
        header = 8
        if size == 1 and len(head) == 16:
            size, header = struct.unpack_from(">Q", head, 8)[0], 16
        elif size == 0:
            size = file_size - pos
        if size < header:
            return None
        if kind == wanted:
            if size - header > MAX_BOX:
                return None
            f.seek(pos + header)
            return f.read(size - header)
        pos += size
    return None


def iloc_data_end(data: bytes) -> int | None:
    """The largest end offset of the file-offset extents in an `iloc` box payload (version/flags
    first), or None when there is none or the box is malformed."""
    r = _Reader(data)
    try:
        version = r.uint(1)
        r.uint(3)  # flags
        if version > 2:
            return None
        sizes = r.uint(1)
        offset_size, length_size = sizes >> 4, sizes & 15
        sizes = r.uint(1)
        base_offset_size, index_size = sizes >> 4, (sizes & 15 if version in (1, 2) else 0)
        if any(s not in (0, 4, 8) for s in (offset_size, length_size, base_offset_size, index_size)):
            return None
        item_count = r.uint(2 if version < 2 else 4)
        end = None
        for _ in range(item_count):  # every item reads >= 6 bytes, so a hostile count stops at the box end
            r.uint(2 if version < 2 else 4)  # item_ID
            method = r.uint(2) & 15 if version in (1, 2) else 0
            data_ref = r.uint(2)
            base = r.uint(base_offset_size)
            for _ in range(r.uint(2)):
                r.uint(index_size)
                offset, length = r.uint(offset_size), r.uint(length_size)
                # construction method 0 = offsets in this file; length 0 = "to the end of the file"
                if method == 0 and data_ref == 0 and length:
                    end = max(end or 0, base + offset + length)
        return end
    except _Short:
        return None


def truncation(path: str) -> str | None:
    """A one-line reason when the file's items reach past its end (a cut file), else None."""
    try:
        with open(path, "rb") as f:
            file_size = os.fstat(f.fileno()).st_size
            meta = _read_top_box(f, file_size, b"meta")
    except OSError:
        return None
    if meta is None or len(meta) < 4:
        return None
    for kind, start, stop in _boxes(meta, 4, len(meta)):  # meta is a full box: version + flags first
        if kind == b"iloc":
            end = iloc_data_end(meta[start:stop])
            if end is not None and end > file_size:
                return f"truncated: item data ends at {end} bytes, file has {file_size}"
            return None
    return None


def track_dimensions(path: str) -> tuple[int, int] | None:
    """(width, height) of the largest track in an MP4/MOV file's track headers, or None (not such a
    file, no readable header: no judgement)."""
    try:
        with open(path, "rb") as f:
            moov = _read_top_box(f, os.fstat(f.fileno()).st_size, b"moov")
    except OSError:
        return None
    if moov is None:
        return None
    largest = None
    for kind, start, stop in _boxes(moov, 0, len(moov)):
        if kind != b"trak":
            continue
        for child, c_start, c_stop in _boxes(moov, start, stop):
            if child == b"tkhd":
                size = _tkhd_size(moov[c_start:c_stop])
                if size and (largest is None or size[0] * size[1] > largest[0] * largest[1]):
                    largest = size
    return largest


def _tkhd_size(payload: bytes) -> tuple[int, int] | None:
    """Width and height (16.16 fixed point) at the end of a track header."""
    if not payload or payload[0] > 1:
        return None
    at = 4 + (32 if payload[0] == 1 else 20) + 52  # times, ids and duration; layer, volume, matrix
    if len(payload) < at + 8:
        return None
    width, height = struct.unpack_from(">II", payload, at)
    return width >> 16, height >> 16
