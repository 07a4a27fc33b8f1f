"""The one place that opens ONNX Runtime sessions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort

# Belt and braces with ORT_DISABLE_TELEMETRY (set in galprof/__init__.py before this import): also
# switch off the event calls, for a process that imported onnxruntime before galprof.
ort.disable_telemetry_events()


def _share_one_arena() -> None:
    """Register one CPU arena for all the sessions of this process, grown by what a run asks for rather
    than by powers of two. The models run one after another, so their peaks need not add up: a worker
    holds ~20-35 MB less and runs ~3 % faster than with an arena per session (benchmarks/README.md)."""
    memory = ort.OrtMemoryInfo("Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0, ort.OrtMemType.DEFAULT)
    same_as_requested = 1
    ort.create_and_register_allocator(memory, ort.OrtArenaCfg(0, same_as_requested, -1, -1))


_share_one_arena()


class OnnxModel:
    """An ONNX Runtime session on the CPU with its input name and shape read from the model.

    Subclasses add their own preprocess/postprocess beside the session they feed.
    `threads` is onnxruntime's intra-op thread count; the scan sets it so that
    workers x threads = cores.
    """

    def __init__(self, path: str | Path, threads: int = 1):
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"model file not found: {self.path}")
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        # No memory pattern: with it a run takes one block sized for all its intermediates at once (and one
        # per input shape of the free-size sessions), which the shared arena then keeps; without it the
        # intermediates are allocated one by one and reused. A worker after 200 photos: 190 MB against
        # 248, the same CPU (benchmarks/README.md, "Worker memory, third pass").
        options.enable_mem_pattern = False
        # One arena for every session (see _share_one_arena), not one per session holding each peak
        options.add_session_config_entry("session.use_env_allocators", "1")
        # Idle worker threads would otherwise spin between runs, stealing CPU from the other workers.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # x86 without VNNI (AVX2): the default U8S8 int8 kernels saturate 16-bit sums and change answers
        # (ImageNet top-1 0.865 vs 0.889, benchmarks/int8_precision.py); exact U8U8 ones match ARM's
        options.add_session_config_entry("session.x64quantprecision", "1")
        self.session = ort.InferenceSession(
            str(self.path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        model_input = self.session.get_inputs()[0]
        self.input_name: str = model_input.name
        self.input_shape: list = list(model_input.shape)
        self.output_names: list[str] = [o.name for o in self.session.get_outputs()]

    def run(self, tensor: np.ndarray) -> list[np.ndarray]:
        return self.session.run(None, {self.input_name: tensor})

    def run_in_batches(self, tensor: np.ndarray, batch: int = 16) -> list[np.ndarray]:
        """`run` on at most `batch` rows at a time, each output joined along the first axis, so that the
        faces of a crowd do not grow the arena to one huge batch for the rest of the process."""
        if len(tensor) <= batch:
            return self.run(tensor)
        parts = [self.run(tensor[start:start + batch]) for start in range(0, len(tensor), batch)]
        return [np.concatenate(outputs) for outputs in zip(*parts, strict=True)]


def read_labels(path: str | Path) -> list[str]:
    """A labels file: one label per line, in output order."""
    return [line.strip() for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
