"""Face alignment: a 4-point similarity transform from BlazeFace keypoints onto a chip template.

The face models were trained on dlib "face chips" (dlib's 5-point alignment). BlazeFace gives other
landmarks (right eye, left eye, nose tip, mouth centre), so the templates below are where those four
points fall on dlib's chips, calibrated against dlib's own chips (see docs/models.md). A least-squares
similarity (rotation, uniform scale, translation) maps the detected points onto the template and the
chip is resampled bilinearly with Pillow; faces much larger than the chip are first reduced by an
integer factor (box filter) so that the bilinear sampling does not alias.

Coordinates are continuous pixel coordinates in both the image and the chip.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class ChipTemplate:
    """Where right eye, left eye, nose tip and mouth centre land on a size x size chip."""

    size: int
    points: np.ndarray  # (4, 2) x, y in chip pixels

    def scaled(self, size: int) -> ChipTemplate:
        """The same alignment at another chip size (dlib's chip geometry is linear in size)."""
        return ChipTemplate(size, self.points * (size / self.size))


# dlib face chip, 150 px, padding 0.25: the identity embedding's input.
EMBEDDING_TEMPLATE = ChipTemplate(150, np.array(
    [[45.5, 45.6], [100.0, 46.3], [72.9, 77.6], [72.9, 104.5]], dtype=np.float64))
# dlib face chip, 64 px, padding 0.2: the age model's input; the gender model uses it at 32 px.
AGE_TEMPLATE = ChipTemplate(64, np.array(
    [[18.34, 18.40], [43.06, 18.73], [30.79, 32.88], [30.79, 45.07]], dtype=np.float64))
GENDER_TEMPLATE = AGE_TEMPLATE.scaled(32)
# The same 150 px embedding chip for Face Mesh's anchors (eye-contour centres, nose tip, mouth centre;
# FaceMesh.anchor_points): their mean position on today's chips over 599 faces of split A (UTKFace even
# file index, event albums of even index), so mesh chips keep the calibrated mean geometry
# (benchmarks/mesh_template.py).
MESH_EMBEDDING_TEMPLATE = ChipTemplate(150, np.array(
    [[46.55, 46.58], [100.80, 46.51], [73.16, 80.30], [73.73, 101.07]], dtype=np.float64))


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (2, 3) matrix M with dst ~= M @ [x, y, 1] for points src.

    Minimises the squared error of x' = a x - b y + tx, y' = b x + a y + ty over all point pairs; with
    both point sets centred the solution is closed-form (a 2-D Procrustes fit with scale).
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    p, q = src - src_mean, dst - dst_mean
    norm = float((p * p).sum())
    if norm == 0.0:
        raise ValueError("keypoints coincide: no alignment is defined")
    a = float((p[:, 0] * q[:, 0] + p[:, 1] * q[:, 1]).sum()) / norm
    b = float((p[:, 0] * q[:, 1] - p[:, 1] * q[:, 0]).sum()) / norm
    tx = dst_mean[0] - (a * src_mean[0] - b * src_mean[1])
    ty = dst_mean[1] - (b * src_mean[0] + a * src_mean[1])
    return np.array([[a, -b, tx], [b, a, ty]])


def invert_affine(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a (2, 3) affine matrix."""
    full = np.vstack([matrix, [0.0, 0.0, 1.0]])
    return np.linalg.inv(full)[:2]


def warp(image: Image.Image, matrix: np.ndarray, size: int) -> np.ndarray:
    """Resample the size x size chip that `matrix` (image -> chip coordinates) defines, as uint8 RGB.

    The chip's source region is cropped first; when one chip pixel spans k >= 2 image pixels the
    region is also reduced by k (a box filter) before bilinear sampling: cheap anti-aliasing for
    large faces. Outside the image the chip is black.
    """
    inverse = invert_affine(matrix)  # chip -> image
    step = float(np.sqrt(abs(np.linalg.det(inverse[:, :2]))))
    factor = max(1, int(step))
    # Pillow's transform costs grow with the source image, so sample from the chip's own region.
    corners = np.array([[0, 0, 1], [size, 0, 1], [0, size, 1], [size, size, 1]], dtype=np.float64)
    mapped = corners @ inverse.T
    left, top = np.floor(mapped.min(axis=0)).astype(int) - 2 * factor
    right, bottom = np.ceil(mapped.max(axis=0)).astype(int) + 2 * factor
    region = image.crop((int(left), int(top), int(right), int(bottom)))
    if factor >= 2:
        region = region.reduce(factor)
    # image coords -> region coords: (p - origin) / factor
    inverse = np.array([[inverse[0, 0], inverse[0, 1], inverse[0, 2] - left],
                        [inverse[1, 0], inverse[1, 1], inverse[1, 2] - top]]) / factor
    chip = region.transform((size, size), Image.Transform.AFFINE, data=tuple(inverse.reshape(-1)),
                            resample=Image.Resampling.BILINEAR)
    return np.asarray(chip)


def align(image: Image.Image, keypoints: np.ndarray, template: ChipTemplate) -> np.ndarray:
    """The chip (size, size, 3) uint8 of one face from four points in the template's order (BlazeFace
    keypoints: the first 4 are used; or a mesh's anchor points with a mesh template)."""
    matrix = similarity_transform(np.asarray(keypoints)[:4], template.points)
    return warp(image, matrix, template.size)


def as_image(rgb: np.ndarray | Image.Image) -> Image.Image:
    """A Pillow RGB image of an (H, W, 3) uint8 array (no copy of a Pillow image)."""
    if isinstance(rgb, Image.Image):
        return rgb if rgb.mode == "RGB" else rgb.convert("RGB")
    return Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8), "RGB")
