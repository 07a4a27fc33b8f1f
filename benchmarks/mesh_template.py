"""Calibrate where Face Mesh's four anchor points (eye centres, nose tip, mouth centre) fall on the
embedding chip, so that chips aligned from the mesh have the same mean geometry as today's chips
(BlazeFace keypoints onto EMBEDDING_TEMPLATE, itself calibrated against dlib's chips).

Each face's mesh anchors are mapped into the chip by its BlazeFace alignment; the template is their
mean over split A of benchmarks/face_finding.py's true faces (UTKFace even file index, event albums of
even index; never LFW, on which the chips are judged). Prints the template for galprof/vision/align.py.

    PYTHONPATH=. python benchmarks/mesh_template.py [--data ../shared/data]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from galprof.config import Settings
from galprof.media.decode import decode_image
from galprof.vision.align import EMBEDDING_TEMPLATE, as_image, similarity_transform
from galprof.vision.blazeface import FaceDetector
from galprof.vision.face_landmarks import FaceLandmarker


def calibration_photos(data: Path) -> list[Path]:
    utk = sorted((data / "utkface").glob("*.jpg"))[0::2]
    albums = sorted(a for event in (data / "events").iterdir() if event.is_dir() for a in event.iterdir())
    events = [p for album in albums[0::2] for p in sorted(album.glob("*.jpg"))]
    return utk + events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--min-presence", type=float, default=0.5, help="meshes trusted for the mean")
    args = parser.parse_args()
    settings = Settings()
    detector, landmarker = FaceDetector(variant=settings.face_detector), FaceLandmarker()
    mapped = []
    for path in calibration_photos(args.data):
        image = as_image(decode_image(str(path), settings.max_side).rgb)
        for detection in detector.detect(image, min_score=settings.face_score):
            mesh = landmarker.mesh(image, detection)
            if mesh.presence < args.min_presence:
                continue
            matrix = similarity_transform(detection.keypoints[:4], EMBEDDING_TEMPLATE.points)
            mapped.append(mesh.anchor_points() @ matrix[:, :2].T + matrix[:, 2])
    points = np.array(mapped)
    print(f"{len(points)} faces; mean (x, y) per point, then the spread (std) in chip pixels:")
    print(np.array2string(points.mean(0), precision=2, separator=", "))
    print(np.array2string(points.std(0), precision=2, separator=", "))


if __name__ == "__main__":
    main()
