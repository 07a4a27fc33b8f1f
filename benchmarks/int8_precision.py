"""The int8 models on x86 without VNNI: onnxruntime's default U8S8 kernels against its exact U8U8 ones.

On x86 with AVX2 (or AVX-512 without VNNI) onnxruntime multiplies uint8 activations by int8 weights with
VPMADDUBSW, whose 16-bit sums saturate; `session.x64quantprecision=1` (what galprof sets) makes it use
U8U8 kernels that do not. ARM (NEON) kernels never saturate. On the ImageNet samples of ../shared/data
(one photo per third class; nothing here was tuned on them), for the int8 classifier with either
setting and the fp32 one: top-1/top-5 accuracy, top-1 agreement with fp32, the largest probability
difference to fp32; for NanoDet int8 the mean absolute difference of its raw outputs to fp32; and the
CPU ms per run of each:

    .venv/bin/python benchmarks/int8_precision.py [--data ../shared/data] [--limit N]
"""

from __future__ import annotations

import argparse
import json
import resource
from pathlib import Path

import numpy as np
import onnxruntime as ort

from galprof.media.decode import decode_image
from galprof.vision.classifier import PhotoClassifier
from galprof.vision.nanodet import ObjectDetector
from galprof.vision.registry import models_dir

VARIANTS = {"int8 default (U8S8)": ("{}.onnx", "0"), "int8 precise (U8U8)": ("{}.onnx", "1"),
            "fp32": ("{}_fp32.onnx", "0")}


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _session(path: Path, precise: str) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    options.log_severity_level = 3
    options.add_session_config_entry("session.x64quantprecision", precise)
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _outputs(model: str, tensors: list[np.ndarray]) -> dict[str, tuple[list[list[np.ndarray]], float]]:
    found = {}
    for variant, (pattern, precise) in VARIANTS.items():
        session = _session(models_dir() / pattern.format(model), precise)
        name = session.get_inputs()[0].name
        session.run(None, {name: tensors[0]})  # warm-up
        start = _cpu()
        outputs = [session.run(None, {name: t}) for t in tensors]
        found[variant] = (outputs, (_cpu() - start) / len(tensors) * 1000)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1] / "../shared/data")
    parser.add_argument("--limit", type=int, default=0, help="only the first N photos (0: all)")
    args = parser.parse_args()
    photos = sorted((args.data / "imagenet-samples").glob("*.JPEG"))[: args.limit or None]
    synsets = (models_dir() / "labels/imagenet1k_synsets.txt").read_text().split()
    truth = np.array([synsets.index(p.name.split("_")[0]) for p in photos])
    classifier, detector = PhotoClassifier(), ObjectDetector()
    frames = [decode_image(str(p)).rgb for p in photos]
    classes = _outputs("efficientnet_lite0", [classifier.preprocess(f) for f in frames])
    boxes = _outputs("nanodet", [detector.preprocess(f)[0] for f in frames])
    fp32 = np.stack([o[0].reshape(-1) for o in classes["fp32"][0]])
    report = {"photos": len(photos), "onnxruntime": ort.__version__, "classifier": {}, "nanodet": {}}
    for variant, (outputs, ms) in classes.items():
        probs = np.stack([o[0].reshape(-1) for o in outputs])
        top5 = np.argsort(-probs, axis=1)[:, :5]
        report["classifier"][variant] = {
            "top1": round(float((top5[:, 0] == truth).mean()), 3),
            "top5": round(float((top5 == truth[:, None]).any(axis=1).mean()), 3),
            "top1_as_fp32": round(float((top5[:, 0] == fp32.argmax(axis=1)).mean()), 3),
            "max_prob_diff_to_fp32": round(float(np.abs(probs - fp32).max()), 3),
            "cpu_ms": round(ms, 2)}
    for variant, (outputs, ms) in boxes.items():
        gaps = [np.abs(a - b).mean() for run, ref in zip(outputs, boxes["fp32"][0]) for a, b in zip(run, ref)]
        report["nanodet"][variant] = {"mean_abs_diff_to_fp32": round(float(np.mean(gaps)), 4),
                                      "cpu_ms": round(ms, 2)}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
