"""Face clustering parameters chosen by cross-validation over people, with the held-out figures.

The faces (benchmarks/cluster_cv_data.py, cached) come from ../shared/data: 33 LFW identities, 1 000
UTKFace strangers and 5 event albums of background faces. Each seed splits the LFW identities, the
UTKFace crops and the albums into `--folds` folds; fold k is one gallery (its LFW people, its share of
strangers, its album), clustered as a whole the way a scan clusters a gallery. For each held-out
fold every ClusterParams value is chosen on the other folds only: one parameter at a time (in AXES
order, starting from the defaults), the value whose training F averaged with its neighbours' on the
axis is highest, so that a flat part of the curve wins over a lone peak. The held-out fold is then
clustered with the chosen values.

Scoring, over the labelled faces of a gallery: each LFW photo's central face (its identity), every
UTKFace face (a person of its own) and every event-album face. Album faces have no labels: each is
counted as a person of its own against LFW and UTKFace faces (a false pair when put with one), and
pairs of two album faces are left out (they may be the same guest). Pairwise precision, recall, F;
LFW people found (their largest person holds more than half their photos) against true; and the
largest "person" of UTKFace faces (all different people, so any person with two is false).

    PYTHONPATH=. .venv/bin/python benchmarks/cluster_cv.py [--precision int8|fp32] --seeds 0   # one job a seed
    PYTHONPATH=. .venv/bin/python benchmarks/cluster_cv.py [--precision ...] --seeds 0,1,2 --report [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from benchmarks.cluster_cv_data import DATA, CvFaces, load_or_extract
from galprof.analysis.age_links import AgeRule
from galprof.analysis.face_clusters import ClusterParams, cluster_faces
from galprof.config import Settings

# Parameters searched, in the order the coordinate search visits them; "ages.x" is AgeRule's x.
AXES: dict[str, list] = {
    "min_cluster_size": [2, 3, 4],
    "member_distance": [0.36, 0.38, 0.40, 0.42, 0.44],
    "merge_distance": [0.32, 0.34, 0.36, 0.38, 0.40],
    "attach_distance": [0.30, 0.34, 0.37, 0.40],
    "ages.young_member_distance": [0.22, 0.26, 0.30, 0.34],
    "ages.young_merge_distance": [0.08, 0.12, 0.16, 0.20, 0.24],
    "ages.young_attach_distance": [0.08, 0.12, 0.16, 0.20, 0.24],
    "ages.young_age": [0.0, 8.0, 12.0, 16.0, 20.0, 24.0],  # 0 = no age rule
}


# "Before": the defaults this search replaced (chosen on all of LFW), without the age rule.
BEFORE = ClusterParams(min_cluster_size=3, member_distance=0.42, merge_distance=0.36, attach_distance=0.4,
                       ages=AgeRule(young_age=0.0))


# Where the coordinate search starts: the defaults before this search (cluster_lfw.py's sweep on all
# of LFW; AgeRule's first guesses), so that every run starts from the same point.
START = ClusterParams(min_cluster_size=3, member_distance=0.42, merge_distance=0.36, attach_distance=0.4,
                      ages=AgeRule(young_age=12.0, young_member_distance=0.30, young_merge_distance=0.26,
                                   young_attach_distance=0.28))


def get_param(params: ClusterParams, name: str):
    if name.startswith("ages."):
        return getattr(params.ages, name[5:])
    return getattr(params, name)


def set_param(params: ClusterParams, name: str, value) -> ClusterParams:
    if name.startswith("ages."):
        return replace(params, ages=replace(params.ages, **{name[5:]: value}))
    return replace(params, **{name: value})


@dataclass
class Scores:
    precision: float
    recall: float
    f: float
    people: int  # LFW identities in the gallery
    found: int  # of them, with a person holding more than half their photos
    clusters: int  # persons holding LFW faces
    largest_utk: int  # UTKFace faces in the largest person made of them (1 = none merged)
    utk_in_people: int  # UTKFace faces put with another UTKFace face


def score(g: CvFaces, labels: np.ndarray) -> Scores:
    lfw = (g.source == "lfw") & g.main
    utk = g.source == "utkface"
    events = g.source == "events"
    scored = lfw | utk | events
    lab = labels[scored]
    src_lfw, src_ev = lfw[scored], events[scored]
    names = g.group[scored]
    predicted = together = 0.0
    utk_counts = Counter(labels[utk & (labels >= 0)].tolist())
    for c in set(lab[lab >= 0].tolist()):
        members = lab == c
        n, e = int(members.sum()), int((members & src_ev).sum())
        predicted += n * (n - 1) / 2 - e * (e - 1) / 2
        for count in Counter(names[members & src_lfw].tolist()).values():
            together += count * (count - 1) / 2
    truth_counts = Counter(names[src_lfw].tolist())
    true_pairs = sum(c * (c - 1) / 2 for c in truth_counts.values())
    precision = together / predicted if predicted else 1.0
    recall = together / true_pairs if true_pairs else 1.0
    f = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    found = 0
    for name, total in truth_counts.items():
        own = labels[lfw & (g.group == name)]
        own = own[own >= 0]
        found += int(len(own) > 0 and np.bincount(own).max() > total / 2)
    clusters = len(set(labels[lfw & (labels >= 0)].tolist()))
    largest = max(utk_counts.values(), default=1)
    merged = sum(v for v in utk_counts.values() if v >= 2)
    return Scores(precision, recall, f, len(truth_counts), found, clusters, largest, merged)


def trusted(g: CvFaces, settings: Settings) -> np.ndarray:
    size = np.minimum(g.box[:, 2] - g.box[:, 0], g.box[:, 3] - g.box[:, 1])
    return (size >= settings.face_min_size) & (g.score >= settings.face_cluster_score)


def cluster(g: CvFaces, params: ClusterParams, precision: str) -> np.ndarray:
    embedding = g.embedding if precision == "int8" else g.embedding_fp32
    return cluster_faces(embedding, frame_ids=list(g.path), trusted=trusted(g, Settings()), params=params,
                         ages=g.age, taken=g.taken)


def folds(faces: CvFaces, seed: int, k: int) -> list[CvFaces]:
    """The k fold galleries of one seed: LFW identities, UTKFace crops and event albums split k ways."""
    rng = np.random.default_rng(seed)
    fold_of: dict[str, int] = {}
    for source in ("lfw", "utkface", "events"):
        groups = sorted(set(faces.group[faces.source == source].tolist()))
        for f, part in enumerate(np.array_split(rng.permutation(groups), k)):
            fold_of.update({str(name): f for name in part})
    index = np.array([fold_of[name] for name in faces.group.tolist()])
    return [faces.take(index == f) for f in range(k)]


def mean_f(galleries: list[CvFaces], params: ClusterParams, precision: str) -> float:
    return float(np.mean([score(g, cluster(g, params, precision)).f for g in galleries]))


def choose(train: list[CvFaces], precision: str, start: ClusterParams | None = None) -> ClusterParams:
    """Coordinate search on the training galleries, preferring flat parts (see the module docstring)."""
    params = start or START
    for axis, values in AXES.items():
        fs = [mean_f(train, set_param(params, axis, v), precision) for v in values]
        smoothed = [np.mean(fs[max(0, i - 1): i + 2]) for i in range(len(fs))]
        params = set_param(params, axis, values[int(np.argmax(smoothed))])
    return params


def describe(params: ClusterParams) -> dict:
    return {axis: get_param(params, axis) for axis in AXES}


def cross_validate(faces: CvFaces, seeds: list[int], k: int, precision: str, rows_file: Path) -> None:
    """Append one JSON line per held-out fold to `rows_file`, skipping folds already there (a long
    run can be done one seed per job)."""
    done = {(r["seed"], r["fold"]) for r in read_rows(rows_file)}
    for seed in seeds:
        galleries = folds(faces, seed, k)
        for f, test in enumerate(galleries):
            if (seed, f) in done:
                continue
            chosen = choose([g for i, g in enumerate(galleries) if i != f], precision)
            held_out = score(test, cluster(test, chosen, precision))
            before = score(test, cluster(test, BEFORE, precision))
            row = {"seed": seed, "fold": f, "chosen": describe(chosen), "held_out": asdict(held_out),
                   "before": asdict(before)}
            with rows_file.open("a") as out:
                out.write(json.dumps(row) + "\n")
            print(f"seed {seed} fold {f}: F {held_out.f:.3f} (P {held_out.precision:.3f} R {held_out.recall:.3f}) "
                  f"found {held_out.found}/{held_out.people} clusters {held_out.clusters} "
                  f"largest UTK person {held_out.largest_utk} | before: F {before.f:.3f} "
                  f"largest UTK {before.largest_utk} | {describe(chosen)}", flush=True)


def read_rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def consensus(rows: list[dict]) -> ClusterParams:
    """The value chosen most often on each axis over all training sets (ties: the smaller value)."""
    params = ClusterParams()
    for axis in AXES:
        votes = Counter(r["chosen"][axis] for r in rows)
        best = max(votes.values())
        params = set_param(params, axis, min(v for v, n in votes.items() if n == best))
    return params


def curve(faces: CvFaces, params: ClusterParams, seeds: list[int], k: int, precision: str) -> dict:
    """Held-out F (mean, worst fold) and the largest UTK person, one parameter varied at a time around
    `params`, over every fold gallery of every seed."""
    galleries = [g for seed in seeds for g in folds(faces, seed, k)]
    out: dict[str, list] = {}
    for axis, values in AXES.items():
        out[axis] = []
        for v in values:
            scores = [score(g, cluster(g, set_param(params, axis, v), precision)) for g in galleries]
            out[axis].append({"value": v, "mean_f": float(np.mean([s.f for s in scores])),
                              "worst_f": float(min(s.f for s in scores)),
                              "largest_utk": max(s.largest_utk for s in scores)})
    return out


def summary(rows: list[dict]) -> dict:
    fs = [r["held_out"]["f"] for r in rows]
    before = [r["before"]["f"] for r in rows]
    return {"mean_f": float(np.mean(fs)), "worst_f": float(min(fs)),
            "mean_precision": float(np.mean([r["held_out"]["precision"] for r in rows])),
            "mean_recall": float(np.mean([r["held_out"]["recall"] for r in rows])),
            "found": sum(r["held_out"]["found"] for r in rows), "people": sum(r["held_out"]["people"] for r in rows),
            "clusters": sum(r["held_out"]["clusters"] for r in rows),
            "largest_utk": max(r["held_out"]["largest_utk"] for r in rows),
            "before_mean_f": float(np.mean(before)), "before_worst_f": float(min(before)),
            "before_largest_utk": max(r["before"]["largest_utk"] for r in rows),
            "folds": len(rows)}


def shipped(faces: CvFaces, seeds: list[int], k: int, precision: str) -> dict:
    """galprof's defaults (ClusterParams()) on every fold gallery of every seed. Some defaults were set
    with these galleries in view, so this is not a held-out figure in the strict sense."""
    scores = [score(g, cluster(g, ClusterParams(), precision)) for seed in seeds for g in folds(faces, seed, k)]
    return {"mean_f": float(np.mean([s.f for s in scores])), "worst_f": float(min(s.f for s in scores)),
            "mean_precision": float(np.mean([s.precision for s in scores])),
            "mean_recall": float(np.mean([s.recall for s in scores])),
            "largest_utk": max(s.largest_utk for s in scores), "params": describe(ClusterParams())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/cluster11-faces.npz"))
    parser.add_argument("--precision", choices=["int8", "fp32"], default="int8")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds of the fold splits")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--rows", type=Path, default=None,
                        help="the held-out folds' JSON lines [default: /tmp/cluster11-cv-PRECISION.jsonl]")
    parser.add_argument("--report", action="store_true", help="summarise the rows, then the curve around the "
                        "consensus values (on every fold of --seeds)")
    parser.add_argument("--no-curve", action="store_true")
    parser.add_argument("--json", type=Path, default=None, help="write the report to this file")
    args = parser.parse_args(argv)
    if not args.cache.exists() and not (args.data / "lfw").is_dir():
        print(f"data folder not found: {args.data}", file=sys.stderr)
        return 2
    faces = load_or_extract(args.data, args.cache)
    seeds = [int(s) for s in args.seeds.split(",")]
    rows_file = args.rows or Path(f"/tmp/cluster11-cv-{args.precision}.jsonl")
    if not args.report:
        cross_validate(faces, seeds, args.folds, args.precision, rows_file)
        return 0
    rows = read_rows(rows_file)
    chosen = consensus(rows)
    result = {"precision": args.precision, "summary": summary(rows), "consensus": describe(chosen),
              "folds": rows}
    print(json.dumps(result["summary"]), "\nconsensus:", result["consensus"], flush=True)
    result["shipped"] = shipped(faces, seeds, args.folds, args.precision)
    print("shipped defaults on every fold gallery:", json.dumps(result["shipped"]), flush=True)
    if not args.no_curve:
        result["curve"] = curve(faces, chosen, seeds, args.folds, args.precision)
        print("curve (value: mean held-out F / worst fold / largest UTK person):")
        for axis, points in result["curve"].items():
            print(axis + ": " + "  ".join(f"{p['value']}: {p['mean_f']:.3f}/{p['worst_f']:.3f}/{p['largest_utk']}"
                                          for p in points))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
