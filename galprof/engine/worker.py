"""The unit of work every engine runs: read, decode and analyze one file (`process_item`), and the
picklable `Worker` that holds one analyzer per process and applies it to items.

Engines import this module, never the pipeline, so the pipeline can import the engines.
"""

from __future__ import annotations

import os
import stat
import time
import warnings as pywarnings
from collections.abc import Callable
from dataclasses import dataclass, field

from galprof.config import Settings
from galprof.engine.heap import HeapTrimmer
from galprof.facts import MediaFacts, ScanError
from galprof.media.discover import MediaItem, suffix_mismatch

# Builds the per-worker frame analyzer; the default loads every packaged model (FrameAnalyzer).
AnalyzerFactory = Callable[[Settings, int], object]


@dataclass
class ItemResult:
    """What a worker returns for one file."""

    path: str
    media: MediaFacts | None = None
    error: ScanError | None = None
    notes: list[ScanError] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:200] if text else type(exc).__name__


def _escape_note(path: str) -> str:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return "file name is not valid UTF-8; shown with \\x escapes (and any backslash doubled)"
    return "file name holds a backslash; shown doubled (\\\\) so that it cannot read as a \\x escape"


def process_item(item: MediaItem, settings: Settings, analyzer, threads: int = 1) -> ItemResult:
    """Read, decode and analyze one file. Never raises for a bad file: failures become `error`.
    Library warnings raised meanwhile (Pillow, numpy, ...) become notes on the file, not stderr lines."""
    with pywarnings.catch_warnings(record=True) as caught:
        pywarnings.simplefilter("always")
        result = _process_item(item, settings, analyzer, threads)
    reasons = []
    for warning in caught:
        text = str(warning.message).strip().splitlines()
        reason = f"{warning.category.__name__}: {text[0][:160] if text else ''}".rstrip(": ")
        if reason not in reasons:  # the same warning once per file (e.g. one per video frame)
            reasons.append(reason)
    result.notes.extend(ScanError(item.display, "analyze", reason) for reason in reasons)
    return result


def _process_item(item: MediaItem, settings: Settings, analyzer, threads: int) -> ItemResult:
    # the decoders (Pillow, pillow-heif, exifread, PyAV: ~0.1 s of imports) load in the processes that
    # decode, not in a scan's main process that only hands out work or finds everything cached
    from galprof.media.decode import DecodeError
    from galprof.media.exif import mtime_fallback

    result = ItemResult(path=item.display)
    mismatch = suffix_mismatch(item)
    if mismatch:
        result.notes.append(ScanError(item.display, "discover", mismatch))
    if item.display != item.path:
        result.notes.append(ScanError(item.display, "discover", _escape_note(item.path)))
    try:
        st = os.stat(item.path)
    except FileNotFoundError:
        result.error = ScanError(item.display, "read", "file vanished during the scan")
        return result
    except OSError as exc:
        result.error = ScanError(item.display, "read", f"cannot stat: {exc.strerror or exc}")
        return result
    if not stat.S_ISREG(st.st_mode):
        result.error = ScanError(item.display, "read", "not a regular file (replaced during the scan?)")
        return result
    media = MediaFacts(path=item.display, kind=item.kind, format=item.format, size=st.st_size,
                       mtime=st.st_mtime)
    t0 = time.process_time()
    try:
        if item.kind == "photo":
            frames, exif_seconds = _read_photo(item, settings, media)
        else:
            frames, exif_seconds = _read_video(item, settings, threads, media, result), 0.0
    except DecodeError as exc:
        result.error = ScanError(item.display, "decode", str(exc))
        return result
    except MemoryError:
        result.error = ScanError(item.display, "decode", "out of memory while decoding")
        return result
    except Exception as exc:  # noqa: BLE001 - an unexpected decoder failure is still one bad file
        result.error = ScanError(item.display, "decode", one_line(exc))
        return result
    t2 = time.process_time()
    mtime_fallback(media.exif, st.st_mtime)
    try:
        if hasattr(analyzer, "analyze_frames"):  # decides on all frames of a file at once (scan --remote)
            media.frames = analyzer.analyze_frames(frames)
        else:
            media.frames = [analyzer.analyze(rgb, timestamp) for rgb, timestamp in frames]
    except Exception as exc:  # noqa: BLE001 - a model failing on one frame must not stop the scan
        result.error = ScanError(item.display, "analyze", one_line(exc))
        return result
    t3 = time.process_time()
    result.seconds = {"exif": exif_seconds, "decode": t2 - t0 - exif_seconds, "analyze": t3 - t2}
    result.media = media
    return result


def _read_photo(item: MediaItem, settings: Settings, media: MediaFacts) -> tuple[list, float]:
    """The photo's EXIF (into media) and its one frame; returns the frames and the EXIF's CPU seconds."""
    from galprof.media.decode import decode_image
    from galprof.media.exif import read_photo_exif

    started = time.process_time()
    media.exif = read_photo_exif(item.path)
    exif_seconds = time.process_time() - started
    decoded = decode_image(item.path, settings.max_side, settings.decode_memory_mb * 2**20)
    media.exif.width, media.exif.height = decoded.original_width, decoded.original_height
    if media.exif.orientation is None:
        media.exif.orientation = decoded.orientation
    return [(decoded.rgb, None)], exif_seconds


def _read_video(item: MediaItem, settings: Settings, threads: int, media: MediaFacts, result: ItemResult) -> list:
    """The video's sampled frames (with their timestamps), its container metadata into media, and its
    decoding notes into result. A VideoError becomes a DecodeError (one except clause for both)."""
    from galprof.media.decode import DecodeError
    from galprof.media.exif import exif_from_container
    from galprof.media.video import VideoError, sample_video

    try:
        sample = sample_video(item.path, settings.video_fps, settings.video_max_frames, settings.max_side,
                              threads=threads)
    except VideoError as exc:
        raise DecodeError(str(exc)) from None
    media.exif = exif_from_container(sample.metadata)
    media.exif.width, media.exif.height = sample.width, sample.height
    media.duration, media.fps = sample.duration, sample.fps
    if sample.problem:
        result.notes.append(ScanError(item.display, "decode", sample.problem))
    result.notes.extend(ScanError(item.display, "decode", note) for note in sample.notes)
    return [(f.rgb, f.timestamp) for f in sample.frames]


def default_factory(settings: Settings, threads: int):
    from galprof.vision.analyzer import FrameAnalyzer

    return FrameAnalyzer(settings, threads=threads)


class ModelLoadError(Exception):
    """The analyzer cannot be built (models missing or broken): the scan stops with this message."""


class Worker:
    """The picklable unit of work: `worker(item) -> ItemResult`. The analyzer is built on first use
    in the process that runs the worker (so a pickled Worker carries only settings and the factory);
    a factory that fails makes every call raise ModelLoadError."""

    def __init__(self, settings: Settings, threads: int, factory: AnalyzerFactory = default_factory):
        self.settings, self.threads, self.factory = settings, threads, factory
        self._analyzer = None
        self._load_error: str | None = None
        self._heap = HeapTrimmer()  # the process running this worker gives its freed heap back

    def __getstate__(self) -> dict:
        return {"settings": self.settings, "threads": self.threads, "factory": self.factory}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["settings"], state["threads"], state["factory"])

    def load(self) -> None:
        """Build the analyzer now (an engine's worker start-up); failures are kept for the first call."""
        if self._analyzer is None and self._load_error is None:
            try:
                self._analyzer = self.factory(self.settings, self.threads)
            except Exception as exc:  # noqa: BLE001 - reported by the first call, as a fatal scan error
                self._load_error = f"cannot load the models: {one_line(exc)}"

    def __call__(self, item: MediaItem) -> ItemResult:
        self.load()
        if self._load_error is not None:
            raise ModelLoadError(self._load_error)
        try:
            return process_item(item, self.settings, self._analyzer, self.threads)
        finally:
            self._heap.file_done()
