"""A model-free analyzer for scan tests of the cache (no model cost) and a small gallery for it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from galprof.config import Settings
from galprof.facts import FrameFacts
from tests.media_factory import image_bytes


class ColorAnalyzer:
    """FrameFacts whose 1280-d embedding is the frame's mean colour repeated (rows of ~3 KB)."""

    def analyze(self, rgb: np.ndarray, timestamp: float | None = None) -> FrameFacts:
        mean = rgb.reshape(-1, 3).mean(axis=0).astype(np.float32)
        return FrameFacts(width=rgb.shape[1], height=rgb.shape[0], timestamp=timestamp,
                          embedding=np.resize(mean, 1280))


def color_factory(settings: Settings, threads: int) -> ColorAnalyzer:
    return ColorAnalyzer()


color_factory.signature = "color-test"


def color_gallery(root: Path, n: int = 6) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (root / f"p{i}.png").write_bytes(image_bytes("PNG", np.full((16, 16, 3), (17 * i) % 256, np.uint8)))
    return root
