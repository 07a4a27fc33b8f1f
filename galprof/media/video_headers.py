"""A video's frame size from its container headers, read before FFmpeg opens the file.

FFmpeg decodes a first frame while it opens a file (to learn the stream's parameters), so a
12000 x 12000 video costs hundreds of MB before its size can be refused. The containers phones and
cameras write say the size in a small header: ISO-BMFF (MP4, MOV, 3GP) in each track header, Matroska
and WebM in each track's Video element, AVI in its main header. Every reader is bounded (a few MB at
most), checks every length, and returns None (no judgement) on anything it does not understand.
"""

from __future__ import annotations

import struct

from galprof.media.bmff import track_dimensions

MATROSKA_READ = 2 * 2**20  # the track list sits near the start: what is not found here is not judged
EBML, SEGMENT, TRACKS, TRACK_ENTRY, VIDEO = 0x1A45DFA3, 0x18538067, 0x1654AE6B, 0xAE, 0xE0
PIXEL_WIDTH, PIXEL_HEIGHT, CLUSTER = 0xB0, 0xBA, 0x1F43B675


def frame_size(path: str) -> tuple[int, int] | None:
    """(width, height) of the largest video track the headers declare, or None."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
            if head[4:8] == b"ftyp" or head[4:8] in (b"moov", b"mdat", b"wide", b"free"):
                return track_dimensions(path)
            if head[:4] == b"\x1a\x45\xdf\xa3":
                f.seek(0)
                return _matroska_size(f.read(MATROSKA_READ))
            if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
                f.seek(0)
                return _avi_size(f.read(4096))
    except OSError:
        return None
    return None


def _vint(data: bytes, pos: int, keep_marker: bool) -> tuple[int, int] | None:
    """An EBML variable-length integer at `pos`: (value, next position), or None."""
    if pos >= len(data) or data[pos] == 0:
        return None
    length = 8 - data[pos].bit_length() + 1
    if pos + length > len(data):
        return None
    value = int.from_bytes(data[pos:pos + length], "big")
    if not keep_marker:
        value &= (1 << (7 * length)) - 1
    return value, pos + length


def _elements(data: bytes, pos: int, end: int):
    """(id, payload start, payload end) of the EBML elements in data[pos:end]; an element of unknown
    size runs to `end`."""
    while pos < end:
        ident = _vint(data, pos, keep_marker=True)
        size = ident and _vint(data, ident[1], keep_marker=False)
        if not ident or not size:
            return
        start = size[1]
        length = size[0]
        unknown = length == (1 << (7 * (start - ident[1]))) - 1
        stop = end if unknown else min(start + length, end)
        yield ident[0], start, stop
        pos = stop


def _matroska_size(data: bytes) -> tuple[int, int] | None:
    largest = None
    for ident, start, stop in _elements(data, 0, len(data)):
        if ident != SEGMENT:
            continue
        for child, c_start, c_stop in _elements(data, start, stop):
            if child == CLUSTER:  # frames start: the track list comes before them
                break
            if child != TRACKS:
                continue
            for entry, e_start, e_stop in _elements(data, c_start, c_stop):
                size = _track_video_size(data, e_start, e_stop) if entry == TRACK_ENTRY else None
                if size and (largest is None or size[0] * size[1] > largest[0] * largest[1]):
                    largest = size
    return largest


def _track_video_size(data: bytes, start: int, stop: int) -> tuple[int, int] | None:
    for ident, v_start, v_stop in _elements(data, start, stop):
        if ident != VIDEO:
            continue
        fields = {}
        for field, f_start, f_stop in _elements(data, v_start, v_stop):
            if field in (PIXEL_WIDTH, PIXEL_HEIGHT) and 0 < f_stop - f_start <= 8:
                fields[field] = int.from_bytes(data[f_start:f_stop], "big")
        if PIXEL_WIDTH in fields and PIXEL_HEIGHT in fields:
            return fields[PIXEL_WIDTH], fields[PIXEL_HEIGHT]
    return None


def _avi_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of the AVI main header (`avih`, inside the first LIST)."""
    at = data.find(b"avih")
    if at < 0 or at + 8 + 40 > len(data):
        return None
    width, height = struct.unpack_from("<II", data, at + 8 + 32)
    return width, height
