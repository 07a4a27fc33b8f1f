"""`galprof bench`: where the time goes on this machine, and how long a whole gallery will take.

Measures, in one run (the machine may be shared and noisy, so ratios come from the same run):
- per-model latency of every ONNX model in the manifest (bare session, median and p90, per thread count),
  and the fp32 / int8 ratio for models shipped in both precisions (`models`);
- per-stage latency of the model classes with their pre/post-processing (faces, objects, classifier,
  the whole FrameAnalyzer), so the gap between a stage and its bare model shows Python overhead (`stages`);
- decode time by photo size: galprof's own decoder against a full decode (`decode`);
- end-to-end photos/s and frames/s of a scan as the CLI runs it (pipeline.scan, then the profile and its
  JSON text) into a temporary cache, then the re-scan of the unchanged folder (`scan`);
- peak resident memory of this process and its workers (`memory`), and an estimate for N photos;
- the floor: draft 1/8 decode + bare 1-thread runs of the models a photo needs, against the scan (`floor`);
- the machine and library versions (`probe`).

The default input is the sample gallery (`galprof.samples`) plus synthetic 12 MP JPEGs made at run time
(`inputs`). Parts whose modules are missing are reported as skipped with the reason, never faked.
`run` runs the parts in order; the tables are galprof.render.bench_tables.
"""

from galprof.bench.decode import SIZE_CLASSES, bench_decode, decode_full, scan_frame, size_class
from galprof.bench.floor import FLOOR_MODELS, bench_floor, compare_to_scan, draft_eighth
from galprof.bench.growth import estimate
from galprof.bench.inputs import (
    PHOTO_SUFFIXES,
    SYNTHETIC_SIZE,
    VIDEO_SUFFIXES,
    build_default_set,
    list_media,
    make_synthetic_jpegs,
    spread,
)
from galprof.bench.memory import TreeMemorySampler, cpu_seconds, peak_rss
from galprof.bench.models import bench_models, input_tensor, precision_key, precision_ratios
from galprof.bench.probe import LIBRARIES, hardware_info, library_versions, thread_counts, usable_cores
from galprof.bench.run import SCHEMA, BenchOptions, run_bench
from galprof.bench.scan import bench_scan, profile_step, timed_scan
from galprof.bench.stages import bench_stages
from galprof.bench.timing import Progress, summarize, time_calls
from galprof.render.bench_tables import render_tables

__all__ = [
    "FLOOR_MODELS", "LIBRARIES", "PHOTO_SUFFIXES", "SCHEMA", "SIZE_CLASSES", "SYNTHETIC_SIZE", "VIDEO_SUFFIXES", "BenchOptions",
    "Progress", "TreeMemorySampler", "bench_decode", "bench_floor", "bench_models", "bench_scan", "bench_stages",
    "build_default_set", "compare_to_scan", "cpu_seconds", "decode_full", "draft_eighth", "estimate", "hardware_info", "input_tensor",
    "library_versions", "list_media", "make_synthetic_jpegs", "peak_rss", "precision_key", "precision_ratios",
    "profile_step", "render_tables", "run_bench", "scan_frame", "size_class", "spread", "summarize",
    "thread_counts", "time_calls", "timed_scan", "usable_cores",
]
