"""Do the topics of `galprof topics` recover planted themes? Synthetic users mixing real photo themes.

Themes are folders of ../shared/data: food101 (5 dishes, one theme "food") and the 5 event types of
events/ (birthday, graduation, personal sports, show, theme park). Every photo is analysed once with
the real models (cached in .cache/bench-topics/). The photos of each theme are split in two halves:
training users are built only from the first halves, held-out users only from the second, so no
held-out user shares a photo with training. A user has PHOTOS photos: 70 % from a main theme and 30 %
from a second one. Per user, classes and objects are counted the way a profile counts them.

K is chosen on the training users alone (held-out perplexity over a 75/25 split of them); the model
with K = number of themes is aligned to the themes on the training users (Hungarian assignment on
mean mixtures); the figures reported are on the held-out users:

    .venv/bin/python benchmarks/topics_themes.py --json topics-themes.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from galprof.analysis.interests import InterestCounter, Taxonomy
from galprof.config import Settings
from galprof.learn.topics import counts_from_profiles, fit_lda, held_out_perplexity, topics_document
from galprof.pipeline import scan

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
THEMES = {"food": "food101", "birthday": "events/Birthday", "graduation": "events/Graduation",
          "sports": "events/Personal_sports", "show": "events/Show", "theme park": "events/ThemePark"}


def analysed(theme: str, folder: Path, cache_dir: Path) -> list:
    result = scan(folder, Settings(ocr=False), cache_path=cache_dir / f"{theme.replace(' ', '_')}.sqlite",
                  quiet=True)
    try:
        return sorted(result.iter_media(), key=lambda m: m.path)
    finally:
        result.store.close()


def user_words(media: list, taxonomy: Taxonomy) -> dict:
    counter = InterestCounter(taxonomy)
    for m in media:
        counter.add(m)
    return {"classes": counter.classes_section(limit=10**6), "objects": counter.objects_section(limit=10**6)}


def make_users(pools: dict[str, list], n: int, photos: int, rng, taxonomy: Taxonomy):
    themes = list(pools)
    profiles, mixtures = {}, np.zeros((n, len(themes)))
    for u in range(n):
        main, second = rng.choice(len(themes), size=2, replace=False)
        mixtures[u, main], mixtures[u, second] = 0.7, 0.3
        chosen = []
        for t, share in ((main, 0.7), (second, 0.3)):
            pool = pools[themes[t]]
            chosen += [pool[i] for i in rng.choice(len(pool), size=round(photos * share), replace=len(pool) < photos)]
        profiles[f"user{u:03d}"] = user_words(chosen, taxonomy)
    return profiles, mixtures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=120, help="training users (as many held out)")
    parser.add_argument("--photos", type=int, default=30, help="photos per user")
    parser.add_argument("--ks", default="2,4,6,8,12")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    cache_dir = Path(".cache/bench-topics")
    cache_dir.mkdir(parents=True, exist_ok=True)
    taxonomy = Taxonomy.load()
    halves: dict[str, tuple[list, list]] = {}
    for theme, folder in THEMES.items():
        media = analysed(theme, DATA / folder, cache_dir)
        halves[theme] = (media[0::2], media[1::2])
        print(f"{theme}: {len(media)} photos", file=sys.stderr)
    rng = np.random.default_rng(args.seed)
    train_profiles, train_mix = make_users({t: h[0] for t, h in halves.items()}, args.users, args.photos, rng, taxonomy)
    test_profiles, test_mix = make_users({t: h[1] for t, h in halves.items()}, args.users, args.photos, rng, taxonomy)
    train, test = counts_from_profiles(train_profiles), counts_from_profiles(test_profiles)
    index = {w: i for i, w in enumerate(train.words)}  # held-out words unseen in training are dropped
    test_counts = np.zeros((len(test.users), len(train.words)))
    for j, word in enumerate(test.words):
        if word in index:
            test_counts[:, index[word]] = test.counts[:, j]

    ks = [int(k) for k in args.ks.split(",")]
    perplexity = held_out_perplexity(train, ks, seed=args.seed)
    k = len(THEMES)
    model = fit_lda(train.counts, k, args.seed)
    train_topics = model.transform(train.counts)
    overlap = train_mix.T @ train_topics  # themes x topics, on training users only
    themes_idx, topics_idx = linear_sum_assignment(-overlap)
    order = topics_idx[np.argsort(themes_idx)]
    held = model.transform(test_counts)[:, order]
    accuracy = float((held.argmax(axis=1) == test_mix.argmax(axis=1)).mean())
    second_ok = float(np.mean([set(np.argsort(-h)[:2]) == set(np.argsort(-m)[:2]) for h, m in zip(held, test_mix)]))
    doc = topics_document(model, train, taxonomy, top_words=5)
    report = {
        "themes": list(THEMES), "train_users": args.users, "held_out_users": args.users,
        "photos_per_user": args.photos, "vocabulary": len(train.words),
        "held_out_perplexity_by_k (training users, 75/25)": {str(k_): round(p, 2) for k_, p in perplexity.items()},
        "k_chosen_by_perplexity": min(perplexity, key=perplexity.get),
        "k_planted": k,
        "held_out_main_theme_accuracy": round(accuracy, 3),
        "held_out_both_themes_accuracy": round(second_ok, 3),
        "held_out_mixture_mae": round(float(np.abs(held - test_mix).mean()), 3),
        "chance_main_theme_accuracy": round(1 / k, 3),
        "topics": {theme: [w["label"] for w in doc["topics"][order[t]]["words"]] for t, theme in enumerate(THEMES)},
    }
    text = json.dumps(report, indent=2)
    if args.json:
        args.json.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
