"""Whole-photo classification and embedding: EfficientNet-Lite (ImageNet-1k) or a user's own model.

The packaged models (tier "lite0", fast; "lite2", accurate) have two outputs: the softmax over
the 1000 ImageNet classes and the 1280-d pooled feature vector, which serves as a photo
embedding. A user may pass any image classifier ONNX (e.g. a Places365 scene model) with its
labels file: the input size and layout (NCHW or NHWC) are read from the session, the
normalisation is given to the constructor, and the labels count must match the class output.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from galprof.facts import ClassScore
from galprof.vision.frame_image import FrameImage, check_rgb, frame_size
from galprof.vision.model_base import ManifestModel, OpenedModel, open_manifest_model, open_model_file
from galprof.vision.onnx_model import read_labels

TIERS = ("lite0", "lite2")


def _per_channel(value: float | Sequence[float], name: str) -> np.ndarray:
    array = np.asarray(value, dtype=np.float32).reshape(-1)
    if array.size == 1:
        array = np.repeat(array, 3)
    if array.size != 3:
        raise ValueError(f"{name} must be one number or three (one per channel), got {value!r}")
    return array


class PhotoClassifier(ManifestModel):
    """Classifies a photo and returns its embedding.

    tier: "lite0" (default) or "lite2" picks the packaged model; precision "int8" or "fp32"
    (lite2 ships only as int8). model_path + labels_path replace the packaged model; then
    mean/std (in the model's channel order, on 0-255 pixel values), color ("RGB"/"BGR"),
    crop_fraction (centre crop of the shorter side before resizing; 1.0 = whole photo, squashed)
    and apply_softmax (None: detect whether the output already is a probability vector)
    describe the model. For the packaged models they come from the manifest. opened: a model
    already opened (`PhotoClassifier.from_manifest("efficientnet_lite2", "int8")`).
    """

    def __init__(self, threads: int = 1, tier: str = "lite0", model_path: str | Path | None = None,
                 labels_path: str | Path | None = None, precision: str = "int8",
                 mean: float | Sequence[float] = 127.0, std: float | Sequence[float] = 128.0,
                 color: str = "RGB", crop_fraction: float = 0.875, apply_softmax: bool | None = None,
                 opened: OpenedModel | None = None):
        if precision not in ("int8", "fp32"):
            raise ValueError(f"precision must be 'int8' or 'fp32', not {precision!r}")
        if opened is None and model_path is None:
            if tier not in TIERS:
                raise ValueError(f"tier must be one of {', '.join(TIERS)}, not {tier!r}")
            try:
                opened = open_manifest_model(f"efficientnet_{tier}", precision, threads)
            except ValueError as error:
                raise ValueError(f"no packaged {precision} model for tier {tier!r} ({error})") from None
        self._adopt(opened if opened is not None else open_model_file(model_path, threads))
        entry = self.entry
        if entry is not None:
            labels_path = labels_path or entry.labels_path()
            normalize = entry.input.get("normalize", {})
            mean, std = normalize.get("mean", mean), normalize.get("std", std)
            color = entry.input.get("color", color)
            crop_fraction = float(entry.extra.get("crop_fraction", crop_fraction))
            apply_softmax = False
        if labels_path is None:
            raise ValueError("a custom classifier model needs its labels file (labels_path)")
        if color.upper() not in ("RGB", "BGR"):
            raise ValueError(f"color must be 'RGB' or 'BGR', not {color!r}")
        if not 0.0 < crop_fraction <= 1.0:
            raise ValueError(f"crop_fraction must be in (0, 1], not {crop_fraction}")
        self.labels = read_labels(labels_path)
        self.mean = _per_channel(mean, "mean")
        self.std = _per_channel(std, "std")
        self.bgr = color.upper() == "BGR"
        self.crop_fraction = crop_fraction
        self.apply_softmax = apply_softmax
        self.layout, self.height, self.width = self._input_geometry()
        self.class_output, self.embedding_output = self._find_outputs(Path(labels_path))

    def _input_geometry(self) -> tuple[str, int, int]:
        """Layout and size from the session's input shape ([1,3,H,W] or [1,H,W,3])."""
        shape = self.model.input_shape
        if len(shape) != 4:
            raise ValueError(f"{self.model.path}: expected a 4-d image input, got shape {shape}")
        if shape[1] == 3:
            layout, h, w = "NCHW", shape[2], shape[3]
        elif shape[3] == 3:
            layout, h, w = "NHWC", shape[1], shape[2]
        else:
            raise ValueError(f"{self.model.path}: cannot tell the channel axis of input shape {shape}")
        if not isinstance(h, int) or not isinstance(w, int) or h <= 0 or w <= 0:
            raise ValueError(f"{self.model.path}: the input size must be fixed in the model, got {shape}")
        return layout, h, w

    def _find_outputs(self, labels_path: Path) -> tuple[int, int | None]:
        """The output with one value per label is the class output; another 2-d output of a
        different width (if any) is the embedding."""
        outputs = self.model.session.get_outputs()
        n = len(self.labels)
        class_index = next((i for i, o in enumerate(outputs) if o.shape and o.shape[-1] == n), None)
        if class_index is None:
            sizes = ", ".join(f"{o.name} {o.shape}" for o in outputs)
            raise ValueError(f"labels file {labels_path} has {n} labels but no output of {self.model.path} "
                             f"has {n} values (outputs: {sizes})")
        embedding_index = next((i for i, o in enumerate(outputs)
                                if i != class_index and len(o.shape) == 2 and o.shape[-1] != n), None)
        return class_index, embedding_index

    def preprocess(self, rgb: np.ndarray | FrameImage) -> np.ndarray:
        """Centre crop, resize to the model's input, normalise, lay out as the model wants.

        The crop and resize stay in uint8 (from the analyzer's FrameImage, the crop is cut from its
        Pillow image: the same pixels without a copy to and from an array); the float work is one
        subtraction that writes the channels in the model's order and layout straight into the tensor,
        then one in-place multiplication."""
        check_rgb(rgb)
        w, h = frame_size(rgb)
        side = max(1, round(min(h, w) * self.crop_fraction))
        y, x = (h - side) // 2, (w - side) // 2
        crop = self.crop_fraction < 1.0
        if isinstance(rgb, FrameImage):
            image = rgb.image.crop((x, y, x + side, y + side)) if crop else rgb.image
        else:
            image = Image.fromarray(np.ascontiguousarray((rgb[y:y + side, x:x + side] if crop else rgb)[..., :3]))
        pixels = np.asarray(image.resize((self.width, self.height), Image.BILINEAR))
        if self.bgr:
            pixels = pixels[..., ::-1]
        inv_std = (1.0 / self.std).astype(np.float32)
        if self.layout == "NCHW":
            tensor = np.empty((1, 3, self.height, self.width), dtype=np.float32)
            np.subtract(pixels.transpose(2, 0, 1), self.mean.reshape(3, 1, 1), out=tensor[0])
            tensor *= inv_std.reshape(1, 3, 1, 1)
        else:
            tensor = np.empty((1, self.height, self.width, 3), dtype=np.float32)
            np.subtract(pixels, self.mean, out=tensor[0])
            tensor *= inv_std
        return tensor

    def _run(self, rgb: np.ndarray | FrameImage) -> tuple[np.ndarray, np.ndarray | None]:
        outputs = self.model.run(self.preprocess(rgb))
        values = outputs[self.class_output].reshape(-1).astype(np.float32)
        softmax = self.apply_softmax
        if softmax is None:  # a user model: probabilities already, or logits?
            softmax = not (values.min() >= 0.0 and abs(float(values.sum()) - 1.0) < 1e-3)
        if softmax:
            values = np.exp(values - values.max())
            values /= values.sum()
        embedding = None
        if self.embedding_output is not None:
            embedding = outputs[self.embedding_output].reshape(-1).astype(np.float32)
        return values, embedding

    def scores(self, rgb: np.ndarray | FrameImage) -> np.ndarray:
        """The full probability vector (one value per label) for an RGB uint8 HxWx3 photo."""
        return self._run(rgb)[0]

    def classify(self, rgb: np.ndarray | FrameImage, top_k: int = 10) -> tuple[list[ClassScore], np.ndarray | None]:
        """Top-k classes, best first, and the photo embedding (None when the model has no
        embedding output, as with a user's single-output model)."""
        probabilities, embedding = self._run(rgb)
        top = np.argsort(-probabilities, kind="stable")[:top_k]
        return [ClassScore(label=self.labels[i], score=float(probabilities[i])) for i in top], embedding
