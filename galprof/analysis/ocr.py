"""OCR for the privacy rule: decide cheaply which frames may show a document, and read their text.

Tesseract costs about 1-5 s per photo on one core, two to three orders of magnitude more than the
other models, so it runs only on frames the classifier (or the detector) already sees as text
carriers: envelopes, book covers, menus, screenshots of web sites, binders, comic books, crosswords,
packets, plaques, signs, wallets; or a detected book. `needs_ocr` looks only at FrameFacts (no pixels),
so it adds nothing to the scan time of other frames.

Tesseract runs in process through tesserocr when its wheel and the language data are there, else through
pytesseract and the Debian `tesseract` binary (galprof/analysis/tesseract.py); when neither is,
`ocr_available()` is False and the profile reports the OCR privacy rule as disabled.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from galprof.analysis import tesseract
from galprof.facts import FrameFacts

if TYPE_CHECKING:  # the scan's cache key asks ocr_available() without importing numpy
    import numpy as np

# ImageNet-1k classes (names of models/labels/imagenet1k.txt) that are mostly text or documents.
DOCUMENT_CLASSES = frozenset({
    # documents and screens
    "envelope", "dust jacket", "menu", "website", "ring binder", "comic book", "crossword",
    "product packet / packaging", "brass memorial plaque", "traffic or street sign", "monitor", "CRT monitor",
    # where cards and IDs are kept
    "wallet", "purse",
    # a desk with notes
    "ballpoint pen", "fountain pen", "quill", "pencil case", "eraser", "ruler measuring stick",
    # shop fronts and signboards
    "bookstore", "tobacco shop",
})
# COCO classes that carry text.
DOCUMENT_OBJECTS = {"book": 0.45}
# Summed classifier score of the document classes in a frame's top-k that triggers OCR.
DOCUMENT_SCORE = 0.15
# Tesseract reads best with text lines ~20-40 px high; frames are at most 1024 px, so small print
# gains from 2x upscaling (measured on the immich text photos: see tests/test_ocr.py).
OCR_MIN_SIDE = 1600
TESSERACT_CONFIG = "--psm 3"


def document_score(frame: FrameFacts) -> float:
    """How much the classifier's top-k says "document": the summed score of DOCUMENT_CLASSES."""
    return float(sum(c.score for c in frame.classes if c.label in DOCUMENT_CLASSES))


def needs_ocr(frame: FrameFacts) -> bool:
    """True when a frame looks like a document or text, judged from its model results only."""
    if document_score(frame) >= DOCUMENT_SCORE:
        return True
    return any(o.label in DOCUMENT_OBJECTS and o.score >= DOCUMENT_OBJECTS[o.label] for o in frame.objects)


def ocr_available() -> bool:
    """True when tesseract can run here (in process through tesserocr, or the tesseract program)."""
    return tesseract.backend() is not None


def unavailable_reason() -> str | None:
    """Why OCR cannot run here (None when it can)."""
    if ocr_available():
        return None
    try:
        import pytesseract  # noqa: F401
    except ImportError:
        return "neither tesserocr (with eng.traineddata) nor pytesseract is installed"
    return "the tesseract program was not found (install tesseract-ocr)"


def _prepare(rgb: np.ndarray):
    """Grey image, upscaled so that the longest side is at least OCR_MIN_SIDE. Marked as BMP for the
    pytesseract path: it hands tesseract a file in the image's format, PNG when it has none, and
    PNG-encoding a 1600 px frame cost 0.12 s of CPU per read here (BMP: 0.004 s); tesserocr gets the raw
    pixels."""
    import numpy as np
    from PIL import Image

    img = Image.fromarray(np.ascontiguousarray(rgb)).convert("L")
    longest = max(img.size)
    if longest < OCR_MIN_SIDE:
        scale = OCR_MIN_SIDE / longest
        img = img.resize((round(img.width * scale), round(img.height * scale)), Image.Resampling.BICUBIC)
    img.format = "BMP"
    return img


def read_text(rgb: np.ndarray, timeout: float = 30.0) -> str:
    """The text tesseract reads in an (H, W, 3) uint8 RGB frame ("" when none or on failure)."""
    # Tesseract's OpenMP threads fight the scan's own parallelism (one worker per core): measured
    # here 1.0-1.4 s per frame with one thread against 3.0-3.2 s with its default threads. The
    # variable reaches the tesseract child processes (onnxruntime does not read it); the libtesseract of
    # tesserocr's wheel is built without OpenMP and reads on one thread.
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    return tesseract.read_string(_prepare(rgb), TESSERACT_CONFIG, timeout)


SPARSE_CONFIG = "--psm 11"  # sparse text: finds words on pages seen at an angle that --psm 3 misses
CONFIDENT = 75.0  # tesseract word confidence (0-100) a word needs in read_confident_words


def read_confident_words(rgb: np.ndarray, min_confidence: float = CONFIDENT, timeout: float = 30.0) -> list[str]:
    """The words tesseract reads with at least `min_confidence` in sparse-text mode. On photos without
    text it reads almost nothing this sure (measured: 0-1 readable words on landscapes, 4-140 on
    photographed documents: benchmarks/remote_privacy.py)."""
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    return [word.strip() for word, conf in tesseract.read_words(_prepare(rgb), SPARSE_CONFIG, timeout)
            if word.strip() and conf >= min_confidence]
