"""`galprof selfie PHOTO...`: is each photo a selfie? One JSON line per photo, for an app that warns
before an upload. No cache and no gallery: only the photo's own pixels and EXIF (so the gallery-wide
"shortest focal length of this camera" rule of a profile does not apply here).

Per photo: decode (draft-scaled, as a scan), the face detector, and, when the largest face makes a
selfie plausible, MediaPipe Iris and Selfie Segmentation; then analysis/selfie.py scores it. None of
the identity, age, object or classifier models run.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click
import numpy as np

from galprof import facts
from galprof.errors import UsageError


class SelfieChecker:
    """The models of the check, loaded once; `check(path)` gives one photo's JSON-ready line."""

    def __init__(self, threads: int = 1):
        from galprof.config import Settings
        from galprof.vision.blazeface import FaceDetector
        from galprof.vision.selfie_cues import SelfieCueMeter

        self.settings = Settings()
        self.detector = FaceDetector(variant=self.settings.face_detector, threads=threads)
        self.meter = SelfieCueMeter(threads=threads)

    def frame_facts(self, rgb: np.ndarray) -> facts.FrameFacts:
        """Faces (detector only: no embedding, age or gender) and selfie cues of one RGB photo."""
        from galprof.vision.align import as_image

        image = as_image(rgb)
        faces = self.faces(image)
        frame = facts.FrameFacts(width=image.width, height=image.height, faces=faces)
        frame.selfie = self.meter.measure(image, faces)
        return frame

    def faces(self, image) -> list[facts.Face]:
        """The detector's faces of a Pillow image (no embedding)."""
        return [facts.Face(box=d.box, score=d.score, keypoints=d.keypoints, embedding=np.zeros(0, np.float32))
                for d in self.detector.detect(image, min_score=self.settings.face_score)]

    def check(self, path: str) -> dict[str, Any]:
        """The JSON-ready line of one photo file: path, selfie, score, evidence; or path and error."""
        from galprof.analysis.selfie import score_selfie
        from galprof.media.decode import DecodeError, decode_image
        from galprof.media.discover import display_path
        from galprof.media.exif import read_photo_exif

        shown = display_path(path)
        if os.path.isdir(path):
            return {"path": shown, "error": "is a folder, not a photo"}
        if not os.path.exists(path):
            return {"path": shown, "error": "no such file"}
        try:
            decoded = decode_image(path, self.settings.max_side, self.settings.decode_memory_mb * 2**20)
        except DecodeError as exc:
            return {"path": shown, "error": str(exc)}
        except PermissionError:
            return {"path": shown, "error": "permission denied"}
        verdict = score_selfie(self.frame_facts(decoded.rgb), read_photo_exif(path))
        return {"path": shown, "selfie": verdict.is_selfie, **verdict.to_dict()}


@click.command("selfie")
@click.argument("photos", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-q", "--quiet", is_flag=True, help="No summary on stderr.")
def selfie(photos: tuple[Path, ...], quiet: bool) -> None:
    """Say for each PHOTO whether it looks like a selfie: one JSON line each with path, selfie
    (true from a score of 0.85, analysis/selfie.py SELFIE_THRESHOLD), score in [0, 1] and evidence (faces, face_size, face_offset, yaw,
    distance_m from the iris, focal_source, person_bottom, person_side, exif). A file that cannot be
    read gives a line with path and error instead, and the exit status is 1.
    """
    from galprof.analysis.selfie import SELFIE_THRESHOLD
    from galprof.render.output import write_stdout

    try:
        checker = SelfieChecker()
    except (FileNotFoundError, KeyError) as exc:
        raise UsageError(f"the selfie models cannot be loaded: {exc}") from None
    failed = 0
    for photo in photos:
        line = checker.check(os.fsdecode(photo))
        failed += "error" in line
        write_stdout(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
    if not quiet:
        click.echo(f"galprof: {len(photos) - failed} photos checked (selfie from score {SELFIE_THRESHOLD}), "
                   f"{failed} failed", err=True)
    sys.exit(1 if failed else 0)
