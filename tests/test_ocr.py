"""OCR: which frames are read (decided from model results only), reading a generated document, the
cost of tesseract, and how often the gate opens on real photos."""

from __future__ import annotations

import sys
import time

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from galprof.analysis import ocr
from galprof.analysis import tesseract as tesseract_api
from galprof.analysis.privacy import find_sensitive
from tests.profile_factory import MODELS, frame


def test_document_classes_exist_in_the_labels():
    labels = set((MODELS / "labels" / "imagenet1k.txt").read_text().splitlines())
    assert ocr.DOCUMENT_CLASSES <= labels, sorted(ocr.DOCUMENT_CLASSES - labels)
    coco = set((MODELS / "labels" / "coco80.txt").read_text().splitlines())
    assert set(ocr.DOCUMENT_OBJECTS) <= coco


def test_needs_ocr_from_classes_and_objects():
    assert ocr.needs_ocr(frame({"envelope": 0.5, "tabby cat": 0.2}))
    assert ocr.needs_ocr(frame({"menu": 0.08, "website": 0.08}))  # summed over document classes
    assert ocr.needs_ocr(frame({"tabby cat": 0.9}, {"book": 0.6}))
    assert not ocr.needs_ocr(frame({"tabby cat": 0.9}, {"book": 0.2}))
    assert not ocr.needs_ocr(frame({"menu": 0.05, "pizza": 0.8}))
    assert not ocr.needs_ocr(frame())


def _document(lines: list[str], size: int = 28) -> np.ndarray:
    font = ImageFont.load_default(size=size)
    im = Image.new("RGB", (900, 80 + 60 * len(lines)), "white")
    draw = ImageDraw.Draw(im)
    for i, line in enumerate(lines):
        draw.text((20, 30 + i * 60), line, fill="black", font=font)
    return np.asarray(im)


@pytest.fixture(scope="module")
def tesseract():
    if not ocr.ocr_available():
        pytest.skip("tesseract is not installed")


def test_read_text_of_a_generated_id_page(tesseract):
    rgb = _document(["REISEPASS / PASSPORT", "Date of birth: 12.03.1985",
                     "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<"])
    started = time.perf_counter()
    text = ocr.read_text(rgb)
    seconds = time.perf_counter() - started
    print(f"tesseract on a 900 px page: {seconds:.2f} s")
    assert "PASSPORT" in text
    found = {f.kind for f in find_sensitive(text)}
    assert {"document words", "date of birth", "mrz"} <= found


def test_read_text_of_a_blank_frame_is_empty(tesseract):
    assert ocr.read_text(np.full((300, 400, 3), 255, np.uint8)) == ""


def test_unavailable_reason_when_the_binary_is_missing(monkeypatch):
    import pytesseract

    tesseract_api.backend.cache_clear()
    monkeypatch.setitem(sys.modules, "tesserocr", None)  # the wheel missing: import fails
    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", "/nonexistent/tesseract")
    try:
        assert not ocr.ocr_available()
        assert "tesseract" in ocr.unavailable_reason()
    finally:
        tesseract_api.backend.cache_clear()


@pytest.mark.slow
def test_ocr_gate_and_cost_on_real_photos(shared_data, tesseract):
    """How often the gate opens on the themed gallery (scanned with OCR on) and what a read costs."""
    from tests.profile_factory import themed_scan

    result, _ = themed_scan(shared_data)
    opened = {m.path.split("/gallery/")[1]: m.frames[0].text is not None for m in result.iter_media()}
    rate = sum(opened.values()) / len(opened)
    print(f"OCR ran on {sum(opened.values())} of {len(opened)} photos: "
          f"{sorted(k for k, v in opened.items() if v)}; ocr seconds: {result.stats['seconds']}")
    # the gate must keep tesseract off most photos: portraits, landscapes, pets, food never need it
    assert rate < 0.3
    assert not any(v for k, v in opened.items() if k.startswith(("portraits/", "landscapes/", "food/")))


def test_tesseract_gets_an_uncompressed_image():
    """pytesseract writes the image in its own format (PNG when none): PNG-encoding cost more CPU than
    tesseract's own reading. The prepared image must be handed over as BMP."""
    from galprof.analysis.ocr import _prepare

    img = _prepare(np.zeros((300, 400, 3), np.uint8))
    assert img.format == "BMP" and img.mode == "L"


def _backends() -> list[str]:
    """The tesseract paths this machine can run (both where tesserocr's wheel and the tessdata are)."""
    found = []
    for name in ("tesserocr", "pytesseract"):
        usable = tesseract_api._tesserocr_usable() if name == "tesserocr" else tesseract_api._pytesseract_usable()
        if usable:
            found.append(name)
    return found


@pytest.fixture(params=["tesserocr", "pytesseract"])
def ocr_backend(request, monkeypatch):
    if request.param not in _backends():
        pytest.skip(f"{request.param} cannot run here")
    if request.param == "pytesseract":
        monkeypatch.setenv("GALPROF_OCR_BACKEND", "pytesseract")
    tesseract_api.backend.cache_clear()
    assert tesseract_api.backend() == request.param
    yield request.param
    tesseract_api.backend.cache_clear()


def test_both_backends_read_the_id_page_and_its_confident_words(ocr_backend):
    rgb = _document(["REISEPASS / PASSPORT", "Date of birth: 12.03.1985", "Surname ERIKSSON"])
    text = ocr.read_text(rgb)
    assert "PASSPORT" in text and "ERIKSSON" in text
    words = ocr.read_confident_words(rgb)
    assert "ERIKSSON" in words and "PASSPORT" in words
    assert ocr.read_confident_words(np.full((300, 400, 3), 255, np.uint8)) == []


def test_tesserocr_is_preferred_and_pytesseract_is_the_fallback(monkeypatch, tmp_path):
    if "tesserocr" not in _backends():
        pytest.skip("tesserocr (or its eng.traineddata) is not installed")
    tesseract_api.backend.cache_clear()
    try:
        assert tesseract_api.backend() == "tesserocr"
        # no language data anywhere: tesserocr cannot run, the tesseract program still can
        monkeypatch.setattr(tesseract_api, "TESSDATA_GLOBS", (str(tmp_path / "none"),))
        monkeypatch.delenv("TESSDATA_PREFIX", raising=False)
        assert tesseract_api.tessdata_dir() is None
        tesseract_api.backend.cache_clear()
        assert tesseract_api.backend() == ("pytesseract" if tesseract_api._pytesseract_usable() else None)
    finally:
        tesseract_api.backend.cache_clear()


def test_tessdata_prefix_is_searched_first(monkeypatch, tmp_path):
    (tmp_path / "eng.traineddata").write_bytes(b"x")
    monkeypatch.setenv("TESSDATA_PREFIX", str(tmp_path))
    assert tesseract_api.tessdata_dir() == tmp_path


def test_in_process_tesseract_keeps_leptonica_quiet(shared_data, capfd):
    """Leptonica prints "Error in boxClipToRectangle" on this photo; in process that would land between
    the scan's progress lines, so galprof switches its messages off."""
    if "tesserocr" not in _backends():
        pytest.skip("tesserocr (or its eng.traineddata) is not installed")
    from galprof.media.decode import decode_image

    tesseract_api.backend.cache_clear()
    try:
        assert tesseract_api.backend() == "tesserocr"
        rgb = decode_image(str(shared_data / "immich-assets/albums/nature/tanners_ridge.jpg")).rgb
        ocr.read_text(rgb)
    finally:
        tesseract_api.backend.cache_clear()
    assert "Error in" not in capfd.readouterr().err
