"""Face clustering on real faces: galprof's HDBSCAN people clustering against plain agglomerative
clustering at dlib's 0.6 threshold, on ../shared/data/lfw (33 people, 240 px photos).

Every face of every photo is clustered (background faces included, with cannot-link inside a photo),
as in a gallery; the photo's labelled person is the face nearest the photo's centre, and the measures
are taken over those labelled faces: pairwise precision / recall / F, ARI, AMI, clusters found / true
people, and the share left unclustered. `--sweep` scans the HDBSCAN parameters to pick a setting on a
flat part of the curve. `--small` scores small galleries built from LFW (one person, one person among
strangers seen once, two people): whether each person is found and how many strangers end up in a
person, the cases a real gallery's few recurring people and many passers-by make.

    .venv/bin/python benchmarks/cluster_lfw.py [--lfw DIR] [--cache /tmp/lfw_faces.npz] [--sweep] [--small]
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from sklearn.cluster import AgglomerativeClustering

from galprof.analysis.cluster_metrics import ClusterScores, score_clustering
from galprof.analysis.face_clusters import ClusterParams, cluster_faces
from galprof.config import Settings

DEFAULT_LFW = Path(__file__).resolve().parents[2] / "shared" / "data" / "lfw"


@dataclass
class LfwFaces:
    """All faces found in a set of labelled photos; `main` marks the labelled face of each photo."""

    path: np.ndarray  # (N,) str, the photo of each face
    name: np.ndarray  # (N,) str, the photo's identity
    embedding: np.ndarray  # (N, 128)
    box: np.ndarray  # (N, 4) x1 y1 x2 y2
    score: np.ndarray  # (N,)
    main: np.ndarray  # (N,) bool
    seconds_per_photo: float = 0.0

    def trusted(self, settings: Settings) -> np.ndarray:
        size = np.minimum(self.box[:, 2] - self.box[:, 0], self.box[:, 3] - self.box[:, 1])
        return (size >= settings.face_min_size) & (self.score >= settings.face_cluster_score)


def embed_photos(photos: list[tuple[Path, str]], settings: Settings | None = None,
                 chips: str | None = None) -> LfwFaces:
    """Run galprof's face pipeline (1 thread) on labelled photos; chips: its chip alignment."""
    from PIL import Image

    from galprof.vision.faces import FacePipeline

    settings = settings or Settings()
    pipeline = FacePipeline(threads=1, min_score=settings.face_score, demography=False,
                            **({"chips": chips} if chips else {}))
    rows = []
    start = time.perf_counter()
    for photo, name in photos:
        rgb = np.asarray(Image.open(photo).convert("RGB"))
        faces = pipeline.run(rgb)
        centre = np.array([rgb.shape[1] / 2, rgb.shape[0] / 2])
        nearest = (
            int(np.argmin([np.linalg.norm(np.array(f.box.center) - centre) for f in faces])) if faces else -1
        )
        for k, f in enumerate(faces):
            b = f.box
            rows.append((str(photo), name, f.embedding, (b.x1, b.y1, b.x2, b.y2), f.score, k == nearest))
    elapsed = time.perf_counter() - start
    return LfwFaces(
        path=np.array([r[0] for r in rows]),
        name=np.array([r[1] for r in rows]),
        embedding=np.stack([r[2] for r in rows]).astype(np.float32) if rows else np.zeros((0, 128)),
        box=np.array([r[3] for r in rows], dtype=np.float64).reshape(-1, 4),
        score=np.array([r[4] for r in rows], dtype=np.float64),
        main=np.array([r[5] for r in rows], dtype=bool),
        seconds_per_photo=elapsed / max(1, len(photos)),
    )


def lfw_photos(root: Path, people: int | None = None, per_person: int | None = None) -> list[tuple[Path, str]]:
    """(photo, identity) pairs, sorted; optionally the first `people` identities and `per_person` photos."""
    dirs = sorted(d for d in root.iterdir() if d.is_dir())[:people]
    return [(p, d.name) for d in dirs for p in sorted(d.glob("*.jpg"))[:per_person]]


def load_or_embed(root: Path, cache: Path | None, chips: str | None = None) -> LfwFaces:
    if cache and cache.exists():
        data = np.load(cache)
        return LfwFaces(**{k: data[k] for k in data.files if k != "seconds_per_photo"},
                        seconds_per_photo=float(data["seconds_per_photo"]))
    faces = embed_photos(lfw_photos(root), chips=chips)
    if cache:
        np.savez(cache, **asdict(faces))
    return faces


def evaluate_hdbscan(faces: LfwFaces, params: ClusterParams, settings: Settings) -> ClusterScores:
    labels = cluster_faces(faces.embedding, frame_ids=list(faces.path), trusted=faces.trusted(settings),
                           params=params)
    return score_clustering(faces.name[faces.main], labels[faces.main])


def evaluate_agglomerative(faces: LfwFaces, linkage: str, threshold: float = 0.6) -> ClusterScores:
    """Plain agglomerative clustering on the raw (dlib-space) embeddings of all faces."""
    model = AgglomerativeClustering(n_clusters=None, distance_threshold=threshold, linkage=linkage,
                                    metric="euclidean")
    labels = model.fit_predict(faces.embedding)
    return score_clustering(faces.name[faces.main], labels[faces.main])


HEADER = f"{'method':44s} {'P':>6s} {'R':>6s} {'F':>6s} {'ARI':>6s} {'AMI':>6s} {'found':>6s} {'noise':>6s}"


def row(name: str, s: ClusterScores) -> str:
    return (f"{name:44s} {s.precision:6.3f} {s.recall:6.3f} {s.f:6.3f} {s.ari:6.3f} {s.ami:6.3f} "
            f"{s.found_ratio:6.2f} {s.noise:6.3f}")


AXES: dict[str, list] = {
    "min_cluster_size": [2, 3, 4, 5],
    "min_samples": [1, 2, 3, 4, 5, 7],
    "epsilon": [0.0, 0.1, 0.2, 0.25, 0.3, 0.35],
    "method": ["eom", "leaf"],
    "merge_distance": [0.0, 0.3, 0.32, 0.34, 0.36, 0.38, 0.4, 0.42],
    "attach_distance": [0.0, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5],
    "member_distance": [0.0, 0.36, 0.38, 0.4, 0.42, 0.45, 0.5],
    "face_cluster_score": [0.6, 0.75, 0.85, 0.95],
}
# Galleries hold many people seen a few times; LFW's people have 9 to 71 photos. Each setting is
# therefore also scored on LFW cut down to the first k photos per person.
PER_PERSON = [3, 4, 6, None]


def subset(faces: LfwFaces, per_person: int | None) -> LfwFaces:
    """The faces of the first `per_person` photos of each person (all when None)."""
    if per_person is None:
        return faces
    keep = np.zeros(len(faces.path), dtype=bool)
    for name in set(faces.name.tolist()):
        photos = sorted(set(faces.path[faces.name == name].tolist()))[:per_person]
        keep |= np.isin(faces.path, photos)
    return LfwFaces(faces.path[keep], faces.name[keep], faces.embedding[keep], faces.box[keep],
                    faces.score[keep], faces.main[keep], faces.seconds_per_photo)


def sweep(faces: LfwFaces, settings: Settings) -> dict[str, list[tuple[object, list[ClusterScores]]]]:
    """The curve along each parameter with the others at the chosen (settings) values, on LFW cut to
    3, 4, 6 photos per person and in full, to see that the choice sits on a flat part; plus the grid
    method x min_cluster_size x min_samples."""
    chosen = ClusterParams.from_settings(settings)
    sets = [subset(faces, k) for k in PER_PERSON]
    curves: dict[str, list[tuple[object, list[ClusterScores]]]] = {}
    for axis, values in AXES.items():
        curve = []
        for value in values:
            if axis == "face_cluster_score":
                trial = Settings(**(settings.to_dict() | {axis: value}))
                curve.append((value, [evaluate_hdbscan(s, chosen, trial) for s in sets]))
            else:
                params = replace(chosen, **{axis: value})
                curve.append((value, [evaluate_hdbscan(s, params, settings) for s in sets]))
        curves[axis] = curve
    grid = []
    for method, size, samples in itertools.product(["eom", "leaf"], [2, 3, 4, 5], [1, 2, 3, 5]):
        params = replace(chosen, method=method, min_cluster_size=size, min_samples=samples)
        grid.append((f"{method} {size} {samples}", [evaluate_hdbscan(s, params, settings) for s in sets]))
    curves["grid: method min_cluster_size min_samples"] = grid
    return curves


def describe(p: ClusterParams) -> str:
    return (f"hdbscan mcs={p.min_cluster_size} ms={p.min_samples} eps={p.epsilon:.2f} {p.method} "
            f"merge={p.merge_distance:.2f} att={p.attach_distance:.2f} mem={p.member_distance:.2f}")


# (people, photos of each, strangers seen once) of the small galleries
SMALL_GALLERIES = [(1, 3, 0), (1, 4, 0), (1, 6, 0), (1, 5, 3), (1, 5, 8), (1, 3, 8), (2, 5, 0), (2, 5, 8)]


@dataclass
class SmallScores:
    galleries: int
    people: int  # recurring people in all these galleries
    found: int  # of them, how many got a person holding most of their photos
    recall: float  # mean share of a person's photos in their largest person
    strangers: int  # strangers seen once, in all galleries
    strangers_in_people: int  # of them, how many were put into some person
    false_people: int  # persons made of strangers only
    f: float  # mean pairwise F (strangers are people of their own)


def small_galleries(faces: LfwFaces, params: ClusterParams, settings: Settings, people: int, per_person: int,
                    strangers: int) -> SmallScores:
    """Every LFW person (or consecutive pair) as a gallery of `per_person` photos, with `strangers`
    other people's last photo added; all faces clustered, scored on each photo's labelled face."""
    names = sorted(set(faces.name.tolist()))
    photos_of = {n: sorted(set(faces.path[faces.name == n].tolist())) for n in names}
    trusted = faces.trusted(settings)
    groups = [names[i:i + people] for i in range(0, len(names) - people + 1, people)]
    found = in_people = false_people = 0
    recalls, fs = [], []
    for g, group in enumerate(groups):
        rng = np.random.default_rng(g)
        others = [n for n in names if n not in group]
        extra = [photos_of[o][-1] for o in rng.choice(others, strangers, replace=False)]
        keep = np.isin(faces.path, [p for n in group for p in photos_of[n][:per_person]] + extra)
        labels = cluster_faces(faces.embedding[keep], frame_ids=list(faces.path[keep]), trusted=trusted[keep],
                               params=params)
        main = faces.main[keep]
        truth = faces.name[keep][main].astype(object)
        stranger = np.isin(faces.path[keep][main], extra)
        truth[stranger] = faces.path[keep][main][stranger]
        predicted = labels[main]
        for n in group:
            own = predicted[truth == n]
            largest = np.bincount(own[own >= 0]).max() if (own >= 0).any() else 0
            recalls.append(largest / len(own))
            found += int(largest > len(own) / 2)
        in_people += int((predicted[stranger] >= 0).sum())
        false_people += sum(1 for c in set(predicted[predicted >= 0].tolist())
                            if stranger[predicted == c].all())
        fs.append(score_clustering(truth, predicted).f)
    return SmallScores(len(groups), len(groups) * people, found, float(np.mean(recalls)), len(groups) * strangers,
                       in_people, false_people, float(np.mean(fs)))


def print_small(faces: LfwFaces, params: ClusterParams, settings: Settings) -> None:
    print(f"{'gallery':34s} {'found':>9s} {'recall':>7s} {'strangers in people':>20s} {'false people':>13s} "
          f"{'mean F':>7s}")
    for people, per_person, strangers in SMALL_GALLERIES:
        s = small_galleries(faces, params, settings, people, per_person, strangers)
        name = f"{people} person(s) x {per_person} photos + {strangers} strangers"
        print(f"{name:34s} {s.found:4d}/{s.people:<4d} {s.recall:7.3f} {s.strangers_in_people:11d}/{s.strangers:<8d} "
              f"{s.false_people:13d} {s.f:7.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lfw", type=Path, default=DEFAULT_LFW)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/galprof_lfw_faces.npz"))
    parser.add_argument("--sweep", action="store_true")
    parser.add_argument("--chips", choices=("keypoints", "mesh"), help="chip alignment (default: galprof's)")
    parser.add_argument("--small", action="store_true", help="score small galleries (1-2 people, strangers)")
    args = parser.parse_args(argv)
    if not args.lfw.is_dir():
        print(f"LFW folder not found: {args.lfw}", file=sys.stderr)
        return 2
    settings = Settings()
    faces = load_or_embed(args.lfw, args.cache, args.chips)
    print(f"{len(set(faces.path.tolist()))} photos, {len(faces.path)} faces "
          f"({int(faces.trusted(settings).sum())} trusted), {len(set(faces.name.tolist()))} people; "
          f"face pipeline {faces.seconds_per_photo * 1000:.1f} ms/photo at 1 thread")
    print(HEADER)
    chosen = ClusterParams.from_settings(settings)
    start = time.perf_counter()
    print(row(describe(chosen) + " *", evaluate_hdbscan(faces, chosen, settings)))
    print(f"(clustering took {time.perf_counter() - start:.2f} s)")
    for linkage in ("complete", "average"):
        print(row(f"agglomerative {linkage} @0.6", evaluate_agglomerative(faces, linkage)))
    print("\nF / found ratio on LFW cut to k photos per person:")
    print(f"{'method':44s}" + "".join(f"{'k=' + str(k if k else 'all'):>14s}" for k in PER_PERSON))
    sets = [subset(faces, k) for k in PER_PERSON]
    methods = [(describe(chosen), lambda s: evaluate_hdbscan(s, chosen, settings))] + [
        (f"agglomerative {linkage} @0.6", lambda s, linkage=linkage: evaluate_agglomerative(s, linkage))
        for linkage in ("complete", "average")
    ]
    for name, evaluate in methods:
        print(f"{name:44s}" + "".join(f"{sc.f:8.3f} /{sc.found_ratio:4.2f}" for sc in map(evaluate, sets)))
    if args.small:
        print("\nsmall galleries from LFW (every person or pair of people in turn):")
        print_small(faces, chosen, settings)
        without = replace(chosen, member_distance=0.0)
        print(f"same, {describe(without)} (no trimming of far members):")
        print_small(faces, without, settings)
    if args.sweep:
        print("\nsweep: F / found ratio along each parameter (others as chosen), on LFW cut to k photos "
              "per person")
        print(f"{'value':20s}" + "".join(f"{'k=' + str(k if k else 'all'):>16s}" for k in PER_PERSON))
        for axis, curve in sweep(faces, settings).items():
            print(f"{axis}:")
            for value, scores in curve:
                print(f"  {value!s:18s}" + "".join(f"{s.f:10.3f} /{s.found_ratio:4.2f}" for s in scores))
    return 0


if __name__ == "__main__":
    sys.exit(main())
