"""Per-photo features and counters of ../shared/data for the learned-profile evaluations.

`load_sources()` scans each source folder once into its own cache under .cache/learn/ (`galprof
features`, reused on later runs) and returns, per source, every photo's path, (f, p, o) and the
taxonomy categories the counters give it. `theme_pools()` turns them into labelled theme pools:
ImageNet samples by the taxonomy category of their true class (file order gives the class index:
the folder holds every third class), Food-101 as food, the CUFED event albums as sports (personal
sports), culture (birthday, graduation, show) and activity (theme park); LFW faces, the phone photos
and ImageNet classes outside the taxonomy are unlabelled filler.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "learn"
SOURCES = ("events", "food101", "imagenet-samples", "phones", "lfw")
EVENT_THEMES = {"Personal_sports": "sports", "Birthday": "culture", "Graduation": "culture", "Show": "culture",
                "ThemePark": "activity"}
MIN_POOL = 8  # a theme needs at least this many photos (half of them for training, half for testing)


@dataclass
class Photo:
    path: str
    source: str
    x: dict[str, np.ndarray]  # f, p, o
    counted: frozenset[str]  # taxonomy categories the counters give this photo


def data_root() -> Path:
    return Path(os.environ.get("GALPROF_SHARED_DATA", ROOT.parent / "shared" / "data"))


def _extract(source: str) -> Path:
    out = CACHE / f"{source}.npz"
    if not out.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "galprof", "features", str(data_root() / source), "--cache",
                        str(CACHE / f"{source}.sqlite"), "-o", str(out), "-q", "--workers", "1"], check=False)
    return out


def load_sources() -> dict[str, list[Photo]]:
    from galprof.analysis.interests import Taxonomy, media_interests
    from galprof.store import Store

    taxonomy = Taxonomy.load()
    out: dict[str, list[Photo]] = {}
    for source in SOURCES:
        with np.load(_extract(source), allow_pickle=False) as npz:
            data = {k: npz[k] for k in ("f", "p", "o", "paths")}  # each npz[k] decompresses the array
        with Store(CACHE / f"{source}.sqlite", create=False) as store:
            counted = {m.path: frozenset(c for c, _ in media_interests(m, taxonomy)) for m in store.iter_media()}
        out[source] = [Photo(str(path), source, {k: data[k][i].copy() for k in ("f", "p", "o")},
                             counted.get(str(path), frozenset()))
                       for i, path in enumerate(data["paths"])]
    return out


def imagenet_category(photos: list[Photo]) -> dict[str, str | None]:
    """path -> the taxonomy category of the photo's true ImageNet class (None outside the taxonomy)."""
    from galprof.analysis.interests import Taxonomy
    from galprof.learn.datasets import feature_labels

    taxonomy = Taxonomy.load()
    class_labels, _ = feature_labels()
    ordered = sorted(photos, key=lambda p: Path(p.path).name)
    out = {}
    for i, photo in enumerate(ordered):
        label = class_labels[3 * i]
        cats = sorted({m.category for m in taxonomy.classifier.get(label, ())})
        out[photo.path] = cats[0] if len(cats) == 1 else None
    return out


def theme_pools(sources: dict[str, list[Photo]]) -> tuple[dict[str, list[Photo]], list[Photo]]:
    """({category: photos}, filler photos)."""
    pools: dict[str, list[Photo]] = {}
    filler: list[Photo] = list(sources["lfw"]) + list(sources["phones"])
    truth = imagenet_category(sources["imagenet-samples"])
    for photo in sources["imagenet-samples"]:
        cat = truth[photo.path]
        (pools.setdefault(cat, []) if cat else filler).append(photo)
    pools.setdefault("food", []).extend(sources["food101"])
    for photo in sources["events"]:
        event = Path(photo.path).parent.parent.name
        pools.setdefault(EVENT_THEMES[event], []).append(photo)
    small = [c for c, ps in pools.items() if len(ps) < MIN_POOL]
    for cat in small:
        filler.extend(pools.pop(cat))
    return dict(sorted(pools.items())), filler


def split_half(photos: list[Photo], rng: np.random.Generator) -> tuple[list[Photo], list[Photo]]:
    order = rng.permutation(len(photos))
    half = len(photos) // 2
    return [photos[i] for i in order[:half]], [photos[i] for i in order[half:]]
