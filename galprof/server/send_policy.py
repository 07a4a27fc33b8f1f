"""May this frame leave the device? Decided from the device's own analysis, before anything is sent.

The profile's privacy rules (galprof.analysis.privacy) run after the scan, when people clusters exist.
Before sending, the device knows less, so it keeps a frame whenever it cannot rule a rule out:
- portrait: the paper's face-size rule, with the same settings;
- close person: clusters do not exist yet, and any face big enough to be recognised
  (>= settings.face_min_size px wide, detector score >= settings.face_score) could belong to one, so
  every such face keeps its frame on the device ("never send when unsure");
- documents: OCR runs on every frame that could be sent (not only on frames the classifier calls
  text, as in a local scan), twice: tesseract's page mode (the text the profile's rule reads) and its
  sparse-text mode, which still finds words on pages shot at an angle; a frame stays when the text
  holds a finding of the document rule, when >= CONFIDENT_WORDS words are read with high confidence,
  or when the classifier or detector sees a document or text carrier (ocr.needs_ocr). Without OCR
  nothing is sent at all (the scan refuses --remote without tesseract).
A video goes only if every sampled frame may go.
"""

from __future__ import annotations

from galprof.analysis.ocr import needs_ocr
from galprof.analysis.privacy import OCR_DOCUMENT_WORDS, face_is_portrait, find_sensitive
from galprof.config import Settings
from galprof.facts import FrameFacts

# Confidently read words that keep a frame: photographed documents gave 4-140, landscapes 0-1
# (benchmarks/remote_privacy.py, on a generated set with another seed than its report).
CONFIDENT_WORDS = 4


def keep_reason(frame: FrameFacts, settings: Settings, confident_words: int = 0) -> str | None:
    """Why the frame must stay on the device ("private: ..."), or None when it may be sent.
    confident_words: how many readable words sparse-text OCR read with high confidence."""
    faces = [f for f in frame.faces if f.score >= settings.face_score]
    if any(face_is_portrait(frame, f.box, settings.private_face_width) for f in faces):
        return "private: portrait face"
    if any(f.box.width >= settings.face_min_size for f in faces):
        return "private: a recognisable face (could be a close person)"
    if frame.text is None:
        return "private: text not checked (no OCR)"
    findings = find_sensitive(frame.text, OCR_DOCUMENT_WORDS)
    if findings:
        return f"private: text ({findings[0].kind})"
    if confident_words >= CONFIDENT_WORDS:
        return "private: text (words read)"
    if needs_ocr(frame):
        return "private: looks like a document or text"
    return None
