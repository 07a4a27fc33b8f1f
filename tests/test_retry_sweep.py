"""The rule that chose the close-up retry's square (benchmarks/face_finding.py --retry-sides): the smallest
square within the allowed loss of split A's best close-up count, no more false faces on A than the model's
own square, and not at the edge of the passing range."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import face_finding
from benchmarks.face_finding_data import FaceCheck, Frame
from galprof.config import Settings
from galprof.facts import Box


def _frames(found_a: int, found_b: int, false_a: int, photos: int = 100) -> list[Frame]:
    face = FaceCheck(Box(10, 10, 150, 150), 0.9, 1.0, 0.0, 1.3)
    frames = []
    for split, found in (("A", found_a), ("B", found_b)):
        frames += [Frame("closeup", "utkface", split, f"{split}{i}.jpg", size=(200, 200),
                         faces=[face] if i < found else []) for i in range(photos)]
    frames += [Frame("nopeople", "imagenet", "A", f"n{i}.jpg", size=(500, 400), faces=[face] if i < false_a else [])
               for i in range(50)]
    return frames


@pytest.mark.parametrize(("results", "chosen"), [
    # all pass on A: the smallest is the range's edge, so the next one up is taken
    ({192: (100, 100, 0), 160: (100, 99, 0), 128: (100, 99, 0), 96: (100, 95, 0)}, 128),
    # 96 loses a close-up on A (over 0.5 %): 128 is the edge now
    ({192: (100, 100, 0), 160: (100, 99, 0), 128: (100, 99, 0), 96: (99, 95, 0)}, 160),
    # a square adding false faces on A does not pass
    ({192: (100, 100, 0), 160: (100, 100, 0), 128: (100, 100, 1), 96: (100, 100, 1)}, 192),
    # only the model's own square passes
    ({192: (100, 100, 0), 160: (90, 90, 0), 128: (80, 80, 0)}, 192),
])
def test_side_sweep_takes_the_smallest_square_inside_the_flat_part(monkeypatch, capsys, results, chosen):
    def fake(data, zoom, sources, checks, settings, side=192):
        return _frames(*results[side]), 1.0

    monkeypatch.setattr(face_finding, "cached_frames", fake)
    assert face_finding.side_sweep(Path("."), sorted(results, reverse=True), Settings(), 0.005) == chosen
    assert f"chosen on A: {chosen} px" in capsys.readouterr().out
