"""`galprof bench`: where the time goes on this machine, and how long a whole gallery will take.

Measures, in one run (the machine may be shared and noisy, so ratios come from the same run):
- per-model latency of every ONNX model in the manifest (bare session, median and p90, per thread count),
  and the fp32 / int8 ratio for models shipped in both precisions;
- per-stage latency of the model classes with their pre/post-processing (faces, objects, classifier,
  the whole FrameAnalyzer), so the gap between a stage and its bare model shows Python overhead;
- decode time by photo size, full decode against JPEG draft decoding to the size the models need;
- end-to-end photos/s and frames/s of `pipeline.scan` into a temporary cache, then the re-scan of the
  unchanged folder (which should only stat files);
- peak resident memory of this process and its workers, and an estimate for a gallery of N photos.

The default input is the sample gallery (`galprof.samples`: real photos from scikit-image's wheel and a
short MP4) plus synthetic 12 MP JPEGs made from those photos at run time, so that decode timings reflect
phone-sized files. Parts whose modules are missing are reported as skipped with the reason, never faked.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import platform
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

import numpy as np

from galprof.config import Settings

SCHEMA = 1
PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".heic", ".heif", ".webp", ".tif", ".tiff", ".bmp", ".gif"}
VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".3gp"}
SYNTHETIC_SIZE = (4000, 3000)  # 12 MP, the most common phone camera size
LIBRARIES = ["numpy", "onnxruntime", "pillow", "pillow-heif", "av", "scikit-learn", "hdbscan", "click", "rich"]

Progress = Callable[[str], None]


@dataclass
class BenchOptions:
    """What to measure. `folder=None` means the built-in set (sample gallery + synthetic 12 MP JPEGs)."""

    folder: Path | None = None
    repeats: int = 20  # timed calls per model and thread count
    warmup: int = 3
    threads: list[int] | None = None  # None: 1, 2, 4, ... up to the core count
    estimate: int = 20000  # photos in the gallery to estimate
    synthetic: int = 4  # synthetic 12 MP JPEGs added to the built-in set
    decode_photos: int = 12  # photos sampled for the decode table
    stage_photos: int = 8  # photos sampled for the per-stage latency
    models: bool = True
    stages: bool = True
    scan: bool = True
    precision_pairs: bool = True
    settings: Settings = field(default_factory=Settings)
    work_dir: Path | None = None  # where the built-in set and the temporary cache go; None: a temp dir


# ----------------------------------------------------------------------------------------------- timing


def summarize(samples_s: Iterable[float]) -> dict:
    """Median, p90, mean and min of timings given in seconds, returned in milliseconds."""
    values = sorted(samples_s)
    if not values:
        return {"n": 0}
    ms = [v * 1000.0 for v in values]
    p90 = ms[min(len(ms) - 1, round(0.9 * (len(ms) - 1)))]
    return {
        "n": len(ms),
        "median_ms": round(statistics.median(ms), 3),
        "p90_ms": round(p90, 3),
        "mean_ms": round(statistics.fmean(ms), 3),
        "min_ms": round(ms[0], 3),
    }


def time_calls(fn: Callable[[], object], repeats: int, warmup: int = 1) -> dict:
    """Call `fn` warmup times untimed, then `repeats` times timed; summary in ms."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return summarize(samples)


def thread_counts(cores: int | None = None) -> list[int]:
    """1, 2, 4, ... and the core count itself: enough points to see scaling without timing every count."""
    cores = cores or usable_cores()
    counts = {cores}
    n = 1
    while n < cores:
        counts.add(n)
        n *= 2
    return sorted(counts)


def usable_cores() -> int:
    """Cores this process may run on (affinity and cgroup-free count), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


# ------------------------------------------------------------------------------------------ environment


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


# ----------------------------------------------------------------------------------------------- memory


def _kb_to_mb(kb: int) -> float:
    # ru_maxrss is in kilobytes on Linux and in bytes on macOS
    return round(kb / (1024 * 1024) if sys.platform == "darwin" else kb / 1024, 1)


def peak_rss() -> dict:
    """Peak resident memory so far: this process, and the largest of its finished child processes
    (on Linux a spawned child's figure can include the parent's peak at fork time: the sampled
    whole-tree peak of the scan is the one to trust)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"self_mb": _kb_to_mb(own), "largest_child_mb": _kb_to_mb(children)}


def _cpu_seconds() -> float:
    """User + system CPU seconds of this process and of its waited-for children so far."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _tree_rss_kb(root: int) -> int:
    """Current RSS of a process and all its descendants, from /proc (Linux only; 0 elsewhere)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return 0
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        pid = int(entry.name)
        for line in status.splitlines():
            if line.startswith("PPid:"):
                parents[pid] = int(line.split()[1])
            elif line.startswith("VmRSS:"):
                rss[pid] = int(line.split()[1])
    total, stack = 0, [root]
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


class TreeMemorySampler:
    """Samples the summed RSS of this process and its workers in a background thread.

    getrusage only knows the largest single child; a pool of workers holds its models at the same
    time, so the figure that matters to a 4 GB board is the sum, sampled while the scan runs.
    """

    def __init__(self, interval: float = 0.05):
        self.interval = interval
        self.peak_kb = 0
        self.baseline_kb = _tree_rss_kb(os.getpid())  # this process before the measured work
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        pid = os.getpid()
        while not self._stop.is_set():
            self.peak_kb = max(self.peak_kb, _tree_rss_kb(pid))
            self._stop.wait(self.interval)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_kb = max(self.peak_kb, _tree_rss_kb(os.getpid()))

    @property
    def peak_mb(self) -> float:
        return round(self.peak_kb / 1024, 1)


# ------------------------------------------------------------------------------------------------ input


def _cache_home() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "galprof"


def make_synthetic_jpegs(sources: list[Path], dest: Path, count: int, size: tuple[int, int] = SYNTHETIC_SIZE,
                         seed: int = 0) -> list[Path]:
    """Phone-sized JPEGs made from real photos: upscaled to `size`, with sensor-like noise so that the
    files are as large (and as slow to decode) as a phone's, and with camera EXIF.

    Upscaled photos alone compress to a fraction of a real 12 MP file and decode too fast.
    """
    from PIL import Image

    dest.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    made = []
    for i in range(count):
        out = dest / f"synthetic-12mp-{i:02d}.jpg"
        made.append(out)
        if out.is_file():
            continue
        with Image.open(sources[i % len(sources)]) as im:
            base = im.convert("RGB").resize(size, Image.Resampling.BICUBIC)
        pixels = np.asarray(base, dtype=np.int16)
        noise = rng.normal(0.0, 4.0, size=(size[1] // 4, size[0] // 4, 3)).astype(np.int16)
        pixels = pixels + np.kron(noise, np.ones((4, 4, 1), dtype=np.int16))
        pixels += rng.integers(-3, 4, size=pixels.shape, dtype=np.int16)
        image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
        exif = Image.Exif()
        exif[0x010F] = "galprof"  # Make
        exif[0x0110] = "synthetic 12MP"  # Model
        exif[0x0132] = f"2024:06:{1 + i % 28:02d} 12:00:00"  # DateTime
        tmp = out.with_suffix(".part")
        image.save(tmp, "JPEG", quality=92, exif=exif)
        tmp.replace(out)
    return made


def build_default_set(dest: Path, synthetic: int) -> Path:
    """The built-in benchmark gallery: sample photos and video plus `synthetic` 12 MP JPEGs, in `dest`."""
    from galprof.samples import PHOTOS, build_sample_gallery

    samples = _cache_home() / "sample-gallery"
    build_sample_gallery(samples)
    dest.mkdir(parents=True, exist_ok=True)
    for item in samples.iterdir():
        if item.is_file() and not (dest / item.name).exists():
            shutil.copy2(item, dest / item.name)
    colour = [samples / name for name in PHOTOS if name in ("astronaut.png", "chelsea.png", "coffee.png",
                                                           "motorcycle_left.png", "rocket.jpg")]
    make_synthetic_jpegs(colour, dest, synthetic)
    return dest


def list_media(folder: Path) -> tuple[list[Path], list[Path]]:
    """Photos and videos under a folder, by suffix (only to pick inputs; the scan has its own discovery)."""
    photos, videos = [], []
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue
        suffix = path.suffix.lower()
        if suffix in PHOTO_SUFFIXES:
            photos.append(path)
        elif suffix in VIDEO_SUFFIXES:
            videos.append(path)
    return photos, videos


def _spread(items: list[Path], n: int) -> list[Path]:
    """Up to n items spread evenly over a sorted list (deterministic)."""
    if len(items) <= n:
        return list(items)
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


# ----------------------------------------------------------------------------------------------- decode


# (upper limit in megapixels, name) of the decode table's size classes, smallest first
SIZE_CLASSES = ((0.5, "<0.5 MP"), (2, "0.5-2 MP"), (6, "2-6 MP"), (10, "6-10 MP"), (16, "10-16 MP"),
                (float("inf"), ">16 MP"))


def _size_class(megapixels: float) -> str:
    return next(name for limit, name in SIZE_CLASSES if megapixels < limit)


def _decode_full(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def _decode_draft(path: Path, max_side: int, min_side: int | None = None) -> np.ndarray:
    """Decode with JPEG DCT scaling: the smallest scale whose longest side is still >= `min_side`
    (default max_side), then shrunk to at most max_side."""
    from PIL import Image

    wanted = min_side or max_side
    with Image.open(path) as im:
        if im.format == "JPEG":
            scale = wanted / max(im.size)
            im.draft("RGB", (max(1, round(im.width * scale)), max(1, round(im.height * scale))))
        im = im.convert("RGB")
        if max(im.size) > max_side:
            im.thumbnail((max_side, max_side), Image.Resampling.BILINEAR)
        return np.asarray(im)


def _galprof_decoder(max_side: int) -> Callable[[Path], object] | None:
    """galprof's own photo decoder (media.decode.decode_image), when the media module is there."""
    try:
        from galprof.media.decode import decode_image
    except ImportError:
        return None
    return lambda path: decode_image(str(path), max_side)


def bench_decode(photos: list[Path], max_side: int, repeats: int) -> dict:
    """Decode time per photo size class: full decode, draft decode to max_side, draft decode allowed
    down to 3/4 of max_side (a 12 MP JPEG then decodes at 1/4 scale instead of 1/2), and galprof's
    decoder."""
    from PIL import Image

    project = _galprof_decoder(max_side)
    three_quarters = max(1, max_side * 3 // 4)
    rows: dict[str, dict] = {}
    for path in photos:
        try:
            with Image.open(path) as im:
                width, height, fmt = im.width, im.height, im.format
            full = time_calls(lambda p=path: _decode_full(p), repeats, warmup=1)
            draft = time_calls(lambda p=path: _decode_draft(p, max_side), repeats, warmup=1)
            coarse = time_calls(lambda p=path: _decode_draft(p, max_side, three_quarters), repeats, warmup=1)
            own = time_calls(lambda p=path: project(p), repeats, warmup=1) if project else None
        except Exception as exc:  # noqa: BLE001 - a bad file is reported, never fatal
            rows.setdefault("errors", {}).setdefault("files", []).append(f"{path.name}: {exc}")
            continue
        mp = width * height / 1e6
        row = rows.setdefault(_size_class(mp), {"photos": 0, "full_ms": [], "draft_ms": [], "draft_3_4_ms": [],
                                                "galprof_ms": [], "megapixels": [], "formats": set()})
        row["photos"] += 1
        row["megapixels"].append(mp)
        row["formats"].add(fmt)
        row["full_ms"].append(full["median_ms"])
        row["draft_ms"].append(draft["median_ms"])
        row["draft_3_4_ms"].append(coarse["median_ms"])
        if own:
            row["galprof_ms"].append(own["median_ms"])
    table = []
    for _limit, name in SIZE_CLASSES:
        if name not in rows:
            continue
        row = rows[name]
        full_ms = statistics.median(row["full_ms"])
        draft_ms = statistics.median(row["draft_ms"])
        entry = {
            "size": name,
            "photos": row["photos"],
            "median_megapixels": round(statistics.median(row["megapixels"]), 2),
            "formats": sorted(f or "?" for f in row["formats"]),
            "full_ms": round(full_ms, 2),
            "draft_ms": round(draft_ms, 2),
            "full_over_draft": round(full_ms / draft_ms, 2) if draft_ms else None,
            "draft_3_4_ms": round(statistics.median(row["draft_3_4_ms"]), 2),
            "galprof_ms": round(statistics.median(row["galprof_ms"]), 2) if row["galprof_ms"] else None,
        }
        table.append(entry)
    return {
        "max_side": max_side,
        "galprof_decoder": "galprof.media.decode.decode_image" if project else None,
        "by_size": table,
        "errors": rows.get("errors", {}).get("files", []),
    }


# ----------------------------------------------------------------------------------------------- models


def _input_tensor(session, spec: dict, rng: np.random.Generator) -> np.ndarray:
    """A random input of the session's declared shape and type (latency does not depend on content)."""
    model_input = session.get_inputs()[0]
    declared = spec.get("shape") or []
    shape = []
    for i, dim in enumerate(model_input.shape):
        if isinstance(dim, int) and dim > 0:
            shape.append(dim)
        elif i < len(declared) and isinstance(declared[i], int) and declared[i] > 0:
            shape.append(declared[i])
        else:
            shape.append(1 if i == 0 else 224)
    kind = model_input.type
    if "uint8" in kind:
        return rng.integers(0, 256, size=shape, dtype=np.uint8)
    if "float16" in kind:
        return rng.uniform(-1, 1, size=shape).astype(np.float16)
    return rng.uniform(-1, 1, size=shape).astype(np.float32)


def precision_key(name: str) -> str:
    """A model name without its precision token: 'face_embedding_int8' and 'face_embedding_fp32' pair up."""
    tokens = [t for t in name.replace("-", "_").split("_") if t.lower() not in ("int8", "fp32", "fp16", "q", "qdq")]
    return "_".join(tokens)


def bench_models(threads: list[int], repeats: int, warmup: int, progress: Progress) -> dict:
    """Bare-session latency of every manifest model per thread count, and fp32 / int8 ratios.

    For each thread count all sessions are open together and timed in interleaved rounds (one run of
    each model per round), so a neighbour's burst of load hits every model alike and the ratios hold."""
    from galprof.vision.onnx_model import OnnxModel
    from galprof.vision.registry import load_manifest

    rng = np.random.default_rng(0)
    rows = []
    present = []
    for entry in load_manifest().values():
        row: dict = {"name": entry.name, "role": entry.role, "precision": entry.precision,
                     "file": entry.file, "mb": round(entry.bytes / 1e6, 2), "threads": {}}
        rows.append(row)
        if entry.path().is_file():
            present.append((entry, row))
        else:
            row["skipped"] = f"missing file {entry.path()}"
    for n in threads:
        progress(f"{len(present)} models, {n} thread(s)")
        runs = []
        for entry, row in present:
            start = time.perf_counter()
            model = OnnxModel(entry.path(), threads=n)
            load_ms = (time.perf_counter() - start) * 1000
            tensor = _input_tensor(model.session, entry.input, rng)
            row["input_shape"] = list(tensor.shape)
            runs.append((row, model, {model.input_name: tensor}, load_ms, []))
        for _ in range(warmup):
            for _row, model, feed, _load, _samples in runs:
                model.session.run(None, feed)
        for _ in range(max(1, repeats)):
            for _row, model, feed, _load, samples in runs:
                start = time.perf_counter()
                model.session.run(None, feed)
                samples.append(time.perf_counter() - start)
        for row, _model, _feed, load_ms, samples in runs:
            row["threads"][str(n)] = {**summarize(samples), "load_ms": round(load_ms, 1)}
        del runs
    return {"models": rows, "precision_ratios": precision_ratios(rows)}


def precision_ratios(rows: list[dict]) -> list[dict]:
    """fp32 median / int8 median at each thread count, for models present in both precisions."""
    by_key: dict[str, dict[str, dict]] = {}
    for row in rows:
        if row.get("threads"):
            by_key.setdefault(precision_key(row["name"]), {})[row["precision"]] = row
    ratios = []
    for key, pair in sorted(by_key.items()):
        if "int8" not in pair or "fp32" not in pair:
            continue
        for n, int8 in pair["int8"]["threads"].items():
            fp32 = pair["fp32"]["threads"].get(n)
            if fp32 and int8.get("median_ms"):
                ratios.append({"model": key, "threads": int(n), "int8_ms": int8["median_ms"],
                               "fp32_ms": fp32["median_ms"],
                               "fp32_over_int8": round(fp32["median_ms"] / int8["median_ms"], 2)})
    return ratios


# ----------------------------------------------------------------------------------------------- stages


def _stage_factories(settings: Settings, threads: int) -> list[tuple[str, Callable[[], Callable]]]:
    """(name, factory) for each stage class of the contracts; a factory returns a per-frame callable."""

    def faces(precision: str) -> Callable:
        from galprof.vision.faces import FacePipeline

        return FacePipeline(threads=threads, precision=precision).run

    def objects(precision: str) -> Callable:
        from galprof.vision.nanodet import ObjectDetector

        return ObjectDetector(threads=threads, precision=precision).detect

    def classifier(precision: str) -> Callable:
        from galprof.vision.classifier import PhotoClassifier

        return PhotoClassifier(threads=threads, precision=precision).classify

    def analyzer() -> Callable:
        from galprof.vision.analyzer import FrameAnalyzer

        return FrameAnalyzer(settings, threads=threads).analyze

    return [
        ("faces int8", lambda: faces("int8")),
        ("faces fp32", lambda: faces("fp32")),
        ("objects int8", lambda: objects("int8")),
        ("objects fp32", lambda: objects("fp32")),
        ("classifier int8", lambda: classifier("int8")),
        ("classifier fp32", lambda: classifier("fp32")),
        ("frame analyzer", analyzer),
    ]


def bench_stages(photos: list[Path], settings: Settings, repeats: int, progress: Progress) -> dict:
    """Per-frame latency of each model class with its pre/post-processing, on real decoded photos,
    at the thread count one scan worker uses; plus fp32 / int8 ratios of the stages.

    All stages are loaded first and timed in interleaved rounds (each stage on each frame per round),
    so that changing load on a shared machine does not favour one of them."""
    threads = settings.resolved_threads()
    frames = []
    for path in photos:
        try:
            frames.append(_decode_draft(path, settings.max_side))
        except (OSError, ValueError, SyntaxError):  # unreadable photos are the decode table's business
            pass
    if not frames:
        return {"threads": threads, "stages": [], "precision_ratios": [], "skipped": "no decodable photo"}
    rows = []
    loaded = []
    for name, factory in _stage_factories(settings, threads):
        progress(f"loading stage {name}")
        row: dict = {"stage": name}
        rows.append(row)
        try:
            start = time.perf_counter()
            fn = factory()
            row["load_ms"] = round((time.perf_counter() - start) * 1000, 1)
        except (ImportError, FileNotFoundError, KeyError, TypeError, ValueError) as exc:
            row["skipped"] = f"{type(exc).__name__}: {exc}"
            continue
        loaded.append((row, fn, []))
    progress(f"timing {len(loaded)} stages on {len(frames)} frames")
    for _row, fn, _samples in loaded:  # warm-up pass: first calls allocate arenas
        for frame in frames:
            fn(frame)
    for _ in range(max(1, repeats // len(frames))):
        for frame in frames:
            for _row, fn, samples in loaded:
                start = time.perf_counter()
                fn(frame)
                samples.append(time.perf_counter() - start)
    for row, _fn, samples in loaded:
        row.update(summarize(samples))
    del loaded
    ratios = []
    timed = {r["stage"]: r for r in rows if "median_ms" in r}
    for base in ("faces", "objects", "classifier"):
        int8, fp32 = timed.get(f"{base} int8"), timed.get(f"{base} fp32")
        if int8 and fp32 and int8["mean_ms"]:
            # the mean over the same frames: medians of mixed frames (with and without faces) jump
            ratios.append({"stage": base, "int8_ms": int8["mean_ms"], "fp32_ms": fp32["mean_ms"],
                           "fp32_over_int8": round(fp32["mean_ms"] / int8["mean_ms"], 2)})
    return {"threads": threads, "frames": len(frames), "stages": rows, "precision_ratios": ratios}


# ------------------------------------------------------------------------------------------------- scan


def _count_media(result) -> tuple[int, int, int]:
    """(photos, videos, frames) analysed in a scan result."""
    photos = videos = frames = 0
    for media in result.iter_media():
        if media.kind == "video":
            videos += 1
        else:
            photos += 1
        frames += len(media.frames)
    return photos, videos, frames


def timed_scan(folder: Path, settings: Settings, cache_path: Path) -> dict:
    """One `pipeline.scan` of a folder into the given cache: wall time, counts, rates and the
    pipeline's own stats; summed RSS of the process tree sampled while it runs."""
    from galprof.pipeline import scan

    cpu_before = _cpu_seconds()
    with TreeMemorySampler() as memory:
        start = time.perf_counter()
        result = scan(folder, settings, cache_path=cache_path, quiet=True)
        wall = time.perf_counter() - start
    cpu = _cpu_seconds() - cpu_before
    try:
        photos, videos, frames = _count_media(result)
    finally:
        result.store.close()
    files = photos + videos
    stats = dict(result.stats)
    parts = stats.get("seconds", {})
    analyzed = stats.get("analyzed", files)
    new_frames = stats.get("frames", frames)
    return {
        "wall_s": round(wall, 3),
        "files": files,
        "photos": photos,
        "videos": videos,
        "frames": frames,
        "analyzed": analyzed,
        "cached": stats.get("cached"),
        "errors": len(result.errors),
        "files_per_s": round(files / wall, 2) if wall else None,
        "photos_per_s": round(photos / wall, 2) if wall and not videos else None,
        "frames_per_s": round(frames / wall, 2) if wall else None,
        # CPU time of this process and its (finished) workers: on a shared machine the wall time
        # depends on the neighbours, the CPU time much less; cores / CPU per file is the rate on idle cores
        "cpu_s": round(cpu, 3),
        "cpu_ms_per_file": round(1000 * cpu / files, 1) if files else None,
        "idle_cores_files_per_s": round(usable_cores() * files / cpu, 2) if cpu > 0 and files else None,
        # where the workers spent their time, per analysed file / frame (worker wall time, summed)
        "decode_ms_per_file": round(1000 * parts["decode_cpu"] / analyzed, 1)
        if analyzed and "decode_cpu" in parts else None,
        "exif_ms_per_file": round(1000 * parts["exif_cpu"] / analyzed, 1)
        if analyzed and "exif_cpu" in parts else None,
        "analyze_ms_per_frame": round(1000 * parts["analyze_cpu"] / new_frames, 1)
        if new_frames and "analyze_cpu" in parts else None,
        "tree_peak_rss_mb": memory.peak_mb,
        "rss_before_mb": round(memory.baseline_kb / 1024, 1),
        "signature": result.signature,
        "pipeline_stats": _jsonable(stats),
    }


def bench_scan(folder: Path, settings: Settings, work: Path, progress: Progress, startup: bool = True) -> dict:
    """First scan of a folder into a fresh cache, then a re-scan of the unchanged folder.

    With `startup`, a scan of a folder of one small photo per worker first measures the fixed cost of a
    scan (worker start-up, model loading), so that the steady rate of a large gallery can be told from
    it: steady seconds per file = (first scan - start-up scan) / (files - start-up files)."""
    cache = work / "bench-cache.sqlite"
    for leftover in work.glob("bench-cache.sqlite*"):
        leftover.unlink()
    result: dict = {"folder": str(folder), "workers": settings.resolved_workers(),
                    "threads_per_worker": settings.resolved_threads()}
    photos, _ = list_media(folder)
    if startup and photos:
        # one small photo per worker, so that the start-up scan starts the same pool the real one does
        few = work / "startup"
        shutil.rmtree(few, ignore_errors=True)
        few.mkdir(parents=True)
        smallest = min(photos, key=lambda p: p.stat().st_size)
        for i in range(settings.resolved_workers()):
            shutil.copy2(smallest, few / f"{i}-{smallest.name}")
        progress("start-up cost: a scan of one small photo per worker")
        result["startup"] = timed_scan(few, settings, work / "startup.sqlite")
    progress(f"scan {folder} (first, {settings.resolved_workers()} worker(s) x "
             f"{settings.resolved_threads()} thread(s))")
    first = timed_scan(folder, settings, cache)
    progress("re-scan of the unchanged folder")
    again = timed_scan(folder, settings, cache)
    result.update(first=first, rescan=again,
                  first_over_rescan=round(first["wall_s"] / again["wall_s"], 1) if again["wall_s"] else None)
    if first["signature"] != again["signature"]:
        # the cache is keyed by the model files and settings: a model rebuilt during the first scan
        # makes the re-scan analyse everything again, which is right, but is not a re-scan figure
        result["rescan_note"] = "models or settings changed between the two scans: the re-scan re-analysed"
    if "startup" in result and first["files"] > result["startup"]["files"]:
        extra_files = first["files"] - result["startup"]["files"]
        steady = max(first["wall_s"] - result["startup"]["wall_s"], 1e-6) / extra_files
        result["steady_files_per_s"] = round(1 / steady, 2)
        steady_cpu = max(first["cpu_s"] - result["startup"]["cpu_s"], 1e-6) / extra_files
        result["steady_cpu_ms_per_file"] = round(1000 * steady_cpu, 1)
        result["steady_idle_cores_files_per_s"] = round(usable_cores() / steady_cpu, 2)
    return result


def estimate(n_photos: int, scan: dict | None, stage_ms: float | None, workers: int) -> dict:
    """Time for a gallery of n photos: from the measured scan when there is one (start-up cost plus the
    steady per-file rate), else from the per-frame analysis latency spread over the workers (decode and
    I/O not included then)."""
    if scan and scan.get("first", {}).get("files") and scan["first"]["wall_s"]:
        first = scan["first"]
        per_rescan = scan["rescan"]["wall_s"] / max(1, scan["rescan"]["files"])
        if scan.get("steady_files_per_s"):
            seconds = scan["startup"]["wall_s"] + n_photos / scan["steady_files_per_s"]
            basis = "measured scan: start-up + steady files/s"
        else:
            seconds = n_photos * first["wall_s"] / first["files"]
            basis = "measured scan: files/s"
        out = {"photos": n_photos, "basis": basis, "seconds": round(seconds, 0),
               "hours": round(seconds / 3600, 2), "rescan_seconds": round(n_photos * per_rescan, 1)}
        if scan.get("steady_idle_cores_files_per_s"):
            # the same from CPU time: what the gallery takes when nothing else runs on the machine
            idle = scan["startup"]["wall_s"] + n_photos / scan["steady_idle_cores_files_per_s"]
            out["idle_cores_seconds"] = round(idle, 0)
        return out
    if stage_ms:
        seconds = n_photos * stage_ms / 1000 / max(1, workers)
        return {"photos": n_photos, "basis": "frame analyzer latency / workers (no decode, no I/O)",
                "seconds": round(seconds, 0), "hours": round(seconds / 3600, 2)}
    return {"photos": n_photos, "skipped": "neither a scan nor a stage was measured"}


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, float):
        return round(value, 4)
    if value is None or isinstance(value, (str, int, bool)):
        return value
    return str(value)


# -------------------------------------------------------------------------------------------------- run


def run_bench(options: BenchOptions, progress: Progress | None = None) -> dict:
    """Run every part of the benchmark and return the JSON-ready report."""
    progress = progress or (lambda message: None)
    report: dict = {"schema": SCHEMA, "hardware": hardware_info(), "versions": library_versions(),
                    "settings": options.settings.to_dict()}
    own_tmp = None
    if options.work_dir is None:
        own_tmp = tempfile.TemporaryDirectory(prefix="galprof-bench-")
        work = Path(own_tmp.name)
    else:
        work = options.work_dir
        work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        if options.folder is None:
            progress("building the sample set (sample gallery + synthetic 12 MP JPEGs)")
            folder = build_default_set(work / "gallery", options.synthetic)
            source = "built-in: galprof.samples + synthetic 12 MP JPEGs"
        else:
            folder = options.folder
            source = "user folder"
        photos, videos = list_media(folder)
        report["input"] = {"folder": str(folder), "source": source, "photos": len(photos), "videos": len(videos),
                           "bytes": sum(p.stat().st_size for p in photos + videos)}
        report["decode"] = bench_decode(_spread(photos, options.decode_photos), options.settings.max_side,
                                        max(1, options.repeats // 4))
        # the scan runs before this process loads any model, so its memory figures are a real scan's
        report["scan"] = _guard(lambda: bench_scan(folder, options.settings, work, progress), options.scan)
        threads = options.threads or thread_counts()
        report["threads"] = threads
        report["models"] = _guard(lambda: bench_models(threads, options.repeats, options.warmup, progress),
                                  options.models)
        report["stages"] = _guard(lambda: bench_stages(_spread(photos, options.stage_photos), options.settings,
                                                       options.repeats, progress), options.stages)
        scan = report["scan"] if "first" in report["scan"] else None
        analyzer_ms = None
        for row in report["stages"].get("stages", []):
            if row.get("stage") == "frame analyzer" and "median_ms" in row:
                analyzer_ms = row["median_ms"]
        report["estimate"] = estimate(options.estimate, scan, analyzer_ms, options.settings.resolved_workers())
    finally:
        report["memory"] = peak_rss()
        report["memory"]["tree_peak_mb"] = max(
            [report.get("scan", {}).get(k, {}).get("tree_peak_rss_mb", 0) for k in ("first", "rescan")] + [0])
        report["bench_seconds"] = round(time.perf_counter() - started, 1)
        if own_tmp is not None:
            own_tmp.cleanup()
    return report


def _guard(fn: Callable[[], dict], enabled: bool) -> dict:
    """Run one part; a part that cannot run here (a module or model missing, the scan refusing to
    start) is reported as skipped with the reason, so the other parts still give their figures."""
    if not enabled:
        return {"skipped": "disabled by option"}
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - one part failing must not lose the others' figures
        return {"skipped": f"{type(exc).__name__}: {exc}"}


# ------------------------------------------------------------------------------------------------ table


def _table(title: str, columns: Iterable[str], left: Collection[str]):
    """A rich table with these columns: text columns (`left`) left-aligned, figures right-aligned."""
    from rich.table import Table

    table = Table(title=title)
    for col in columns:
        table.add_column(col, justify="left" if col in left else "right")
    return table


def render_tables(report: dict, console) -> None:
    """The report as rich tables on the given console."""
    hw, versions = report["hardware"], report["versions"]
    console.print(f"[bold]galprof bench[/] on {hw['cpu']} ({hw['arch']}, {hw['usable_cores']} cores, "
                  f"{hw.get('memory_mb') or '?'} MB), Python {hw['python']}, onnxruntime "
                  f"{versions.get('onnxruntime')}, took {report.get('bench_seconds')} s")
    inp = report.get("input", {})
    if inp:
        console.print(f"input: {inp['folder']} ({inp['source']}): {inp['photos']} photos, {inp['videos']} "
                      f"videos, {inp['bytes'] / 1e6:.1f} MB")

    models = report.get("models", {})
    if models.get("models"):
        threads = report.get("threads", [])
        table = _table("model latency, bare session (ms: median / p90)",
                       ["model", "precision", "MB", *[f"{n} thr" for n in threads]], ("model", "precision"))
        for row in models["models"]:
            cells = []
            for n in threads:
                stats = row["threads"].get(str(n))
                cells.append(f"{stats['median_ms']:.1f} / {stats['p90_ms']:.1f}" if stats else "-")
            table.add_row(row["name"], row["precision"], f"{row['mb']:.1f}", *cells)
        console.print(table)
        if models.get("precision_ratios"):
            console.print("fp32 / int8 (bare): " + ", ".join(
                f"{r['model']} {r['fp32_over_int8']}x @{r['threads']}t" for r in models["precision_ratios"]))
    elif models.get("skipped"):
        console.print(f"models: skipped ({models['skipped']})")

    stages = report.get("stages", {})
    if stages.get("stages"):
        table = _table(f"stage latency per frame, with pre/post-processing ({stages['threads']} thread(s))",
                       ("stage", "load ms", "median ms", "p90 ms", "note"), ("stage", "note"))
        for row in stages["stages"]:
            if "median_ms" in row:
                table.add_row(row["stage"], f"{row['load_ms']:.0f}", f"{row['median_ms']:.1f}",
                              f"{row['p90_ms']:.1f}", "")
            else:
                table.add_row(row["stage"], "-", "-", "-", row.get("skipped", "")[:60])
        console.print(table)
        if stages.get("precision_ratios"):
            console.print("fp32 / int8 (stage): " + ", ".join(
                f"{r['stage']} {r['fp32_over_int8']}x" for r in stages["precision_ratios"]))
    elif stages.get("skipped"):
        console.print(f"stages: skipped ({stages['skipped']})")

    decode = report.get("decode", {})
    if decode.get("by_size"):
        table = _table(f"decode per photo (ms, median), draft = JPEG DCT scaling to {decode['max_side']} px",
                       ("size", "photos", "MP", "formats", "full", "draft", "full/draft", "draft to 3/4", "galprof"),
                       ("size", "formats"))
        for row in decode["by_size"]:
            table.add_row(row["size"], str(row["photos"]), f"{row['median_megapixels']:.1f}",
                          ",".join(row["formats"]), f"{row['full_ms']:.1f}", f"{row['draft_ms']:.1f}",
                          f"{row['full_over_draft']}", f"{row['draft_3_4_ms']:.1f}",
                          f"{row['galprof_ms']:.1f}" if row["galprof_ms"] else "-")
        console.print(table)

    scan = report.get("scan", {})
    if "first" in scan:
        table = _table(f"end to end: pipeline.scan ({scan['workers']} worker(s) x "
                       f"{scan['threads_per_worker']} thread(s))",
                       ("run", "wall s", "files", "cached", "frames", "files/s", "photos/s", "frames/s",
                        "CPU ms/file", "files/s idle cores", "decode ms/file", "analyze ms/frame", "errors",
                        "RSS MB"), ("run",))

        def cell(value: object) -> str:
            return "-" if value is None else str(value)

        for name in ("first", "rescan"):
            s = scan[name]
            table.add_row(name, f"{s['wall_s']:.2f}", str(s["files"]), cell(s["cached"]), str(s["frames"]),
                          cell(s["files_per_s"]), cell(s["photos_per_s"]), cell(s["frames_per_s"]),
                          cell(s["cpu_ms_per_file"]), cell(s["idle_cores_files_per_s"]),
                          cell(s["decode_ms_per_file"]), cell(s["analyze_ms_per_frame"]), str(s["errors"]),
                          f"{s['tree_peak_rss_mb']:.0f}")
        console.print(table)
        line = f"first scan / re-scan: {scan['first_over_rescan']}x"
        if "steady_files_per_s" in scan:
            line += (f"; start-up (one small photo per worker) {scan['startup']['wall_s']:.2f} s; steady "
                     f"{scan['steady_files_per_s']} files/s measured, {scan['steady_cpu_ms_per_file']} CPU ms "
                     f"per file = {scan['steady_idle_cores_files_per_s']} files/s on idle cores")
        console.print(line)
        if "rescan_note" in scan:
            console.print(f"[yellow]{scan['rescan_note']}[/]")
    elif scan.get("skipped"):
        console.print(f"scan: skipped ({scan['skipped']})")

    est = report.get("estimate", {})
    if "seconds" in est:
        extra = f", re-scan {est['rescan_seconds']:.0f} s" if "rescan_seconds" in est else ""
        if "idle_cores_seconds" in est:
            extra += f"; {est['idle_cores_seconds'] / 60:.0f} min on idle cores (from CPU time)"
        console.print(f"estimate for {est['photos']} photos: {est['seconds'] / 60:.0f} min ({est['hours']} h){extra}"
                      f" [{est['basis']}]")
    mem = report.get("memory", {})
    console.print(f"peak RSS: this process {mem.get('self_mb')} MB, largest worker {mem.get('largest_child_mb')} MB, "
                  f"whole tree during scan {mem.get('tree_peak_mb')} MB")
