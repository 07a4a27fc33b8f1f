"""The arithmetic of age/gender ensembles: how several models' estimates of one face become one.

Ages: a weighted mean of the members' ages, then a linear calibration (slope, intercept) fitted on a
selection set, never below 0. Gender: a weighted mean of the members' log-odds of P(female) (a
confident member counts more than a hesitant one), back through the sigmoid. Flip averaging
(a member run on the chip and its mirror) is the mean of the two outputs, before the ensemble.
The weights and the calibration are chosen by benchmarks/age_gender_eval.py on the selection half
of UTKFace and stored in the manifest entry of the scan's ensemble.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

P_CLIP = 1e-4  # keeps the log-odds of a saturated probability finite


@dataclass(frozen=True)
class EnsembleSpec:
    keys: tuple[str, ...]  # member names, in column order
    flip: bool = False
    age_weights: tuple[float, ...] | None = None  # None: equal weights
    gender_weights: tuple[float, ...] | None = None
    age_slope: float = 1.0
    age_intercept: float = 0.0

    def weights(self, which: tuple[float, ...] | None) -> np.ndarray:
        n = len(self.keys)
        w = np.full(n, 1.0 / n) if which is None else np.asarray(which, dtype=np.float64)
        if w.shape != (n,) or (w < 0).any() or not np.isclose(w.sum(), 1.0):
            raise ValueError(f"ensemble weights {which} must be {n} non-negative numbers summing to 1")
        return w

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> EnsembleSpec:
        tuples = {k: tuple(data[k]) if data.get(k) is not None else None
                  for k in ("keys", "age_weights", "gender_weights")}
        return cls(**{**data, **tuples})


def flip_average(plain: np.ndarray, mirrored: np.ndarray) -> np.ndarray:
    """Test-time augmentation: the mean of a model's outputs on chips and on their mirrors."""
    return (np.asarray(plain, dtype=np.float64) + np.asarray(mirrored, dtype=np.float64)) / 2


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), P_CLIP, 1 - P_CLIP)
    return np.log(p / (1 - p))


def combine(ages: np.ndarray, females: np.ndarray, spec: EnsembleSpec) -> np.ndarray:
    """(N, 2) [age, P(female)] from (N, M) member ages and (N, M) member P(female)."""
    ages, females = np.atleast_2d(ages), np.atleast_2d(females)
    if ages.shape != females.shape or ages.shape[1] != len(spec.keys):
        raise ValueError(f"expected (N, {len(spec.keys)}) ages and P(female), got {ages.shape} and {females.shape}")
    age = np.maximum(0.0, (ages @ spec.weights(spec.age_weights)) * spec.age_slope + spec.age_intercept)
    female = 1 / (1 + np.exp(-(logit(females) @ spec.weights(spec.gender_weights))))
    return np.stack([age, female], axis=1)
