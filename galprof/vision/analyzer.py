"""All models on one frame: faces, objects, classifier top classes + photo embedding, optional OCR.

`FrameAnalyzer` only chains the model classes (each owns its session and pre/post-processing); a scan
worker builds one at start-up and reuses it for every frame (`signature.py` keys the rows it makes).

The face detector's fine pass (small faces in a large frame: three times the pixels of its whole-image
pass) runs only on frames where NanoDet sees a person (FINE_PASS_NEEDS at OBJECT_MIN_SCORE): a face
too small for the whole-image pass belongs to a person NanoDet finds at its 416 px input. Of 347 frames
(11 phone photos and their mirror images, a 300-photo gallery from ../shared/data, immich-assets) 164
had no person; 346 of the 347 came out identical and the other kept its face (a face drawn on a label,
its box moved by 3 px): close-ups are found by the close-up retry, which still runs. Where small faces
have no body NanoDet sees, the gate loses them (benchmarks/fine_pass_gate.py; benchmarks/README.md,
"The floor, second pass").
"""

from __future__ import annotations

import time

import numpy as np

from galprof.analysis import ocr
from galprof.config import Settings
from galprof.facts import FrameFacts
from galprof.vision.signature import ocr_enabled

OBJECT_MIN_SCORE = 0.3  # NanoDet scores per class are weak; later stages apply per-class thresholds
CLASS_TOP_K = 10
# The object label that opens the face detector's fine pass on a frame.
FINE_PASS_NEEDS = "person"
class FrameAnalyzer:
    """Loads every model once; `.analyze(rgb)` runs them all on one upright RGB frame.

    threads: onnxruntime intra-op threads per model (the scan sets workers x threads = cores);
    default Settings.resolved_threads().
    """

    def __init__(self, settings: Settings | None = None, threads: int | None = None):
        from galprof.vision.classifier import PhotoClassifier
        from galprof.vision.faces import FacePipeline
        from galprof.vision.nanodet import ObjectDetector
        from galprof.vision.selfie_cues import SelfieCueMeter

        self.settings = settings or Settings()
        threads = threads or self.settings.resolved_threads()
        self.faces = FacePipeline.from_settings(self.settings, threads=threads)
        self.objects = ObjectDetector(threads=threads)
        self.classifier = PhotoClassifier(threads=threads, tier=self.settings.classifier_tier,
                                          model_path=self.settings.classifier_model,
                                          labels_path=self.settings.classifier_labels,
                                          mean=self.settings.classifier_mean, std=self.settings.classifier_std)
        self.selfie = SelfieCueMeter(threads=threads)
        self.ocr = ocr_enabled(self.settings)
        # the object label that opens the face detector's fine pass; None: the fine pass on every frame
        self.fine_pass_needs: str | None = FINE_PASS_NEEDS
        self.seconds: dict[str, float] = {"faces": 0.0, "objects": 0.0, "classifier": 0.0, "ocr": 0.0,
                                          "selfie": 0.0}

    def analyze(self, rgb: np.ndarray, timestamp: float | None = None) -> FrameFacts:
        """FrameFacts of an (H, W, 3) uint8 RGB frame (coordinates in its pixels)."""
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"expected an HxWx3 uint8 RGB frame, got {rgb.shape} {rgb.dtype}")
        from galprof.vision.frame_image import FrameImage  # Pillow: only where a frame is analyzed

        t0 = time.perf_counter()
        frame = FrameImage(rgb)  # one Pillow copy of the frame and its shared reductions for every model
        objects = self.objects.detect(frame, min_score=OBJECT_MIN_SCORE)
        t1 = time.perf_counter()
        fine_pass = self.fine_pass_needs is None or any(o.label == self.fine_pass_needs for o in objects)
        faces = self.faces.run(frame, fine_pass=fine_pass)
        t2 = time.perf_counter()
        classes, embedding = self.classifier.classify(frame, top_k=CLASS_TOP_K)
        t3 = time.perf_counter()
        facts = FrameFacts(width=int(rgb.shape[1]), height=int(rgb.shape[0]), timestamp=timestamp,
                           objects=objects, classes=classes, faces=faces,
                           embedding=None if embedding is None else np.asarray(embedding, np.float32).reshape(-1))
        if self.ocr and ocr.needs_ocr(facts):
            facts.text = ocr.read_text(rgb)
        t4 = time.perf_counter()
        if timestamp is None:  # photos only: a video frame is never a selfie upload
            facts.selfie = self.selfie.measure(frame.image, faces)
        t5 = time.perf_counter()
        for name, seconds in (("objects", t1 - t0), ("faces", t2 - t1), ("classifier", t3 - t2),
                              ("ocr", t4 - t3), ("selfie", t5 - t4)):
            self.seconds[name] += seconds
        return facts
