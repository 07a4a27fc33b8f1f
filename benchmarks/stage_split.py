"""Where a photo's CPU goes, stage by stage, against the floor's parts: galprof's decode and Pillow's 1/8
draft, the face path, NanoDet (pre-processing, session.run, GFL decoding, NMS), the classifier (its
pre-processing apart), one thread, median of `--repeats` per photo, CPU ms averaged over the folder:

    .venv/bin/python benchmarks/stage_split.py ../shared/data/phones [--repeats 3]

The bare 1-thread runs of the models (the floor's model part) are `galprof bench`'s floor table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from galprof.bench.floor import draft_eighth
from galprof.config import Settings
from galprof.media.decode import decode_image
from galprof.vision.analyzer import OBJECT_MIN_SCORE, FrameAnalyzer
from galprof.vision.nanodet import classwise_nms


def _ms(fn, repeats: int) -> float:
    fn()
    samples = []
    for _ in range(repeats):
        started = time.process_time()
        fn()
        samples.append(time.process_time() - started)
    return statistics.median(samples) * 1000


def split(analyzer: FrameAnalyzer, path: Path, repeats: int) -> dict:
    rgb = decode_image(str(path)).rgb
    objects = analyzer.objects
    tensor, _scale, _dx, _dy = objects.preprocess(rgb)
    outputs = objects.model.run(tensor)
    boxes, scores, classes = objects.decode(outputs, OBJECT_MIN_SCORE)
    return {
        "decode": _ms(lambda: decode_image(str(path)), repeats),
        "draft_1_8": _ms(lambda: draft_eighth(path), repeats),
        "faces": _ms(lambda: analyzer.faces.run(rgb), repeats),
        "objects": _ms(lambda: objects.detect(rgb, min_score=OBJECT_MIN_SCORE), repeats),
        "objects_preprocess": _ms(lambda: objects.preprocess(rgb), repeats),
        "objects_run": _ms(lambda: objects.model.run(tensor), repeats),
        "objects_decode": _ms(lambda: objects.decode(outputs, OBJECT_MIN_SCORE), repeats),
        "objects_nms": _ms(lambda: classwise_nms(boxes, scores, classes, 0.5), repeats),
        "classifier": _ms(lambda: analyzer.classifier.classify(rgb), repeats),
        "classifier_preprocess": _ms(lambda: analyzer.classifier.preprocess(rgb), repeats),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    analyzer = FrameAnalyzer(Settings(ocr=False), threads=1)
    rows = [split(analyzer, path, args.repeats) for path in sorted(args.folder.iterdir()) if path.is_file()]
    print(json.dumps({"photos": len(rows), **{k: round(statistics.fmean(r[k] for r in rows), 1) for k in rows[0]}},
                     indent=1))


if __name__ == "__main__":
    main()
