"""Sample frames from a video with PyAV (FFmpeg ships inside its wheels).

One frame is taken from each 1/fps-second interval of the video (default fps 1), aiming at the
interval's middle, and at most `max_frames` per video: a longer video is split into `max_frames`
equal intervals instead, so it is covered from start to end. Frames are never all decoded:
- when keyframes are at least as frequent as the intervals (phones: one per second or so), each
  sample is the keyframe found by seeking to the interval's middle, decoded alone (the other frames
  are skipped by the codec), as long as it lies inside the interval;
- otherwise each sample is reached by seeking to the keyframe before the middle and decoding forward
  to it; when samples are close together (or keyframes rare) decoding simply continues forward.
Frames are scaled by FFmpeg (swscale) so the longest side is <= max_side and turned upright from the
stream's display matrix (phones record portrait video as rotated landscape); a matrix that is not a
rotation by a multiple of 90 degrees (all zeros, a mirror, 45 degrees) is ignored with a note. Each sample
records the presentation time of the frame actually taken.

Damaged files are reported, not guessed at: a stream larger than MAX_VIDEO_PIXELS is refused before any
frame is decoded (videos have no decompression-bomb guard; a 12000 x 12000 one took 680 MB), and a video
whose packets stop before its stated duration (a cut file) gets a note saying how much could be read.
"""

from __future__ import annotations

import contextlib
import errno
import math
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

import av
import numpy as np

from galprof.media.decode import target_size
from galprof.media.video_headers import frame_size

# Decoding forward is cheaper than seeking back to a keyframe when the next sample is this close.
SEEK_MIN_GAP_S = 1.0
# Largest stream decoded (8K UHD, any orientation): a decoder holds a few full-size frames.
MAX_VIDEO_PIXELS = 7680 * 4320


class VideoError(Exception):
    """A video that yields no frame; str(error) is a one-line reason."""


@dataclass
class SampledFrame:
    timestamp: float  # seconds (presentation time of the frame taken)
    rgb: np.ndarray  # (H, W, 3) uint8, upright


@dataclass
class VideoSample:
    frames: list[SampledFrame]
    duration: float | None  # seconds
    fps: float | None  # the stream's average frame rate
    width: int  # upright size of the stream (full resolution)
    height: int
    rotation: int  # degrees applied to make frames upright (counter-clockwise)
    codec: str
    metadata: dict[str, str] = field(default_factory=dict)  # container + stream tags
    problem: str | None = None  # set when decoding stopped early on corrupt data (frames kept)
    notes: list[str] = field(default_factory=list)  # remarks: ends early, odd display matrix


def sample_times(duration: float | None, fps: float, max_frames: int, start: float = 0.0) -> list[float]:
    """Target timestamps: the middle of each 1/fps interval; spread evenly when capped by max_frames."""
    if not duration or duration <= 0 or not math.isfinite(duration):
        return []
    fps = fps if fps > 0 else 1.0
    count = max(1, min(max_frames, math.floor(duration * fps)))
    step = duration / count if duration * fps > max_frames else 1.0 / fps
    if count * step > duration:  # a clip shorter than one interval: take its middle
        step = duration / count
    return [round(start + (i + 0.5) * step, 6) for i in range(count)]


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, av.error.FFmpegError) and exc.errno in (errno.EPERM, errno.EIO):
        # FFmpeg's bare -1 (read as EPERM, "Operation not permitted") or EIO: a seek or read that a cut or
        # damaged file made fail
        return "truncated or damaged file (the demuxer could not read on)"
    if isinstance(exc, av.error.InvalidDataError):
        return "truncated or damaged file (invalid data found)"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


def sample_video(path: str, fps: float = 1.0, max_frames: int = 30, max_side: int = 1024,
                 threads: int = 1, max_pixels: int = MAX_VIDEO_PIXELS) -> VideoSample:
    """Open a video and sample frames from it. Raises VideoError when no frame can be decoded."""
    header_size = frame_size(path)  # before FFmpeg, which decodes a frame while opening
    if header_size is not None:
        _check_size(*header_size, max_pixels)
    try:
        container = av.open(path, mode="r", metadata_errors="replace")
    except FileNotFoundError:
        raise VideoError("file vanished during the scan") from None
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise VideoError(f"cannot open video: {_one_line(exc)}") from None
    with container:
        if not container.streams.video:
            raise VideoError("no video stream in the file")
        stream = container.streams.video[0]
        if stream.codec_context is None:
            raise VideoError("no decoder for the video stream (unknown codec or damaged header)")
        _check_size(stream.width, stream.height, max_pixels)
        stream.codec_context.thread_count = max(1, threads)
        try:
            return _sample(container, stream, fps, max_frames, max_side)
        except VideoError:
            raise
        except (av.error.FFmpegError, OSError, ValueError, MemoryError) as exc:
            raise VideoError(f"cannot decode video: {_one_line(exc)}") from None


def _check_size(width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise VideoError(f"video of {width} x {height} is too large to decode within the memory budget "
                         f"(at most {max_pixels / 1e6:.0f} Mpixel)")


def _duration(container, stream) -> float | None:
    if stream.duration is not None and stream.time_base:
        value = float(stream.duration * stream.time_base)
        if value > 0:
            return value
    if container.duration is not None and container.duration > 0:
        return container.duration / av.time_base
    return None


def _start(stream) -> float:
    if stream.start_time is not None and stream.time_base:
        return max(0.0, float(stream.start_time * stream.time_base))
    return 0.0


def _upright(frame, rotation: int, max_side: int) -> np.ndarray:
    w, h = target_size(frame.width, frame.height, max_side)
    rgb = frame.to_ndarray(format="rgb24", width=w, height=h)
    k = round(rotation / 90) % 4
    return np.ascontiguousarray(np.rot90(rgb, k)) if k else rgb


def _sample(container, stream, fps: float, max_frames: int, max_side: int) -> VideoSample:
    duration = _duration(container, stream)
    start = _start(stream)
    rate = float(stream.average_rate) if stream.average_rate else None
    half_frame = 0.5 / rate if rate else 0.02
    metadata = {str(k): str(v) for k, v in {**stream.metadata, **container.metadata}.items()}
    targets = sample_times(duration, fps, max_frames, start)
    frames: list[SampledFrame] = []
    rotation = None
    notes: list[str] = []
    problem = None
    width, height = stream.width, stream.height

    # older FFmpeg builds expose the display matrix only as the stream's "rotate" tag (clockwise)
    try:
        tag_rotation = -round(float(stream.metadata.get("rotate", 0) or 0))
    except ValueError:
        tag_rotation = 0

    def take(frame) -> None:
        nonlocal rotation
        if rotation is None:  # the display matrix is the stream's: read it once
            rotation, note = _rotation(frame, tag_rotation)
            notes.extend([note] if note else [])
        timestamp = frame.time if frame.time is not None else (targets[len(frames)] if targets else 0.0)
        frames.append(SampledFrame(timestamp=round(float(timestamp), 6),
                                   rgb=_upright(frame, rotation, max_side)))

    try:
        if targets:
            _seek_sample(container, stream, targets, half_frame, take)
        else:  # unknown duration: decode forward, one frame per 1/fps, up to max_frames
            next_time = None
            for frame in container.decode(stream):
                t = frame.time if frame.time is not None else 0.0
                if next_time is None or t >= next_time - half_frame:
                    take(frame)
                    next_time = t + 1.0 / (fps if fps > 0 else 1.0)
                    if len(frames) >= max_frames:
                        break
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        if not frames:
            raise VideoError(f"cannot decode video: {_one_line(exc)}") from None
        problem = f"decoding stopped early: {_one_line(exc)}"
    if not frames:
        raise VideoError("no decodable video frame")
    if duration:
        short = _ends_early(container, stream, start, duration, frames[-1].timestamp + 2 * half_frame)
        notes.extend([short] if short else [])
    if rotation % 180:
        width, height = height, width
    return VideoSample(frames=frames, duration=round(duration, 3) if duration else None,
                       fps=round(rate, 3) if rate else None, width=width, height=height,
                       rotation=rotation, codec=stream.codec_context.name, metadata=metadata, problem=problem,
                       notes=notes)


def _rotation(frame, tag_rotation: int) -> tuple[int, str | None]:
    """Degrees to turn the frames (counter-clockwise), and a note when the display matrix is not a plain
    rotation by a multiple of 90 degrees: FFmpeg reads an all-zero matrix as -2147483648 degrees, a mirror
    as -180 (upside down) and 45 degrees would swap width and height. Those are ignored (rotation 0)."""
    raw = int(getattr(frame, "rotation", tag_rotation) or 0)
    matrix = None
    for data in getattr(frame, "side_data", ()):
        if getattr(data.type, "name", "") == "DISPLAYMATRIX" and len(bytes(data)) >= 36:
            matrix = struct.unpack("=9i", bytes(data)[:36])  # 16.16 fixed point, native byte order
    if matrix is not None:
        a, b, _, c, d = matrix[:5]
        if a * d - b * c <= 0:
            kind = "mirrored" if a * d - b * c < 0 else "degenerate"
            return 0, f"unusual display matrix ({kind}, rotation {raw}), ignored"
    if raw % 90:
        return 0, f"unusual display matrix (rotation {raw}), ignored"
    return raw, None


def _ends_early(container, stream, start: float, duration: float, decoded_to: float) -> str | None:
    """A note when the stream's packets stop clearly before its stated duration (a cut file). The packets
    from the keyframe before the last sampled frame on are read (demuxed, not decoded)."""
    end = decoded_to
    with contextlib.suppress(av.error.FFmpegError, OSError, ValueError):  # else: on from where sampling stopped
        _seek(container, stream, decoded_to)
    try:
        for packet in container.demux(stream):
            if packet.pts is not None and packet.size:
                end = max(end, float((packet.pts + (packet.duration or 0)) * stream.time_base))
    except (av.error.FFmpegError, OSError, ValueError):
        pass  # the damage itself: `end` is as far as the file could be read
    read = max(0.0, end - start)
    if duration - read <= max(0.1, 0.03 * duration):
        return None
    return f"ends early: decoded {read:.1f} s of {duration:.1f} s ({100 * read / duration:.0f} %)"


def _seek(container, stream, target: float) -> None:
    """Move the demuxer to the keyframe at or before `target` seconds."""
    container.seek(int(target / stream.time_base), stream=stream, backward=True, any_frame=False)


@contextlib.contextmanager
def _keyframes_from(container, stream, target: float) -> Iterator:
    """The keyframes from the one at or before `target` on, decoded alone (the codec skips the others)."""
    stream.codec_context.skip_frame = "NONKEY"
    try:
        _seek(container, stream, target)
        yield container.decode(stream)
    finally:
        stream.codec_context.skip_frame = "DEFAULT"


def _keyframe_in(container, stream, target: float, low: float, high: float):
    """The first keyframe in [low, high], found by seeking to `target` and decoding keyframes only
    (the one at or before the target, then the next ones), or None."""
    with _keyframes_from(container, stream, target) as keyframes:
        for frame in keyframes:
            if frame.time is None or frame.time > high:
                return None
            if frame.time >= low:
                return frame
    return None


def _keyframe_spacing(container, stream, target: float) -> float | None:
    """Seconds between the first two keyframes from `target` on (decoding only those two)."""
    times = []
    try:
        with _keyframes_from(container, stream, target) as keyframes:
            for frame in keyframes:
                if frame.time is None:
                    return None
                times.append(frame.time)
                if len(times) == 2:
                    return times[1] - times[0]
    except (av.error.FFmpegError, OSError, ValueError):
        pass  # a cut file whose second keyframe is missing: sample by exact decoding, which keeps frames
    return None


def _seek_sample(container, stream, targets: list[float], half_frame: float, take) -> None:
    """Take one frame per target: keyframes when they are dense enough, else exact decoding."""
    interval = targets[1] - targets[0] if len(targets) > 1 else math.inf
    spacing = _keyframe_spacing(container, stream, targets[0]) if len(targets) > 1 else None
    keyframes_ok = spacing is not None and spacing <= interval + 1e-6
    decoder = None  # a full decoder (exact mode) and the time of its last frame
    position: float | None = None
    seek_helps = True
    last_taken = -math.inf
    for target in targets:
        if keyframes_ok:
            low = max(target - interval / 2 - 1e-6, last_taken + 1e-6)
            key = _keyframe_in(container, stream, target, low, target + interval / 2 + 1e-6)
            decoder = None  # the seek moved the demuxer
            if key is not None:
                take(key)
                last_taken = key.time
                continue
        if decoder is None or (seek_helps and position is not None and target - position > SEEK_MIN_GAP_S):
            _seek(container, stream, target)
            decoder = container.decode(stream)
            after_seek = True
        else:
            after_seek = False
        chosen = last_frame = None
        for frame in decoder:
            t = frame.time if frame.time is not None else (position or 0.0) + 2 * half_frame
            if after_seek and position is not None and t <= position:
                seek_helps = False  # keyframes are rarer than our samples: stop seeking
            after_seek = False
            position = t
            last_frame = frame
            if t >= target - half_frame and t > last_taken:
                chosen = frame
                break
        if chosen is None:  # ran past the end (duration overstated): keep the last frame once
            if last_frame is not None and (last_frame.time or 0.0) > last_taken:
                take(last_frame)
            break
        take(chosen)
        last_taken = position
