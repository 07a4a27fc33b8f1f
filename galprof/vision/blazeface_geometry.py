"""BlazeFace's output geometry, independent of any model session: MediaPipe's SSD anchors, decoding of
box + 6 keypoint regressors, weighted non-maximum suppression, the input -> image mapping and the
square tiles of fixed-size models.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Mapping:
    """From model-input pixels back to image pixels: image = input / scale + offset, per axis."""

    sx: float
    sy: float
    ox: float
    oy: float


@dataclass(frozen=True)
class AnchorSpec:
    """MediaPipe SsdAnchorsCalculator options for a BlazeFace model with fixed-size anchors."""

    input_size: int
    strides: tuple[int, ...]
    anchors_per_layer: int
    offset: float = 0.5

    @classmethod
    def from_manifest(cls, anchors: dict) -> AnchorSpec:
        return cls(input_size=int(anchors["input_size"]), strides=tuple(int(s) for s in anchors["strides"]),
                   anchors_per_layer=int(anchors["anchors_per_layer"]), offset=float(anchors.get("offset", 0.5)))


def generate_anchors(spec: AnchorSpec, height: int | None = None, width: int | None = None) -> np.ndarray:
    """Anchor centres (N, 2) as x, y in model-input pixels, in the order of the model's outputs.

    As in MediaPipe, consecutive layers with the same stride share one grid, so their anchors are
    interleaved per cell: grid rows, then columns, then the anchors of that cell. height and width
    give the input size of a free-size model (default: the square input_size).
    """
    height = spec.input_size if height is None else height
    width = spec.input_size if width is None else width
    centres = []
    layer = 0
    while layer < len(spec.strides):
        stride = spec.strides[layer]
        same = 0
        while layer + same < len(spec.strides) and spec.strides[layer + same] == stride:
            same += 1
        per_cell = same * spec.anchors_per_layer
        rows, cols = math.ceil(height / stride), math.ceil(width / stride)
        ys, xs = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
        cell = np.stack([(xs + spec.offset) / cols * width, (ys + spec.offset) / rows * height], axis=-1)
        centres.append(np.repeat(cell.reshape(-1, 2), per_cell, axis=0))
        layer += same
    return np.concatenate(centres).astype(np.float32)


def decode(raw_boxes: np.ndarray, logits: np.ndarray, anchors: np.ndarray, min_score: float
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Regressor rows (N, 16) + logits (N,) -> boxes (M, 4) x1 y1 x2 y2, scores (M,), keypoints (M, 6, 2).

    Each row holds the box centre offset and size, then six keypoint offsets, all in model-input
    pixels relative to the anchor centre. Only anchors scoring at least min_score are decoded.
    """
    scores = 1.0 / (1.0 + np.exp(-np.clip(logits, -80.0, 80.0)))
    keep = scores >= min_score
    raw = raw_boxes[keep]
    centre = anchors[keep]
    cx = centre[:, 0] + raw[:, 0]
    cy = centre[:, 1] + raw[:, 1]
    half_w, half_h = raw[:, 2] / 2, raw[:, 3] / 2
    boxes = np.stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h], axis=1)
    keypoints = centre[:, None, :] + raw[:, 4:16].reshape(-1, 6, 2)
    return boxes, scores[keep], keypoints


def iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Intersection over union of one x1 y1 x2 y2 box with each of boxes (M, 4)."""
    x1 = np.maximum(box[0], boxes[:, 0])
    y1 = np.maximum(box[1], boxes[:, 1])
    x2 = np.minimum(box[2], boxes[:, 2])
    y2 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def weighted_nms(boxes: np.ndarray, scores: np.ndarray, keypoints: np.ndarray, iou_threshold: float
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MediaPipe's weighted NMS: the best remaining detection absorbs every one overlapping it by more
    than iou_threshold; the merged box and keypoints are the score-weighted mean, the score the best's.

    BlazeFace fires on several neighbouring anchors per face; averaging them is steadier than keeping one.
    The loop runs once per output face, not per anchor.
    """
    order = np.argsort(-scores, kind="stable")
    out_boxes, out_scores, out_kps = [], [], []
    while order.size:
        top = order[0]
        overlap = iou(boxes[top], boxes[order])
        members = order[overlap > iou_threshold]
        members = members if members.size else order[:1]
        weights = scores[members][:, None]
        out_boxes.append((boxes[members] * weights).sum(0) / weights.sum())
        out_kps.append((keypoints[members] * weights[:, :, None]).sum(0) / weights.sum())
        out_scores.append(scores[top])
        order = order[overlap <= iou_threshold]
        order = order[order != top]
    if not out_scores:
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros((0, 6, 2), np.float32)
    return np.array(out_boxes), np.array(out_scores), np.array(out_kps)


def tile_windows(width: int, height: int, tile: int, overlap: int) -> list[tuple[int, int, int, int]]:
    """Square windows (x1, y1, x2, y2) of side `tile` covering the image, neighbours overlapping by at
    least `overlap` pixels, spread evenly so the last one ends at the border."""
    def starts(length: int) -> list[int]:
        if length <= tile:
            return [0]
        count = math.ceil((length - overlap) / (tile - overlap))
        return [round(i * (length - tile) / (count - 1)) for i in range(count)]

    return [(x, y, min(x + tile, width), min(y + tile, height)) for y in starts(height) for x in starts(width)]
