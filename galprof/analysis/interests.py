"""Interests: per-photo model results mapped onto the taxonomy's categories and counted for the gallery.

This is the paper's "counters of categories" step. The taxonomy (`models/taxonomy.json`, written by
hand for galprof) says which ImageNet-1k classifier classes and COCO-80 detector classes signal which
category and subcategory, each with a confidence threshold; every other class signals nothing.

Per frame the classifier's top-k scores and the detector's maximum confidence per class (the paper's
sparse object vector o) are fused: a subcategory fires when one of its classifier classes reaches the
threshold, when the summed scores of its classifier classes reach it (fine-grained classes such as dog
breeds split the probability mass between them), or when one of its detector classes reaches its own
threshold. A video fires a category when any of its sampled frames does and counts once.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from galprof.facts import FrameFacts, MediaFacts
from galprof.vision.registry import models_dir

CLASSIFIER = "classifier"
DETECTOR = "detector"
EXAMPLES_PER_CATEGORY = 3
# Display thresholds of the "objects" and "classes" sections (not of the interests).
OBJECT_SECTION_MIN_SCORE = 0.5
CLASS_SECTION_MIN_SCORE = 0.3


def default_taxonomy_path() -> Path:
    return models_dir() / "taxonomy.json"


@dataclass(frozen=True)
class Mapping:
    """One class -> (category, subcategory) link with the confidence the class needs."""

    label: str
    source: str  # CLASSIFIER or DETECTOR
    category: str
    subcategory: str
    threshold: float


@dataclass
class Subcategory:
    id: str
    label: str
    classifier_threshold: float


@dataclass
class Category:
    id: str
    label: str
    subcategories: list[Subcategory]


@dataclass
class Taxonomy:
    """The loaded taxonomy: categories in file order and the class -> mappings indexes."""

    version: int
    categories: list[Category]
    classifier: dict[str, list[Mapping]]
    detector: dict[str, list[Mapping]]
    path: str | None = None

    @classmethod
    def load(cls, path: str | Path | None = None) -> Taxonomy:
        """The taxonomy file, checked against galprof/schema/taxonomy.schema.json (UsageError if not)."""
        from galprof.validate import load_taxonomy_data

        path = Path(path) if path else default_taxonomy_path()
        return cls.from_dict(load_taxonomy_data(path), str(path))

    @classmethod
    def from_dict(cls, data: dict, path: str | None = None) -> Taxonomy:
        categories: list[Category] = []
        classifier: dict[str, list[Mapping]] = defaultdict(list)
        detector: dict[str, list[Mapping]] = defaultdict(list)
        for cat in data["categories"]:
            subs = []
            for sub in cat["subcategories"]:
                threshold = float(sub["classifier_threshold"])
                subs.append(Subcategory(sub["id"], sub.get("label", sub["id"]), threshold))
                for label in sub.get("classifier", []):
                    classifier[label].append(Mapping(label, CLASSIFIER, cat["id"], sub["id"], threshold))
                for entry in sub.get("detector", []):
                    detector[entry["class"]].append(
                        Mapping(entry["class"], DETECTOR, cat["id"], sub["id"], float(entry["threshold"]))
                    )
            categories.append(Category(cat["id"], cat.get("label", cat["id"]), subs))
        return cls(int(data.get("version", 1)), categories, dict(classifier), dict(detector), path)

    def category(self, name: str) -> Category | None:
        """A category by id or by label, case-insensitive ("animals" or "pets/animals")."""
        key = name.strip().lower()
        return next((c for c in self.categories if key in (c.id.lower(), c.label.lower())), None)


@dataclass
class Evidence:
    """Why a (category, subcategory) fired: the classes and their scores."""

    score: float = 0.0
    classes: dict[tuple[str, str], float] = field(default_factory=dict)  # (source, label) -> score

    def add(self, source: str, label: str, score: float) -> None:
        key = (source, label)
        self.classes[key] = max(self.classes.get(key, 0.0), score)
        self.score = max(self.score, score)


Hits = dict[tuple[str, str], Evidence]  # (category, subcategory) -> evidence


def max_object_scores(frame: FrameFacts) -> dict[str, float]:
    """The detector's sparse vector for one frame: maximum confidence per COCO class."""
    scores: dict[str, float] = {}
    for det in frame.objects:
        scores[det.label] = max(scores.get(det.label, 0.0), float(det.score))
    return scores


def frame_interests(frame: FrameFacts, taxonomy: Taxonomy) -> Hits:
    """The (category, subcategory) pairs one frame signals, with their evidence."""
    hits: Hits = {}
    pooled: dict[tuple[str, str], list[tuple[str, float]]] = defaultdict(list)
    # a classifier mapping's threshold is its subcategory's classifier_threshold (Taxonomy.from_dict)
    pooled_threshold: dict[tuple[str, str], float] = {}
    for cs in frame.classes:
        for m in taxonomy.classifier.get(cs.label, ()):
            key = (m.category, m.subcategory)
            pooled[key].append((cs.label, float(cs.score)))
            pooled_threshold[key] = m.threshold
            if cs.score >= m.threshold:
                hits.setdefault(key, Evidence()).add(CLASSIFIER, cs.label, float(cs.score))
    for key, members in pooled.items():
        total = sum(score for _, score in members)
        if key not in hits and total >= pooled_threshold[key]:
            ev = hits.setdefault(key, Evidence())
            for label, score in members:
                ev.add(CLASSIFIER, label, score)
            ev.score = total
    for label, score in max_object_scores(frame).items():
        for m in taxonomy.detector.get(label, ()):
            if score >= m.threshold:
                hits.setdefault((m.category, m.subcategory), Evidence()).add(DETECTOR, label, score)
    return hits


def media_interests(media: MediaFacts, taxonomy: Taxonomy) -> Hits:
    """A photo's or a whole video's interests: the union over its frames (a video counts once)."""
    merged: Hits = {}
    for frame in media.frames:
        for key, ev in frame_interests(frame, taxonomy).items():
            target = merged.setdefault(key, Evidence())
            for (source, label), score in ev.classes.items():
                target.add(source, label, score)
            target.score = max(target.score, ev.score)
    return merged


def categories_of(hits: Hits) -> dict[str, list[str]]:
    """{category: [subcategories]} of a photo's hits, for the per-photo index."""
    out: dict[str, list[str]] = defaultdict(list)
    for cat, sub in sorted(hits):
        out[cat].append(sub)
    return dict(out)


@dataclass
class _CategoryCount:
    photos: int = 0
    score: float = 0.0
    subcategories: Counter = field(default_factory=Counter)
    classes: Counter = field(default_factory=Counter)  # (source, label) -> photos
    examples: list[tuple[float, str]] = field(default_factory=list)


class InterestCounter:
    """Accumulates the gallery's interest counters one media item at a time (memory stays flat)."""

    def __init__(self, taxonomy: Taxonomy, examples: int = EXAMPLES_PER_CATEGORY):
        self.taxonomy = taxonomy
        self.examples = examples
        self.counts: dict[str, _CategoryCount] = defaultdict(_CategoryCount)
        self.media = 0
        self.media_with_interests = 0
        self.objects: dict[str, list[float]] = defaultdict(list)  # label -> per-photo max scores
        self.classes: Counter = Counter()
        self.class_scores: dict[str, float] = defaultdict(float)

    def add(self, media: MediaFacts) -> dict[str, list[str]]:
        """Count one photo or video; returns its {category: [subcategories]}."""
        self.media += 1
        hits = media_interests(media, self.taxonomy)
        self._count_sections(media)
        if hits:
            self.media_with_interests += 1
        per_cat: dict[str, dict[tuple[str, str], Evidence]] = defaultdict(dict)
        for (cat, sub), ev in hits.items():
            per_cat[cat][(cat, sub)] = ev
        for cat, subs in per_cat.items():
            c = self.counts[cat]
            c.photos += 1
            best = max(ev.score for ev in subs.values())
            c.score += min(1.0, best)
            labels = set()
            for (_, sub), ev in subs.items():
                c.subcategories[sub] += 1
                labels.update(ev.classes)
            for key in labels:
                c.classes[key] += 1
            c.examples.append((best, media.path))
            c.examples.sort(key=lambda e: (-e[0], e[1]))
            del c.examples[self.examples:]
        return categories_of(hits)

    def _count_sections(self, media: MediaFacts) -> None:
        objects: dict[str, float] = {}
        top: dict[str, float] = {}
        for frame in media.frames:
            for label, score in max_object_scores(frame).items():
                objects[label] = max(objects.get(label, 0.0), score)
            if frame.classes:
                best = max(frame.classes, key=lambda c: c.score)
                if best.score >= CLASS_SECTION_MIN_SCORE:
                    top[best.label] = max(top.get(best.label, 0.0), float(best.score))
        for label, score in objects.items():
            if score >= OBJECT_SECTION_MIN_SCORE:
                self.objects[label].append(score)
        for label, score in top.items():
            self.classes[label] += 1
            self.class_scores[label] += score

    def section(self, top_k: int = 5) -> dict[str, Any]:
        """The JSON-ready "interests" section."""
        total = sum(c.photos for c in self.counts.values())
        cats = []
        for cat in self.taxonomy.categories:
            c = self.counts.get(cat.id)
            if c is None or c.photos == 0:
                continue
            sub_labels = {s.id: s.label for s in cat.subcategories}
            cats.append({
                "id": cat.id,
                "label": cat.label,
                "photos": c.photos,
                "share": round(c.photos / total, 4) if total else 0.0,
                "score": round(c.score, 3),
                "subcategories": [
                    {"id": sid, "label": sub_labels.get(sid, sid), "photos": n}
                    for sid, n in sorted(c.subcategories.items(), key=lambda kv: (-kv[1], kv[0]))
                ],
                "evidence": {
                    "classes": [
                        {"label": label, "source": source, "photos": n}
                        for (source, label), n in sorted(c.classes.items(), key=lambda kv: (-kv[1], kv[0]))[:8]
                    ],
                    "examples": [path for _, path in c.examples],
                },
            })
        cats.sort(key=lambda c: (-c["photos"], -c["score"], c["id"]))
        return {
            "taxonomy_version": self.taxonomy.version,
            "media": self.media,
            "media_with_interests": self.media_with_interests,
            "distribution": {c["id"]: c["share"] for c in cats},
            "top": [c["id"] for c in cats[:top_k]],
            "categories": cats,
        }

    def objects_section(self, limit: int = 40) -> dict[str, Any]:
        rows = [
            {"label": label, "photos": len(scores), "max_score": round(max(scores), 3)}
            for label, scores in self.objects.items()
        ]
        rows.sort(key=lambda r: (-r["photos"], r["label"]))
        return {"min_score": OBJECT_SECTION_MIN_SCORE, "classes": rows[:limit]}

    def classes_section(self, limit: int = 40) -> dict[str, Any]:
        rows = [
            {"label": label, "photos": n, "mean_score": round(self.class_scores[label] / n, 3)}
            for label, n in self.classes.items()
        ]
        rows.sort(key=lambda r: (-r["photos"], r["label"]))
        return {"min_score": CLASS_SECTION_MIN_SCORE, "classes": rows[:limit]}


def count_interests(media: Iterable[MediaFacts], taxonomy: Taxonomy | None = None, top_k: int = 5) -> dict:
    """Convenience: the interests section of an iterable of media."""
    counter = InterestCounter(taxonomy or Taxonomy.load())
    for m in media:
        counter.add(m)
    return counter.section(top_k)


# ---- the paper's per-photo representation (f, p, o), exported for users' own classifiers ----


def _index(labels: list[str]) -> dict[str, int]:
    """label -> first position (ImageNet's label list repeats a few names, e.g. "sunglasses")."""
    index: dict[str, int] = {}
    for i, label in enumerate(labels):
        index.setdefault(label, i)
    return index


def photo_features(
    media: MediaFacts, class_labels: list[str], object_labels: list[str], dim: int = 1280
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(f, p, o) of one photo or video: f = mean frame embedding (zeros when none), p = classifier
    scores as a dense vector rebuilt from the stored top-k (other classes 0; max over frames),
    o = maximum detector confidence per COCO class (max over frames)."""
    class_index, object_index = _index(class_labels), _index(object_labels)
    p = np.zeros(len(class_labels), dtype=np.float32)
    o = np.zeros(len(object_labels), dtype=np.float32)
    embeddings = []
    for frame in media.frames:
        if frame.embedding is not None:
            embeddings.append(np.asarray(frame.embedding, dtype=np.float32).reshape(-1))
        for cs in frame.classes:
            i = class_index.get(cs.label)
            if i is not None:
                p[i] = max(p[i], cs.score)
        for label, score in max_object_scores(frame).items():
            i = object_index.get(label)
            if i is not None:
                o[i] = max(o[i], score)
    if embeddings:
        f = np.mean(np.stack(embeddings), axis=0).astype(np.float32)
    else:
        f = np.zeros(dim, dtype=np.float32)
    return f, p, o


def export_features(
    media: Iterable[MediaFacts], class_labels: list[str], object_labels: list[str], out: str | Path
) -> int:
    """Write features.npz with arrays f (N, 1280), p (N, classes), o (N, objects), paths (N,),
    class_labels, object_labels. Returns N."""
    fs, ps, os_, paths = [], [], [], []
    dim = 1280
    for m in media:
        f, p, o = photo_features(m, class_labels, object_labels, dim)
        dim = f.shape[0]
        fs.append(f)
        ps.append(p)
        os_.append(o)
        paths.append(m.path)
    n = len(paths)
    np.savez_compressed(
        out,
        f=np.stack(fs) if n else np.zeros((0, dim), np.float32),
        p=np.stack(ps) if n else np.zeros((0, len(class_labels)), np.float32),
        o=np.stack(os_) if n else np.zeros((0, len(object_labels)), np.float32),
        paths=np.array(paths, dtype=str),
        class_labels=np.array(class_labels, dtype=str),
        object_labels=np.array(object_labels, dtype=str),
    )
    return n
