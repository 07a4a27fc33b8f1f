"""BlazeFace face detection: the passes over a photo (whole image, close-up retry, fine pass or tiles).

BlazeFace was trained on a small square input (128, 192 or 256 px), so a face that covers a few
percent of a large photo shrinks to a handful of pixels and is missed. `FaceDetector.detect` therefore
runs the whole image once at the model's size and, when the image is much larger than that, once more
at a finer scale; detections from all passes are mapped back to image pixels and merged with
MediaPipe's weighted non-maximum suppression. When the whole image yields nothing it is tried once
more zoomed out (CLOSEUP_ZOOM, centred on a CLOSEUP_SIDE square), for faces too close for the model.
Anchors, decoding and NMS live in `blazeface_geometry`.

The converted MediaPipe models are fully convolutional and declare a free input height and width, so
the fine pass is one run on the photo's own aspect ratio (padded to a multiple of 32). It costs the
pixels it looks at: 3 square inputs for a 1024 x 768 photo instead of 4 overlapping tiles; the
close-up retry costs one square input. (Sessions fixed to each repeated shape ran no
faster here and cost ~70 MB per worker, so one free-size session serves all.) A model with a fixed
square input (back-256, or a user's file) is letterboxed instead, the fine pass becoming a grid of
overlapping square tiles.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image

from galprof.facts import Box, FaceDetection
from galprof.vision.blazeface_geometry import (
    AnchorSpec,
    Mapping,
    decode,
    generate_anchors,
    tile_windows,
    weighted_nms,
)
from galprof.vision.frame_image import FrameImage
from galprof.vision.model_base import ManifestModel, OpenedModel, open_manifest_model, open_model_file
from galprof.vision.registry import load_manifest

VARIANTS = {"short": "blazeface_short", "full": "blazeface_full", "back": "blazeface_back"}
# Full-range is the default: on 140 ImageNet and food photos it returned 22 faces, nearly all real,
# against 114 for short-range with tiling (mostly food and animal textures) and 56 for back-256; it
# found the subject in all 696 LFW photos and reaches faces at 9 % of the window (short-range needs
# 16 %); its weakness, faces filling the frame, is covered by the zoomed-out retry.
DEFAULT_VARIANT = "full"

# Anchor geometry per variant, used only when the manifest is absent and a model_path is given;
# the manifest (written by models/build/blazeface.py) is the normal source.
_BUILTIN_ANCHORS = {
    "short": {"input_size": 128, "strides": [8, 16, 16, 16], "anchors_per_layer": 2, "offset": 0.5},
    "full": {"input_size": 192, "strides": [4], "anchors_per_layer": 1, "offset": 0.5},
    "back": {"input_size": 256, "strides": [16, 32, 32, 32], "anchors_per_layer": 2, "offset": 0.5},
}

# Smallest face width (model input pixels) each variant finds reliably, measured on LFW faces shrunk
# onto a canvas; the fine pass (or the tiling) uses it to choose its scale. Used when the manifest gives
# no value.
_MIN_FACE_INPUT = {128: 20.0, 192: 18.0, 256: 12.0}
# The close-up retry shrinks the image by this factor: chosen on the even half of the UTKFace crops and
# imagenet/food/nature split A (benchmarks/face_finding.py --choose; the curve is in benchmarks/README.md).
CLOSEUP_ZOOM = 2.5
# The retry keeps only faces at least this fraction of the image's longer side: what it is for.
CLOSEUP_MIN_WIDTH = 0.35
# Side of the black square the free-size models' retry is centred on (the zoomed-out photo's longer side
# is the model's size / CLOSEUP_ZOOM, 77 px). 128 px would cost 44 % of a 192 px run on every photo
# without a face, but loses close-ups (held-out UTKFace 498 vs 499 of 500; 3 instead of 2 of the
# held-out half missed by tests/test_age_gender.py), so the model's own 192 px square stays
# (benchmarks/face_finding.py --retry-sides; the curve is in benchmarks/README.md).
CLOSEUP_SIDE = 192
# A free-size input's sides must be multiples of the backbone's total stride, so that each upsampled
# feature map matches the skip connection it is added to.
SIDE_MULTIPLE = 32


class FaceDetector(ManifestModel):
    """Find faces (box, score, 6 keypoints) in an RGB image with a BlazeFace variant.

    variant: "short" (128 px, MediaPipe short range), "full" (192 px, full range) or "back" (256 px).
    model_path: a user's BlazeFace ONNX file used instead of the manifest's (same variant geometry).
    min_face: the smallest face width (image pixels) the fine pass (or the tiles) tries to reach;
    max_tiles caps its cost at that many square inputs (tiles), so on very large photos the smallest
    face found grows instead of the cost.
    zoom_out: when the whole-image pass finds nothing, it is repeated with the image shrunk by this
    factor, which recovers faces filling the frame (close-up selfies); closeup_side: the side of the
    square input that retry runs on (free-size models; a fixed-size model uses its own square).
    """

    def __init__(self, variant: str = DEFAULT_VARIANT, threads: int = 1, model_path: str | Path | None = None,
                 min_face: int = 48, max_tiles: int = 4, zoom_out: float = CLOSEUP_ZOOM, opened: OpenedModel | None = None,
                 closeup_side: int = CLOSEUP_SIDE):
        if opened is not None and opened.entry is not None:  # from_manifest("blazeface_back") is variant "back"
            variant = {name: v for v, name in VARIANTS.items()}.get(opened.entry.name, variant)
        if variant not in VARIANTS:
            raise ValueError(f"unknown BlazeFace variant {variant!r} (choose from {', '.join(VARIANTS)})")
        anchor_cfg, decode_cfg = self._variant_config(variant, model_path)
        if opened is None:
            opened = (open_model_file(model_path, threads) if model_path is not None
                      else open_manifest_model(VARIANTS[variant], None, threads))
        path = self._adopt(opened).session.path
        shape = self.model.input_shape
        # NHWC (1, S, S, 3) for the MediaPipe conversions; NCHW (1, 3, S, S) is accepted too. A symbolic
        # height/width (the converted short and full range models) means any multiple of 32 runs.
        self.channels_last = shape[-1] == 3
        side = shape[1] if self.channels_last else shape[2]
        spec = AnchorSpec.from_manifest(anchor_cfg)
        self.free_size = not isinstance(side, int)
        self.size = spec.input_size if self.free_size else side
        if spec.input_size != self.size:
            raise ValueError(f"{path}: input is {self.size} px but the {variant!r} anchors are for "
                             f"{spec.input_size} px")
        self.spec = spec
        self._score_outputs, self._box_outputs = self._split_outputs()
        anchors = generate_anchors(spec)
        if self.free_size:
            # a free-size input cannot be compared with the anchors' size: check the anchor count
            # one run at that size gives
            probe = np.zeros((1, self.size, self.size, 3) if self.channels_last else (1, 3, self.size, self.size),
                             np.float32)
            count = sum(self.model.run(probe)[i].size for i in self._score_outputs)
            if count != len(anchors):
                raise ValueError(f"{path}: gives {count} anchors on a {self.size} px input but the {variant!r} "
                                 f"model has {len(anchors)}; wrong variant for this file?")
        self._anchors_by_size = {(self.size, self.size): anchors}
        self.nms_iou = float(decode_cfg.get("nms_iou", 0.3))
        self.min_face_input = float(decode_cfg.get("min_face_input", _MIN_FACE_INPUT.get(self.size, 16.0)))
        self.min_face = min_face
        self.max_tiles = max_tiles
        self.zoom_out = zoom_out
        if closeup_side <= 0 or closeup_side % SIDE_MULTIPLE:
            raise ValueError(f"closeup_side must be a positive multiple of {SIDE_MULTIPLE}, not {closeup_side}")
        self.closeup_side = closeup_side

    @staticmethod
    def _variant_config(variant: str, model_path: str | Path | None) -> tuple[dict, dict]:
        """Anchor and decoding options from the manifest; built-in ones for a user's model file when
        there is no manifest."""
        try:
            entry = load_manifest().get(VARIANTS[variant])
        except FileNotFoundError:
            if model_path is None:
                raise
            entry = None
        if entry is None:
            if model_path is None:
                raise KeyError(f"model {VARIANTS[variant]!r} is not in the manifest; run `make models`")
            return _BUILTIN_ANCHORS[variant], {}
        return entry.extra["anchors"], entry.extra.get("decode", {})

    def _split_outputs(self) -> tuple[list[int], list[int]]:
        """Indices of the score (…, 1) and regressor (…, 16) outputs, in session order (back-256 splits
        both per stride; concatenated in that order they follow the anchor order)."""
        scores, boxes = [], []
        for i, out in enumerate(self.model.session.get_outputs()):
            (scores if out.shape[-1] == 1 else boxes).append(i)
        if not scores or len(scores) != len(boxes):
            raise ValueError(f"{self.model.path}: not a BlazeFace model (outputs {self.model.output_names})")
        return scores, boxes

    # -- one window --------------------------------------------------------------------------------

    def _tensor(self, pixels: np.ndarray, pad_x: int, pad_y: int, height: int | None = None,
                width: int | None = None) -> np.ndarray:
        """uint8 pixels placed on a black input (square of the model's size unless height and width
        are given), scaled to [-1, 1]."""
        canvas = np.zeros((height or self.size, width or self.size, 3), np.uint8)
        canvas[pad_y:pad_y + pixels.shape[0], pad_x:pad_x + pixels.shape[1]] = pixels
        tensor = canvas.astype(np.float32) / 127.5 - 1.0
        return np.ascontiguousarray(tensor[None] if self.channels_last else tensor.transpose(2, 0, 1)[None])

    def preprocess(self, image: Image.Image, window: tuple[int, int, int, int], zoom_out: float = 1.0
                   ) -> tuple[np.ndarray, Mapping]:
        """Crop `window` and letterbox it into the model's square input (black padding, centred);
        zoom_out > 1 shrinks it further inside the input (for faces too large for the model).
        Returns the tensor and how input pixels map back to image pixels."""
        x1, y1, x2, y2 = window
        w, h = x2 - x1, y2 - y1
        scale = self.size / (max(w, h) * zoom_out)
        new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
        # reducing_gap: a fast box reduction first, then bilinear; 2x faster on 1024 px photos
        resized = image.resize((new_w, new_h), Image.Resampling.BILINEAR, box=window, reducing_gap=2.0)
        pad_x, pad_y = (self.size - new_w) // 2, (self.size - new_h) // 2
        sx, sy = new_w / w, new_h / h
        return self._tensor(np.asarray(resized), pad_x, pad_y), Mapping(sx, sy, x1 - pad_x / sx, y1 - pad_y / sy)

    def scaled_input(self, image: Image.Image | FrameImage, scale: float, source: Image.Image | None = None,
                     square: bool = False, side: int | None = None) -> tuple[np.ndarray, Mapping, Image.Image]:
        """The whole image resized by `scale` and centred on a black input whose sides are the next
        multiples of 32 (free-size models): no letterbox bars to pay for on a non-square photo.
        square: on a square input instead, of at least `side` px (default the model's size).

        source: the image already downscaled (not below this scale), resampled instead of the
        full-size one, which is cheaper. A FrameImage shares its block reduction with the other models.
        Returns the tensor, its mapping and the resized image."""
        width, height = image.size
        resized = self.resampled(source or image, width, height, scale)
        new_w, new_h = resized.size
        in_w, in_h = (-(-side // SIDE_MULTIPLE) * SIDE_MULTIPLE for side in (new_w, new_h))
        if square:
            in_w = in_h = max(in_w, in_h, side or self.size)
        pad_x, pad_y = (in_w - new_w) // 2, (in_h - new_h) // 2
        sx, sy = new_w / width, new_h / height
        tensor = self._tensor(np.asarray(resized), pad_x, pad_y, in_h, in_w)
        return tensor, Mapping(sx, sy, -pad_x / sx, -pad_y / sy), resized

    @staticmethod
    def resampled(image: Image.Image | FrameImage, width: int, height: int, scale: float) -> Image.Image:
        """`image` (a `width` x `height` image or a smaller copy of it) resized to `scale` of that size."""
        new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
        # reducing_gap 1: box-reduce by the largest whole factor first (1024 px -> 384 px: halve, then
        # bilinear), twice as fast as 2.0 here; detections on the event photos and LFW canvases held
        return image.resize((new_w, new_h), Image.Resampling.BILINEAR, reducing_gap=1.0)

    def _tile_inputs(self, image: Image.Image, tiles: list[tuple[int, int, int, int]]
                     ) -> list[tuple[np.ndarray, Mapping]]:
        """Inputs for equal-sized tiles: the image is resized once to the tile scale and the tiles
        are cut from that, instead of resizing every tile from the full-size photo."""
        tile = max(max(x2 - x1, y2 - y1) for x1, y1, x2, y2 in tiles)
        width, height = image.size
        scale = self.size / tile
        scaled = np.asarray(image.resize((max(1, round(width * scale)), max(1, round(height * scale))),
                                         Image.Resampling.BILINEAR, reducing_gap=2.0))
        sx, sy = scaled.shape[1] / width, scaled.shape[0] / height
        inputs = []
        for x1, y1, _, _ in tiles:
            cx, cy = round(x1 * sx), round(y1 * sy)
            crop = scaled[cy:cy + self.size, cx:cx + self.size]
            inputs.append((self._tensor(crop, 0, 0), Mapping(sx, sy, cx / sx, cy / sy)))
        return inputs

    def run_tensor(self, tensor: np.ndarray, min_score: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Model + decode on one preprocessed input: boxes, scores, keypoints in model-input pixels."""
        outputs = self.model.run(tensor)
        logits = np.concatenate([outputs[i].reshape(-1) for i in self._score_outputs])
        raw = np.concatenate([outputs[i].reshape(-1, 16) for i in self._box_outputs])
        height, width = tensor.shape[1:3] if self.channels_last else tensor.shape[2:4]
        anchors = self._anchors_by_size.get((height, width))
        if anchors is None:
            anchors = self._anchors_by_size[height, width] = generate_anchors(self.spec, height, width)
        return decode(raw, logits, anchors, min_score)

    def _detect_input(self, tensor: np.ndarray, mapping: Mapping, min_score: float
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Faces in one input, merged by weighted NMS and mapped to image pixels."""
        boxes, scores, keypoints = weighted_nms(*self.run_tensor(tensor, min_score), self.nms_iou)
        scale = np.array([mapping.sx, mapping.sy], np.float32)
        offset = np.array([mapping.ox, mapping.oy], np.float32)
        boxes = (boxes.reshape(-1, 2, 2) / scale + offset).reshape(-1, 4)
        return boxes, scores, keypoints / scale + offset

    def _detect_window(self, image: Image.Image, window: tuple[int, int, int, int], min_score: float,
                       zoom_out: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self._detect_input(*self.preprocess(image, window, zoom_out), min_score)

    @staticmethod
    def _drop_cut_faces(found: tuple[np.ndarray, np.ndarray, np.ndarray], window: tuple[int, int, int, int],
                        width: int, height: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A face cut by a tile edge gives a partial box; the overlapping tile (or the whole-image
        pass) holds it whole, so drop boxes reaching an edge that is not the image border."""
        boxes, scores, keypoints = found
        x1, y1, x2, y2 = window
        margin = 2.0
        cut = np.zeros(scores.size, bool)
        if x1 > 0:
            cut |= boxes[:, 0] <= x1 + margin
        if y1 > 0:
            cut |= boxes[:, 1] <= y1 + margin
        if x2 < width:
            cut |= boxes[:, 2] >= x2 - margin
        if y2 < height:
            cut |= boxes[:, 3] >= y2 - margin
        return boxes[~cut], scores[~cut], keypoints[~cut]

    # -- whole image ---------------------------------------------------------------------------------

    def scales(self, width: int, height: int) -> list[float]:
        """Free-size models: the whole-image pass's scale (longest side to the model's size), then for
        large images a finer one at which a face of `min_face` pixels reaches what the model finds,
        costing at most `max_tiles` square inputs. The fine pass runs when it sees faces at least
        1.25 times smaller than the whole-image pass does (as the tiles do for fixed-size models)."""
        whole = self.size / max(width, height)
        fine = min(self.min_face_input / self.min_face, math.sqrt(self.max_tiles * self.size ** 2 / (width * height)))
        if fine <= whole * 1.25 or self.max_tiles <= 0:
            return [whole]
        return [whole, fine]

    def windows(self, width: int, height: int) -> list[tuple[int, int, int, int]]:
        """The whole image, then (for large images) square tiles small enough that a face of
        `min_face` pixels stays above what the model finds, at most `max_tiles` of them.

        Tiles overlap by more than the smallest face the whole-image pass finds, so every face is
        either big enough for that pass or lies entirely inside some tile."""
        whole = (0, 0, width, height)
        longest = max(width, height)
        whole_min_face = self.min_face_input * longest / self.size
        if whole_min_face <= self.min_face * 1.25 or self.max_tiles <= 0:
            return [whole]
        tile = max(int(self.min_face * self.size / self.min_face_input), self.size)
        overlap = int(whole_min_face * 1.3)
        while True:
            tile = max(tile, overlap * 2)
            tiles = tile_windows(width, height, tile, overlap)
            if len(tiles) <= self.max_tiles:
                break
            tile = int(tile * 1.15) + 1
        if len(tiles) == 1:
            return [whole]
        return [whole, *tiles]

    def _zoomed_out(self, found: tuple[np.ndarray, np.ndarray, np.ndarray], width: int, height: int
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The zoomed-out retry's faces that are large: only those are what the retry is for; small
        hits there are mostly texture."""
        boxes, scores, keypoints = found
        large = (boxes[:, 2] - boxes[:, 0]) >= CLOSEUP_MIN_WIDTH * max(width, height)
        return boxes[large], scores[large], keypoints[large]

    def _free_passes(self, frame: FrameImage, min_score: float, fine_pass: bool = True
                     ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Detections of each pass of a free-size model: whole image, zoomed-out retry, fine pass (unless
        fine_pass is False)."""
        image = frame.image
        width, height = image.size
        whole_scale, *fine = self.scales(width, height)
        # each pass resamples the previous, larger one: the full-size image is resized only once
        fine_inputs = [self.scaled_input(frame, scale) for scale in fine] if fine_pass else []
        # without the fine pass its image is still made (a resize, not a model run), so that the whole
        # image pass sees the same pixels either way
        source = (fine_inputs[0][2] if fine_inputs
                  else self.resampled(frame, width, height, fine[0]) if fine else None)
        # The whole image is letterboxed on the model's square, as in training: on a tight input (no
        # bars) borderline faces scored differently, 7 of 138 on the event photos fell under 0.6 (3 rose).
        tensor, mapping, small = self.scaled_input(frame, whole_scale, source, square=True)
        parts = [self._detect_input(tensor, mapping, min_score)]
        if not parts[0][1].size:
            # Nothing in the whole image: maybe one face too close for the model (a close-up selfie
            # fills the frame, beyond what full-range was trained on), so look once more zoomed out,
            # centred on a black square (CLOSEUP_SIDE): a tight input lacks the margin around the face
            # the model needs (UTKFace crops: 9 of 97 found tight, 97 on the square).
            tensor, mapping, _ = self.scaled_input(image, whole_scale / self.zoom_out, small, square=True,
                                                   side=self.closeup_side)
            parts.append(self._zoomed_out(self._detect_input(tensor, mapping, min_score), width, height))
        parts.extend(self._detect_input(tensor, mapping, min_score) for tensor, mapping, _ in fine_inputs)
        return parts

    def _window_passes(self, image: Image.Image, min_score: float, fine_pass: bool = True
                       ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Detections of each square window of a fixed-size model: whole image (zoomed out if it
        holds nothing), then the tiles (unless fine_pass is False)."""
        width, height = image.size
        whole, *tiles = self.windows(width, height)
        tiles = tiles if fine_pass else []
        parts = [self._detect_window(image, whole, min_score)]
        if not parts[0][1].size:
            found = self._detect_window(image, whole, min_score, zoom_out=self.zoom_out)
            parts.append(self._zoomed_out(found, width, height))
        if tiles:
            for window, (tensor, mapping) in zip(tiles, self._tile_inputs(image, tiles), strict=True):
                found = self._detect_input(tensor, mapping, min_score)
                parts.append(self._drop_cut_faces(found, window, width, height))
        return parts

    def detect(self, rgb: np.ndarray | Image.Image | FrameImage, min_score: float = 0.5,
               fine_pass: bool = True) -> list[FaceDetection]:
        """Faces in an (H, W, 3) uint8 RGB image; boxes and keypoints in its pixels, best first.

        A Pillow image or the analyzer's FrameImage is accepted too, saving the array -> image copy.
        fine_pass=False leaves out the fine pass (or the tiles) of a large image: the whole image and
        the close-up retry only."""
        frame = FrameImage.of(rgb)
        image = frame.image
        width, height = image.size
        parts = (self._free_passes(frame, min_score, fine_pass) if self.free_size
                 else self._window_passes(image, min_score, fine_pass))
        boxes = np.concatenate([p[0] for p in parts]).reshape(-1, 4)
        scores = np.concatenate([p[1] for p in parts]).reshape(-1)
        keypoints = np.concatenate([p[2] for p in parts]).reshape(-1, 6, 2)
        if len(parts) > 1:
            boxes, scores, keypoints = weighted_nms(boxes, scores, keypoints, self.nms_iou)
        result = []
        for box, score, kps in zip(boxes, scores, keypoints, strict=True):
            x1, y1 = max(0.0, float(box[0])), max(0.0, float(box[1]))
            x2, y2 = min(float(width), float(box[2])), min(float(height), float(box[3]))
            if x2 - x1 < 1 or y2 - y1 < 1:
                continue
            result.append(FaceDetection(box=Box(x1, y1, x2, y2), score=float(score),
                                        keypoints=kps.astype(np.float32)))
        result.sort(key=lambda d: -d.score)
        return result
