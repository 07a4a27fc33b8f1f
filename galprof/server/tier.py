"""The server's accurate tier: the device's analyzer with larger or unquantized models where they
measurably help (EfficientNet-Lite2 in place of Lite0, fp32 face embeddings and NanoDet in place of int8, and a
finer face-detector pass for small faces in group photos).

OCR never runs here: the document rule is decided on the device before anything is sent, and
pytesseract would write the image to a temporary file.
"""

from __future__ import annotations

from galprof.config import Settings
from galprof.vision.analyzer import FrameAnalyzer

TIERS = ("accurate", "device")
FINE_FACE, FINE_TILES = 24, 16  # the device: 48 px, 4 inputs


def server_settings(tier: str = "accurate") -> Settings:
    if tier not in TIERS:
        raise ValueError(f"tier must be one of {', '.join(TIERS)}, not {tier!r}")
    return Settings(classifier_tier="lite2" if tier == "accurate" else "lite0", ocr=False)


def build_analyzer(tier: str = "accurate", threads: int = 1) -> FrameAnalyzer:
    """A FrameAnalyzer of the tier (`device` is the scan's own models, for comparisons)."""
    settings = server_settings(tier)
    analyzer = FrameAnalyzer(settings, threads=threads)
    if tier == "accurate":
        from galprof.vision.faces import FacePipeline
        from galprof.vision.nanodet import ObjectDetector

        analyzer.faces = FacePipeline.from_settings(settings, threads=threads, precision="fp32")
        analyzer.faces.detector = fine_face_detector(settings.face_detector, threads)
        analyzer.objects = ObjectDetector(threads=threads, precision="fp32")
        analyzer.fine_pass_needs = None  # the accurate tier searches every frame for small faces
    analyzer.ocr = False
    return analyzer


def fine_face_detector(variant: str = "full", threads: int = 1):
    """The accurate tier's finer detector pass: faces down to FINE_FACE px, at up to FINE_TILES model
    inputs per frame. `scan --remote` runs it on the device too, before a frame may leave."""
    from galprof.vision.blazeface import FaceDetector

    return FaceDetector(variant=variant, threads=threads, min_face=FINE_FACE, max_tiles=FINE_TILES)
