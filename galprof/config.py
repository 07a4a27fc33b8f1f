"""Every tunable threshold in one place, with documented defaults.

A profile echoes the settings it was made with (`settings` section of the JSON document).
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, fields

WORKER_MEMORY = 250 * 2**20  # bytes a scan worker needs with every model loaded, at the end of its 500 files


def _available_memory() -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def default_workers() -> int:
    """One worker per core, fewer when the memory available would not hold them (a 1-2 GB board)."""
    cores = max(1, os.cpu_count() or 1)
    available = _available_memory()
    if available is None:
        return cores
    return max(1, min(cores, (available - 150 * 2**20) // WORKER_MEMORY))


@dataclass
class Settings:
    # scanning
    workers: int = 0  # 0 = one per core
    threads_per_worker: int = 0  # 0 = cores // workers
    video_fps: float = 1.0  # sampled frames per second of video
    video_max_frames: int = 30  # cap per video
    max_side: int = 1024  # decoded frames are never larger than this (longest side)
    decode_memory_mb: int = 200  # a photo needing more to decode (full size, per worker) is an error
    include_hidden: bool = False
    follow_links: bool = False  # follow symlinks whose target is outside the scanned folder
    # models
    face_detector: str = "full"  # BlazeFace variant: full (fewest false faces), short (fastest), back (256 px)
    classifier_tier: str = "lite0"  # EfficientNet-Lite0 (fast) or lite2 (accurate)
    classifier_model: str | None = None  # a user's ONNX classifier (e.g. Places365) in place of ours
    classifier_labels: str | None = None  # its labels file, one per line in output order
    classifier_mean: float = 127.0  # a user classifier's normalisation on 0-255 pixels: (x - mean) / std
    classifier_std: float = 128.0
    taxonomy: str | None = None  # a class -> interest mapping file in place of models/taxonomy.json
    # faces
    face_score: float = 0.6  # detector confidence to keep a face
    face_min_size: int = 20  # px; smaller faces are detected but not trusted for clustering
    # people: face clustering (HDBSCAN on L2-normalised embeddings; chosen by cross-validation over
    # people, see benchmarks/cluster_cv.py) and demography
    face_cluster_score: float = 0.6  # detector score a face needs to help form clusters (BlazeFace full)
    cluster_min_size: int = 3  # HDBSCAN min_cluster_size, in sightings (one video clip = one sighting)
    cluster_min_samples: int = 1  # HDBSCAN min_samples
    cluster_epsilon: float = 0.0  # HDBSCAN cluster_selection_epsilon (normalised-embedding distance)
    cluster_merge_distance: float = 0.36  # merge clusters (no shared photo) closer on average (faces)
    face_attach_distance: float = 0.34  # max distance to a person's centroid to attach a left-out face
    cluster_member_distance: float = 0.40  # a member farther (RMS) from the rest of its person is dropped
    cluster_young_age: float = 16.0  # people of a lower median estimated age get the children's rule (0 = off)
    people_min_photos: int = 3  # people in fewer photos/videos stay out of the demography histogram
    # privacy (paper's defaults)
    private_face_width: float = 0.05  # fraction of photo width, face inside the central 2/3
    close_person_photos: int = 5
    close_person_days: int = 2
    ocr: bool = True

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict, source: str = "settings") -> Settings:
        """Settings from any subset of the fields, checked against galprof/schema/settings.schema.json
        (galprof.errors.UsageError `<source>: <field>: <why>` when a value is wrong)."""
        return cls(**cls.checked(data, source))

    def updated(self, changes: dict, source: str = "settings") -> Settings:
        """A copy with `changes` (checked like from_dict) applied."""
        return Settings(**{**self.to_dict(), **self.checked(changes, source)})

    @classmethod
    def checked(cls, data: dict, source: str) -> dict:
        from galprof.errors import UsageError
        from galprof.validate import check

        if not isinstance(data, dict):
            raise UsageError(f"{source}: must be a JSON object of settings")
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise UsageError(f"{source}: unknown settings: {', '.join(sorted(unknown))}")
        for name, value in data.items():  # NaN passes every range check of a schema
            if isinstance(value, float) and not math.isfinite(value):
                raise UsageError(f"{source}: {name}: {value} is not a finite number")
        check(data, "settings", source)
        ints = {f.name for f in fields(cls) if f.type == "int"}
        return {k: int(v) if k in ints else v for k, v in data.items()}  # JSON 2.0 is an integer too

    def resolved_workers(self) -> int:
        return self.workers or default_workers()

    def resolved_threads(self) -> int:
        if self.threads_per_worker:
            return self.threads_per_worker
        return max(1, (os.cpu_count() or 1) // self.resolved_workers())
