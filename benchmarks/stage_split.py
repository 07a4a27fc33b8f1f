"""Where a photo's CPU goes, stage by stage, against the floor's parts. One thread, CPU ms per photo
(median of `--repeats` per photo, averaged over the folder):

    .venv/bin/python benchmarks/stage_split.py ../shared/data/phones [--repeats 3] [--json out.json]

Rows: EXIF (exifread), galprof's decode split into the JPEG decode at its DCT scale and the rest (the
resize to the frame, orientation, the array copy), Pillow's 1/8 draft (the floor's decode); the frame's
Pillow image (once per frame); then `FrameAnalyzer.analyze` with every model's `session.run` timed and
counted where it runs, so the table says how many BlazeFace inputs a photo costs and why (the passes
of `FaceDetector.scales`, the close-up retry when the whole image holds no face), how many faces went
through Face Mesh, the embedder and the age/gender members, whether the selfie models ran (gated on a
plausible face) and whether the OCR gate opened; "Python around the models" is analyze minus every
session.run, minus OCR. Last, the store's encoding of the result (the worker hands it to the main process,
which writes it). The bare 1-thread runs of the models (the floor's model part) are `galprof bench`'s
floor table.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from collections import defaultdict
from pathlib import Path

from PIL import Image

from galprof.bench.floor import draft_eighth
from galprof.config import Settings
from galprof.facts import MediaFacts
from galprof.media.decode import DRAFT_FRACTION, decode_image, target_size
from galprof.media.exif import read_photo_exif
from galprof.store import encode_media
from galprof.vision.analyzer import FrameAnalyzer

try:
    from galprof.vision.frame_image import FrameImage
except ImportError:  # a tree from before FrameImage (a before/after run): its models convert the array
    FrameImage = None


def _ms(fn, repeats: int) -> float:
    fn()
    samples = []
    for _ in range(repeats):
        started = time.process_time()
        fn()
        samples.append(time.process_time() - started)
    return statistics.median(samples) * 1000


def _jpeg_only(path: Path, max_side: int) -> None:
    """The decode's JPEG step alone: the same DCT scale as `decode_image`, nothing after it."""
    with Image.open(path) as im:
        if im.format == "JPEG" and max(im.size) > max_side:
            im.draft("RGB", target_size(*im.size, max(1, math.ceil(max_side * DRAFT_FRACTION))))
        im.load()


class RunMeter:
    """Wraps every model's `run` in the analyzer: CPU seconds and calls per model, reset per photo."""

    def __init__(self, analyzer: FrameAnalyzer):
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        faces = analyzer.faces
        models = {"blazeface": faces.detector.model, "nanodet": analyzer.objects.model,
                  "classifier": analyzer.classifier.model, "embedder": faces.embedder.model,
                  "iris": analyzer.selfie.iris.model, "segmentation": analyzer.selfie.segmenter.model}
        if faces.landmarker is not None:
            models["face_mesh"] = faces.landmarker.model
        for key, member in (faces.estimator.members.items() if faces.estimator is not None else ()):
            for part in ("age", "gender"):  # Cydral's two networks
                if hasattr(member, part):
                    models[f"{key}_{part}"] = getattr(member, part).model
            if hasattr(member, "model"):  # face-api: one network
                models[key] = member.model
        for name, model in models.items():
            self._wrap(name, model)

    def _wrap(self, name: str, model) -> None:
        inner = model.run

        def run(tensor, _inner=inner, _name=name):
            started = time.process_time()
            try:
                return _inner(tensor)
            finally:
                self.seconds[_name] += time.process_time() - started
                self.calls[_name] += 1

        model.run = run

    def reset(self) -> None:
        self.seconds.clear()
        self.calls.clear()


def split(analyzer: FrameAnalyzer, meter: RunMeter, path: Path, repeats: int, max_side: int) -> dict:
    decoded = decode_image(str(path), max_side)
    rgb = decoded.rgb
    row = {"exif": _ms(lambda: read_photo_exif(str(path)), repeats),
           "decode": _ms(lambda: decode_image(str(path), max_side), repeats),
           "decode_jpeg": _ms(lambda: _jpeg_only(path, max_side), repeats),
           "draft_1_8": _ms(lambda: draft_eighth(path), repeats),
           "frame_image": _ms(lambda: FrameImage(rgb) if FrameImage else Image.fromarray(rgb), repeats)}
    row["decode_rest"] = row["decode"] - row["decode_jpeg"]
    samples, runs = [], []
    analyzer.analyze(rgb)
    for _ in range(repeats):
        meter.reset()
        ocr_before = analyzer.seconds["ocr"]
        started = time.process_time()
        facts = analyzer.analyze(rgb)
        samples.append((time.process_time() - started, analyzer.seconds["ocr"] - ocr_before))
        runs.append((dict(meter.seconds), dict(meter.calls)))
    order = sorted(range(repeats), key=lambda i: samples[i][0])
    middle = order[len(order) // 2]
    seconds, calls = runs[middle]
    row["analyze"] = samples[middle][0] * 1000
    row["ocr"] = samples[middle][1] * 1000
    for name, value in seconds.items():
        row[f"run_{name}"] = value * 1000
        row[f"calls_{name}"] = calls[name]
    row["python_around_models"] = row["analyze"] - row["ocr"] - sum(seconds.values()) * 1000
    row["faces_found"] = len(facts.faces)
    row["selfie_ran"] = int(facts.selfie is not None)
    row["ocr_ran"] = int(facts.text is not None)
    media = MediaFacts(path=str(path), kind="photo", format=decoded.format, size=path.stat().st_size,
                       mtime=path.stat().st_mtime, exif=read_photo_exif(str(path)), frames=[facts])
    row["store_encode"] = _ms(lambda: encode_media(media), repeats)
    row["frame_px"] = f"{decoded.width}x{decoded.height} (draft 1/{round(1 / decoded.draft_scale)})"
    return row


def summarize(rows: list[dict]) -> dict:
    keys = sorted({k for r in rows for k in r if k != "frame_px"})
    # a model that did not run on a photo counts 0 there
    return {"photos": len(rows), **{k: round(statistics.fmean(r.get(k, 0) for r in rows), 2) for k in keys}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None, help="also write the per-photo rows here")
    args = parser.parse_args()
    settings = Settings()
    analyzer = FrameAnalyzer(settings, threads=1)
    meter = RunMeter(analyzer)
    rows = [split(analyzer, meter, path, args.repeats, settings.max_side)
            for path in sorted(args.folder.iterdir()) if path.is_file()]
    summary = summarize(rows)
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "rows": rows}, indent=1))
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
