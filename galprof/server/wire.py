"""What travels between `scan --remote` and `galprof serve`: a metadata-free image one way, one frame's
facts (galprof.facts.FrameFacts as JSON) the other.

The same JSON Schema describes the response in the OpenAPI document and is checked by the client
before it trusts a reply, so a broken or hostile server cannot inject odd values into a profile.
"""

from __future__ import annotations

import io
import math

import numpy as np

from galprof.facts import Box, ClassScore, Face, FrameFacts, ObjectDetection

# Image types the server accepts, told by their first bytes (never by the Content-Type header alone).
MEDIA_TYPES = {"image/jpeg": (b"\xff\xd8\xff",), "image/png": (b"\x89PNG\r\n\x1a\n",)}

_NUMBER = {"type": "number"}
_BOX = {"type": "array", "items": _NUMBER, "minItems": 4, "maxItems": 4}
FRAME_SCHEMA = {
    "type": "object",
    "required": ["width", "height", "timestamp", "objects", "classes", "embedding", "faces"],
    "additionalProperties": False,
    "properties": {
        "width": {"type": "integer", "minimum": 1}, "height": {"type": "integer", "minimum": 1},
        "timestamp": {"type": ["number", "null"]},
        "objects": {"type": "array", "items": {
            "type": "object", "required": ["label", "score", "box"], "additionalProperties": False,
            "properties": {"label": {"type": "string", "maxLength": 200}, "score": _NUMBER, "box": _BOX}}},
        "classes": {"type": "array", "items": {
            "type": "object", "required": ["label", "score"], "additionalProperties": False,
            "properties": {"label": {"type": "string", "maxLength": 200}, "score": _NUMBER}}},
        "embedding": {"type": ["array", "null"], "items": _NUMBER, "maxItems": 4096},
        "faces": {"type": "array", "items": {
            "type": "object", "additionalProperties": False,
            "required": ["box", "score", "keypoints", "embedding", "age", "female_probability"],
            "properties": {
                "box": _BOX, "score": _NUMBER,
                "keypoints": {"type": "array", "items": {"type": "array", "items": _NUMBER,
                                                         "minItems": 2, "maxItems": 2}, "maxItems": 64},
                "embedding": {"type": "array", "items": _NUMBER, "minItems": 1, "maxItems": 1024},
                "age": {"type": ["number", "null"]}, "female_probability": {"type": ["number", "null"]}}}},
    },
}


def sniff_media_type(data: bytes) -> str | None:
    """The accepted media type the bytes start with, or None."""
    for media_type, signatures in MEDIA_TYPES.items():
        if any(data.startswith(sig) for sig in signatures):
            return media_type
    return None


def encode_frame(rgb: np.ndarray, max_side: int, quality: int = 92) -> tuple[bytes, float]:
    """A JPEG of the frame's pixels only (no EXIF, GPS, XMP, ICC or comment: the image is rebuilt from
    the array), downscaled so its longest side is at most max_side. Returns the bytes and the scale
    (sent size / frame size) needed to map the server's coordinates back."""
    from PIL import Image

    image = Image.fromarray(np.ascontiguousarray(rgb), "RGB")
    scale = min(1.0, max_side / max(image.size))
    if scale < 1.0:
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                             Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, exif=b"", icc_profile=None, optimize=False)
    return out.getvalue(), scale


def _box(box: Box) -> list[float]:
    return [float(box.x1), float(box.y1), float(box.x2), float(box.y2)]


def _floats(array: np.ndarray | None) -> list | None:
    return None if array is None else np.asarray(array, np.float32).tolist()


def frame_to_json(frame: FrameFacts) -> dict:
    """FrameFacts -> the JSON object of FRAME_SCHEMA (OCR text stays on the device: not sent)."""
    return {
        "width": int(frame.width), "height": int(frame.height), "timestamp": frame.timestamp,
        "objects": [{"label": o.label, "score": float(o.score), "box": _box(o.box)} for o in frame.objects],
        "classes": [{"label": c.label, "score": float(c.score)} for c in frame.classes],
        "embedding": _floats(frame.embedding),
        "faces": [{"box": _box(f.box), "score": float(f.score), "keypoints": _floats(f.keypoints),
                   "embedding": _floats(f.embedding), "age": None if f.age is None else float(f.age),
                   "female_probability": None if f.female_probability is None else float(f.female_probability)}
                  for f in frame.faces],
    }


def _all_finite(value) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_all_finite(v) for v in value)
    if isinstance(value, dict):
        return all(_all_finite(v) for v in value.values())
    return True


def frame_from_json(data: object) -> FrameFacts:
    """The JSON object of FRAME_SCHEMA -> FrameFacts; ValueError when it does not follow the schema."""
    import jsonschema

    try:
        jsonschema.validate(data, FRAME_SCHEMA)
    except jsonschema.ValidationError as exc:
        raise ValueError(f"not a frame document: {exc.message[:120]}") from None
    if not _all_finite(data):
        raise ValueError("not a frame document: a number is not finite")
    assert isinstance(data, dict)

    def array(values) -> np.ndarray | None:
        return None if values is None else np.asarray(values, np.float32)

    return FrameFacts(
        width=data["width"], height=data["height"], timestamp=data["timestamp"],
        objects=[ObjectDetection(o["label"], o["score"], Box(*o["box"])) for o in data["objects"]],
        classes=[ClassScore(c["label"], c["score"]) for c in data["classes"]],
        embedding=array(data["embedding"]),
        faces=[Face(box=Box(*f["box"]), score=f["score"], keypoints=array(f["keypoints"]).reshape(-1, 2),
                    embedding=array(f["embedding"]), age=f["age"], female_probability=f["female_probability"])
               for f in data["faces"]],
    )


def scale_frame(frame: FrameFacts, factor: float, width: int, height: int) -> FrameFacts:
    """Map a frame's coordinates by `factor` (1 / the send scale) onto a frame of width x height."""
    if factor == 1.0:
        frame.width, frame.height = width, height
        return frame
    for obj in frame.objects:
        obj.box = obj.box.scaled(factor)
    for face in frame.faces:
        face.box = face.box.scaled(factor)
        face.keypoints = np.asarray(face.keypoints, np.float32) * factor
    frame.width, frame.height = width, height
    return frame
