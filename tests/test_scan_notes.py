"""Library warnings during a scan become notes on their file; nothing leaks onto stderr."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from PIL import Image

from galprof.config import Settings
from galprof.facts import FrameFacts
from galprof.pipeline import scan
from tests.media_factory import huge_png_header, image_bytes, write_video


class _WarningAnalyzer:
    """Warns as Pillow and numpy do on odd inputs (a bomb-sized image, a division by zero)."""

    signature = "warning-analyzer"

    def __init__(self, settings, threads):
        pass

    def analyze(self, rgb, timestamp=None):
        if rgb.shape[1] == 80:  # only the photo named bomb.jpg below
            warnings.warn("Image size (90000000 pixels) exceeds limit", Image.DecompressionBombWarning, stacklevel=1)
        with np.errstate(all="warn"):
            np.float64(rgb.mean()) / np.float64(0.0)
        return FrameFacts(width=int(rgb.shape[1]), height=int(rgb.shape[0]), timestamp=timestamp)


@pytest.mark.parametrize("quiet", [True, False])
def test_warnings_become_notes_not_stderr_lines(tmp_path, capfd, quiet):
    root = tmp_path / "gallery"
    root.mkdir()
    (root / "bomb.jpg").write_bytes(image_bytes("JPEG", np.zeros((40, 80, 3), np.uint8)))
    (root / "plain.png").write_bytes(image_bytes("PNG"))
    write_video(root / "clip.mp4", frames=20)
    (root / "huge.png").write_bytes(huge_png_header(9400, 9400))
    result = scan(root, Settings(workers=1), cache_path=tmp_path / "c.sqlite", quiet=quiet,
                  analyzer_factory=_WarningAnalyzer)
    try:
        err = capfd.readouterr().err
        assert "Warning" not in err
        notes = {(n.path.rsplit("/", 1)[1], n.reason.split(":")[0]) for n in result.warnings}
        assert ("bomb.jpg", "DecompressionBombWarning") in notes
        assert {("bomb.jpg", "RuntimeWarning"), ("plain.png", "RuntimeWarning"), ("clip.mp4", "RuntimeWarning")} <= notes
        # one note per warning and file, not one per video frame
        assert len([n for n in result.warnings if n.path.endswith("clip.mp4")]) == 1
        assert [(e.path.rsplit("/", 1)[1], e.reason.split(" (")[0]) for e in result.errors] == [
            ("huge.png", "too large to decode within the memory budget")]
    finally:
        result.store.close()
