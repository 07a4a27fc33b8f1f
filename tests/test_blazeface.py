"""BlazeFace detector: anchor/decoding/NMS units on generated inputs, then real photos from ../shared/data."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from galprof.vision.blazeface import VARIANTS, FaceDetector
from galprof.vision.blazeface_geometry import AnchorSpec, decode, generate_anchors, tile_windows, weighted_nms
from galprof.vision.registry import model_path

SHORT = AnchorSpec(input_size=128, strides=(8, 16, 16, 16), anchors_per_layer=2)
FULL = AnchorSpec(input_size=192, strides=(4,), anchors_per_layer=1)
BACK = AnchorSpec(input_size=256, strides=(16, 32, 32, 32), anchors_per_layer=2)


@pytest.fixture(scope="module")
def detectors() -> dict[str, FaceDetector]:
    return {variant: FaceDetector(variant) for variant in VARIANTS}


def rgb(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(ImageOps.exif_transpose(im).convert("RGB"))


# -- units: anchors, decoding, NMS, tiling ------------------------------------------------------------

def test_anchor_counts_and_order():
    short, full, back = generate_anchors(SHORT), generate_anchors(FULL), generate_anchors(BACK)
    assert short.shape == (896, 2) and back.shape == (896, 2) and full.shape == (2304, 2)
    # short: 16x16 grid, 2 anchors per cell, then 8x8 grid with 6 anchors per cell (3 layers x 2)
    assert np.allclose(short[0], short[1]) and np.allclose(short[0], [4, 4])
    assert np.allclose(short[2], [12, 4])  # next cell along the row
    assert np.allclose(short[511], [124, 124])  # last of the stride-8 grid
    assert np.allclose(short[512:518], [[8, 8]] * 6) and np.allclose(short[-1], [120, 120])
    assert np.allclose(full[0], [2, 2]) and np.allclose(full[48], [2, 6]) and np.allclose(full[-1], [190, 190])
    assert np.allclose(back[:512] * 128 / 256, short[:512])  # same layout, twice the stride


def test_anchors_of_a_non_square_input():
    """A free-size input of H x W: rows of W / stride anchors, H / stride rows, same stride as square."""
    full = generate_anchors(FULL, height=128, width=256)
    assert full.shape == (32 * 64, 2)
    assert np.allclose(full[0], [2, 2]) and np.allclose(full[63], [254, 2]) and np.allclose(full[64], [2, 6])
    assert np.allclose(full[-1], [254, 126])
    short = generate_anchors(SHORT, height=96, width=160)
    assert short.shape == (12 * 20 * 2 + 6 * 10 * 6, 2)
    assert np.allclose(short[0], [4, 4]) and np.allclose(short[-1], [152, 88])
    assert np.allclose(generate_anchors(FULL, 192, 192), generate_anchors(FULL))


def test_decode_box_and_keypoints_relative_to_anchor():
    anchors = generate_anchors(SHORT)
    raw = np.zeros((896, 16), np.float32)
    logits = np.full(896, -10.0, np.float32)
    i = 700
    logits[i] = 2.0
    raw[i, :4] = [3.0, -2.0, 40.0, 30.0]
    raw[i, 4:] = np.arange(12, dtype=np.float32) - 6
    boxes, scores, keypoints = decode(raw, logits, anchors, min_score=0.5)
    assert boxes.shape == (1, 4) and keypoints.shape == (1, 6, 2)
    ax, ay = anchors[i]
    assert np.allclose(boxes[0], [ax + 3 - 20, ay - 2 - 15, ax + 3 + 20, ay - 2 + 15])
    assert np.isclose(scores[0], 1 / (1 + np.exp(-2.0)))
    assert np.allclose(keypoints[0], anchors[i] + (np.arange(12) - 6).reshape(6, 2))
    # extreme logits neither overflow nor pass the threshold wrongly
    logits[:] = -1e6
    assert decode(raw, logits, anchors, 0.5)[1].size == 0


def test_weighted_nms_blends_overlaps_and_keeps_separate_faces():
    boxes = np.array([[10, 10, 50, 50], [12, 12, 52, 52], [100, 100, 140, 140]], np.float32)
    scores = np.array([0.9, 0.6, 0.7], np.float32)
    kps = np.stack([np.full((6, 2), v, np.float32) for v in (0.0, 10.0, 5.0)])
    out_boxes, out_scores, out_kps = weighted_nms(boxes, scores, kps, 0.3)
    assert out_scores.tolist() == pytest.approx([0.9, 0.7])
    assert np.allclose(out_boxes[0], (boxes[0] * 0.9 + boxes[1] * 0.6) / 1.5)
    assert np.allclose(out_kps[0], 10.0 * 0.6 / 1.5)
    assert np.allclose(out_boxes[1], boxes[2])
    empty = weighted_nms(np.zeros((0, 4)), np.zeros(0), np.zeros((0, 6, 2)), 0.3)
    assert empty[0].shape == (0, 4)


def test_tiles_cover_the_image_with_overlap():
    tiles = tile_windows(2000, 1500, 800, 200)
    xs = sorted({t[0] for t in tiles})
    ys = sorted({t[1] for t in tiles})
    assert xs[0] == 0 and max(t[2] for t in tiles) == 2000 and max(t[3] for t in tiles) == 1500
    assert all(b - a <= 800 - 200 for a, b in itertools.pairwise(xs))
    assert all(b - a <= 800 - 200 for a, b in itertools.pairwise(ys))
    assert tile_windows(500, 400, 800, 200) == [(0, 0, 500, 400)]


def test_window_plan_is_a_few_runs(detectors):
    for detector in detectors.values():
        assert detector.windows(240, 240) == [(0, 0, 240, 240)]
        for size in ((1024, 768), (4000, 3000)):
            windows = detector.windows(*size)
            assert windows[0] == (0, 0, *size) and len(windows) <= 1 + detector.max_tiles


def test_free_size_pass_plan(detectors):
    """The converted MediaPipe models take any input size: one whole-image pass, and for large photos
    one finer pass reaching min_face pixels that costs at most max_tiles square inputs."""
    assert detectors["full"].free_size and detectors["short"].free_size and not detectors["back"].free_size
    full = detectors["full"]
    assert full.scales(240, 240) == [192 / 240]
    whole, fine = full.scales(1024, 768)
    assert whole == 192 / 1024 and fine == pytest.approx(full.min_face_input / full.min_face)
    whole, fine = full.scales(4000, 3000)
    assert 4000 * 3000 * fine ** 2 <= full.max_tiles * 192 ** 2 * 1.0001 and fine > 1.25 * whole


def test_free_size_input_is_tight_and_maps_back(detectors):
    """A fine-pass input: the photo at that scale padded only to the next multiple of 32, centred."""
    detector = detectors["full"]
    image = Image.fromarray(np.full((768, 1024, 3), 200, np.uint8))
    tensor, mapping, resized = detector.scaled_input(image, 0.3)
    assert resized.size == (307, 230) and tensor.shape == (1, 256, 320, 3)
    pad_x, pad_y = (320 - 307) // 2, (256 - 230) // 2
    assert np.allclose(tensor[0, pad_y:pad_y + 230, pad_x:pad_x + 307], 200 / 127.5 - 1)
    assert np.allclose(tensor[0, :pad_y], -1) and np.allclose(tensor[0, :, :pad_x], -1)
    assert mapping.ox == pytest.approx(-pad_x * 1024 / 307) and mapping.sx == pytest.approx(307 / 1024)
    square, _, _ = detector.scaled_input(image, 192 / 1024, square=True)
    assert square.shape == (1, 192, 192, 3)


# -- model files ---------------------------------------------------------------------------------

def test_user_model_path_and_missing_file(tmp_path):
    copy = tmp_path / "my_blazeface.onnx"
    shutil.copyfile(model_path("blazeface_short"), copy)
    detector = FaceDetector("short", model_path=copy)
    assert detector.model.path == copy and detector.size == 128 and detector.channels_last
    with pytest.raises(FileNotFoundError, match="nope.onnx"):
        FaceDetector("short", model_path=tmp_path / "nope.onnx")
    with pytest.raises(ValueError, match="unknown BlazeFace variant"):
        FaceDetector("tiny")


def test_user_model_of_the_wrong_size_is_refused(tmp_path):
    copy = tmp_path / "full.onnx"
    shutil.copyfile(model_path("blazeface_full"), copy)
    with pytest.raises(ValueError, match="anchors"):
        FaceDetector("short", model_path=copy)


def test_pillow_image_gives_the_same_faces(shared_data, detectors):
    image = rgb(lfw_sample(shared_data, per_person=1, limit=1)[0])
    from_array = detectors["full"].detect(image)
    from_pillow = detectors["full"].detect(Image.fromarray(image).convert("L").convert("RGB"))
    assert len(from_array) >= 1 and len(from_pillow) >= 1
    same = detectors["full"].detect(Image.fromarray(image))
    assert len(same) == len(from_array)
    for a, b in zip(same, from_array, strict=True):  # equal but for float noise between sessions
        assert abs(a.score - b.score) < 1e-4 and np.allclose(a.keypoints, b.keypoints, atol=1e-2)
    with pytest.raises(ValueError, match="RGB image"):
        detectors["full"].detect(image[..., 0])


def test_blank_image_has_no_face(detectors):
    for detector in detectors.values():
        assert detector.detect(np.full((300, 400, 3), 128, np.uint8)) == []


# -- real photos ---------------------------------------------------------------------------------

def lfw_sample(shared_data: Path, per_person: int = 2, limit: int = 40) -> list[Path]:
    people = sorted(p for p in (shared_data / "lfw").iterdir() if p.is_dir())
    sample = [f for person in people for f in sorted(person.glob("*.jpg"))[:per_person]]
    if not sample:
        pytest.skip("no LFW photos in ../shared/data/lfw")
    return sample[:limit]


def main_face(detections, width: int, height: int):
    """The photo's subject: the largest face, ties broken by closeness to the centre."""
    return max(detections, key=lambda d: d.box.width * d.box.height
               - 0.1 * np.hypot(d.box.center[0] - width / 2, d.box.center[1] - height / 2) ** 2)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_lfw_subject_face_near_centre(shared_data, detectors, variant):
    photos = lfw_sample(shared_data)
    detector = detectors[variant]
    extra = 0
    for path in photos:
        image = rgb(path)
        h, w = image.shape[:2]
        detections = detector.detect(image)
        assert detections, f"{variant}: no face in {path.name}"
        extra += len(detections) > 1
        face = main_face(detections, w, h)
        cx, cy = face.box.center
        assert abs(cx - w / 2) < 0.15 * w and abs(cy - h / 2) < 0.15 * h, f"{path.name}: {face.box}"
        assert 0.2 * w < face.box.width < 0.8 * w
    print(f"{variant}: {extra}/{len(photos)} LFW photos hold more than one face")
    assert extra <= len(photos) // 3


def test_keypoint_geometry_on_lfw(shared_data, detectors):
    for path in lfw_sample(shared_data, per_person=1, limit=20):
        image = rgb(path)
        face = main_face(detectors["full"].detect(image), image.shape[1], image.shape[0])
        right_eye, left_eye, nose, mouth = face.keypoints[:4]
        assert right_eye[0] < nose[0] < left_eye[0], path.name  # subject's right eye is on the image left
        assert max(right_eye[1], left_eye[1]) < nose[1] < mouth[1], path.name
        box = face.box
        for x, y in face.keypoints[:4]:
            assert box.x1 <= x <= box.x2 and box.y1 <= y <= box.y2


# Face centres in immich's portrait (840 x 700 once upright), checked by eye on a drawing:
# Marie Curie facing the camera, Pierre Curie in three-quarter profile.
PORTRAIT_FACES = [(316, 222), (568, 183)]


@pytest.mark.parametrize("name", ["portrait.jpg", "portrait-orientation-6.jpg"])
def test_immich_portrait_faces(shared_data, detectors, name):
    path = shared_data / "immich-assets" / "metadata" / "faces" / name
    if not path.is_file():
        pytest.skip(f"{path} not found")
    image = rgb(path)  # orientation 6 is rotated upright here, as the decoder does
    assert image.shape[:2] == (700, 840)
    detections = detectors["full"].detect(image)
    assert len(detections) == 2
    for x, y in PORTRAIT_FACES:
        hits = [d for d in detections if abs(d.box.center[0] - x) < 35 and abs(d.box.center[1] - y) < 35]
        assert len(hits) == 1, f"no face at {(x, y)}: {[d.box for d in detections]}"
    marie = min(detections, key=lambda d: d.box.center[0])
    assert marie.score > 0.8 and 60 < marie.box.width < 160


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_small_face_in_large_canvas_found_by_tiling(shared_data, detectors, variant):
    detector = detectors[variant]
    face_photo = Image.fromarray(rgb(lfw_sample(shared_data, per_person=1, limit=1)[0]))
    canvas = np.asarray(Image.open(shared_data / "immich-assets" / "formats" / "jpeg" / "el_torcal_rocks.jpeg")
                        .convert("RGB").resize((2000, 1500)))
    canvas = canvas.copy()
    # the LFW face is ~45 % of its photo: a 300 px paste gives a ~135 px face in a 2000 px image,
    # under what the whole-image pass of any variant can see (188 px for full range)
    small = np.asarray(face_photo.resize((300, 300), Image.Resampling.BILINEAR))
    x0, y0 = 1290, 910
    canvas[y0:y0 + 300, x0:x0 + 300] = small
    whole_only = detector._detect_window(Image.fromarray(canvas), (0, 0, 2000, 1500), 0.5)
    near = [(b[0] + b[2]) / 2 for b in whole_only[0] if abs((b[0] + b[2]) / 2 - 1440) < 60]
    assert len(detector.windows(2000, 1500)) > 1
    detections = detector.detect(canvas)
    hits = [d for d in detections if abs(d.box.center[0] - 1440) < 40 and abs(d.box.center[1] - 1060) < 50]
    assert len(hits) == 1, f"{variant}: {[(d.box, d.score) for d in detections]}"
    assert 90 < hits[0].box.width < 200
    if variant != "back":  # back-256 sees this face from the whole image already
        assert not near, f"{variant}: whole-image pass already found it; the test does not exercise tiles"


def test_close_up_filling_the_frame(shared_data, detectors):
    for path in lfw_sample(shared_data, per_person=1, limit=10):
        crop = rgb(path)[70:170, 70:170]  # the face fills the whole frame
        detections = detectors["full"].detect(crop)
        assert detections and main_face(detections, 100, 100).box.width > 60, path.name


def test_utkface_crops_on_a_canvas(shared_data, detectors):
    crops = sorted((shared_data / "utkface").glob("*.jpg"))[:30]
    if not crops:
        pytest.skip("no UTKFace crops in ../shared/data/utkface")
    found = 0
    for path in crops:
        canvas = np.zeros((400, 400, 3), np.uint8)
        canvas[100:300, 100:300] = rgb(path)  # tight crops need a margin around them
        detections = detectors["full"].detect(canvas)
        found += any(abs(d.box.center[0] - 200) < 40 and abs(d.box.center[1] - 200) < 40 for d in detections)
    assert found >= len(crops) - 1


def test_input_pixels_map_back_to_image_pixels(detectors):
    """Whole-image letterbox and tile inputs: a pixel of the model input shows the image point its
    mapping names (checked on a smooth colour ramp, where resampling keeps values)."""
    height, width = 1200, 1600
    ys, xs = np.mgrid[0:height, 0:width]
    ramp = np.stack([xs * 255 // (width - 1), ys * 255 // (height - 1), np.full_like(xs, 128)], -1)
    image = Image.fromarray(ramp.astype(np.uint8))
    detector = detectors["full"]
    whole, *tiles = detector.windows(width, height)
    assert tiles
    inputs = [detector.preprocess(image, whole), *detector._tile_inputs(image, tiles),
              *(detector.scaled_input(image, scale)[:2] for scale in detector.scales(width, height)),
              detector.scaled_input(image, 0.1)[:2]]
    for tensor, mapping in inputs:
        pixels = (tensor[0] + 1.0) * 127.5
        for u, v in ((60, 70), (150, 120)):
            x, y = u / mapping.sx + mapping.ox, v / mapping.sy + mapping.oy
            if 0 <= x < width and 0 <= y < height:
                assert abs(pixels[v, u, 0] - ramp[int(y), int(x), 0]) < 3
                assert abs(pixels[v, u, 1] - ramp[int(y), int(x), 1]) < 3
