"""Model-free analyzers and generated users' galleries for the engine and batch tests.

`LabelAnalyzer` names a frame's ImageNet class by its colour, so profiles have real interests without
the models; the slow variant takes 0.3 s a frame, so that a test can kill a worker mid-batch."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from galprof.config import Settings
from galprof.facts import ClassScore, FrameFacts
from tests.media_factory import image_bytes

# colour of the generated photo -> the class the fake analyzer sees in it (all in models/taxonomy.json)
THEMES = {"mountain": (40, 160, 60), "pizza": (200, 60, 30), "sports car": (30, 30, 200), "espresso": (90, 50, 20)}


class LabelAnalyzer:
    def __init__(self, delay: float = 0.0):
        self.delay = delay

    def analyze(self, rgb: np.ndarray, timestamp: float | None = None) -> FrameFacts:
        time.sleep(self.delay)
        mean = rgb.reshape(-1, 3).mean(axis=0)
        label = min(THEMES, key=lambda name: float(np.abs(mean - THEMES[name]).sum()))
        return FrameFacts(width=rgb.shape[1], height=rgb.shape[0], timestamp=timestamp,
                          classes=[ClassScore(label, 0.9)], embedding=np.resize(mean.astype(np.float32), 1280))


def label_factory(settings: Settings, threads: int) -> LabelAnalyzer:
    return LabelAnalyzer()


def slow_label_factory(settings: Settings, threads: int) -> LabelAnalyzer:
    return LabelAnalyzer(delay=0.3)


label_factory.signature = slow_label_factory.signature = "label-test"


def user_gallery(root: Path, themes: dict[str, int]) -> Path:
    """A gallery with `count` photos of each theme (a slightly different shade each)."""
    root.mkdir(parents=True, exist_ok=True)
    for theme, count in themes.items():
        for i in range(count):
            rgb = np.full((24, 24, 3), THEMES[theme], np.int16) + i
            (root / f"{theme.replace(' ', '_')}_{i}.png").write_bytes(image_bytes("PNG", rgb.astype(np.uint8)))
    return root


def users(parent: Path, count: int = 3, photos: int = 4) -> Path:
    """`count` users' galleries under parent/user<i>, each with two of the themes."""
    names = list(THEMES)
    for u in range(count):
        user_gallery(parent / f"user{u}", {names[u % len(names)]: photos, names[(u + 1) % len(names)]: photos // 2})
    return parent
