"""Video sampling: timestamps, seeking equals sequential decoding, rotation, metadata, corrupt files."""

from __future__ import annotations

import struct

import av
import numpy as np
import pytest

from galprof.media.bmff import track_dimensions
from galprof.media.exif import exif_from_container
from galprof.media.video import VideoError, sample_times, sample_video
from galprof.media.video_headers import frame_size
from tests.media_factory import rotate_mp4, set_mp4_matrix, write_video


def test_sample_times():
    assert sample_times(2.6, 1.0, 30) == [0.5, 1.5]
    assert sample_times(0.4, 1.0, 30) == [0.2]  # shorter than one interval: its middle
    assert sample_times(10.0, 2.0, 30) == [0.25 + 0.5 * i for i in range(20)]
    capped = sample_times(100.0, 1.0, 10)
    assert capped == [5.0 + 10.0 * i for i in range(10)]  # spread over the whole video
    assert sample_times(None, 1.0, 30) == [] and sample_times(0.0, 1.0, 30) == []


def _all_frames(path) -> list[tuple[float, np.ndarray]]:
    with av.open(str(path)) as container:
        return [(f.time, f.to_ndarray(format="rgb24")) for f in container.decode(video=0)]


def test_sampled_frames_match_sequential_decoding(shared_data):
    """Every sampled frame is exactly the frame a full decode shows at that time (seeking is exact)."""
    path = shared_data / "videos" / "car-detection.mp4"  # 30 s, 12.5 fps
    sample = sample_video(str(path), fps=1.0, max_frames=30, max_side=4096)
    assert sample.duration == pytest.approx(30.16, abs=0.01) and sample.fps == pytest.approx(12.5)
    assert len(sample.frames) == 30
    reference = dict(_all_frames(path))
    for target, frame in zip(sample_times(sample.duration, 1.0, 30), sample.frames, strict=True):
        assert abs(frame.timestamp - target) <= 0.5 / 12.5 + 1e-6
        assert np.array_equal(frame.rgb, reference[frame.timestamp]), frame.timestamp


def test_keyframe_mode_takes_one_frame_per_interval(tmp_path):
    """Keyframes every 0.7 s and one sample per second: each sample is a keyframe inside its interval
    (not the frame at its middle), identical to that frame in a full decode."""
    path = write_video(tmp_path / "k.mp4", frames=80, rate=10, gop=7)
    sample = sample_video(str(path), fps=1.0)
    reference = dict(_all_frames(path))
    keyframes = set()
    with av.open(str(path)) as container:
        keyframes = {f.time for f in container.decode(video=0) if f.key_frame}
    assert len(sample.frames) == 8
    for i, frame in enumerate(sample.frames):
        assert i <= frame.timestamp <= i + 1 and frame.timestamp in keyframes
        assert np.array_equal(frame.rgb, reference[frame.timestamp])
        assert float(frame.rgb[4:28, 2:12].mean()) == pytest.approx(6 * round(frame.timestamp * 10) % 256, abs=4)


def test_sparse_keyframes_use_exact_decoding(shared_data):
    """bottle-detection.mp4 has a keyframe every 8.4 s: samples are decoded exactly at their targets."""
    sample = sample_video(str(shared_data / "videos" / "bottle-detection.mp4"), fps=1.0, max_frames=30)
    targets = sample_times(sample.duration, 1.0, 30)
    assert max(abs(f.timestamp - t) for f, t in zip(sample.frames, targets, strict=True)) <= 0.5 / sample.fps


def test_mkv_clip_timestamps(shared_data):
    sample = sample_video(str(shared_data / "videos" / "asl_gestures" / "book.mkv"), fps=2.0)
    assert sample.duration == pytest.approx(3.666, abs=0.01)
    start = 1 / 30  # the stream starts at 33 ms
    expected = [start + 0.25 + 0.5 * i for i in range(7)]
    assert [f.timestamp for f in sample.frames] == pytest.approx(expected, abs=1 / 60 + 1e-6)
    assert sample.frames[0].rgb.shape == (480, 640, 3)


def test_long_video_is_capped_and_spread(shared_data):
    sample = sample_video(str(shared_data / "videos" / "one-by-one-person-detection.mp4"), fps=1.0,
                          max_frames=12, max_side=384)
    times = [f.timestamp for f in sample.frames]
    assert len(times) == 12 and times == sorted(times)
    # covers the whole 139 s, one frame inside each 11.6 s interval (a keyframe: one per second here)
    step = sample.duration / 12
    assert all(i * step <= t <= (i + 1) * step for i, t in enumerate(times))
    assert times[0] < 10 and times[-1] > 125
    assert max(sample.frames[0].rgb.shape[:2]) == 384


def test_container_creation_time(shared_data):
    sample = sample_video(str(shared_data / "videos" / "car-detection.mp4"), max_frames=1)
    facts = exif_from_container(sample.metadata)
    assert facts.taken_at == "2018-04-19T22:46:00Z" and facts.taken_at_source == "container"


def test_generated_video_frames_and_gps(tmp_path):
    path = write_video(tmp_path / "a.mp4", frames=40, rate=10,
                       metadata={"location": "+48.8584+002.2945/", "creation_time": "2021-06-01T12:00:00Z"})
    sample = sample_video(str(path), fps=1.0)
    assert [f.timestamp for f in sample.frames] == pytest.approx([0.5, 1.5, 2.5, 3.5])
    # frame i has a grey block of level 6 i: frames 5, 15, 25, 35 were taken
    levels = [float(f.rgb[4:28, 2:12].mean()) for f in sample.frames]
    assert levels == pytest.approx([30, 90, 150, 210], abs=4)
    facts = exif_from_container(sample.metadata)
    assert (facts.latitude, facts.longitude) == (48.8584, 2.2945)
    assert facts.taken_at == "2021-06-01T12:00:00Z"


def test_rotation_metadata_is_applied(tmp_path):
    source = write_video(tmp_path / "a.mp4", frames=20, width=64, height=32)
    rotated = rotate_mp4(source, tmp_path / "portrait.mp4")
    sample = sample_video(str(rotated), fps=1.0)
    assert (sample.width, sample.height) == (32, 64)
    rgb = sample.frames[0].rgb
    assert rgb.shape == (64, 32, 3)
    # stored: top half red, bottom half blue; shown rotated 90 degrees clockwise: blue left, red right
    assert rgb[50, 4, 2] > 200 and rgb[50, 4, 0] < 60
    assert rgb[50, 28, 0] > 200 and rgb[50, 28, 2] < 60


@pytest.mark.parametrize("fmt, suffix", [(None, "mkv"), (None, "avi"), (None, "mov")])
def test_other_containers(tmp_path, fmt, suffix):
    path = write_video(tmp_path / f"a.{suffix}", fmt=fmt, frames=25, rate=10)
    sample = sample_video(str(path))
    assert len(sample.frames) == 2 and sample.frames[0].rgb.shape == (32, 64, 3)


def test_corrupt_videos(tmp_path):
    good = write_video(tmp_path / "good.mp4", frames=60, rate=10).read_bytes()
    (tmp_path / "header_only.mp4").write_bytes(good[:200])
    with pytest.raises(VideoError):
        sample_video(str(tmp_path / "header_only.mp4"))
    garbage = good[:32] + bytes((i * 53 + 1) % 256 for i in range(len(good) - 32))
    (tmp_path / "garbage.mp4").write_bytes(garbage)
    with pytest.raises(VideoError):
        sample_video(str(tmp_path / "garbage.mp4"))
    with pytest.raises(VideoError, match="vanished"):
        sample_video(str(tmp_path / "missing.mp4"))


C45 = 46341  # cos 45 degrees in 16.16 fixed point


@pytest.mark.parametrize(("matrix", "note"), [
    ((0,) * 9, "unusual display matrix (degenerate, rotation -2147483648), ignored"),
    ((-0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000), "unusual display matrix (mirrored, rotation -180), ignored"),
    ((C45, C45, 0, -C45, C45, 0, 0, 0, 0x40000000), "unusual display matrix (rotation -45), ignored"),
])
def test_unusual_display_matrices_are_ignored_with_a_note(tmp_path, matrix, note):
    source = write_video(tmp_path / "a.mp4", frames=20, width=64, height=32)
    odd = set_mp4_matrix(source, tmp_path / "odd.mp4", matrix)
    sample = sample_video(str(odd), fps=1.0)
    assert sample.rotation == 0 and sample.notes == [note]
    assert (sample.width, sample.height) == (64, 32)
    rgb = sample.frames[0].rgb
    assert rgb.shape == (32, 64, 3)
    assert rgb[4, 40, 0] > 200 and rgb[28, 40, 2] > 200  # as stored: red on top, blue below


def test_upside_down_is_still_applied(tmp_path):
    source = write_video(tmp_path / "a.mp4", frames=20, width=64, height=32)
    turned = set_mp4_matrix(source, tmp_path / "r180.mp4", (-0x10000, 0, 0, 0, -0x10000, 0, 0, 0, 0x40000000))
    sample = sample_video(str(turned), fps=1.0)
    assert abs(sample.rotation) == 180 and sample.notes == []
    assert sample.frames[0].rgb[4, 40, 2] > 200  # blue on top


def _cut(src, dst, fraction: float):
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


@pytest.mark.parametrize("suffix", ["mp4", "mkv"])
def test_generated_video_cut_short_gets_an_ends_early_note(tmp_path, suffix):
    good = write_video(tmp_path / f"good.{suffix}", frames=40, rate=10, faststart=True)
    assert sample_video(str(good)).notes == []
    cut = _cut(good, tmp_path / f"cut.{suffix}", 0.6)
    sample = sample_video(str(cut))
    (note,) = [n for n in sample.notes if n.startswith("ends early")]
    decoded = float(note.split("decoded ")[1].split(" s")[0])
    assert 0.5 <= decoded <= 3.0 and "of 4.0 s" in note  # bytes are not time: keyframes are big


def test_real_cut_videos_are_noted_with_a_clear_reason(shared_data, tmp_path):
    for source in [shared_data / "videos" / "asl_gestures" / "book.mkv", shared_data / "videos" / "car-detection.mp4"]:
        assert sample_video(str(source), max_side=256).notes == []
        for fraction in (0.9, 0.5):
            cut = _cut(source, tmp_path / f"{fraction}{source.suffix}", fraction)
            sample = sample_video(str(cut), max_side=256)
            notes = sample.notes + [sample.problem or ""]
            assert any(n.startswith("ends early: decoded") for n in notes), (source.name, fraction)
            assert not any("not permitted" in n for n in notes)


def test_damaged_mkv_says_truncated_not_operation_not_permitted(tmp_path):
    good = write_video(tmp_path / "good.mkv", frames=40, rate=10, gop=5)
    reasons = []
    for percent in range(5, 100, 3):
        cut = _cut(good, tmp_path / f"cut{percent}.mkv", percent / 100)
        try:
            sample = sample_video(str(cut))
            reasons += [sample.problem or ""] + sample.notes
        except VideoError as exc:
            reasons.append(str(exc))
    assert not [r for r in reasons if "not permitted" in r or "Errno" in r]
    assert any("truncated or damaged" in r for r in reasons)


def test_video_above_the_pixel_limit_is_refused_before_decoding(tmp_path):
    path = write_video(tmp_path / "a.mp4", frames=5, width=64, height=32)
    with pytest.raises(VideoError, match=r"video of 64 x 32 is too large to decode"):
        sample_video(str(path), max_pixels=64 * 32 - 1)
    assert len(sample_video(str(path), max_pixels=64 * 32).frames) == 1


def _ebml(ident: int, payload: bytes, unknown_size: bool = False) -> bytes:
    head = ident.to_bytes((ident.bit_length() + 7) // 8, "big")
    size = b"\x01\xff\xff\xff\xff\xff\xff\xff" if unknown_size else b"\x01" + len(payload).to_bytes(7, "big")
    return head + size + payload


@pytest.mark.parametrize("suffix", ["mp4", "mkv", "webm", "avi", "mov"])
def test_container_headers_give_the_frame_size(tmp_path, suffix):
    codec = "libvpx" if suffix == "webm" else "mpeg4"
    path = write_video(tmp_path / f"a.{suffix}", codec=codec, frames=5, width=64, height=32)
    assert frame_size(str(path)) == (64, 32)
    assert frame_size(str(tmp_path / "missing.mp4")) is None


def test_a_huge_matroska_is_refused_from_its_header(tmp_path):
    video = _ebml(0xE0, _ebml(0xB0, (12000).to_bytes(2, "big")) + _ebml(0xBA, (12000).to_bytes(2, "big")))
    tracks = _ebml(0x1654AE6B, _ebml(0xAE, _ebml(0xD7, b"\x01") + video))
    data = _ebml(0x1A45DFA3, _ebml(0x4282, b"matroska")) + _ebml(0x18538067, tracks + b"\x00" * 64, True)
    (tmp_path / "huge.mkv").write_bytes(data)
    assert frame_size(str(tmp_path / "huge.mkv")) == (12000, 12000)
    with pytest.raises(VideoError, match=r"video of 12000 x 12000 is too large"):
        sample_video(str(tmp_path / "huge.mkv"))
    for cut in range(0, len(data), 7):  # every truncation: no verdict or the right one, never a crash
        (tmp_path / "cut.mkv").write_bytes(data[:cut])
        assert frame_size(str(tmp_path / "cut.mkv")) in (None, (12000, 12000))


def test_track_headers_give_the_size_before_ffmpeg_opens_the_file(tmp_path):
    """FFmpeg decodes a frame while opening a file: a huge video must be refused from its headers."""
    path = write_video(tmp_path / "a.mp4", frames=5, width=64, height=32)
    assert track_dimensions(str(path)) == (64, 32)
    assert track_dimensions(str(write_video(tmp_path / "a.mkv", frames=5, width=64, height=32))) is None
    data = bytearray(path.read_bytes())
    tkhd = data.find(b"tkhd")
    at = tkhd + 4 + 4 + (32 if data[tkhd + 4] == 1 else 20) + 52
    data[at:at + 8] = struct.pack(">II", 12000 << 16, 12000 << 16)  # what the header claims
    (tmp_path / "huge.mp4").write_bytes(bytes(data))
    with pytest.raises(VideoError, match=r"video of 12000 x 12000 is too large"):
        sample_video(str(tmp_path / "huge.mp4"))
