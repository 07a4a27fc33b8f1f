"""galprof's face path against a well-known peer, `face_recognition` (dlib HOG detector + ResNet), in one run.

Both read the same photos of a labelled face folder (default ../shared/data/lfw: one folder per person),
find the main face of each photo (the face nearest the centre, as LFW photos are centred on their
subject), embed it, and the two sets of embeddings are clustered the same ways:
- galprof's own people clustering (`galprof.analysis.face_clusters.cluster_faces`, HDBSCAN with the defaults
  of `Settings`), and
- plain agglomerative clustering (average linkage, Euclidean distance threshold 0.6: dlib's rule).
Pairwise precision/recall/F-measure come from `galprof.analysis.cluster_metrics` (a photo without a
found face is a singleton, so a missed face costs recall).

Reported, all from the same run (this machine is shared and noisy: compare ratios, not absolutes):
- photos/s of each face path on one thread, one process (decode included) and the ratio;
- F-measures of both, per clustering;
- galprof fp32 against int8 (speed and F-measure);
- with `galprof.pipeline` present: the whole scan of the folder (all models), first scan against a
  re-scan of the unchanged folder.

The peer lives in its own virtual environment, so galprof's never holds dlib:

    python3 -m venv .venv-peer
    .venv-peer/bin/pip install dlib-bin
    .venv-peer/bin/pip install --no-deps face_recognition face-recognition-models
    .venv-peer/bin/pip install Click Pillow numpy
    .venv/bin/python benchmarks/peer_face.py --json peer.json

This same file is run by the peer's interpreter as a worker (`--peer-worker`); that part imports only
numpy and face_recognition.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "lfw"
DEFAULT_PEER_PYTHON = ROOT / ".venv-peer" / "bin" / "python"
SUFFIXES = {".jpg", ".jpeg", ".png"}
THRESHOLD = 0.6  # dlib's same-person distance, for the agglomerative clustering of both


def main_face_index(boxes: list[tuple[float, float, float, float]], width: int, height: int) -> int | None:
    """Index of the face whose box centre is nearest the photo centre (boxes as x1, y1, x2, y2)."""
    if not boxes:
        return None
    cx, cy = width / 2, height / 2
    distances = [((x1 + x2) / 2 - cx) ** 2 + ((y1 + y2) / 2 - cy) ** 2 for x1, y1, x2, y2 in boxes]
    return int(np.argmin(distances))


FaceFinder = Callable[[str], tuple[list[tuple[float, float, float, float]], int, int, Callable[[int], np.ndarray]]]


def embed_main_faces(paths: list, find: FaceFinder) -> dict:
    """Time one face path over the photos: `find(path)` gives the face boxes (x1, y1, x2, y2), the photo's
    width and height, and a function embedding the face of a given index; only the main face is embedded.
    Returns embeddings (NaN where no face), per-photo seconds, faces found, total wall and CPU seconds."""
    embeddings = np.full((len(paths), 128), np.nan, dtype=np.float32)
    seconds = np.zeros(len(paths), dtype=np.float64)
    faces = np.zeros(len(paths), dtype=np.int32)
    start_all, cpu_all = time.perf_counter(), time.process_time()
    for i, path in enumerate(paths):
        start = time.perf_counter()
        boxes, width, height, embed = find(str(path))
        index = main_face_index(boxes, width, height)
        if index is not None:
            embeddings[i] = embed(index)
        faces[i] = len(boxes)
        seconds[i] = time.perf_counter() - start
    return {"embeddings": embeddings, "seconds": seconds, "faces": faces,
            "total": time.perf_counter() - start_all, "cpu": time.process_time() - cpu_all}


# ------------------------------------------------------------------------------------ peer (its own venv)


def peer_worker(list_file: Path, out: Path) -> None:
    """Embed the main face of every listed photo with face_recognition; write an npz."""
    import face_recognition

    def find(path: str):
        image = face_recognition.load_image_file(path)
        locations = face_recognition.face_locations(image, number_of_times_to_upsample=1, model="hog")
        boxes = [(left, top, right, bottom) for top, right, bottom, left in locations]
        return (boxes, image.shape[1], image.shape[0],
                lambda index: face_recognition.face_encodings(image, [locations[index]])[0])

    paths = [line for line in list_file.read_text().splitlines() if line]
    result = embed_main_faces(paths, find)
    import dlib

    np.savez(out, **result, dlib=dlib.__version__, face_recognition=face_recognition.__version__)


def run_peer(paths: list[Path], peer_python: Path, work: Path) -> dict:
    """Run the peer worker in its venv on one thread; returns its embeddings and timings."""
    list_file, out = work / "peer-list.txt", work / "peer.npz"
    list_file.write_text("\n".join(str(p) for p in paths) + "\n")
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    start = time.perf_counter()
    subprocess.run([str(peer_python), __file__, "--peer-worker", str(list_file), str(out)], check=True, env=env)
    wall = time.perf_counter() - start
    data = np.load(out)
    return {"embeddings": data["embeddings"], "seconds": data["seconds"], "faces": data["faces"],
            "total": float(data["total"]), "cpu": float(data["cpu"]), "wall": wall,
            "versions": {"dlib": str(data["dlib"]), "face_recognition": str(data["face_recognition"])}}


# ------------------------------------------------------------------------------------------ galprof side


def run_galprof(paths: list[Path], precision: str, threads: int, demography: bool) -> dict:
    """galprof's face path (decode, BlazeFace, 4-point alignment, ResNet-29) on the main face of each photo."""
    from galprof.config import Settings
    from galprof.media.decode import decode_image
    from galprof.vision.faces import FacePipeline

    settings = Settings()
    start = time.perf_counter()
    pipeline = FacePipeline(threads=threads, min_score=settings.face_score, precision=precision,
                            demography=demography)
    load = time.perf_counter() - start

    def find(path: str):
        decoded = decode_image(path, max_side=settings.max_side)
        found = pipeline.run(decoded.rgb)
        boxes = [(f.box.x1, f.box.y1, f.box.x2, f.box.y2) for f in found]
        return boxes, decoded.width, decoded.height, lambda index: found[index].embedding

    return {**embed_main_faces(paths, find), "load": load}


# ------------------------------------------------------------------------------------------- clustering


def cluster_both_ways(embeddings: np.ndarray) -> dict[str, np.ndarray]:
    """Labels per photo (-1 where no face was found) from galprof's clustering and from agglomerative."""
    from sklearn.cluster import AgglomerativeClustering

    found = ~np.isnan(embeddings).any(axis=1)
    x = embeddings[found]
    out: dict[str, np.ndarray] = {}

    agglomerative = np.full(len(embeddings), -1, dtype=np.int64)
    if len(x) >= 2:
        agglomerative[found] = AgglomerativeClustering(n_clusters=None, distance_threshold=THRESHOLD,
                                                       linkage="average").fit_predict(x)
    out["agglomerative_0.6"] = agglomerative

    try:
        from galprof.analysis.face_clusters import ClusterParams, cluster_faces
        from galprof.config import Settings
    except ImportError:
        return out
    people = np.full(len(embeddings), -1, dtype=np.int64)
    if len(x):
        people[found] = cluster_faces(x, frame_ids=list(range(len(x))),
                                      params=ClusterParams.from_settings(Settings()))
    out["galprof_people"] = people
    return out


def clustering_scores(embeddings: np.ndarray, truth: np.ndarray) -> dict:
    from galprof.analysis.cluster_metrics import score_clustering

    try:
        labelled = cluster_both_ways(embeddings)
    except Exception as exc:  # noqa: BLE001 - keep the timings when a clustering cannot run
        return {"error": f"{type(exc).__name__}: {exc}"}
    return {name: score_clustering(truth, labels).as_dict() for name, labels in labelled.items()}


def summary(name: str, run: dict, truth: np.ndarray) -> dict:
    n = len(run["seconds"])
    found = ~np.isnan(run["embeddings"]).any(axis=1)
    return {
        "name": name,
        "photos": n,
        "main_face_found": int(found.sum()),
        "faces_found": int(run["faces"].sum()),
        "seconds": round(run["total"], 2),
        "photos_per_s": round(n / run["total"], 2) if run["total"] else None,
        # CPU time is what a shared, noisy machine disturbs least
        "cpu_s": round(run["cpu"], 2) if "cpu" in run else None,
        "cpu_ms_per_photo": round(1000 * run["cpu"] / n, 2) if run.get("cpu") else None,
        "median_ms_per_photo": round(float(np.median(run["seconds"])) * 1000, 2),
        "clustering": clustering_scores(run["embeddings"], truth),
    }


# ----------------------------------------------------------------------------------------- whole scan


def scan_twice(folder: Path, work: Path) -> dict | None:
    """galprof's whole scan of the folder (all models, default workers), then a re-scan unchanged."""
    try:
        from galprof.bench import bench_scan
        from galprof.config import Settings
    except ImportError:
        return None
    try:
        return bench_scan(folder, Settings(), work, progress=lambda m: print(m, file=sys.stderr))
    except ImportError as exc:
        return {"skipped": str(exc)}


# --------------------------------------------------------------------------------------------------- run


def save_runs(path: Path | None, runs: dict, paths: list[Path]) -> None:
    """Embeddings and timings of every run so far, so that clustering can be redone with --reuse."""
    if path is None:
        return
    arrays: dict[str, np.ndarray] = {"paths": np.array([str(p) for p in paths])}
    for name, r in runs.items():
        for key in ("embeddings", "seconds", "faces"):
            arrays[f"{name}.{key}"] = r[key]
        for key in ("total", "cpu"):
            if key in r:
                arrays[f"{name}.{key}"] = np.array(r[key])
        if "versions" in r:
            arrays[f"{name}.versions"] = np.array(json.dumps(r["versions"]))
    np.savez(path, **arrays)


def load_runs(path: Path, paths: list[Path]) -> dict:
    """Runs saved by save_runs for the same list of photos (else nothing)."""
    if not path.is_file():
        return {}
    data = np.load(path)
    if data["paths"].tolist() != [str(p) for p in paths]:
        print(f"{path} holds another photo list; not re-used", file=sys.stderr)
        return {}
    runs: dict = {}
    for key in data.files:
        if key == "paths":
            continue
        name, field = key.rsplit(".", 1)
        value = data[key]
        if field in ("total", "cpu"):
            value = float(value)
        elif field == "versions":
            value = json.loads(str(value))
        runs.setdefault(name, {})[field] = value
    return runs


def list_photos(data: Path, limit: int | None) -> tuple[list[Path], np.ndarray]:
    """Photos of a folder-per-identity tree and their identity labels; `limit` keeps an even spread."""
    paths = sorted(p for p in data.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
    if limit and len(paths) > limit:
        step = len(paths) / limit
        paths = [paths[int(i * step)] for i in range(limit)]
    names = [p.parent.name for p in paths]
    _, truth = np.unique(names, return_inverse=True)
    return paths, truth


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a and b else None


def run(args: argparse.Namespace) -> dict:
    from galprof.bench import hardware_info, library_versions

    paths, truth = list_photos(args.data, args.limit)
    if not paths:
        raise SystemExit(f"no photos under {args.data}")
    print(f"{len(paths)} photos of {len(set(truth.tolist()))} people from {args.data}", file=sys.stderr)
    report: dict = {"data": str(args.data), "photos": len(paths), "people": len(set(truth.tolist())),
                    "threads": args.threads, "hardware": hardware_info(), "versions": library_versions()}
    runs = load_runs(args.reuse, paths) if args.reuse else {}
    if runs:
        print(f"re-using the embeddings and timings of {', '.join(runs)} from {args.reuse}", file=sys.stderr)
    for precision in ("int8", "fp32"):
        if f"galprof_{precision}" not in runs:
            print(f"galprof face path, {precision}", file=sys.stderr)
            runs[f"galprof_{precision}"] = run_galprof(paths, precision, args.threads, demography=args.demography)
            save_runs(args.save, runs, paths)
    with tempfile.TemporaryDirectory(prefix="galprof-peer-") as tmp:
        if "face_recognition" in runs:
            pass
        elif args.skip_peer or not args.peer_python.is_file():
            report["peer"] = {"skipped": f"no peer interpreter at {args.peer_python}" if not args.skip_peer
                              else "--skip-peer"}
        else:
            print("peer: face_recognition (dlib HOG + ResNet)", file=sys.stderr)
            runs["face_recognition"] = run_peer(paths, args.peer_python, Path(tmp))
            save_runs(args.save, runs, paths)
        if "face_recognition" in runs:
            report["versions"].update(runs["face_recognition"]["versions"])
        if not args.skip_scan:
            report["scan"] = scan_twice(args.data, Path(tmp))
    report["runs"] = {name: summary(name, r, truth) for name, r in runs.items()}
    report["demography_in_galprof_path"] = args.demography

    int8, fp32 = report["runs"]["galprof_int8"], report["runs"]["galprof_fp32"]
    report["ratios"] = {"int8_over_fp32_speed": ratio(int8["photos_per_s"], fp32["photos_per_s"])}
    peer = report["runs"].get("face_recognition")
    report["ratios"]["int8_over_fp32_cpu"] = ratio(fp32["cpu_ms_per_photo"], int8["cpu_ms_per_photo"])
    if peer:
        report["ratios"]["galprof_over_peer_speed"] = ratio(int8["photos_per_s"], peer["photos_per_s"])
        report["ratios"]["galprof_over_peer_cpu"] = ratio(peer["cpu_ms_per_photo"], int8["cpu_ms_per_photo"])
    scan = report.get("scan")
    if scan and "first" in scan:
        report["ratios"]["first_scan_over_rescan"] = scan["first_over_rescan"]
        if peer:
            report["ratios"]["galprof_full_scan_over_peer_speed"] = ratio(scan["first"]["files_per_s"],
                                                                          peer["photos_per_s"])
    return report


def print_summary(report: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(stderr=True, width=max(140, Console(stderr=True).width))
    hw = report["hardware"]
    console.print(f"{report['photos']} photos, {report['people']} people, {report['threads']} thread(s), "
                  f"{hw['cpu']} ({hw['arch']}, {hw['usable_cores']} cores), Python {platform.python_version()}")
    methods = sorted({m for r in report["runs"].values() for m in r["clustering"] if m != "error"})
    table = Table(title="face path: throughput and clustering (pairwise precision / recall / F)")
    for col in ["run", "photos/s", "ms/photo", "CPU ms/photo", "main face found", *methods]:
        table.add_column(col, justify="left" if col == "run" else "right")
    for r in report["runs"].values():
        cells = []
        for m in methods:
            s = r["clustering"].get(m)
            cells.append(f"{s['precision']:.3f} / {s['recall']:.3f} / [bold]{s['f']:.3f}[/]" if s else "-")
        cpu = f"{r['cpu_ms_per_photo']:.1f}" if r.get("cpu_ms_per_photo") else "-"
        table.add_row(r["name"], f"{r['photos_per_s']:.1f}", f"{r['median_ms_per_photo']:.1f}", cpu,
                      f"{r['main_face_found']}/{r['photos']}", *cells)
    console.print(table)
    scan = report.get("scan")
    if scan and "first" in scan:
        console.print(f"whole galprof scan (all models, {scan['workers']} worker(s)): first "
                      f"{scan['first']['wall_s']:.1f} s ({scan['first']['files_per_s']} photos/s), "
                      f"re-scan {scan['rescan']['wall_s']:.2f} s")
    for r in report["runs"].values():
        if "error" in r["clustering"]:
            console.print(f"{r['name']}: clustering failed: {r['clustering']['error']}")
    console.print("ratios: " + ", ".join(f"{k} = {v}" for k, v in report["ratios"].items()))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with one sub-folder per person")
    parser.add_argument("--limit", type=int, default=None, help="use at most this many photos (even spread)")
    parser.add_argument("--threads", type=int, default=1, help="ONNX Runtime threads for galprof (peer: 1)")
    parser.add_argument("--peer-python", type=Path, default=DEFAULT_PEER_PYTHON)
    parser.add_argument("--skip-peer", action="store_true")
    parser.add_argument("--skip-scan", action="store_true", help="leave out the whole-scan / re-scan part")
    parser.add_argument("--demography", action="store_true",
                        help="include age/gender in galprof's face path (the peer has none)")
    parser.add_argument("--json", type=Path, default=None, help="write the report here")
    parser.add_argument("--save", type=Path, default=None, help="save embeddings and timings (npz) here")
    parser.add_argument("--reuse", type=Path, default=None,
                        help="take the runs found in this npz (from --save) instead of running them again")
    return parser.parse_args(argv)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--peer-worker":
        peer_worker(Path(sys.argv[2]), Path(sys.argv[3]))
        sys.exit(0)
    arguments = parse_args()
    if not arguments.data.is_dir():
        sys.exit(f"error: no folder {arguments.data}")
    result = run(arguments)
    text = json.dumps(result, indent=2)
    if arguments.json:
        arguments.json.write_text(text + "\n")
    print_summary(result)
    print(text)
