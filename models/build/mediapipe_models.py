"""Build MediaPipe's face mesh, iris and selfie-segmentation models as ONNX.

The TFLite files ship inside the PyPI wheel `mediapipe==0.10.21` (Apache-2.0) under
`mediapipe/modules/`; the wheel is only unpacked here, never installed, and is no runtime dependency.
Each file is converted with tf2onnx like the BlazeFace detectors (models/build/blazeface.py), its
generated names made positional so rebuilds are byte-identical, and checked against the TFLite
interpreter on a real photo (a face crop from the scikit-image wheel's astronaut), output by output.
All stay fp32: they are 0.25-6.4 MB and run in a few milliseconds on the crops galprof gives them.

Input ranges and output meanings are MediaPipe's (the ImageToTensor and TensorsTo* calculator options
of the graphs in mediapipe/modules/*/_cpu.pbtxt), recorded in the manifest so the runtime reads them
from there.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from blazeface import _canonicalize, _restore_numpy_aliases, tflite_and_onnx_outputs
from common import MODELS, pip_package, register, sha256

PACKAGE = ("mediapipe", "0.10.21")
OPSET = 17  # HardSwish (selfie segmentation) needs opset 14 or later
UNIT_RANGE = "x / 255 (range [0, 1])"

VARIANTS = {
    "face_landmark": {
        "path": "mediapipe/modules/face_landmark/face_landmark.tflite", "size": 192,
        "role": "face landmarks",
        "crop": "the face's square box scaled 1.5 around its centre, rotated so the eyes are level",
        "outputs": {
            "landmarks": "(1, 1, 1, 1404): 468 points x (x, y, z) in input pixels (z relative, same scale "
                         "as x); MediaPipe's canonical face mesh order (33 / 263: outer eye corners)",
            "face_flag": "(1, 1, 1, 1): face presence logit (sigmoid gives P(face))",
        },
        "note": "MediaPipe Face Mesh (468 points); for face alignment and false-face rejection",
    },
    "iris_landmark": {
        "path": "mediapipe/modules/iris_landmark/iris_landmark.tflite", "size": 64,
        "role": "iris landmarks",
        "crop": "a square around one eye, 2.3 x the eye's corner-to-corner width, eyes level; the eye "
                "on the image's right (the subject's left eye) is mirrored first, as MediaPipe's iris graph does",
        "outputs": {
            "eye_contours": "(1, 213): 71 eye-contour and brow points x (x, y, z) in input pixels",
            "iris": "(1, 15): 5 iris points x (x, y, z) in input pixels: centre, then 4 on the iris edge",
        },
        "note": "MediaPipe Iris; the iris's horizontal diameter (~11.7 mm in adults) gives camera distance",
    },
    "selfie_segmentation": {
        "path": "mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite", "size": 256,
        "role": "person segmentation",
        "crop": "the whole frame resized (stretched) to 256 x 256",
        "outputs": {"mask": "(1, 256, 256, 1): P(person) per pixel, already a sigmoid"},
        "note": "MediaPipe Selfie Segmentation (general model, square input)",
    },
}


def _convert_tflite(source: Path, dest: Path) -> None:
    _restore_numpy_aliases()
    import tf2onnx

    tf2onnx.convert.from_tflite(str(source), opset=OPSET, output_path=str(dest))


def _transpose_conv_strides(source: Path) -> dict[str, int]:
    """Output name -> stride of each Convolution2DTransposeBias in the TFLite file (from its tensors'
    shapes: the op's options are not in a form tf2onnx reads)."""
    import tensorflow as tf

    interpreter = tf.lite.Interpreter(model_path=str(source))
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    strides = {}
    for op in interpreter._get_ops_details():
        if op["op_name"] == "Convolution2DTransposeBias":
            data, out = tensors[op["inputs"][0]], tensors[op["outputs"][0]]
            strides[out["name"]] = int(out["shape"][1] // data["shape"][1])
    return strides


def _replace_transpose_conv_bias(path: Path, strides: dict[str, int]) -> int:
    """Rewrite MediaPipe's custom TFLite op Convolution2DTransposeBias (which tf2onnx leaves as an
    unknown node) as Transpose -> ConvTranspose -> Transpose; returns how many were replaced.

    The op is a transposed convolution plus bias on NHWC tensors, weights [out, kh, kw, in]; in the
    selfie segmentation model it is the last 2 x 2, stride 2 upsampling to 256 px. Its stride is not in
    the file in a form tf2onnx reads, so it is taken from the input and output shapes.
    """
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    replaced = 0
    for index, node in enumerate(list(graph.node)):
        if node.op_type != "TFL_Convolution2DTransposeBias":
            continue
        data, weight_name, bias_name = node.input
        weights = numpy_helper.to_array(inits[weight_name])  # (out, kh, kw, in)
        stride = strides[node.output[0]]
        w_name, nchw, out_nchw = f"{node.name}_w", f"{node.name}_nchw", f"{node.name}_out_nchw"
        graph.initializer.append(numpy_helper.from_array(weights.transpose(3, 0, 1, 2).copy(), w_name))
        new_nodes = [
            helper.make_node("Transpose", [data], [nchw], perm=[0, 3, 1, 2]),
            helper.make_node("ConvTranspose", [nchw, w_name, bias_name], [out_nchw],
                             kernel_shape=list(weights.shape[1:3]), strides=[stride, stride]),
            helper.make_node("Transpose", [out_nchw], list(node.output), perm=[0, 2, 3, 1]),
        ]
        graph.node.remove(node)
        for offset, new in enumerate(new_nodes):
            graph.node.insert(index + offset, new)
        replaced += 1
    if replaced:
        onnx.checker.check_model(model)
        onnx.save(model, str(path))
    return replaced


def _real_input(size: int) -> np.ndarray:
    """The astronaut photo from scikit-image's wheel (also fetched from PyPI), face crop, as [0, 1]."""
    from PIL import Image

    wheel_dir = pip_package("scikit-image", "0.25.2")
    photo = next(wheel_dir.rglob("skimage/data/astronaut.png"))
    image = Image.open(photo).convert("RGB").crop((140, 20, 300, 180))  # her face, 160 px square
    return (np.asarray(image.resize((size, size), Image.BILINEAR), np.float32) / 255.0)[None]


def _compare(source: Path, dest: Path, x: np.ndarray) -> dict[str, tuple[float, float]]:
    """Per output: max abs difference between the TFLite original and the ONNX conversion on x, and
    that difference relative to the output's largest magnitude (logits here reach 1 500)."""
    expected, got = tflite_and_onnx_outputs(source, dest, x)
    diffs = {}
    for k, want in expected.items():
        diff = float(np.abs(want - got[k]).max())
        diffs[k] = (diff, diff / max(1.0, float(np.abs(want).max())))
    return diffs


def _rename_outputs(path: Path, names: list[str]) -> None:
    """Give the graph outputs meaningful names (in TFLite output order)."""
    import onnx

    model = onnx.load(str(path))
    renames = {o.name: new for o, new in zip(model.graph.output, names, strict=True)}
    for node in model.graph.node:
        node.output[:] = [renames.get(n, n) for n in node.output]
        node.input[:] = [renames.get(n, n) for n in node.input]
    for output in model.graph.output:
        output.name = renames[output.name]
    onnx.save(model, str(path))


def _output_order(source: Path) -> list[str]:
    import tensorflow as tf

    interpreter = tf.lite.Interpreter(model_path=str(source))
    return [d["name"] for d in interpreter.get_output_details()]


def build() -> None:
    package_dir = pip_package(*PACKAGE)
    for name, spec in VARIANTS.items():
        source = package_dir / spec["path"]
        dest = MODELS / f"{name}.onnx"
        tflite_names = _output_order(source)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / dest.name
            _convert_tflite(source, out)
            _replace_transpose_conv_bias(out, _transpose_conv_strides(source))
            _canonicalize(out)
            shutil.copyfile(out, dest)
        x = _real_input(spec["size"])
        diffs = _compare(source, dest, x)
        print(f"{name}: max abs difference ONNX vs TFLite on a real face crop "
              + ", ".join(f"{k} {v:.2e} (relative {r:.1e})" for k, (v, r) in diffs.items()))
        worst = max(r for _, r in diffs.values())
        if worst > 1e-3:
            raise RuntimeError(f"{name}: conversion differs from the TFLite model by {worst} (relative)")
        if len(tflite_names) != len(spec["outputs"]):
            raise RuntimeError(f"{name}: expected outputs {list(spec['outputs'])}, TFLite has {tflite_names}")
        _rename_outputs(dest, list(spec["outputs"]))
        register({
            "name": name,
            "role": spec["role"],
            "file": dest.name,
            "precision": "fp32",
            "precision_note": "kept fp32: small, and run only on a few crops per photo",
            "license": "Apache-2.0",
            "source": {"registry": "pypi", "package": PACKAGE[0], "version": PACKAGE[1],
                       "path": spec["path"], "sha256": sha256(source)},
            "input": {"name": "input_1", "shape": [1, spec["size"], spec["size"], 3], "layout": "NHWC",
                      "color": "RGB", "normalize": UNIT_RANGE, "crop": spec["crop"]},
            "labels": None,
            "outputs": spec["outputs"],
            "tflite_outputs": tflite_names,
            "check": {"max_abs_diff_vs_tflite": {k: float(f"{v:.3g}") for k, (v, _) in diffs.items()},
                      "relative_to_largest_output": {k: float(f"{r:.3g}") for k, (_, r) in diffs.items()},
                      "input": "astronaut.png face crop (scikit-image 0.25.2 wheel)"},
            "note": spec["note"],
            "deterministic": "plain conversion, no calibration; tensor names renamed by graph order",
        })


if __name__ == "__main__":
    build()
