"""PhotoClassifier: ImageNet accuracy of the packaged tiers, int8 vs fp32 agreement, food photos,
and a user-supplied model + labels file."""

from __future__ import annotations

import copy
import itertools
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from galprof.vision.classifier import PhotoClassifier
from galprof.vision.onnx_model import read_labels
from galprof.vision.registry import load_manifest

# ImageNet-1k classes that name a food, a dish or the tableware food is served in.
FOOD_LABELS = {
    "plate", "guacamole", "consomme", "hot pot", "trifle", "ice cream", "popsicle", "baguette", "bagel",
    "pretzel", "cheeseburger", "hot dog", "mashed potatoes", "cabbage", "broccoli", "cauliflower",
    "zucchini", "spaghetti squash", "acorn squash", "butternut squash", "cucumber", "artichoke",
    "bell pepper", "cardoon", "mushroom", "Granny Smith apple", "strawberry", "orange", "lemon", "fig",
    "pineapple", "banana", "jackfruit", "cherimoya (custard apple)", "pomegranate", "carbonara",
    "chocolate syrup", "dough", "meatloaf", "pizza", "pot pie", "burrito", "espresso", "eggnog",
    "soup bowl", "mixing bowl", "frying pan", "wok", "tray", "bakery", "butcher shop", "dining table",
    "wooden spoon", "spatula", "ladle", "Dutch oven", "waffle iron", "toaster", "menu",
}


def load_rgb(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


@pytest.fixture(scope="module")
def imagenet(shared_data: Path) -> list[tuple[str, np.ndarray, int]]:
    """(file name, RGB, class index) for every ImageNet sample photo; the index is the synset's
    position in the packaged synset list (file name nSYNSET_class.JPEG)."""
    folder = shared_data / "imagenet-samples"
    files = sorted(folder.glob("*.JPEG"))
    if not files:
        pytest.skip(f"no ImageNet sample photos in {folder}")
    synsets = read_labels(load_manifest()["efficientnet_lite0"].labels_path().with_name("imagenet1k_synsets.txt"))
    index = {s: i for i, s in enumerate(synsets)}
    return [(f.name, load_rgb(f), index[f.name.split("_")[0]]) for f in files]


@pytest.fixture(scope="module")
def lite0() -> PhotoClassifier:
    return PhotoClassifier()


def accuracy(classifier: PhotoClassifier, samples) -> tuple[float, float]:
    probabilities = np.stack([classifier.scores(rgb) for _, rgb, _ in samples])
    truth = np.array([label for _, _, label in samples])
    top5 = np.argsort(-probabilities, axis=1)[:, :5]
    return float((top5[:, 0] == truth).mean()), float((top5 == truth[:, None]).any(axis=1).mean())


def test_packaged_model_outputs(lite0: PhotoClassifier):
    rgb = np.random.default_rng(0).integers(0, 256, (300, 500, 3), dtype=np.uint8)
    classes, embedding = lite0.classify(rgb, top_k=5)
    assert len(classes) == 5
    assert all(a.score >= b.score for a, b in itertools.pairwise(classes))
    assert embedding is not None and embedding.shape == (1280,) and embedding.dtype == np.float32
    scores = lite0.scores(rgb)
    assert scores.shape == (1000,) and abs(float(scores.sum()) - 1.0) < 1e-3
    assert len(lite0.labels) == 1000 and lite0.labels[0] == "tench"
    assert (lite0.layout, lite0.height, lite0.width) == ("NCHW", 224, 224)


def test_preprocess_matches_the_float_reference(lite0: PhotoClassifier):
    """The fused preprocessing (uint8 crop and resize, one subtraction into the tensor's layout, one
    multiplication) equals (pixels - mean) / std in every colour order and layout."""
    rgb = np.random.default_rng(2).integers(0, 256, (300, 400, 3), dtype=np.uint8)
    side = round(300 * lite0.crop_fraction)
    y, x = (300 - side) // 2, (400 - side) // 2
    crop = Image.fromarray(np.ascontiguousarray(rgb[y:y + side, x:x + side]))
    pixels = np.asarray(crop.resize((lite0.width, lite0.height), Image.BILINEAR), dtype=np.float32)
    for layout, bgr in [("NCHW", False), ("NCHW", True), ("NHWC", False), ("NHWC", True)]:
        variant = copy.copy(lite0)
        variant.layout, variant.bgr = layout, bgr
        variant.mean = np.array([120.0, 110.0, 100.0], np.float32)
        variant.std = np.array([60.0, 64.0, 70.0], np.float32)
        reference = ((pixels[..., ::-1] if bgr else pixels) - variant.mean) / variant.std
        if layout == "NCHW":
            reference = reference.transpose(2, 0, 1)
        tensor = variant.preprocess(rgb)
        assert tensor.dtype == np.float32 and tensor.flags.c_contiguous
        np.testing.assert_allclose(tensor, reference[None], atol=1e-5, err_msg=f"{layout} bgr={bgr}")


def test_lite0_imagenet_accuracy(lite0: PhotoClassifier, imagenet):
    top1, top5 = accuracy(lite0, imagenet)
    print(f"\nEfficientNet-Lite0 int8 on {len(imagenet)} ImageNet samples: top-1 {top1:.3f}, top-5 {top5:.3f}")
    assert top1 >= 0.80 and top5 >= 0.93


def test_lite2_imagenet_accuracy(imagenet):
    top1, top5 = accuracy(PhotoClassifier(tier="lite2"), imagenet)
    print(f"\nEfficientNet-Lite2 int8 on {len(imagenet)} ImageNet samples: top-1 {top1:.3f}, top-5 {top5:.3f}")
    assert top1 >= 0.82 and top5 >= 0.95


def test_int8_agrees_with_fp32(lite0: PhotoClassifier, imagenet):
    """int8 must keep fp32's quality on the labels, and its photo embedding must stay close."""
    fp32 = PhotoClassifier(precision="fp32")
    sample = imagenet[::2]
    truth = np.array([label for _, _, label in sample])
    top1_q, top1_f, cosines = [], [], []
    for _, rgb, _ in sample:
        (classes_q, emb_q), (classes_f, emb_f) = lite0.classify(rgb, top_k=1), fp32.classify(rgb, top_k=1)
        top1_q.append(lite0.labels.index(classes_q[0].label))
        top1_f.append(fp32.labels.index(classes_f[0].label))
        cosines.append(float(emb_q @ emb_f / np.linalg.norm(emb_q) / np.linalg.norm(emb_f)))
    top1_q, top1_f = np.array(top1_q), np.array(top1_f)
    accuracy_q, accuracy_f = (top1_q == truth).mean(), (top1_f == truth).mean()
    print(f"\nLite0 on {len(sample)} photos: top-1 int8 {accuracy_q:.3f} fp32 {accuracy_f:.3f}, agreement "
          f"{(top1_q == top1_f).mean():.3f}; embedding cosine min {min(cosines):.3f} median "
          f"{np.median(cosines):.3f}")
    # Held-out draw of 2026-12-01 (all 334 photos): agreement 0.907, cosine median 0.929, min 0.62; the
    # first draw gave 0.982. The labels' accuracy is what the interests use, so that is the bar.
    assert accuracy_q >= accuracy_f - 0.03
    assert (top1_q == top1_f).mean() >= 0.85
    assert np.median(cosines) > 0.9


def test_names_food(lite0: PhotoClassifier, shared_data: Path, imagenet):
    folder = shared_data / "food101"
    dishes = sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
    if not dishes:
        pytest.skip(f"no Food-101 photos in {folder}")
    for dish in dishes:
        photos = sorted(dish.glob("*.jpg"))[:12]
        results = [lite0.classify(load_rgb(p), top_k=5)[0] for p in photos]
        top1 = sum(r[0].label in FOOD_LABELS for r in results)
        top5 = sum(any(c.label in FOOD_LABELS for c in r) for r in results)
        print(f"\n{dish.name}: a food class top-1 for {top1}/{len(photos)}, in the top-5 for {top5}/{len(photos)}")
        assert top1 >= 0.75 * len(photos) and top5 >= 0.9 * len(photos), dish.name
    # control: animals (the first ImageNet classes) are not called food
    animals = imagenet[:60]
    food_top1 = sum(lite0.classify(rgb, top_k=1)[0][0].label in FOOD_LABELS for _, rgb, _ in animals)
    assert food_top1 <= 0.1 * len(animals)


def test_custom_model_and_labels(lite0: PhotoClassifier, tmp_path: Path):
    entry = load_manifest()["efficientnet_lite0"]
    custom = PhotoClassifier(model_path=entry.path(), labels_path=entry.labels_path(), mean=127.0, std=128.0,
                             apply_softmax=None)
    rgb = np.random.default_rng(1).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    np.testing.assert_allclose(custom.scores(rgb), lite0.scores(rgb), atol=1e-6)
    assert custom.classify(rgb)[1].shape == (1280,)

    short = tmp_path / "labels.txt"
    short.write_text("\n".join(read_labels(entry.labels_path())[:365]) + "\n")
    with pytest.raises(ValueError, match="365 labels"):
        PhotoClassifier(model_path=entry.path(), labels_path=short)
    with pytest.raises(ValueError, match="labels file"):
        PhotoClassifier(model_path=entry.path())
    with pytest.raises(FileNotFoundError):
        PhotoClassifier(model_path=tmp_path / "missing.onnx", labels_path=entry.labels_path())
    with pytest.raises(ValueError, match="tier"):
        PhotoClassifier(tier="lite9")
