"""Tesseract in process (tesserocr, raw grey pixels) against pytesseract (the tesseract program, a BMP file)
on the same prepared frames: CPU s per read (this process and its children, one OpenMP thread), and
whether both read the same text:

    .venv/bin/python benchmarks/ocr_backends.py [--data ../shared/data] [--repeats 2]

The frames are the text and nature photos of immich-assets, decoded as the scan decodes them. Last, with
the preferred backend: the text photos read from the scan's 1024 px frame (upscaled to 1600 px by
`ocr._prepare`) against a decode straight at 1600 px (what a second, larger decode for gated frames
would give): words of 4+ letters read, and that decode's CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
from pathlib import Path

from galprof.analysis import ocr, tesseract
from galprof.media.decode import decode_image


def _cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    paths = sorted((args.data / "immich-assets" / "albums").glob("*/*.jpg"))
    frames = [decode_image(str(p)).rgb for p in paths]
    report = {"frames": len(frames)}
    texts = {}
    for backend in ("tesserocr", "pytesseract"):
        os.environ["GALPROF_OCR_BACKEND"] = backend
        tesseract.backend.cache_clear()
        if tesseract.backend() != backend:
            report[backend] = "cannot run here"
            continue
        ocr.read_text(frames[0])  # warm-up: language data loaded once per process
        runs = []
        for _ in range(args.repeats):
            started = _cpu()
            texts[backend] = [ocr.read_text(f) for f in frames]
            runs.append(round((_cpu() - started) / len(frames), 3))
        report[backend] = {"cpu_s_per_read": runs, "characters": [len(t) for t in texts[backend]]}
    if len(texts) == 2:
        report["same_text"] = sum(a == b for a, b in zip(texts["tesserocr"], texts["pytesseract"], strict=True))
    os.environ.pop("GALPROF_OCR_BACKEND", None)
    tesseract.backend.cache_clear()
    if tesseract.backend():
        report["frame_1024_vs_decode_1600"] = [_larger_decode(p) for p in paths if p.parent.name == "text"]
    print(json.dumps(report, indent=1))


def _words(text: str) -> int:
    return sum(1 for word in text.split() if len(word) > 3 and word.isalpha())


def _larger_decode(path: Path) -> dict:
    started = _cpu()
    large = decode_image(str(path), 1600).rgb
    decode_s = _cpu() - started
    return {"photo": path.name, "words_from_frame": _words(ocr.read_text(decode_image(str(path)).rgb)),
            "words_from_1600": _words(ocr.read_text(large)), "decode_1600_cpu_s": round(decode_s, 3)}


if __name__ == "__main__":
    main()
