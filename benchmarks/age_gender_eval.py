"""Age and gender models alone and as ensembles, with figures on faces no choice was made on.

    PYTHONPATH=$PWD flock /tmp/galprof-cpu.lock nice -n 5 python benchmarks/age_gender_eval.py \
        [--data ../shared/data] [--cache-prefix /tmp/agegender11-faces] [--json out.json]

(--extract-only fills the missing caches of one dataset and stops, so each run stays ~6 min of CPU:
run it until it has nothing left to fill, then run without it)

Faces and raw outputs come from benchmarks/age_gender_faces.py (cached). The split of the 1000
UTKFace crops is a rule, not a draw: faces are grouped by (age decade 0-9 ... 70+, gender), ordered
by the sha256 of their file name within a group, and alternate: 1st, 3rd, 5th ... -> held-out half,
2nd, 4th ... -> selection half. So both halves hold every decade and gender in the same proportion
(UTKFace's: a third are children under 10); the "balanced" figures weigh each of the 16 (decade,
gender) cells equally.
Every choice (model, chip, flip averaging, ensemble weights, age calibration) is made on the
selection half by MAE (age) and accuracy (gender); the figures reported are the held-out half's.
The swapped split (choose on the held-out half, test on the selection half) gives the second fold.

LFW (33 people, 696 photos) is never used for a choice: per-face and per-person gender (labels from
the names, benchmarks/age_gender_labels.py) and a per-person age check against an approximate age
from birth years. face-api's network was trained on UTKFace (its docs), so its UTKFace figures are
optimistic; LFW is the only independent check of it here. UTKFace has no identities: it gives no
per-person figure.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import sys
from datetime import date
from pathlib import Path

import numpy as np
from age_gender_faces import Sample, extract, load, merge, save
from age_gender_labels import LFW_PEOPLE, PHOTO_YEAR

from galprof.analysis.demography import FaceSample, fuse_person
from galprof.vision.age_gender_ensemble import EnsembleSpec, combine

ROOT = Path(__file__).resolve().parents[1]
DECADES = [(10 * d, 10 * d + 9) for d in range(7)] + [(70, 200)]
WEIGHT_STEP = 0.1
SHIPPED = ("cydral", "face_api")
LFW_FOLDS = 5  # committed models; faceres is opt-in (licence unclear)


def decade(age: float) -> int:
    return min(int(age) // 10, 7)


def split_files(names: list[str]) -> tuple[set[str], set[str]]:
    """(held-out, selection) UTKFace file names by the rule in the module docstring, applied to every
    file of the folder (a crop the detector misses leaves the others where they are)."""
    groups: dict[tuple[int, int], list[str]] = {}
    for name in names:
        age, gender = name.split("_")[:2]
        groups.setdefault((decade(int(age)), int(gender)), []).append(name)
    held, selection = set(), set()
    for members in groups.values():
        members.sort(key=lambda n: hashlib.sha256(n.encode()).hexdigest())
        held.update(members[0::2])
        selection.update(members[1::2])
    return held, selection


def held_out_files(paths: list[Path]) -> list[str]:
    """The held-out half's UTKFace file names among `paths`."""
    return sorted(split_files([p.name for p in paths])[0])


def split(samples: list[Sample], data: Path) -> tuple[list[int], list[int]]:
    """(held-out, selection) indices of the UTKFace samples."""
    held, _ = split_files([p.name for p in (data / "utkface").glob("*.jpg")])
    utk = [i for i, s in enumerate(samples) if s.dataset == "utkface"]
    return [i for i in utk if samples[i].file in held], [i for i in utk if samples[i].file not in held]


def outputs(samples: list[Sample], idx: list[int], key: str, flip: bool) -> np.ndarray:
    """(N, 2) ages and P(female) of one model/chip, plain or averaged with the mirror."""
    plain = np.array([samples[i].outputs[f"{key}/plain"] for i in idx])
    if not flip:
        return plain
    return (plain + np.array([samples[i].outputs[f"{key}/flip"] for i in idx])) / 2


def truth(samples: list[Sample], idx: list[int]) -> tuple[np.ndarray, np.ndarray]:
    return np.array([samples[i].age for i in idx]), np.array([samples[i].female for i in idx])


def scores(pred: np.ndarray, ages: np.ndarray, female: np.ndarray) -> dict:
    errors = np.abs(pred[:, 0] - ages)
    correct = (pred[:, 1] > 0.5) == (female == 1)
    out = {"faces": len(ages), "age_mae": float(errors.mean()), "gender_accuracy": float(correct.mean())}
    children = ages <= 12
    out["children_le12"] = {"faces": int(children.sum()), "age_mae": float(errors[children].mean()),
                            "gender_accuracy": float(correct[children].mean())}
    decades = {}
    for d, (low, high) in enumerate(DECADES):
        inside = (ages >= low) & (ages <= high)
        decades[f"{low}-{high}" if high < 200 else f"{low}+"] = {
            "faces": int(inside.sum()), "age_mae": float(errors[inside].mean()),
            "gender_accuracy": float(correct[inside].mean())}
    out["decades"] = decades
    # balanced: every (decade, gender) cell weighs the same, whatever its size in UTKFace
    cells = [(np.array([decade(a) for a in ages]) == d) & (female == g) for d in range(len(DECADES)) for g in (0, 1)]
    cells = [c for c in cells if c.any()]
    out["balanced_age_mae"] = float(np.mean([errors[c].mean() for c in cells]))
    out["balanced_gender_accuracy"] = float(np.mean([correct[c].mean() for c in cells]))
    return out


def predict(samples: list[Sample], idx: list[int], spec: EnsembleSpec) -> np.ndarray:
    members = [outputs(samples, idx, key, spec.flip) for key in spec.keys]
    return combine(np.stack([m[:, 0] for m in members], 1), np.stack([m[:, 1] for m in members], 1), spec)


def simplex(n: int, step: float = WEIGHT_STEP):
    ticks = round(1 / step)
    for combo in itertools.product(range(ticks + 1), repeat=n):
        if sum(combo) == ticks:
            yield tuple(c / ticks for c in combo)


def choose(samples: list[Sample], idx: list[int], keys: list[str], by: str = "age") -> tuple[EnsembleSpec, list[dict]]:
    """Best weights on idx: age weights by MAE (with a linear calibration fitted there), gender
    weights by accuracy (then log-loss on ties); returns the spec and the curve it was chosen on."""
    ages, female = truth(samples, idx)
    best, curve = None, []
    for flip in (False, True):
        members = [outputs(samples, idx, key, flip) for key in keys]
        a = np.stack([m[:, 0] for m in members], 1)
        p = np.clip(np.stack([m[:, 1] for m in members], 1), 1e-4, 1 - 1e-4)
        logits = np.log(p / (1 - p))
        for weights in simplex(len(keys)):
            w = np.array(weights)
            raw = a @ w
            slope, intercept = np.polyfit(raw, ages, 1)
            mae = float(np.abs(raw * slope + intercept - ages).mean())
            f = 1 / (1 + np.exp(-(logits @ w)))
            acc = float(((f > 0.5) == (female == 1)).mean())
            loss = float(-np.mean(np.where(female == 1, np.log(f), np.log(1 - f))))
            curve.append({"flip": flip, "weights": weights, "age_mae": mae, "gender_accuracy": acc, "log_loss": loss,
                          "calibration": (float(slope), float(intercept))})
    def gender_rank(c):
        return c["gender_accuracy"], -c["log_loss"]

    # one flip for both heads: the age choice's (by="age"), or the gender choice's (by="gender": faces
    # without a known age, LFW)
    if by == "age":
        age_best = min(curve, key=lambda c: c["age_mae"])
        gender_best = max((c for c in curve if c["flip"] == age_best["flip"]), key=gender_rank)
    else:
        gender_best = max(curve, key=gender_rank)
        age_best = min((c for c in curve if c["flip"] == gender_best["flip"]), key=lambda c: c["age_mae"])
    best = EnsembleSpec(keys=tuple(keys), flip=age_best["flip"], age_weights=age_best["weights"],
                        gender_weights=gender_best["weights"], age_slope=age_best["calibration"][0],
                        age_intercept=age_best["calibration"][1])
    return best, curve


def has_outputs(samples: list[Sample], idx: list[int], keys) -> bool:
    return bool(idx) and all(f"{k}/plain" in samples[i].outputs for i in idx for k in keys)


def lfw_figures(samples: list[Sample], spec: EnsembleSpec) -> dict | None:
    """Per-face and per-person figures on LFW (None while a member's LFW outputs are not extracted)."""
    idx = [i for i, s in enumerate(samples) if s.dataset == "lfw"]
    if not has_outputs(samples, idx, spec.keys):
        return None
    pred = predict(samples, idx, spec)
    female = np.array([samples[i].female for i in idx])
    per_face = float(((pred[:, 1] > 0.5) == (female == 1)).mean())
    people, right, age_errors = {}, 0, []
    for person in sorted({samples[i].person for i in idx}):
        rows = [k for k, i in enumerate(idx) if samples[i].person == person]
        faces = [FaceSample(float(pred[k, 0]), float(pred[k, 1]),
                            float(samples[idx[k]].score * min(1.0, max(0.1, samples[idx[k]].box_width / 80))), None)
                 for k in rows]
        fused = fuse_person(faces, date(PHOTO_YEAR, 7, 1))
        is_female, born = LFW_PEOPLE[person]
        ok = fused.gender == ("female" if is_female else "male")
        right += ok
        approx_age = PHOTO_YEAR - born
        age_errors.append(fused.age - approx_age)
        people[person] = {"faces": len(rows), "gender_ok": bool(ok), "fused_age": round(fused.age, 1),
                          "approx_age": approx_age}
    err = np.abs(age_errors)
    return {"faces": len(idx), "gender_per_face": per_face, "people": len(people),
            "gender_per_person": right / len(people), "person_age_mae_vs_approx": float(err.mean()),
            "person_age_median_error": float(np.median(err)), "person_age_bias": float(np.mean(age_errors)),
            "per_person": people}


def lfw_folds(people: list[str], folds: int = LFW_FOLDS) -> list[list[str]]:
    """People in folds: women and men each ordered by the sha256 of the name, dealt round-robin, so
    every fold holds at least one of the 6 women."""
    out: list[list[str]] = [[] for _ in range(folds)]
    dealt = 0
    for female in (1, 0):
        group = sorted((p for p in people if LFW_PEOPLE[p][0] == female),
                       key=lambda p: hashlib.sha256(p.encode()).hexdigest())
        for person in group:
            out[dealt % folds].append(person)
            dealt += 1
    return out


def lfw_gender_cv(samples: list[Sample], members: list[str]) -> dict | None:
    """Gender weights chosen on LFW people of the other folds (none of whom face-api was trained on),
    per-face and per-person accuracy on the fold's people."""
    idx = [i for i, s in enumerate(samples) if s.dataset == "lfw"]
    if not has_outputs(samples, idx, members):
        return None
    people = sorted({samples[i].person for i in idx})
    rows = []
    for fold in (f for f in lfw_folds(people) if f):
        train = [i for i in idx if samples[i].person not in fold]
        test = [i for i in idx if samples[i].person in fold]
        spec, _ = choose(samples, train, members, by="gender")
        pred = predict(samples, test, spec)
        female = np.array([samples[i].female for i in test])
        per_face = float(((pred[:, 1] > 0.5) == (female == 1)).mean())
        votes = {}
        for k, i in enumerate(test):
            votes.setdefault(samples[i].person, []).append(float(pred[k, 1]))
        per_person = np.mean([(np.mean(v) > 0.5) == (LFW_PEOPLE[p][0] == 1) for p, v in votes.items()])
        rows.append({"people": fold, "gender_weights": spec.gender_weights, "flip": spec.flip,
                     "gender_per_face": per_face, "gender_per_person": float(per_person)})
    faces = [r["gender_per_face"] for r in rows]
    return {"members": members, "folds": rows, "gender_per_face_mean": float(np.mean(faces)),
            "gender_per_face_worst": float(min(faces))}


def candidate_keys(samples: list[Sample]) -> list[str]:
    return sorted({k.rsplit("/", 1)[0] for s in samples for k in s.outputs})


def evaluate(samples: list[Sample], data: Path) -> dict:
    held, selection = split(samples, data)
    keys = candidate_keys(samples)
    report: dict = {"split": {"held_out": len(held), "selection": len(selection)}, "single": {}}
    # each model and chip alone (flip chosen on the selection half), figures on the held-out half
    for key in keys:
        spec, _ = choose(samples, selection, [key])
        raw = EnsembleSpec(keys=(key,), flip=spec.flip)
        report["single"][key] = {"flip": spec.flip,
                                 "held_out_raw": scores(predict(samples, held, raw), *truth(samples, held)),
                                 "held_out_calibrated": scores(predict(samples, held, spec), *truth(samples, held)),
                                 "lfw": lfw_figures(samples, raw)}
    # the best chip of each model goes into the ensemble: lowest selection-half MAE - 20 x gender
    # accuracy (one point of accuracy weighs 0.2 y)
    by_model: dict[str, tuple[str, float]] = {}
    for key in keys:
        model = key.split("/")[0]
        sel = scores(predict(samples, selection, choose(samples, selection, [key])[0]), *truth(samples, selection))
        rank = sel["age_mae"] - 20 * sel["gender_accuracy"]
        if model not in by_model or rank < by_model[model][1]:
            by_model[model] = (key, rank)
    members = [k for k, _ in by_model.values()]
    report["ensemble"] = ensemble_report(samples, members, held, selection)
    shippable = [k for k in members if k.split("/")[0] in SHIPPED]
    report["shippable_ensemble"] = ensemble_report(samples, shippable, held, selection)
    report["lfw_gender_cv"] = {"all": lfw_gender_cv(samples, members),
                               "shippable": lfw_gender_cv(samples, shippable)}
    return report


def ensemble_report(samples: list[Sample], members: list[str], held: list[int], selection: list[int]) -> dict:
    """Weights chosen on one half, figures on the other (fold1: the documented split; fold2: swapped)."""
    report: dict = {"members": members, "folds": []}
    for name, (choose_on, test_on) in {"fold1": (selection, held), "fold2": (held, selection)}.items():
        spec, curve = choose(samples, choose_on, members)
        report["folds"].append({"fold": name, "spec": spec.to_dict(),
                                "test": scores(predict(samples, test_on, spec), *truth(samples, test_on)),
                                "curve_near_choice": near(curve, spec)})
    spec = EnsembleSpec.from_dict(report["folds"][0]["spec"])
    report["chosen"] = spec.to_dict()
    report["held_out"] = report["folds"][0]["test"]
    report["lfw"] = lfw_figures(samples, spec)
    tests = [f["test"] for f in report["folds"]]
    report["folds_summary"] = {"age_mae_mean": float(np.mean([t["age_mae"] for t in tests])),
                               "age_mae_worst": float(max(t["age_mae"] for t in tests)),
                               "gender_mean": float(np.mean([t["gender_accuracy"] for t in tests])),
                               "gender_worst": float(min(t["gender_accuracy"] for t in tests))}
    return report


def near(curve: list[dict], spec: EnsembleSpec) -> list[dict]:
    """The selection curve at the chosen flip, for weights within one step of the chosen ones."""
    rows = []
    for c in curve:
        if c["flip"] != spec.flip:
            continue
        da = max(abs(a - b) for a, b in zip(c["weights"], spec.age_weights, strict=True))
        dg = max(abs(a - b) for a, b in zip(c["weights"], spec.gender_weights, strict=True))
        if min(da, dg) <= WEIGHT_STEP + 1e-9:
            rows.append({k: c[k] for k in ("weights", "age_mae", "gender_accuracy")})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--cache-prefix", default="/tmp/agegender11-faces",
                        help="faces and outputs are cached in PREFIX-<dataset>-<models>.npz")
    parser.add_argument("--models", nargs="*", default=["fast", "faceres", "faceres-deep"],
                        help="fast (cydral + face_api) and opt-in models/optional/NAME.onnx when built")
    parser.add_argument("--extract-only", action="store_true",
                        help="fill the missing caches of one dataset and stop (keeps each run short)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if not (args.data / "utkface").is_dir():
        print(f"no UTKFace crops in {args.data / 'utkface'}", file=sys.stderr)
        return 2
    samples = []
    for dataset in ("utkface", "lfw"):
        parts, filled = [], False
        for group in args.models:
            cache = Path(f"{args.cache_prefix}-{dataset}-{group}.npz")
            if not cache.is_file():
                paths = {group: ROOT / "models" / "optional" / f"{group}.onnx"}
                members = ["cydral", "face_api"] if group == "fast" else [group]
                if group != "fast" and not paths[group].is_file():
                    print(f"{paths[group]} not built (models/build/faceres.py): left out", file=sys.stderr)
                    continue
                save(extract(args.data, dataset, members, paths), cache)
                filled = True
            parts.append(load(cache))
        if filled and args.extract_only:
            return 0
        samples += merge(parts)
    report = evaluate(samples, args.data)
    text = json.dumps(report, indent=1)
    if args.json:
        args.json.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
