"""What the face detector's fine pass finds that the scan loses when the pass runs only on frames where
NanoDet sees a person (`FrameAnalyzer`, FINE_PASS_NEEDS at OBJECT_MIN_SCORE), and the CPU it saves:

    PYTHONPATH=. .venv/bin/python benchmarks/fine_pass_gate.py [--data ../shared/data] [--limit N]

Two sets where the fine pass matters (faces of 48-96 px in a 1024 px frame, under what the whole-image
pass finds):
- events: the event album photos (~500 px, real group photos) enlarged to a 1024 px frame, as a 2 MP
  copy of such a photo would be framed by the scan, so their 20-50 px faces become 40-100 px;
- heads: one LFW photo per person (head and shoulders, 240 px) shrunk so the face is ~60-90 px and
  pasted on a nature photo of immich-assets: a face with little of its body, the hard case for a
  person detector.
Both runs use the scan's detector at Settings.face_score. A face "kept" is one the gated run finds at the
same place (IoU >= 0.5) as the ungated one. No parameter is chosen here: the gate's label and score are
NanoDet's existing person class and the analyzer's OBJECT_MIN_SCORE.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from PIL import Image

from galprof.config import Settings
from galprof.vision.analyzer import FINE_PASS_NEEDS, OBJECT_MIN_SCORE
from galprof.vision.blazeface import FaceDetector
from galprof.vision.frame_image import FrameImage
from galprof.vision.nanodet import ObjectDetector

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def event_frames(data: Path, limit: int) -> list[tuple[str, np.ndarray]]:
    out = []
    for path in sorted((data / "events").rglob("*.jpg"))[:limit]:
        with Image.open(path) as im:
            im = im.convert("RGB")
            scale = 1024 / max(im.size)
            out.append((f"events/{path.parent.name}/{path.name}",
                        np.asarray(im.resize((round(im.width * scale), round(im.height * scale)),
                                             Image.Resampling.BILINEAR))))
    return out


def head_frames(data: Path, limit: int) -> list[tuple[str, np.ndarray]]:
    backgrounds = sorted((data / "immich-assets" / "albums" / "nature").glob("*.jpg"))
    people = sorted(p for p in (data / "lfw").iterdir() if p.is_dir())[:limit]
    rng = np.random.default_rng(2026)
    out = []
    for i, person in enumerate(people):
        photo = min(person.glob("*.jpg"))
        with Image.open(backgrounds[i % len(backgrounds)]) as bg:
            canvas = bg.convert("RGB").resize((1024, 768), Image.Resampling.BILINEAR)
        side = int(rng.integers(130, 200))  # LFW faces are ~45 % of the photo: 60-90 px faces
        with Image.open(photo) as face:
            canvas.paste(face.convert("RGB").resize((side, side), Image.Resampling.BILINEAR),
                         (int(rng.integers(0, 1024 - side)), int(rng.integers(0, 768 - side))))
        out.append((f"heads/{person.name}", np.asarray(canvas)))
    return out


def iou(a, b) -> float:
    ix = max(0.0, min(a.x2, b.x2) - max(a.x1, b.x1))
    iy = max(0.0, min(a.y2, b.y2) - max(a.y1, b.y1))
    inter = ix * iy
    return inter / max(a.width * a.height + b.width * b.height - inter, 1e-9)


def run_set(name: str, frames, detector: FaceDetector, objects: ObjectDetector, score: float) -> dict:
    tally = {"frames": 0, "gate_open": 0, "faces": 0, "kept": 0, "fine_only": 0, "fine_only_kept": 0,
             "cpu_s_ungated": 0.0, "cpu_s_gated": 0.0}
    lost = []
    for label, rgb in frames:
        frame = FrameImage(rgb)
        person = any(o.label == FINE_PASS_NEEDS for o in objects.detect(frame, min_score=OBJECT_MIN_SCORE))
        t0 = time.process_time()
        full = detector.detect(frame, score)
        t1 = time.process_time()
        gated = detector.detect(frame, score, fine_pass=person)
        t2 = time.process_time()
        # the faces without the fine pass: the gated run itself where the gate is closed
        whole = detector.detect(frame, score, fine_pass=False) if person else gated
        tally["cpu_s_ungated"] += t1 - t0
        tally["cpu_s_gated"] += t2 - t1
        tally["frames"] += 1
        tally["gate_open"] += person
        for face in full:
            kept = any(iou(face.box, g.box) >= 0.5 for g in gated)
            fine_only = not any(iou(face.box, w.box) >= 0.5 for w in whole)
            tally["faces"] += 1
            tally["kept"] += kept
            tally["fine_only"] += fine_only
            tally["fine_only_kept"] += fine_only and kept
            if not kept:
                lost.append(f"{label} ({face.box.width:.0f} px, {face.score:.2f})")
    print(f"{name}: {tally['frames']} frames, gate open on {tally['gate_open']}; faces {tally['faces']}, "
          f"kept {tally['kept']}; found only by the fine pass {tally['fine_only']}, of them kept "
          f"{tally['fine_only_kept']}; detector CPU s ungated {tally['cpu_s_ungated']:.2f}, gated "
          f"{tally['cpu_s_gated']:.2f}")
    for line in lost:
        print("  lost:", line)
    return tally


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--limit", type=int, default=1000, help="at most this many photos (people) per set")
    args = parser.parse_args()
    settings = Settings()
    detector = FaceDetector(variant=settings.face_detector, threads=1)
    objects = ObjectDetector(threads=1)
    run_set("events at 1024 px", event_frames(args.data, args.limit), detector, objects, settings.face_score)
    run_set("LFW heads on nature photos", head_frames(args.data, args.limit), detector, objects,
            settings.face_score)


if __name__ == "__main__":
    main()
