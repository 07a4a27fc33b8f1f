"""Training data from folders: per-photo (f, p, o) grouped by the folder they sit in, and user labels.

`scan_groups(root, depth)` scans `root` through the results cache (only new files are analyzed) and
groups the photos by the first `depth` folders of their path under `root`: depth 1 gives one gallery
per user (DIR/<user>/...), depth 2 one album per event (DIR/<event>/<album>/...).
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from galprof.errors import UsageError
from galprof.render.safe import safe_text


@dataclass
class PhotoGroup:
    """The photos of one folder (a user's gallery or an album) as feature matrices."""

    key: tuple[str, ...]  # folder names under the root
    paths: list[str] = field(default_factory=list)
    f: list[np.ndarray] = field(default_factory=list)
    p: list[np.ndarray] = field(default_factory=list)
    o: list[np.ndarray] = field(default_factory=list)

    def matrix(self, parts: tuple[str, ...] = ("f", "p", "o")) -> np.ndarray:
        return np.concatenate([np.stack(getattr(self, name)) for name in parts], axis=1)


def feature_labels() -> tuple[list[str], list[str]]:
    """The classifier's and the detector's labels, in the order of p and o."""
    from galprof.vision.onnx_model import read_labels
    from galprof.vision.registry import load_manifest

    manifest = load_manifest()
    return (read_labels(manifest["efficientnet_lite0"].labels_path()),
            read_labels(manifest["nanodet"].labels_path()))


def group_media(media, root: str, depth: int, class_labels: list[str], object_labels: list[str]
                ) -> dict[tuple[str, ...], PhotoGroup]:
    """Group MediaFacts by the first `depth` folders of their path under root (others are left out)."""
    from galprof.analysis.interests import photo_features

    groups: dict[tuple[str, ...], PhotoGroup] = {}
    for m in media:
        parts = Path(os.path.relpath(m.path, root)).parts
        if len(parts) <= depth:  # a photo directly in the root (or an event folder): no group
            continue
        key = tuple(parts[:depth])
        group = groups.setdefault(key, PhotoGroup(key))
        f, p, o = photo_features(m, class_labels, object_labels)
        group.paths.append(m.path)
        group.f.append(f), group.p.append(p), group.o.append(o)
    return dict(sorted(groups.items()))


def scan_and_group(root: Path, cache_path: Path | None, workers: int, quiet: bool, group):
    """Scan `root` through the cache, then `group(media, folder, class_labels, object_labels)` over
    its stored facts (the store is closed afterwards). Usage errors are one line."""
    from galprof.config import Settings
    from galprof.pipeline import ScanUsageError, scan

    if not root.is_dir():
        raise UsageError(f"not a folder: {safe_text(root)}")
    class_labels, object_labels = feature_labels()
    try:
        result = scan(root, Settings(workers=workers), cache_path=cache_path, quiet=quiet)
    except ScanUsageError as exc:
        raise UsageError(safe_text(exc)) from None
    try:
        return group(result.iter_media(), result.folder, class_labels, object_labels)
    finally:
        result.store.close()


def scan_groups(root: Path, depth: int, cache_path: Path | None, workers: int, quiet: bool
                ) -> dict[tuple[str, ...], PhotoGroup]:
    return scan_and_group(root, cache_path, workers, quiet,
                          lambda media, folder, classes, objects: group_media(media, folder, depth, classes, objects))


def read_user_labels(path: Path, categories: list[str]) -> dict[str, list[str]]:
    """LABELS.csv: header `user,categories`, one row per user, category ids separated by `;`."""
    where = f"the labels {safe_text(path)}"
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{where}: cannot read ({getattr(exc, 'strerror', None) or exc})") from None
    rows = list(csv.reader(text.splitlines()))
    if not rows or [c.strip().lower() for c in rows[0]] != ["user", "categories"]:
        raise UsageError(f"{where}: the first line must be the header `user,categories`")
    known = set(categories)
    labels: dict[str, list[str]] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not row or not "".join(row).strip():
            continue
        if len(row) != 2 or not row[0].strip():
            raise UsageError(f"{where}: line {number}: expected `user,cat1;cat2`")
        user = row[0].strip()
        cats = [c.strip() for c in row[1].split(";") if c.strip()]
        unknown = [c for c in cats if c not in known]
        if unknown:
            raise UsageError(f"{where}: line {number}: unknown category {safe_text(unknown[0])} "
                             f"(the taxonomy's ids: {', '.join(categories)})")
        if user in labels:
            raise UsageError(f"{where}: line {number}: user {safe_text(user)} appears twice")
        labels[user] = cats
    if not labels:
        raise UsageError(f"{where}: no users")
    return labels
