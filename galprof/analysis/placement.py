"""Where each photo was analyzed (`scan --remote`): per photo "local" or "remote", and for the privacy
section how many photos and frames left the device and why the others stayed."""

from __future__ import annotations

from collections import Counter
from typing import Any

from galprof.facts import MediaFacts


class PlacementCounter:
    def __init__(self) -> None:
        self.where = Counter()
        self.frames_sent = 0
        self.kept = Counter()

    def add(self, media: MediaFacts) -> str:
        """"remote" when any frame of the file was analyzed by the server (it left the device)."""
        sent = sum(1 for f in media.frames if f.analyzed == "remote")
        where = "remote" if sent else "local"
        self.where[where] += 1
        self.frames_sent += sent
        reasons = {f.kept_local for f in media.frames if f.kept_local}
        for reason in reasons:
            self.kept[reason] += 1
        return where

    def section(self) -> dict[str, Any]:
        return {
            "left_device": {"photos": self.where["remote"], "frames": self.frames_sent},
            "analyzed": {"local": self.where["local"], "remote": self.where["remote"]},
            "kept_on_device": dict(sorted(self.kept.items())),
        }
