"""COCO-80 object detection with NanoDet (GFL head), letterboxed input, class-wise NMS.

The network sees a 416 x 416 BGR image normalised with NanoDet's own mean/std (not /255).
Three heads (strides 8, 16, 32) each give, per cell, 80 class scores (already sigmoid) and
4 x 11 distance bins: a softmax over the bins gives the expected distance (in cells) from the
cell centre to the left, top, right and bottom box sides (Generalized Focal Loss decoding).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from galprof.facts import Box, ObjectDetection
from galprof.vision.frame_image import FrameImage, check_rgb, frame_size
from galprof.vision.model_base import ManifestModel, OpenedModel, open_manifest_model, open_model_file
from galprof.vision.onnx_model import read_labels

DEFAULT_MEAN = (103.53, 116.28, 123.675)  # B, G, R
DEFAULT_STD = (57.375, 57.12, 58.395)
DEFAULT_STRIDES = (8, 16, 32)
DEFAULT_BINS = 11  # reg_max + 1
# Shrinking by 2x or more first averages whole 2x2 (3x3...) blocks (Image.reduce), then BILINEAR does
# the rest: a 1024 px frame costs ~5 ms instead of ~8 ms with BILINEAR alone, and on 205 phone, event,
# ImageNet and immich frames the detections with score >= 0.5 were 281 against 279 (int8) and 276
# against 273 (fp32). BOX alone was as fast but found 2.5 % fewer of them.
REDUCING_GAP = 1.0


def fit_size(rgb: np.ndarray | FrameImage, size: int) -> np.ndarray:
    """The RGB uint8 image resized (aspect kept) so its longer side is `size`: the part of the letterbox
    that holds the photo (an image already that size is returned as it is).

    BILINEAR, after an integer block-average when shrinking 2x or more (REDUCING_GAP); a FrameImage
    shares that block average with the face detector's fine pass."""
    w, h = frame_size(rgb)
    frame = rgb if isinstance(rgb, FrameImage) else None
    scale = size / max(h, w)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    if (nw, nh) == (w, h):
        return frame.array if frame is not None else rgb[..., :3]
    if frame is None:
        frame = FrameImage(rgb[..., :3])
    return np.asarray(frame.resize((nw, nh), Image.Resampling.BILINEAR, reducing_gap=REDUCING_GAP))


def letterbox(rgb: np.ndarray, size: int, fill: tuple[float, float, float]) -> tuple[np.ndarray, float, int, int]:
    """Resize keeping the aspect ratio so the longer side is `size`, centre it on a square canvas.

    Returns the float32 HxWx3 canvas, the scale (canvas px per image px) and the x/y offsets.
    """
    h, w = rgb.shape[:2]
    scale = size / max(h, w)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    resized = np.asarray(Image.fromarray(rgb).resize((nw, nh), Image.BILINEAR), dtype=np.float32)
    canvas = np.empty((size, size, 3), dtype=np.float32)
    canvas[:] = fill
    dx, dy = (size - nw) // 2, (size - nh) // 2
    canvas[dy:dy + nh, dx:dx + nw] = resized
    return canvas, scale, dx, dy


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy non-maximum suppression; returns kept indices, best score first."""
    order = np.argsort(-scores, kind="stable")
    areas = np.maximum(boxes[:, 2] - boxes[:, 0], 0) * np.maximum(boxes[:, 3] - boxes[:, 1], 0)
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        xx1 = np.maximum(boxes[i, 0], boxes[rest, 0])
        yy1 = np.maximum(boxes[i, 1], boxes[rest, 1])
        xx2 = np.minimum(boxes[i, 2], boxes[rest, 2])
        yy2 = np.minimum(boxes[i, 3], boxes[rest, 3])
        inter = np.maximum(xx2 - xx1, 0) * np.maximum(yy2 - yy1, 0)
        iou = inter / np.maximum(areas[i] + areas[rest] - inter, 1e-9)
        order = rest[iou <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def classwise_nms(boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray, iou_threshold: float) -> np.ndarray:
    """NMS within each class in one pass: boxes of different classes are shifted apart so they never
    overlap (the usual offset trick)."""
    if boxes.size == 0:
        return np.zeros(0, dtype=np.int64)
    offset = (boxes.max() + 1.0) * classes.astype(np.float32)
    return nms(boxes + offset[:, None], scores, iou_threshold)


class ObjectDetector(ManifestModel):
    """NanoDet COCO-80 detector. `detect(rgb)` returns objects in the input image's pixels.

    model_path/labels_path replace the packaged model (a NanoDet-style GFL export with the same
    head layout); precision picks the packaged int8 (default) or fp32 file; opened: a model already
    opened (`ObjectDetector.from_manifest("nanodet", "fp32")`).
    """

    def __init__(self, threads: int = 1, model_path: str | Path | None = None,
                 labels_path: str | Path | None = None, precision: str = "int8",
                 opened: OpenedModel | None = None):
        if precision not in ("int8", "fp32"):
            raise ValueError(f"precision must be 'int8' or 'fp32', not {precision!r}")
        if opened is None:
            opened = (open_model_file(model_path, threads) if model_path is not None
                      else open_manifest_model("nanodet", precision, threads))
        self._adopt(opened)
        extra: dict = {}
        if self.entry is not None:
            labels_path = labels_path or self.entry.labels_path()
            extra = {**self.entry.extra, **self.entry.input}
        if labels_path is None:
            raise ValueError("a custom NanoDet model needs its labels file (labels_path)")
        self.labels_path = Path(labels_path)
        self.labels = read_labels(labels_path)
        normalize = extra.get("normalize") if isinstance(extra.get("normalize"), dict) else {}
        self.mean = np.asarray(normalize.get("mean", DEFAULT_MEAN), dtype=np.float32)
        self.std = np.asarray(normalize.get("std", DEFAULT_STD), dtype=np.float32)
        self.strides = tuple(extra.get("strides", DEFAULT_STRIDES))
        self.bins = int(extra.get("reg_bins", DEFAULT_BINS))
        shape = self.model.input_shape
        self.size = shape[2] if isinstance(shape[2], int) else 416
        self.heads = self._match_heads()

    def _match_heads(self) -> list[tuple[int, int, int, int]]:
        """(stride, cells per side, class output index, box output index) per head, matched by
        output shape so the output names and order do not matter."""
        outputs = self.model.session.get_outputs()
        n_classes = len(self.labels)
        heads = []
        for stride in self.strides:
            side = int(np.ceil(self.size / stride))
            cls_index = box_index = None
            for i, out in enumerate(outputs):
                shape = out.shape
                if len(shape) == 3 and shape[1] == side * side:
                    if shape[2] == n_classes:
                        cls_index = i
                    elif shape[2] == 4 * self.bins:
                        box_index = i
            if cls_index is None or box_index is None:
                found = ", ".join(f"{o.name}{o.shape}" for o in outputs)
                raise ValueError(f"labels file {self.labels_path} has {n_classes} classes but "
                                 f"{self.model.path} has no stride-{stride} head with {n_classes} class "
                                 f"scores and {4 * self.bins} box bins per cell (outputs: {found})")
            heads.append((stride, side, cls_index, box_index))
        return heads

    def preprocess(self, rgb: np.ndarray | FrameImage) -> tuple[np.ndarray, float, int, int]:
        """RGB uint8 -> 1x3xSxS BGR tensor normalised with NanoDet's mean/std, plus letterbox geometry.

        The resize stays in uint8 (`fit_size`, Pillow); the float work is then one subtraction that
        reorders RGB HWC into BGR CHW straight into the tensor and one in-place multiplication, instead
        of converting, padding, flipping, normalising and transposing separate float copies. The pad is
        zero, i.e. the mean colour after normalisation. An image already at the letterbox size (see
        `fit_size`) is not resized again."""
        w, h = frame_size(rgb)
        scale = self.size / max(h, w)
        small = fit_size(rgb, self.size)
        nh, nw = small.shape[:2]
        dx, dy = (self.size - nw) // 2, (self.size - nh) // 2
        tensor = np.zeros((1, 3, self.size, self.size), dtype=np.float32)
        region = tensor[0, :, dy:dy + nh, dx:dx + nw]
        np.subtract(small[..., 2::-1].transpose(2, 0, 1), self.mean.reshape(3, 1, 1), out=region)
        region *= (1.0 / self.std).astype(np.float32).reshape(3, 1, 1)
        return tensor, scale, dx, dy

    def decode(self, outputs: list[np.ndarray], min_score: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """GFL decoding of all heads: boxes (N, 4) in network-input pixels, scores, class ids."""
        all_boxes, all_scores, all_classes = [], [], []
        for stride, side, cls_index, box_index in self.heads:
            scores = outputs[cls_index][0]
            best = scores.argmax(axis=1)
            best_score = scores[np.arange(scores.shape[0]), best]
            cells = np.nonzero(best_score >= min_score)[0]
            if cells.size == 0:
                continue
            logits = outputs[box_index][0][cells].reshape(-1, 4, self.bins)
            logits = logits - logits.max(axis=2, keepdims=True)
            probs = np.exp(logits)
            probs /= probs.sum(axis=2, keepdims=True)
            distances = (probs @ np.arange(self.bins, dtype=np.float32)) * stride
            cx = (cells % side + 0.5) * stride
            cy = (cells // side + 0.5) * stride
            boxes = np.stack([cx - distances[:, 0], cy - distances[:, 1],
                              cx + distances[:, 2], cy + distances[:, 3]], axis=1)
            all_boxes.append(boxes)
            all_scores.append(best_score[cells])
            all_classes.append(best[cells])
        if not all_boxes:
            return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64)
        return np.concatenate(all_boxes), np.concatenate(all_scores), np.concatenate(all_classes)

    def detect(self, rgb: np.ndarray | FrameImage, min_score: float = 0.3, iou_threshold: float = 0.5,
               max_detections: int = 100) -> list[ObjectDetection]:
        """Objects in an RGB uint8 HxWx3 image of any size (or the analyzer's FrameImage of it), best
        first, boxes in its pixels."""
        check_rgb(rgb)
        tensor, scale, dx, dy = self.preprocess(rgb)
        boxes, scores, classes = self.decode(self.model.run(tensor), min_score)
        keep = classwise_nms(boxes, scores, classes, iou_threshold)[:max_detections]
        w, h = frame_size(rgb)
        results = []
        for i in keep:
            x1, y1, x2, y2 = boxes[i]
            box = Box(float(np.clip((x1 - dx) / scale, 0, w)), float(np.clip((y1 - dy) / scale, 0, h)),
                      float(np.clip((x2 - dx) / scale, 0, w)), float(np.clip((y2 - dy) / scale, 0, h)))
            if box.width > 0 and box.height > 0:
                results.append(ObjectDetection(label=self.labels[int(classes[i])], score=float(scores[i]),
                                               box=box))
        return results
