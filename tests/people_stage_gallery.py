"""A small generated gallery for the people stage's tests (tests/test_face_table.py) and the summary of
what the people stage decides in its profile; tests/data/people_stage_golden.json holds that summary as
the object-per-face stage before galprof.analysis.face_table made it (regenerate only on purpose:
`python -m tests.people_stage_gallery > tests/data/people_stage_golden.json`)."""

from __future__ import annotations

import json

import numpy as np

from galprof.facts import Box, ExifFacts, Face, FrameFacts, MediaFacts
from tests.test_profile_stream import gallery


def mixed_gallery() -> list[MediaFacts]:
    """test_profile_stream's gallery plus what it lacks: a video clip, undated photos, faces without an
    age or gender estimate or without an embedding, a photo without any EXIF, a back-camera photo."""
    rng = np.random.default_rng(3)
    items = gallery(photos=160, people=5, seed=5)
    centre = rng.normal(size=128)

    def face(k: float, box: tuple, age: float | None = 30.0, female: float | None = 0.2, embed: bool = True) -> Face:
        x = centre + rng.normal(scale=0.02, size=128)
        return Face(Box(*box), 0.5 + k, rng.uniform(0, 500, (6, 2)).astype(np.float32),
                    (x / np.linalg.norm(x)).astype(np.float32) if embed else None, age=age, female_probability=female)

    frames = [FrameFacts(width=640, height=360, timestamp=float(t), faces=[face(0.4, (100 + t, 80, 220 + t, 200))])
              for t in range(6)]
    items.append(MediaFacts("/g/clip.mp4", "video", "mp4", 5000, 1.0,
                            ExifFacts(taken_at="2024-03-03T10:00:00", taken_at_source="container"), frames))
    for i in range(8):
        faces = [face(0.45, (300, 200, 420, 330), age=None if i % 2 else 25.0 + i, female=None if i % 3 else 0.9)]
        if i == 3:
            faces.append(face(0.3, (10, 10, 40, 40), embed=False))
        exif = ExifFacts(taken_at=f"2023-05-0{1 + i}T08:00:00", taken_at_source="mtime" if i < 4 else None)
        items.append(MediaFacts(f"/g/undated-{i}.jpg", "photo", "jpeg", 900, 2.0, exif,
                                [FrameFacts(width=800, height=600, faces=faces)]))
    items.append(MediaFacts("/g/no-exif.jpg", "photo", "jpeg", 900, 2.0, ExifFacts(),
                            [FrameFacts(width=800, height=600, faces=[face(0.4, (200, 100, 600, 500))])]))
    items.append(MediaFacts("/g/back.jpg", "photo", "jpeg", 900, 2.0,
                            ExifFacts(make="Apple", model="iPhone 13", lens_model="iPhone 13 back camera",
                                      focal_length=1.5), [FrameFacts(width=800, height=600)]))
    return items


def people_stage_summary(doc: dict) -> dict:
    """What the people stage decides in a profile: people, owner, demography and each photo's people and
    selfie verdict."""
    return {"people": doc["people"], "owner": doc["owner"], "demography": doc["demography"],
            "photos": [[p["path"], p["people"], p["selfie"]] for p in doc["photos"]]}


if __name__ == "__main__":
    from galprof.config import Settings
    from galprof.profile import profile_from_media

    items = mixed_gallery()
    print(json.dumps(people_stage_summary(profile_from_media(lambda: iter(items), Settings(ocr=False), root="/g")),
                     indent=1, sort_keys=True))
