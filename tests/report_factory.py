"""A small generated gallery for the report tests: real JPEG files on disk (one flat colour each, a
face-coloured square where the facts put a face) and the MediaFacts a scan would have stored for them,
so the profile goes through the real aggregation stages and the thumbnails through the real decoder."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
from PIL import Image

from galprof import facts
from galprof.config import Settings
from tests.people_factory import identities
from tests.people_factory import media as person_media
from tests.profile_factory import frame

FACE_BOX = (60, 50, 180, 190)
FACE_COLOUR = (250, 200, 40)
SIDE = 240
FRONT_LENS = "iPhone 12 front camera 2.71mm f/2.2"
PARIS, LYON = (48.8566, 2.3522), (45.7640, 4.8357)


def colour_of(i: int) -> tuple[int, int, int]:
    """A distinct flat colour per photo index (far from the face colour)."""
    return (20 + (i * 53) % 180, 30 + (i * 97) % 160, 40 + (i * 31) % 150)


def write_photo(path: Path, colour: tuple[int, int, int], face: bool = False) -> Path:
    rgb = np.zeros((SIDE, SIDE, 3), np.uint8)
    rgb[:] = colour
    if face:
        x1, y1, x2, y2 = FACE_BOX
        rgb[y1:y2, x1:x2] = FACE_COLOUR
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb).save(path, "JPEG", quality=95)
    return path


def pixels(data_uri: str) -> np.ndarray:
    raw = base64.b64decode(data_uri.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(raw)).convert("RGB"), np.float64)


def mean_colour(data_uri: str) -> np.ndarray:
    return pixels(data_uri).reshape(-1, 3).mean(axis=0)


def _face(embedding: np.ndarray, age: float, female: float) -> facts.Face:
    from tests.people_factory import face

    return face(embedding, FACE_BOX, age=age, female=female)


def gallery(root: Path, name_prefix: str = "") -> tuple[list[facts.MediaFacts], dict[str, tuple[int, int, int]]]:
    """The media facts of a gallery written under `root` and the colour of each photo by path.

    - the owner (a woman of ~34): 4 photos, 3 of them front-camera selfies, on two days in Paris;
    - a child (~6): 3 photos; both are people;
    - 3 food photos (one in Lyon), 2 dog photos, 1 passport scan (OCR text), 1 photo taken in March.
    """
    x, _ = identities(2, 4, spread=0.05, seed=3)
    owner_emb, child_emb = x[:4], x[4:]
    items: list[facts.MediaFacts] = []
    colours: dict[str, tuple[int, int, int]] = {}

    def add(m: facts.MediaFacts, face: bool = False) -> None:
        colour = colour_of(len(colours))
        write_photo(Path(m.path), colour, face)
        colours[m.path] = colour
        items.append(m)

    for i in range(4):
        path = str(root / f"{name_prefix}me-{i}.jpg")
        lens = FRONT_LENS if i < 3 else None
        m = person_media(path, [[_face(owner_emb[i], 34.0, 0.95)]], taken_at=f"2024-05-0{1 + i % 2}T10:0{i}:00",
                         taken_at_source="exif", make="Apple", model="iPhone 12", lens_model=lens,
                         latitude=PARIS[0], longitude=PARIS[1])
        add(m, face=True)
    for i in range(3):
        path = str(root / f"{name_prefix}kid-{i}.jpg")
        add(person_media(path, [[_face(child_emb[i], 6.0, 0.1)]], taken_at=f"2024-05-0{3 + i}T12:00:00",
                               taken_at_source="exif"), face=True)
    for i, dish in enumerate(("pizza", "cheeseburger", "ice_cream")):
        path = str(root / f"{name_prefix}food-{i}.jpg")
        lat, lon = (LYON if i == 0 else PARIS)
        add(_plain(path, frame({dish: 0.9}, width=SIDE, height=SIDE), "2024-05-02T19:00:00", lat, lon))
    for i in range(2):
        path = str(root / f"{name_prefix}dog-{i}.jpg")
        add(_plain(path, frame({"Beagle": 0.8}, {"dog": 0.9}, width=SIDE, height=SIDE), "2024-05-04T09:00:00"))
    path = str(root / f"{name_prefix}scan.jpg")
    add(_plain(path, frame(text="PASSPORT P<FRADUPONT<<MARIE<<<<<<<<<<<<<<<<<<<<<<", width=SIDE, height=SIDE),
                     "2024-05-04T09:30:00"))
    path = str(root / f"{name_prefix}march.jpg")
    add(_plain(path, frame({"pizza": 0.9}, width=SIDE, height=SIDE), "2024-03-10T12:00:00"))
    return items, colours


def _plain(path: str, fr: facts.FrameFacts, taken: str, lat: float | None = None,
           lon: float | None = None) -> facts.MediaFacts:
    return facts.MediaFacts(path=path, kind="photo", format="jpeg", size=1000, mtime=0.0,
                            exif=facts.ExifFacts(taken_at=taken, taken_at_source="exif", latitude=lat, longitude=lon),
                            frames=[fr])


def profile(root: Path, monkeypatch) -> tuple[dict, dict[str, tuple[int, int, int]]]:
    """(profile document, colour by path) of the generated gallery. OCR is reported available (the
    text is in the facts already, as a scan with tesseract stores it)."""
    import galprof.profile as profile_module
    from galprof.profile import profile_from_media

    monkeypatch.setattr(profile_module, "_ocr_state", lambda settings: (True, None))
    items, colours = gallery(root)
    document = profile_from_media(lambda: iter(items), Settings(), root=str(root), paths=len(items))
    return document, colours
