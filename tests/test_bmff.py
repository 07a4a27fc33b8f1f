"""HEIF/AVIF truncation: the `iloc` extents against the file size, on real and generated files, and a
parser that gives up (no judgement) on malformed or hostile boxes."""

from __future__ import annotations

import struct
from pathlib import Path

import pillow_heif
import pytest

from galprof.media.bmff import iloc_data_end, truncation
from galprof.media.decode import DecodeError, decode_image


def _iloc(version: int, sizes: tuple[int, int, int, int], items: list[tuple[int, int, list[tuple[int, int]]]],
          method: int = 0) -> bytes:
    """An iloc payload (version/flags first); items: (id, base offset, [(offset, length), ...])."""
    offset_size, length_size, base_size, index_size = sizes

    def num(value: int, size: int) -> bytes:
        return value.to_bytes(size, "big") if size else b""

    out = bytes([version, 0, 0, 0, offset_size << 4 | length_size, base_size << 4 | index_size])
    out += num(len(items), 2 if version < 2 else 4)
    for item_id, base, extents in items:
        out += num(item_id, 2 if version < 2 else 4)
        if version in (1, 2):
            out += struct.pack(">H", method)
        out += struct.pack(">H", 0) + num(base, base_size) + struct.pack(">H", len(extents))
        for offset, length in extents:
            out += num(0, index_size if version else 0) + num(offset, offset_size) + num(length, length_size)
    return out


@pytest.mark.parametrize("version", [0, 1, 2])
@pytest.mark.parametrize("sizes", [(4, 4, 0, 0), (8, 8, 8, 0), (4, 8, 4, 4), (0, 4, 8, 8)])
def test_iloc_versions_and_field_sizes(version, sizes):
    if version == 0 and sizes[3]:
        sizes = (*sizes[:3], 0)  # version 0 has no extent index
    offset, later = (1000, 1030) if sizes[0] else (0, 0)  # offset_size 0: every offset is 0
    base = 100 if sizes[2] else 0
    items = [(1, base, [(offset, 5000)]), (2, 0, [(offset, 20), (later, 4000)])]
    assert iloc_data_end(_iloc(version, sizes, items)) == base + offset + 5000
    items = [(1, base, [(offset, 500)]), (2, 0, [(offset, 20), (later, 4000)])]
    assert iloc_data_end(_iloc(version, sizes, items)) == max(base + offset + 500, later + 4000)


def test_iloc_ignores_other_construction_methods_and_open_lengths():
    assert iloc_data_end(_iloc(1, (4, 4, 0, 0), [(1, 0, [(10**6, 10)])], method=1)) is None  # idat offsets
    assert iloc_data_end(_iloc(1, (4, 4, 0, 0), [(1, 0, [(500, 0)])])) is None  # 0 = to the end of file


@pytest.mark.parametrize("payload", [
    b"", b"\x00\x00", bytes([3, 0, 0, 0, 0x44, 0]) + b"\x00\x01",  # unknown version
    bytes([1, 0, 0, 0, 0x33, 0x00]) + b"\x00\x01",  # field size 3
    bytes([2, 0, 0, 0, 0x44, 0x00]) + b"\xff\xff\xff\xff",  # 4 billion items in 10 bytes
    _iloc(1, (4, 4, 0, 0), [(1, 0, [(10, 10)])])[:-3],  # cut inside an extent
])
def test_malformed_iloc_is_not_judged(payload):
    assert iloc_data_end(payload) is None


def test_hostile_top_level_boxes(tmp_path):
    for name, data in [("zero", bytes(64)), ("huge_meta", struct.pack(">I4s", 1, b"meta") + struct.pack(">Q", 2**62)),
                       ("tiny", b"\x00\x00\x00\x09ftyp"), ("loop", struct.pack(">I4s", 0, b"free") * 4)]:
        (tmp_path / name).write_bytes(data)
        assert truncation(str(tmp_path / name)) is None, name


def _generated_heic(path: Path) -> Path:
    rgb = bytes((i * 7) % 256 for i in range(256 * 192 * 3))
    pillow_heif.from_bytes(mode="RGB", size=(256, 192), data=rgb).save(path, quality=90)
    return path


@pytest.mark.parametrize("fraction", [0.9, 0.5])
def test_cut_generated_heic_is_a_decode_error(tmp_path, fraction):
    data = _generated_heic(tmp_path / "a.heic").read_bytes()
    assert truncation(str(tmp_path / "a.heic")) is None
    assert decode_image(str(tmp_path / "a.heic")).rgb.shape == (192, 256, 3)
    (tmp_path / "cut.heic").write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(DecodeError, match=rf"truncated: item data ends at {len(data)} bytes, file has "
                                          rf"{int(len(data) * fraction)}"):
        decode_image(str(tmp_path / "cut.heic"))


def _real_heics(shared_data: Path) -> list[Path]:
    found = [p for p in (shared_data / "exif-samples" / "heic").rglob("*") if p.suffix.lower() in (".heic", ".heif")]
    found += [p for p in (shared_data / "immich-assets").rglob("*") if p.suffix.lower().startswith(".hei")]
    assert len(found) >= 6
    return sorted(found)


def test_real_heics_intact_decode_and_cut_copies_are_errors(shared_data, tmp_path):
    for path in _real_heics(shared_data):
        data = path.read_bytes()
        assert decode_image(str(path), max_side=256).rgb.ndim == 3, path.name
        for fraction in (0.9, 0.5):
            cut = tmp_path / f"{int(fraction * 100)}_{path.name}"
            cut.write_bytes(data[: int(len(data) * fraction)])
            with pytest.raises(DecodeError, match="truncated: item data ends at"):
                decode_image(str(cut), max_side=256)
