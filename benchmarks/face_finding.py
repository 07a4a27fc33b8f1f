"""Face finding on real photos: close-ups found, false faces per 1 000 photos without people, and what
each false-face check would cost in true faces. Every choice is made on split A, reported on split B.

    PYTHONPATH=. python benchmarks/face_finding.py --sweep 1.6,2.0,2.5,3.0   # the close-up retry's zoom
    PYTHONPATH=. python benchmarks/face_finding.py --retry-sides 192,160,128,96  # the retry's square
    PYTHONPATH=. python benchmarks/face_finding.py --sources utkface,lfw      # one part of the checks run
    PYTHONPATH=. python benchmarks/face_finding.py                            # all sets, checks, curves

Photos go through the scan's own decoding (`decode_image` at Settings.max_side, `sample_video` for the
sign-language clips) and the scan's detector (`FaceDetector` at Settings.face_score), so "found" means
what `galprof scan` finds. Sets and their halves (benchmarks/face_finding_data.py):
- close-ups: UTKFace's 200 px crops (A: even file index, B: odd) and tight LFW crops made here (the
  subject's face box x 1.3, 200 px; all B: no choice is made on them);
- true faces: LFW (A: even identity index, B: odd), event albums (A/B by album index), sign-language
  clips (A/B by clip index), the immich portraits (B);
- no people: imagenet-samples without the photos that show a person's face (A: even synset number,
  B: odd), food101 (A: apple_pie, beef_tartare, bread_pudding; B: baklava, beignets), immich nature
  photos (A/B by file index).
A check's threshold is the strictest whose true faces lost on A (close-ups and true-face sets) stay at
or under --max-loss of them; the false faces it removes are counted at the scan's score and in the pool
of weaker detections (score >= 0.4) of the photos without people.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path

from benchmarks.face_finding_data import Frame, cached_frames
from galprof.analysis.privacy import face_is_portrait
from galprof.config import Settings
from galprof.facts import FrameFacts
from galprof.vision.blazeface import CLOSEUP_ZOOM

SOURCES = ("utkface", "lfw", "events", "videos", "portraits", "imagenet", "food101", "nature")
SWEEP_SOURCES = ["utkface", "imagenet", "food101", "nature"]
# the full-range model's own input square, the retry's reference
MODEL_SQUARE = 192
# the retry's square is swept on these: LFW adds its tight crops (held out, split B only)
SIDE_SOURCES = ["utkface", "lfw", "imagenet", "food101", "nature"]
# check name -> (FaceCheck field, True when a face passes at value >= threshold, thresholds tried)
CHECKS = {
    "mesh presence": ("presence", True, [0.0, 0.001, 0.01, 0.05, 0.1, 0.3, 0.5, 0.9]),
    "mesh/keypoint agreement": ("agreement", False, [math.inf, 0.5, 0.4, 0.3, 0.25, 0.2, 0.15]),
    "embedding norm": ("embedding_norm", True, [0.0, 1.2, 1.25, 1.28, 1.3, 1.32]),
}


@dataclass
class Tally:
    photos: int = 0
    with_face: int = 0  # close-ups: the frame has a face
    faces: int = 0
    lost: int = 0  # true faces a check rejects
    false: int = 0  # no people: faces at the scan's score that pass the check
    pool: int = 0  # no people: weak detections that pass the check
    private: int = 0  # no people: photos private by face size with the faces that pass


def tally(frames: list[Frame], settings: Settings, check=None) -> dict[tuple[str, str, str], Tally]:
    """Per (group, source, split); check(face) -> True keeps the face."""
    keep = check or (lambda face: True)
    out: dict[tuple[str, str, str], Tally] = {}
    for frame in frames:
        t = out.setdefault((frame.group, frame.source, frame.split), Tally())
        kept = [f for f in frame.faces if keep(f)]
        t.photos += 1
        t.with_face += bool(kept)
        t.faces += len(frame.faces)
        if frame.group == "nopeople":
            t.false += len(kept)
            t.pool += sum(keep(f) for f in frame.pool)
            facts = FrameFacts(width=frame.size[0], height=frame.size[1])
            t.private += any(face_is_portrait(facts, f.box, settings.private_face_width) for f in kept)
        elif frame.group == "closeup":
            t.lost += bool(frame.faces) and not kept
        else:
            t.lost += len(frame.faces) - len(kept)
    return out


def total(tallies: dict, split: str, groups: tuple[str, ...]) -> Tally:
    out = Tally()
    for (group, _, s), t in tallies.items():
        if s == split and group in groups:
            for name in vars(out):
                setattr(out, name, getattr(out, name) + getattr(t, name))
    return out


def print_sets(tallies: dict) -> None:
    for (group, source, split), t in sorted(tallies.items()):
        if group == "closeup":
            text = f"found {t.with_face}/{t.photos} ({100 * t.with_face / max(1, t.photos):.1f} %)"
        elif group == "nopeople":
            text = (f"{t.photos} photos: false faces {t.false} ({1000 * t.false / max(1, t.photos):.1f} per "
                    f"1000), private by face size {t.private}; weak detections (pool) {t.pool}")
        else:
            text = f"{t.photos} frames, {t.faces} faces"
        print(f"  {group:8} {source:10} {split}  {text}")


def sweep(data: Path, zooms: list[float], settings: Settings) -> float:
    """The retry zoom: most close-ups found on A, then fewest false faces on A."""
    print("close-up retry zoom: UTKFace found / false faces in photos without people, split A | B; "
          "detector CPU ms per frame")
    results = []
    for zoom in zooms:
        frames, cpu = cached_frames(data, zoom, SWEEP_SOURCES, False, settings)
        t = tally(frames, settings)
        a, b = (total(t, s, ("closeup",)) for s in "AB")
        fa, fb = (total(t, s, ("nopeople",)) for s in "AB")
        results.append((a.with_face, -fa.false, -zoom))
        print(f"  {zoom:4}: A {a.with_face}/{a.photos}, {fa.false} | B {b.with_face}/{b.photos}, {fb.false}"
              f"  ({1000 * cpu / len(frames):.1f} ms)")
    best = zooms[results.index(max(results))]
    print(f"chosen on A: {best}")
    return best


def side_sweep(data: Path, sides: list[int], settings: Settings, max_loss: float) -> int:
    """The retry's square side: the smallest whose close-ups found on A stay within max_loss of A's
    close-ups of the best side, with no more false faces on A than the model's own square, and whose next
    smaller side passes too (a point inside the flat part of the curve, not at its edge)."""
    print(f"close-up retry square (zoom {CLOSEUP_ZOOM}): UTKFace found, false faces in photos without "
          "people, split A | B and tight LFW crops (B); detector CPU ms per frame")
    rows = {}
    for side in sides:
        frames, cpu = cached_frames(data, CLOSEUP_ZOOM, SIDE_SOURCES, False, settings, side=side)
        t = tally(frames, settings)
        rows[side] = a, fa = total(t, "A", ("closeup",)), total(t, "A", ("nopeople",))
        b, fb = total(t, "B", ("closeup",)), total(t, "B", ("nopeople",))
        lfw_tight = t.get(("closeup", "lfw-tight", "B"), Tally())
        utk_b = t.get(("closeup", "utkface", "B"), Tally())
        utk_a = t.get(("closeup", "utkface", "A"), Tally())
        print(f"  {side:4} px: UTKFace A {utk_a.with_face}/{utk_a.photos}, {fa.false} | B {utk_b.with_face}/"
              f"{utk_b.photos}, {fb.false} | LFW tight {lfw_tight.with_face}/{lfw_tight.photos}; all close-ups "
              f"A {a.with_face}/{a.photos} B {b.with_face}/{b.photos}  ({1000 * cpu / len(frames):.1f} ms)")
    best = max(a.with_face for a, _ in rows.values())
    own = rows.get(MODEL_SQUARE, rows[max(sides)])[1].false
    fits = [side for side, (a, fa) in rows.items() if a.with_face >= best - max_loss * a.photos and fa.false <= own]
    ordered = sorted(rows)
    inside = [side for side in fits if ordered.index(side) > 0 and ordered[ordered.index(side) - 1] in fits]
    chosen = min(inside or fits)
    print(f"chosen on A: {chosen} px")
    return chosen


def check_curves(frames: list[Frame], settings: Settings, max_loss: float) -> None:
    base = tally(frames, settings)
    true_faces = {s: total(base, s, ("closeup", "faces")) for s in "AB"}
    for name, (field_name, higher, thresholds) in CHECKS.items():
        print(f"\n{name}: threshold: A lost / false kept / pool kept | B the same, lost by set")
        chosen = thresholds[0]
        for threshold in thresholds:
            def keep(face, f=field_name, t=threshold, h=higher):
                value = getattr(face, f)
                return value >= t if h else value <= t
            t = tally(frames, settings, keep)
            parts = []
            for s in "AB":
                lost = total(t, s, ("closeup", "faces")).lost
                neg = total(t, s, ("nopeople",))
                parts.append(f"{lost}/{true_faces[s].faces} {neg.false} {neg.pool}")
                if s == "A" and lost <= max_loss * true_faces[s].faces:
                    chosen = threshold
            by_set = ", ".join(f"{src}{s} {v.lost}" for (g, src, s), v in sorted(t.items())
                               if g != "nopeople" and v.lost)
            print(f"  {threshold:>6}: {parts[0]} | {parts[1]}   ({by_set or 'none lost'})")
        print(f"  chosen on A (true faces lost <= {max_loss:.1%}): {chosen}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--sweep", default=None, help="close-up retry zooms to compare, e.g. 1.6,2.0,2.5")
    parser.add_argument("--retry-sides", default=None, help="close-up retry squares to compare, e.g. 192,128")
    parser.add_argument("--zoom", type=float, default=CLOSEUP_ZOOM, help="retry zoom of the checks run")
    parser.add_argument("--sources", default=",".join(SOURCES), help="sets of the checks run")
    parser.add_argument("--max-loss", type=float, default=0.005, help="true faces a check may lose on A")
    args = parser.parse_args()
    settings = Settings()
    if args.sweep:
        sweep(args.data, [float(z) for z in args.sweep.split(",")], settings)
        return
    if args.retry_sides:
        side_sweep(args.data, [int(s) for s in args.retry_sides.split(",")], settings, args.max_loss)
        return
    sources = [s for s in args.sources.split(",") if s]
    frames, cpu = cached_frames(args.data, args.zoom, sources, True, settings)
    print(f"retry zoom {args.zoom}: {len(frames)} frames, detector {1000 * cpu / max(1, len(frames)):.1f} "
          "CPU ms per frame; at the scan's face score:")
    print_sets(tally(frames, settings))
    if set(sources) == set(SOURCES):
        check_curves(frames, settings, args.max_loss)


if __name__ == "__main__":
    main()
