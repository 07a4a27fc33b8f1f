"""FrameImage: one Pillow copy of a frame and its shared block reductions give the models the same pixels
as their own resizes did, and the analyzer's results do not depend on which of the two a model gets."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from galprof.vision.frame_image import FrameImage


def photo_like(width: int, height: int, seed: int = 0) -> np.ndarray:
    """Smooth gradients with noise and hard edges: every resampling filter gives different pixels on it."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([x * 255 / width, y * 255 / height, (x + y) % 97 * 2.6], axis=-1)
    rgb += rng.normal(0, 20, rgb.shape)
    rgb[height // 3: height // 2, width // 4: width // 2] = (250, 20, 40)
    return np.clip(rgb, 0, 255).astype(np.uint8)


@pytest.mark.parametrize(("width", "height", "size", "gap"), [
    (1024, 768, (384, 288), 1.0),  # the face detector's fine pass
    (1024, 768, (416, 312), 1.0),  # NanoDet's letterbox
    (1001, 667, (417, 278), 1.0),  # odd sides: the reduced image's last pixels average fewer pixels
    (768, 1024, (151, 201), 2.0),
    (1024, 768, (700, 525), 1.0),  # under 2x: no block reduction at all
    (909, 776, (341, 291), 1.0),
])
@pytest.mark.parametrize("resample", [Image.Resampling.BILINEAR, Image.Resampling.BOX, Image.Resampling.BICUBIC])
def test_resize_gives_pillows_own_pixels(width, height, size, gap, resample):
    rgb = photo_like(width, height)
    expected = np.asarray(Image.fromarray(rgb).resize(size, resample, reducing_gap=gap))
    got = np.asarray(FrameImage(rgb).resize(size, resample, reducing_gap=gap))
    assert got.shape == expected.shape
    assert np.array_equal(got, expected)


def test_the_block_reduction_is_made_once_and_shared():
    frame = FrameImage(photo_like(1024, 768))
    frame.resize((384, 288), Image.Resampling.BILINEAR, reducing_gap=1.0)
    first = frame.reduced(2, 2)
    frame.resize((416, 312), Image.Resampling.BILINEAR, reducing_gap=1.0)
    assert frame.reduced(2, 2) is first
    assert first.size == (512, 384)
    frame.resize((200, 150), Image.Resampling.BILINEAR, reducing_gap=1.0)  # 5x: another reduction
    assert frame.reduced(5, 5).size == (205, 154)


def test_array_and_image_hold_the_same_pixels():
    rgb = photo_like(64, 48)
    frame = FrameImage(rgb)
    assert frame.size == (64, 48)
    assert np.array_equal(np.asarray(frame.image), rgb)
    assert np.array_equal(frame.array, rgb)
    from_image = FrameImage(Image.fromarray(rgb))
    assert np.array_equal(from_image.array, rgb)
    assert FrameImage.of(frame) is frame


def test_a_frame_that_is_not_rgb_is_refused():
    with pytest.raises(ValueError, match="RGB image"):
        FrameImage(np.zeros((8, 8), np.uint8))


@pytest.fixture(scope="module")
def analyzer():
    from galprof.config import Settings
    from galprof.vision.analyzer import FrameAnalyzer

    return FrameAnalyzer(Settings(ocr=False), threads=1)


@pytest.mark.parametrize(("width", "height"), [(1024, 768), (683, 1024), (500, 333)])
def test_models_see_the_same_input_from_an_array_or_a_frame_image(analyzer, width, height):
    rgb = photo_like(width, height, seed=width)
    frame = FrameImage(rgb)
    objects, classifier = analyzer.objects, analyzer.classifier
    tensor_array, *geometry_array = objects.preprocess(rgb)
    tensor_frame, *geometry_frame = objects.preprocess(frame)
    assert geometry_array == geometry_frame
    assert np.array_equal(tensor_array, tensor_frame)
    assert np.array_equal(classifier.preprocess(rgb), classifier.preprocess(frame))
    detector = analyzer.faces.detector
    for scale in detector.scales(width, height):  # the whole-image pass and, on large frames, the fine pass
        tensor_image, mapping_image, _ = detector.scaled_input(Image.fromarray(rgb), scale)
        tensor_frame, mapping_frame, _ = detector.scaled_input(frame, scale)
        assert mapping_image == mapping_frame
        assert np.array_equal(tensor_image, tensor_frame)
