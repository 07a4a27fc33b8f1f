"""Evaluate Algorithm 2 (events of albums) with leave-one-album-out: f only, p only, o only and the fusion.

Two sets, both from ../shared/data (features from learn_data.py's cached scans):

- cufed: the five CUFED event albums (one per event type). With one album per type, a whole album
  cannot be held out (its type would be unseen), so each album is cut into sub-albums of 8
  consecutive photos (file order) and one sub-album is held out at a time; the other sub-albums of
  the same album stay in training, so this measures recognising more of a known album's event.
- themes: albums assembled from other sources: each theme (the taxonomy category of ImageNet
  samples' true classes with >= 10 photos, Food-101's photos joining food, LFW people with >= 10
  photos as "portraits") is shuffled once (seed 0) and cut into albums of 10 (themes of 10-19 photos into two);
  every album is held out once and the model is trained on all the others.

In every fold the weights (and the attention sharpness of "fusion, attention pooling") are searched on
a validation split of the training albums only (train_event_model), so nothing is tuned on the
held-out album. The other variants decide an album by averaging its photos.

    .venv/bin/python benchmarks/learn_events_eval.py [--max-folds N] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from learn_data import imagenet_category, load_sources

from galprof.learn.datasets import PhotoGroup
from galprof.learn.events import pool_album, train_event_model

VARIANTS = {"f only": ("f",), "p only": ("p",), "o only": ("o",), "fusion": ("f", "p", "o")}


def _group(event: str, album: str, photos) -> PhotoGroup:
    g = PhotoGroup((event, album))
    for p in photos:
        g.paths.append(p.path)
        g.f.append(p.x["f"]), g.p.append(p.x["p"]), g.o.append(p.x["o"])
    return g


def cufed_albums(sources) -> list[PhotoGroup]:
    by_album: dict[tuple[str, str], list] = {}
    for p in sorted(sources["events"], key=lambda p: p.path):
        path = Path(p.path)
        by_album.setdefault((path.parent.parent.name, path.parent.name), []).append(p)
    out = []
    for (event, album), photos in by_album.items():
        for start in range(0, len(photos) - 4, 8):
            chunk = photos[start:start + 8] if len(photos) - start >= 12 else photos[start:]
            out.append(_group(event, f"{album}#{start // 8}", chunk))
            if len(chunk) > 8:
                break
    return out


def _cut(theme: str, photos, rng: np.random.Generator) -> list[PhotoGroup]:
    photos = [photos[i] for i in rng.permutation(len(photos))]
    if len(photos) < 10:
        return []
    size = 10 if len(photos) >= 20 else len(photos) // 2
    count = len(photos) // size
    return [_group(theme, f"{theme}#{i}", photos[i * size:(i + 1) * size if i < count - 1 else None])
            for i in range(count)]


def theme_albums(sources, per_theme: int) -> list[PhotoGroup]:
    rng = np.random.default_rng(0)
    themes: dict[str, list] = {}
    truth = imagenet_category(sources["imagenet-samples"])
    for p in sources["imagenet-samples"]:
        if truth[p.path]:
            themes.setdefault(truth[p.path], []).append(p)
    themes["food"] = themes.get("food", []) + list(sources["food101"])
    people: dict[str, list] = {}
    for p in sources["lfw"]:
        people.setdefault(Path(p.path).parent.name, []).append(p)
    albums = []
    for theme, photos in sorted(themes.items()):
        albums += _cut(theme, photos, rng)[:per_theme]
    portraits = [_group("portraits", name, ps[:10]) for name, ps in sorted(people.items()) if len(ps) >= 10]
    return albums + portraits[:per_theme]


def leave_one_album_out(albums: list[PhotoGroup], max_folds: int | None) -> dict:
    folds = albums if not max_folds else [albums[i] for i in
                                          np.random.default_rng(1).permutation(len(albums))[:max_folds]]
    correct = {v: 0 for v in [*VARIANTS, "fusion, attention pooling"]}
    photo_correct = {v: 0 for v in VARIANTS}
    photos = 0
    weights, sharpness = [], []
    started = time.perf_counter()
    for held in folds:
        model = train_event_model([a for a in albums if a is not held], pooling="attention")
        weights.append([model.fusion_weights[k] for k in ("f", "p", "o")])
        truth = model.events.index(held.key[0])
        photos += len(held.paths)
        for name, parts in VARIANTS.items():
            scores = model.photo_scores(held, parts)
            correct[name] += int(scores.mean(axis=0).argmax() == truth)  # album decision by averaging
            photo_correct[name] += int((scores.argmax(axis=1) == truth).sum())
        sharpness.append(model.sharpness)
        correct["fusion, attention pooling"] += int(pool_album(model.photo_scores(held), model.sharpness).argmax()
                                                    == truth)
    n = len(folds)
    return {"albums": len(albums), "events": len({a.key[0] for a in albums}), "folds": n,
            "album_accuracy": {v: round(c / n, 3) for v, c in correct.items()},
            "photo_accuracy": {v: round(c / photos, 3) for v, c in photo_correct.items()},
            "mean_fusion_weights": dict(zip(("f", "p", "o"), np.round(np.mean(weights, axis=0), 3).tolist(),
                                            strict=True)),
            "sharpness_chosen": sorted(set(sharpness)), "seconds": round(time.perf_counter() - started, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-folds", type=int, default=None, help="Hold out only this many albums per set.")
    parser.add_argument("--per-theme", type=int, default=6, help="At most this many albums per theme.")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    sources = load_sources()
    report = {}
    for name, albums in (("cufed", cufed_albums(sources)), ("themes", theme_albums(sources, args.per_theme))):
        report[name] = leave_one_album_out(albums, args.max_folds)
        print(name, json.dumps(report[name]), file=sys.stderr)
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text)


if __name__ == "__main__":
    main()
