"""Evaluate gallery aggregation like the paper's Table 5: precision, recall and F1 at k on synthetic users.

Each user mixes 1-3 themes (3-8 photos each, drawn from the theme pools of learn_data.py) with 10-40
unlabelled filler photos (faces, phone photos, other ImageNet classes); their labels are their themes.
Every pool is split in half once (seed 0): test users are built only from the second halves; the
first halves are split again into photos for the training users and photos for validation users, on
whose loss the epoch is chosen. No photo is in two of the three sets; every other setting is the CLI's
default. Reported on the test users: average vs
1-attention vs 2-attention (NAN) vs the counters (categories ranked by photos), with the model's size
(parameters, ONNX bytes) and the median decision time per gallery.

    .venv/bin/python benchmarks/learn_aggregate_eval.py [--train-users 400] [--test-users 300]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from learn_data import load_sources, split_half, theme_pools

from galprof.learn.aggregate import predict
from galprof.learn.fit import FitOptions, fit

KS = (1, 3, 5)


def make_users(pools, filler, count: int, rng: np.random.Generator):
    themes = list(pools)
    users = []
    for _ in range(count):
        chosen = rng.choice(len(themes), int(rng.integers(1, 4)), replace=False)
        photos = []
        for t in chosen:
            pool = pools[themes[t]]
            photos += [pool[i] for i in rng.choice(len(pool), min(len(pool), int(rng.integers(3, 9))),
                                                    replace=False)]
        photos += [filler[i] for i in rng.choice(len(filler), int(rng.integers(10, 41)), replace=False)]
        rng.shuffle(photos)
        users.append((photos, {themes[t] for t in chosen}))
    return users


def features(users) -> list[np.ndarray]:
    return [np.stack([np.concatenate([p.x["f"], p.x["p"], p.x["o"]]) for p in photos]) for photos, _ in users]


def at_k(scores: np.ndarray, truth: list[set[str]], categories: list[str]) -> dict[str, float]:
    out = {}
    for k in KS:
        precision, recall = [], []
        for row, true in zip(scores, truth, strict=True):
            top = {categories[i] for i in np.argsort(-row, kind="stable")[:k]}
            hits = len(top & true)
            precision.append(hits / k)
            recall.append(hits / len(true))
        p, r = float(np.mean(precision)), float(np.mean(recall))
        out.update({f"P@{k}": round(p, 3), f"R@{k}": round(r, 3), f"F1@{k}": round(2 * p * r / (p + r) if p + r else 0, 3)})
    return out


def counter_scores(users, categories: list[str]) -> tuple[np.ndarray, float]:
    rows, seconds = [], []
    for photos, _ in users:
        started = time.perf_counter()
        counts = np.zeros(len(categories))
        for p in photos:
            for i, c in enumerate(categories):
                counts[i] += c in p.counted
        seconds.append(time.perf_counter() - started)
        rows.append(counts + 1e-6 * np.arange(len(categories))[::-1])  # ties: taxonomy order
    return np.array(rows), float(np.median(seconds))


def onnx_timing(model, dims, labels, galleries) -> tuple[int, float]:
    import tempfile

    from galprof.learn.export import to_onnx
    from galprof.learn.runtime import Aggregator

    blob = to_onnx(model, dims, labels, {})
    with tempfile.NamedTemporaryFile(suffix=".onnx") as tmp:
        tmp.write(blob)
        tmp.flush()
        agg = Aggregator.load(tmp.name)
        seconds = []
        for g in galleries:
            f, p, o = g[:, :dims["f"]], g[:, dims["f"]:dims["f"] + dims["p"]], g[:, dims["f"] + dims["p"]:]
            started = time.perf_counter()
            agg.run(f, p, o)
            seconds.append(time.perf_counter() - started)
    return len(blob), float(np.median(seconds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-users", type=int, default=400)
    parser.add_argument("--test-users", type=int, default=300)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    pools, filler = theme_pools(load_sources())
    halves = {c: split_half(ps, rng) for c, ps in pools.items()}
    filler_train, filler_test = split_half(filler, rng)
    # the training half again in two: users to fit on, and users of other photos to choose the epoch
    quarters = {c: split_half(h[0], rng) for c, h in halves.items()}
    filler_fit, filler_val = split_half(filler_train, rng)
    train = make_users({c: q[1] for c, q in quarters.items()}, filler_fit, args.train_users, rng)
    val = make_users({c: q[0] for c, q in quarters.items()}, filler_val, args.train_users // 4, rng)
    test = make_users({c: h[1] for c, h in halves.items()}, filler_test, args.test_users, rng)
    categories = list(pools)
    dims = {k: len(pools[categories[0]][0].x[k]) for k in ("f", "p", "o")}
    Y = np.array([[c in labels for c in categories] for _, labels in train], dtype=float)
    Y_val = np.array([[c in labels for c in categories] for _, labels in val], dtype=float)
    truth = [labels for _, labels in test]
    train_x, test_x = features(train), features(test)
    report = {"categories": {c: [len(h[0]), len(h[1])] for c, h in halves.items()},
              "filler": [len(filler_train), len(filler_test)], "train_users": len(train), "validation_users": len(val),
              "test_users": len(test),
              "methods": {}}
    scores, seconds = counter_scores(test, categories)
    report["methods"]["counters"] = {**at_k(scores, truth, categories), "parameters": 0,
                                     "decision_ms": round(seconds * 1e3, 3)}
    for aggregation in ("average", "attention", "nan"):
        started = time.perf_counter()
        model, fitted = fit(train_x, Y, categories, FitOptions(aggregation=aggregation, epochs=args.epochs),
                            validation_set=(features(val), Y_val))
        train_seconds = time.perf_counter() - started
        size, seconds = onnx_timing(model, dims, categories, test_x)
        report["methods"][aggregation] = {
            **at_k(predict(model, test_x), truth, categories), "parameters": model.parameter_count(),
            "onnx_bytes": size, "decision_ms": round(seconds * 1e3, 3), "best_epoch": fitted.best_epoch,
            "train_seconds": round(train_seconds, 1)}
        print(aggregation, json.dumps(report["methods"][aggregation]), file=sys.stderr)
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text)


if __name__ == "__main__":
    main()
