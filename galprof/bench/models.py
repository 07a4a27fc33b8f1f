"""Bare-session latency of every ONNX model in the manifest, per thread count, and fp32 / int8 ratios."""

from __future__ import annotations

import time

import numpy as np

from galprof.bench.timing import Progress, summarize


def input_tensor(session, spec: dict, rng: np.random.Generator) -> np.ndarray:
    """A random input of the session's declared shape and type (latency does not depend on content);
    a free dimension takes the manifest's size (the size the model was trained on), else 1 or 224."""
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


def _manifest_rows() -> tuple[list[dict], list[tuple]]:
    """A report row per manifest model, and the (entry, row) pairs whose file is present."""
    from galprof.vision.registry import load_manifest

    rows, present = [], []
    for entry in load_manifest().values():
        row: dict = {"name": entry.name, "role": entry.role, "precision": entry.precision,
                     "file": entry.file, "mb": round(entry.bytes / 1e6, 2), "threads": {}}
        rows.append(row)
        if entry.path().is_file():
            present.append((entry, row))
        else:
            row["skipped"] = f"missing file {entry.path()}"
    return rows, present


def bench_models(threads: list[int], repeats: int, warmup: int, progress: Progress) -> dict:
    """Bare-session latency of every manifest model per thread count, and fp32 / int8 ratios.

    For each thread count all sessions are open together and timed in interleaved rounds (one run of
    each model per round), so a neighbour's burst of load hits every model alike and the ratios hold."""
    from galprof.vision.onnx_model import OnnxModel

    rng = np.random.default_rng(0)
    rows, present = _manifest_rows()
    for n in threads:
        progress(f"{len(present)} models, {n} thread(s)")
        runs = []
        for entry, row in present:
            start = time.perf_counter()
            model = OnnxModel(entry.path(), threads=n)
            load_ms = (time.perf_counter() - start) * 1000
            tensor = input_tensor(model.session, entry.input, rng)
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
