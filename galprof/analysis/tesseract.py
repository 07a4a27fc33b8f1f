"""Tesseract, in process when it can be: tesserocr (the tesseract API through Cython, wheels for x86_64 and
aarch64 Linux that bundle libtesseract), else pytesseract (the `tesseract` program, one child process and
one temporary image file per read).

Measured on the 13 immich-assets album photos (benchmarks/ocr_backends.py: 1600 px grey frames, one
OpenMP thread, CPU time of the process and its children): pytesseract 0.38-0.49 s per read, tesserocr
0.16-0.19 s; tesserocr is handed the raw grey pixels (`SetImageBytes`: no image file, no encoding, no
child process). 11 of the 13 texts were identical, the other two differ in a few characters (tesseract
5.5 in the wheel, 5.3 in Debian).

tesserocr needs the language data (`eng.traineddata`) that Debian's tesseract-ocr-eng installs; it is
looked up in $TESSDATA_PREFIX and the usual system folders. Without it (or without the wheel) the
pytesseract path is used; GALPROF_OCR_BACKEND=pytesseract forces it; `backend()` says which one runs.
One engine serves a process; a lock keeps threads from sharing it at the same time.
"""

from __future__ import annotations

import functools
import glob
import importlib.util
import os
import shutil
import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

LANGUAGE = "eng"
# Folders holding <lang>.traineddata on Debian/Ubuntu (tesseract 4 and 5), Fedora, Homebrew and /usr/local builds.
TESSDATA_GLOBS = ("/usr/share/tesseract-ocr/*/tessdata", "/usr/share/tesseract-ocr/tessdata", "/usr/share/tessdata",
                  "/usr/local/share/tessdata", "/opt/homebrew/share/tessdata")
LEPTONICA_SEVERITY_NONE = 6  # L_SEVERITY_NONE of leptonica's setMsgSeverity
_ENGINE_LOCK = threading.Lock()  # a tesserocr engine holds one image and its results at a time
PSM = {"--psm 3": 3, "--psm 11": 11}  # the page segmentation modes galprof asks for, as tesserocr's numbers


def tessdata_dir(language: str = LANGUAGE) -> Path | None:
    """The folder holding `language`.traineddata: $TESSDATA_PREFIX first, then the system folders."""
    candidates = [os.environ["TESSDATA_PREFIX"]] if os.environ.get("TESSDATA_PREFIX") else []
    for pattern in TESSDATA_GLOBS:
        candidates.extend(sorted(glob.glob(pattern), reverse=True))  # the newest tesseract version first
    for folder in candidates:
        if (Path(folder) / f"{language}.traineddata").is_file():
            return Path(folder)
    return None


@functools.lru_cache(maxsize=1)
def backend() -> str | None:
    """"tesserocr", "pytesseract" or None (no tesseract here)."""
    if os.environ.get("GALPROF_OCR_BACKEND") != "pytesseract" and _tesserocr_usable():
        return "tesserocr"
    return "pytesseract" if _pytesseract_usable() else None


def _tesserocr_usable() -> bool:
    # found, not imported: loading its bundled libraries costs ~0.1 s, paid at the first read instead
    try:
        found = importlib.util.find_spec("tesserocr") is not None
    except (ImportError, ValueError):  # ValueError: a None placeholder in sys.modules
        return False
    return found and tessdata_dir() is not None


def _pytesseract_usable() -> bool:
    try:
        import pytesseract
    except ImportError:
        return False
    if shutil.which(pytesseract.pytesseract.tesseract_cmd) is None:
        return False
    try:
        pytesseract.get_tesseract_version()
    except Exception:  # noqa: BLE001 - any failure to run the binary means "not available"
        return False
    return True


@functools.lru_cache(maxsize=4)
def _api(psm: int):
    """One tesserocr engine per page segmentation mode, kept for the life of the (worker) process: loading
    the language data costs ~0.1 s, so it is done once, not per read."""
    import tesserocr

    _quiet_leptonica(Path(tesserocr.__file__).resolve().parents[1] / "tesserocr.libs")
    return tesserocr.PyTessBaseAPI(path=str(tessdata_dir()) + os.sep, lang=LANGUAGE, psm=psm)


def _quiet_leptonica(libs: Path) -> None:
    """Leptonica (inside the wheel) prints its own errors on stderr ("Error in boxClipToRectangle: ...",
    harmless, several per photo): in process they would land between the scan's progress lines. The
    pytesseract path loses them with the child's stderr; here they are switched off."""
    import ctypes

    for library in sorted(libs.glob("libleptonica*.so*")):
        try:
            ctypes.CDLL(str(library)).setMsgSeverity(LEPTONICA_SEVERITY_NONE)
        except (OSError, AttributeError):
            pass


def _set_grey(api, image: Image.Image) -> None:
    grey = image if image.mode == "L" else image.convert("L")
    api.SetImageBytes(grey.tobytes(), grey.width, grey.height, 1, grey.width)


def read_string(image: Image.Image, config: str, timeout: float) -> str:
    """The text tesseract reads in a grey Pillow image ("" on failure). timeout in seconds."""
    if backend() == "tesserocr":
        with _ENGINE_LOCK:
            api = _api(PSM[config])
            _set_grey(api, image)
            if not api.Recognize(int(timeout * 1000)):
                return ""
            return (api.GetUTF8Text() or "").strip()
    import pytesseract

    try:
        return pytesseract.image_to_string(image, config=config, timeout=timeout).strip()
    except (RuntimeError, pytesseract.TesseractError):
        return ""


def read_words(image: Image.Image, config: str, timeout: float) -> list[tuple[str, float]]:
    """(word, confidence 0-100) of every word tesseract reads ([] on failure)."""
    if backend() == "tesserocr":
        with _ENGINE_LOCK:
            return _tesserocr_words(_api(PSM[config]), image, timeout)
    import pytesseract

    try:
        data = pytesseract.image_to_data(image, config=config, timeout=timeout, output_type=pytesseract.Output.DICT)
    except (RuntimeError, pytesseract.TesseractError):
        return []
    return [(word, float(conf)) for word, conf in zip(data["text"], data["conf"], strict=False)]


def _tesserocr_words(api, image: Image.Image, timeout: float) -> list[tuple[str, float]]:
    import tesserocr

    _set_grey(api, image)
    if not api.Recognize(int(timeout * 1000)):
        return []
    words = []
    iterator = api.GetIterator()
    level = tesserocr.RIL.WORD
    for word in tesserocr.iterate_level(iterator, level) if iterator is not None else ():
        try:
            text = word.GetUTF8Text(level)
        except RuntimeError:  # tesserocr raises for an empty word box
            continue
        words.append((text, float(word.Confidence(level))))
    return words
