"""Face identity embedding: dlib's ResNet-29 (rebuilt from face-api's weights) on 150 px face chips.

Two faces belong to the same person when the Euclidean distance of their 128-d embeddings is below
about 0.6 (dlib's rule). The int8 model (static QDQ) is the default: ~2.5x faster than fp32 and within
cosine 0.99 of it; the fp32 model reproduces face-api exactly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from galprof.vision.model_base import ManifestModel, OpenedModel, open_manifest_model, open_model_file

PRECISIONS = ("int8", "fp32")
DEFAULT_MEAN_RGB = (122.782, 117.001, 104.298)


class FaceEmbedder(ManifestModel):
    """128-d identity embeddings of aligned (N, 150, 150, 3) uint8 RGB chips (see align.EMBEDDING_TEMPLATE).

    model_path: another ONNX file with the same input/output (its preprocessing is face-api's).
    opened: a model already opened (`FaceEmbedder.from_manifest("face_embedding", "fp32")`).
    """

    def __init__(self, threads: int = 1, model_path: str | Path | None = None, precision: str = "int8",
                 batch_size: int = 16, opened: OpenedModel | None = None):
        if precision not in PRECISIONS:
            raise ValueError(f"unknown precision {precision!r} (choose from {', '.join(PRECISIONS)})")
        if opened is None:
            opened = (open_model_file(model_path, threads) if model_path is not None
                      else open_manifest_model("face_embedding", precision, threads))
        mean = tuple(self._adopt(opened).extra.get("mean_rgb", DEFAULT_MEAN_RGB))
        self.size = int(self.model.input_shape[-1])
        self.mean = np.asarray(mean, dtype=np.float32)
        self.batch_size = max(1, batch_size)

    def preprocess(self, chips: np.ndarray) -> np.ndarray:
        """(N, S, S, 3) uint8 -> (N, 3, S, S) float32: (rgb - mean) / 255, as face-api feeds the net."""
        x = (chips.astype(np.float32) - self.mean) * np.float32(1.0 / 255.0)
        return np.ascontiguousarray(x.transpose(0, 3, 1, 2))

    def embed(self, chips: np.ndarray | list[np.ndarray]) -> np.ndarray:
        """(N, 128) float32 embeddings of N chips (an empty input gives (0, 128))."""
        batch = np.stack(list(chips)) if isinstance(chips, list) else np.asarray(chips)
        if len(batch) == 0:
            return np.zeros((0, 128), np.float32)
        if batch.ndim != 4 or batch.shape[1:] != (self.size, self.size, 3):
            raise ValueError(f"expected chips of shape (N, {self.size}, {self.size}, 3), got {batch.shape}")
        parts = [self.model.run(self.preprocess(batch[i:i + self.batch_size]))[0]
                 for i in range(0, len(batch), self.batch_size)]
        return np.concatenate(parts).astype(np.float32)


def face_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances between embeddings (broadcasting over leading axes)."""
    return np.linalg.norm(np.asarray(a) - np.asarray(b), axis=-1)
