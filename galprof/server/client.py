"""`galprof scan --remote`: an analyzer with FrameAnalyzer's contract that decides privacy on the
device first, sends only public frames to `galprof serve`, and falls back to the device's results.

Every frame is analyzed on the device first (faces, objects, classes, OCR of every frame): that is what
the privacy decision needs, and it is also the fallback. Frames that may leave (send_policy) go to the
server as bare JPEGs; its facts replace the device's, except the OCR text and the photo embedding,
which stay the device's (the embedding keeps `galprof features` in one space). Each frame records
where it was analyzed (`analyzed`) and, when it stayed, why (`kept_local`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from galprof.analysis import ocr
from galprof.analysis.privacy import readable_words
from galprof.config import Settings
from galprof.facts import Face, FrameFacts
from galprof.server.link import LinkOptions, RemoteFailure, ServerLink
from galprof.server.send_policy import keep_reason
from galprof.server.wire import encode_frame, frame_from_json, scale_frame


class RemoteAnalyzer:
    """`analyze(rgb, timestamp)` for one frame; `analyze_frames(frames)` for all frames of one file (the
    pipeline uses it when present, so a video is sent only when every frame may be)."""

    def __init__(self, local, link: ServerLink, settings: Settings, fine_faces=None):
        self.local, self.link, self.settings = local, link, settings
        self.fine_faces = fine_faces  # the server's finer face detector: what it could find, the device looks for
        self.seconds = local.seconds

    def analyze(self, rgb: np.ndarray, timestamp: float | None = None) -> FrameFacts:
        return self.analyze_frames([(rgb, timestamp)])[0]

    def analyze_frames(self, frames: list[tuple[np.ndarray, float | None]]) -> list[FrameFacts]:
        device, reasons = [], []
        for rgb, timestamp in frames:
            facts, confident = self._on_device(rgb, timestamp)
            device.append(facts)
            reasons.append(keep_reason(facts, self.settings, confident) or self._fine_face_reason(rgb, facts))
        stay = next((r for r in reasons if r), None)
        if stay is not None:
            for facts, reason in zip(device, reasons, strict=True):
                facts.kept_local = reason or ("private: another frame of the video" if len(device) > 1 else stay)
            return device
        results = []
        for (rgb, timestamp), facts in zip(frames, device, strict=True):
            try:
                results.append(self._remote(rgb, timestamp, facts))
            except RemoteFailure as exc:
                facts.kept_local = f"server: {exc.reason}"
                results.append(facts)
        return results

    def _on_device(self, rgb: np.ndarray, timestamp: float | None) -> tuple[FrameFacts, int]:
        """The device's facts, with OCR text for every frame, and the count of confidently read words."""
        facts = self.local.analyze(rgb, timestamp)
        if not ocr.ocr_available():
            return facts, 0
        if facts.text is None:
            facts.text = ocr.read_text(rgb)
        confident = ocr.read_confident_words(rgb)
        sparse = " ".join(confident)
        if len(readable_words(sparse)) > len(readable_words(facts.text)):
            facts.text = sparse  # the better reading, so the profile's document rule sees it too
        return facts, len(readable_words(sparse))

    def _fine_face_reason(self, rgb: np.ndarray, facts: FrameFacts) -> str | None:
        """A frame the device found public is searched once more with the server's finer face pass, so
        that no face the server would find (and the profile would count) leaves unseen."""
        if self.fine_faces is None:
            return None
        found = self.fine_faces.detect(rgb, min_score=self.settings.face_score)
        probe = replace(facts, faces=[Face(d.box, d.score, d.keypoints, np.zeros(1, np.float32)) for d in found])
        return keep_reason(probe, self.settings, 0) if found else None

    def _remote(self, rgb: np.ndarray, timestamp: float | None, device: FrameFacts) -> FrameFacts:
        body, scale = encode_frame(rgb, self.link.max_side)
        reply = self.link.analyze(body, timestamp)
        try:
            facts = frame_from_json(reply)
        except ValueError as exc:
            raise RemoteFailure(f"bad answer ({exc})") from None
        facts = scale_frame(facts, 1.0 / scale, device.width, device.height)
        facts.timestamp = timestamp
        facts.text, facts.embedding = device.text, device.embedding
        facts.analyzed, facts.kept_local = "remote", None
        return facts


@dataclass(frozen=True)
class RemoteFactory:
    """The pipeline's analyzer_factory for --remote (picklable: each worker opens its own connection).
    `signature` is the local scan's cache key: cached rows are reused whichever side made them."""

    options: LinkOptions
    signature: str

    def __call__(self, settings: Settings, threads: int) -> RemoteAnalyzer:
        from galprof.server.tier import fine_face_detector
        from galprof.vision.analyzer import FrameAnalyzer

        return RemoteAnalyzer(FrameAnalyzer(settings, threads=threads), ServerLink(self.options), settings,
                              fine_face_detector(settings.face_detector, threads))
