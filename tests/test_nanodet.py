"""ObjectDetector (NanoDet): GFL decoding, letterbox geometry, the car video, int8 vs fp32, custom files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from galprof.facts import Box
from galprof.vision.nanodet import ObjectDetector, classwise_nms, fit_size, letterbox
from galprof.vision.onnx_model import read_labels
from galprof.vision.registry import load_manifest

# Cars leaving the top of car-detection.mp4, boxed by hand on the decoded 768x432 frames.
CAR_FRAMES = {98: Box(285, 0, 398, 92), 230: Box(308, 0, 430, 95)}


def iou(a: Box, b: Box) -> float:
    ix = max(0.0, min(a.x2, b.x2) - max(a.x1, b.x1))
    iy = max(0.0, min(a.y2, b.y2) - max(a.y1, b.y1))
    inter = ix * iy
    return inter / (a.width * a.height + b.width * b.height - inter)


def load_rgb(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


@pytest.fixture(scope="module")
def detector() -> ObjectDetector:
    return ObjectDetector()


@pytest.fixture(scope="module")
def imagenet_photos(shared_data: Path) -> list[Path]:
    files = sorted((shared_data / "imagenet-samples").glob("*.JPEG"))
    if not files:
        pytest.skip(f"no ImageNet sample photos in {shared_data / 'imagenet-samples'}")
    return files


def test_gfl_decoding(detector: ObjectDetector):
    """One confident cell on the stride-16 head with one-hot distance bins decodes to the exact box."""
    outputs = [np.zeros((1, o.shape[1], o.shape[2]), np.float32) for o in detector.model.session.get_outputs()]
    for _, _, cls_index, box_index in detector.heads:
        outputs[box_index][:] = -20.0
    stride, side, cls_index, box_index = detector.heads[1]
    row, col, label = 5, 7, detector.labels.index("car")
    cell = row * side + col
    outputs[cls_index][0, cell, label] = 0.9
    bins = outputs[box_index][0, cell].reshape(4, detector.bins)
    for side_index, distance in enumerate((2, 3, 4, 1)):  # left, top, right, bottom in cells
        bins[side_index, distance] = 20.0
    boxes, scores, classes = detector.decode(outputs, min_score=0.3)
    cx, cy = (col + 0.5) * stride, (row + 0.5) * stride
    assert len(boxes) == 1 and classes[0] == label and scores[0] == pytest.approx(0.9)
    np.testing.assert_allclose(boxes[0], [cx - 2 * stride, cy - 3 * stride, cx + 4 * stride, cy + stride],
                               atol=1e-3)


def test_classwise_nms():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [0, 0, 10, 10], [50, 50, 60, 60]], np.float32)
    scores = np.array([0.9, 0.8, 0.7, 0.6], np.float32)
    classes = np.array([0, 0, 1, 0])
    assert classwise_nms(boxes, scores, classes, 0.5).tolist() == [0, 2, 3]


@pytest.mark.parametrize("shape", [(375, 500), (500, 375), (312, 416), (200, 100)])
def test_preprocess_matches_the_float_reference(detector: ObjectDetector, shape: tuple[int, int]):
    """The fused uint8 -> BGR CHW preprocessing gives the tensor of the plain float pipeline (letterbox
    padded with the mean, BGR flip, (x - mean) / std, transpose) and the same geometry."""
    rgb = np.random.default_rng(sum(shape)).integers(0, 256, (*shape, 3), dtype=np.uint8)
    tensor, scale, dx, dy = detector.preprocess(rgb)
    canvas, ref_scale, ref_dx, ref_dy = letterbox(rgb, detector.size, fill=tuple(detector.mean[::-1]))
    reference = ((canvas[..., ::-1] - detector.mean) / detector.std).transpose(2, 0, 1)[None]
    assert (scale, dx, dy) == (ref_scale, ref_dx, ref_dy)
    assert tensor.shape == reference.shape and tensor.dtype == np.float32
    np.testing.assert_allclose(tensor, reference, atol=1e-4)


def test_fit_size_of_a_photo(shared_data: Path):
    """A 1024 px frame is shrunk (2x block average, then bilinear) to nearly what plain bilinear gives;
    an image already at the size is passed through without a copy."""
    photo = shared_data / "imagenet-samples" / "n04486054_triumphal_arch.JPEG"
    if not photo.is_file():
        pytest.skip(f"photo not found: {photo}")
    frame = np.asarray(Image.open(photo).convert("RGB").resize((1024, 768), Image.Resampling.BICUBIC))
    small = fit_size(frame, 416)
    assert small.shape == (312, 416, 3) and small.dtype == np.uint8
    assert np.shares_memory(fit_size(small, 416), small)
    plain = np.asarray(Image.fromarray(frame).resize((416, 312), Image.Resampling.BILINEAR)).astype(int)
    assert np.abs(small.astype(int) - plain).mean() < 3


def test_blank_image_has_no_objects(detector: ObjectDetector):
    assert detector.detect(np.full((300, 400, 3), 90, np.uint8), min_score=0.5) == []


def test_finds_the_car_in_the_video(detector: ObjectDetector, shared_data: Path):
    av = pytest.importorskip("av")
    video = shared_data / "videos" / "car-detection.mp4"
    if not video.is_file():
        pytest.skip(f"video not found: {video}")
    frames = {}
    with av.open(str(video)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index in CAR_FRAMES:
                frames[index] = frame.to_ndarray(format="rgb24")
            if index >= max(CAR_FRAMES):
                break
    for index, truth in CAR_FRAMES.items():
        cars = [d for d in detector.detect(frames[index], min_score=0.3) if d.label == "car"]
        assert cars, f"no car found in frame {index}"
        best = max(iou(d.box, truth) for d in cars)
        print(f"\nframe {index}: car score {cars[0].score:.2f}, IoU with the hand box {best:.2f}")
        assert best > 0.7, f"frame {index}: car box {cars[0].box} is not where the car is ({truth})"


def test_letterbox_maps_boxes_back(detector: ObjectDetector, shared_data: Path):
    """Padding a 500x375 photo to 500x500 keeps the network input scale: the objects must come back
    at the same place, shifted by the padding; mirroring the photo mirrors the boxes."""
    photo = shared_data / "imagenet-samples" / "n04486054_triumphal_arch.JPEG"
    if not photo.is_file():
        pytest.skip(f"photo not found: {photo}")
    rgb = load_rgb(photo)
    h, w = rgb.shape[:2]
    original = detector.detect(rgb, min_score=0.5)
    assert {"person", "car"} <= {d.label for d in original}
    padded = np.full((w, w, 3), 114, np.uint8)
    top = w - h
    padded[top:] = rgb
    moved = detector.detect(padded, min_score=0.4)
    mirrored = detector.detect(np.ascontiguousarray(rgb[:, ::-1]), min_score=0.4)
    for d in original:
        shifted = Box(d.box.x1, d.box.y1 + top, d.box.x2, d.box.y2 + top)
        assert max((iou(shifted, m.box) for m in moved if m.label == d.label), default=0) > 0.8, d
        flipped = Box(w - d.box.x2, d.box.y1, w - d.box.x1, d.box.y2)
        assert max((iou(flipped, m.box) for m in mirrored if m.label == d.label), default=0) > 0.7, d


def test_int8_agrees_with_fp32(detector: ObjectDetector, imagenet_photos: list[Path]):
    """Every main object (fp32 score >= 0.5) is found by int8 as the same class with IoU > 0.7."""
    fp32 = ObjectDetector(precision="fp32")
    found, total, ious = 0, 0, []
    for path in imagenet_photos[::4]:
        rgb = load_rgb(path)
        quantized = detector.detect(rgb, min_score=0.3)
        for d in fp32.detect(rgb, min_score=0.5):
            best = max((iou(d.box, q.box) for q in quantized if q.label == d.label), default=0.0)
            ious.append(best)
            total += 1
            found += best > 0.7
    print(f"\nNanoDet int8 vs fp32: {found}/{total} main objects matched (IoU > 0.7), "
          f"median IoU {np.median(ious):.3f}")
    assert total >= 15 and found >= 0.9 * total


def test_custom_model_and_labels(detector: ObjectDetector, tmp_path: Path, imagenet_photos: list[Path]):
    entry = load_manifest()["nanodet"]
    custom = ObjectDetector(model_path=entry.path(), labels_path=entry.labels_path())
    rgb = load_rgb(imagenet_photos[0])
    assert [(d.label, d.score) for d in custom.detect(rgb)] == [(d.label, d.score) for d in detector.detect(rgb)]

    short = tmp_path / "labels.txt"
    short.write_text("\n".join(read_labels(entry.labels_path())[:79]) + "\n")
    with pytest.raises(ValueError, match="79 classes"):
        ObjectDetector(model_path=entry.path(), labels_path=short)
    with pytest.raises(ValueError, match="labels"):
        ObjectDetector(model_path=entry.path())
    with pytest.raises(ValueError, match="precision"):
        ObjectDetector(precision="fp16")
