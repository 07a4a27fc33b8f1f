"""Gallery aggregation models of the paper's eqs. 1-3, in numpy, with their exact gradients.

Every photo m of a gallery has a feature x(m) (K-dim: f, p and o side by side, standardised). It is
projected to s(m) = Ws x(m) (K~-dim); the photos are pooled into one descriptor d; C sigmoid outputs
give the probability of each interest category (multi-label):

- "average": d = mean_m s(m) (equal weights, the paper's baseline);
- "attention": d = sum_m softmax_m(q^T s(m)) s(m) (eqs. 1-3, one attention block);
- "nan": two blocks as in the Neural Aggregation Network: r0 pooled with a learned q0, then the second
  block's query is tanh(A r0 + b), d = the second pooling.

Galleries have different sizes: a batch is padded to its largest gallery and a mask marks real photos.
`loss_and_grads` returns the mean binary cross-entropy (+ L2 on the weight matrices) and the gradient
of every parameter; tests compare them with finite differences.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

AGGREGATIONS = ("average", "attention", "nan")
WEIGHT_MATRICES = ("Ws", "A", "Wc")  # the parameters L2 applies to


@dataclass
class AggregatorModel:
    """The parameters of one aggregator and the standardisation of its inputs."""

    aggregation: str
    params: dict[str, np.ndarray]
    mean: np.ndarray  # (K,) subtracted from x
    scale: np.ndarray  # (K,) x is divided by it
    categories: list[str] = field(default_factory=list)

    @property
    def input_dim(self) -> int:
        return int(self.params["Ws"].shape[1])

    @property
    def descriptor_dim(self) -> int:
        return int(self.params["Ws"].shape[0])

    def parameter_count(self) -> int:
        return int(sum(v.size for v in self.params.values()))


def init_params(aggregation: str, input_dim: int, descriptor_dim: int, classes: int,
                rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Small random projections; attention queries start at zero, i.e. as plain averaging."""
    if aggregation not in AGGREGATIONS:
        raise ValueError(f"unknown aggregation {aggregation!r} (one of {', '.join(AGGREGATIONS)})")
    params = {
        "Ws": rng.normal(0.0, 1.0 / np.sqrt(input_dim), (descriptor_dim, input_dim)),
        "Wc": rng.normal(0.0, 1.0 / np.sqrt(descriptor_dim), (classes, descriptor_dim)),
        "bc": np.zeros(classes),
    }
    if aggregation == "attention":
        params["q"] = np.zeros(descriptor_dim)
    elif aggregation == "nan":
        params["q0"] = np.zeros(descriptor_dim)
        params["A"] = np.zeros((descriptor_dim, descriptor_dim))
        params["b"] = np.zeros(descriptor_dim)
    return params


def _masked_softmax(scores: np.ndarray, mask: np.ndarray) -> np.ndarray:
    scores = np.where(mask, scores, -np.inf)
    scores = scores - scores.max(axis=1, keepdims=True)
    e = np.where(mask, np.exp(scores), 0.0)
    return e / e.sum(axis=1, keepdims=True)


def _pool(S: np.ndarray, w: np.ndarray) -> np.ndarray:
    return np.einsum("bm,bmk->bk", w, S)


def _pool_backward(S: np.ndarray, w: np.ndarray, query: np.ndarray, d_out: np.ndarray):
    """Gradients of r = sum_m softmax(S query) S w.r.t. S and the query, given dL/dr.
    query is (K~,) shared or (B, K~) per gallery; returns (dS, dquery of the same shape)."""
    dS = w[..., None] * d_out[:, None, :]
    dw = np.einsum("bmk,bk->bm", S, d_out)
    da = w * (dw - (w * dw).sum(axis=1, keepdims=True))
    dS += da[..., None] * (query[None, None, :] if query.ndim == 1 else query[:, None, :])
    dquery = np.einsum("bm,bmk->bk", da, S)
    return dS, (dquery.sum(axis=0) if query.ndim == 1 else dquery)


def forward(model: AggregatorModel, X: np.ndarray, mask: np.ndarray, standardised: bool = False):
    """Probabilities (B, C) and the cache the backward pass needs. X: (B, M, K) raw features."""
    P = model.params
    Z = X if standardised else (X - model.mean) / model.scale
    Z = np.where(mask[..., None], Z, 0.0)
    # one 2-D product: numpy's stacked (3-D) matmul does not reach BLAS's speed here (~50x slower)
    S = (Z.reshape(-1, Z.shape[-1]) @ P["Ws"].T).reshape(*Z.shape[:2], -1)
    cache: dict = {"Z": Z, "S": S, "mask": mask}
    if model.aggregation == "average":
        w = mask / mask.sum(axis=1, keepdims=True)
        d = _pool(S, w)
    elif model.aggregation == "attention":
        w = _masked_softmax(S @ P["q"], mask)
        d = _pool(S, w)
    else:
        w0 = _masked_softmax(S @ P["q0"], mask)
        r0 = _pool(S, w0)
        h = np.tanh(r0 @ P["A"].T + P["b"])
        w = _masked_softmax(np.einsum("bmk,bk->bm", S, h), mask)
        d = _pool(S, w)
        cache.update(w0=w0, r0=r0, h=h)
    cache.update(w=w, d=d)
    logits = d @ P["Wc"].T + P["bc"]
    cache["logits"] = logits
    return 1.0 / (1.0 + np.exp(-logits)), cache


def loss_and_grads(model: AggregatorModel, X: np.ndarray, mask: np.ndarray, Y: np.ndarray,
                   l2: float = 0.0, standardised: bool = False):
    """Mean binary cross-entropy over galleries and categories (+ l2/2 * squared weights) and its
    gradient for every parameter."""
    P = model.params
    probs, c = forward(model, X, mask, standardised)
    logits = c["logits"]
    bce = np.maximum(logits, 0) - logits * Y + np.log1p(np.exp(-np.abs(logits)))
    loss = float(bce.mean()) + 0.5 * l2 * sum(float((P[k] ** 2).sum()) for k in WEIGHT_MATRICES if k in P)
    d_logits = (probs - Y) / Y.size
    grads = {"Wc": d_logits.T @ c["d"], "bc": d_logits.sum(axis=0)}
    dd = d_logits @ P["Wc"]
    S, w = c["S"], c["w"]
    if model.aggregation == "average":
        dS = w[..., None] * dd[:, None, :]
    elif model.aggregation == "attention":
        dS, grads["q"] = _pool_backward(S, w, P["q"], dd)
    else:
        dS, dh = _pool_backward(S, w, c["h"], dd)
        d_pre = dh * (1.0 - c["h"] ** 2)
        grads["A"] = d_pre.T @ c["r0"]
        grads["b"] = d_pre.sum(axis=0)
        dS0, grads["q0"] = _pool_backward(S, c["w0"], P["q0"], d_pre @ P["A"])
        dS += dS0
    grads["Ws"] = dS.reshape(-1, dS.shape[-1]).T @ c["Z"].reshape(-1, c["Z"].shape[-1])  # BLAS, not einsum
    for k in WEIGHT_MATRICES:
        if k in P:
            grads[k] = grads[k] + l2 * P[k]
    return loss, grads


def predict(model: AggregatorModel, galleries: list[np.ndarray], batch: int = 32) -> np.ndarray:
    """Probabilities (N, C) of a list of galleries, each an (M_i, K) array with M_i >= 1."""
    out = []
    for start in range(0, len(galleries), batch):
        X, mask = pad(galleries[start:start + batch])
        out.append(forward(model, X, mask)[0])
    return np.concatenate(out) if out else np.zeros((0, len(model.params["bc"])))


def pad(galleries: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Stack galleries of different sizes into (B, M_max, K) with a (B, M_max) mask."""
    longest = max(g.shape[0] for g in galleries)
    X = np.zeros((len(galleries), longest, galleries[0].shape[1]))
    mask = np.zeros((len(galleries), longest), dtype=bool)
    for i, g in enumerate(galleries):
        X[i, : g.shape[0]] = g
        mask[i, : g.shape[0]] = True
    return X, mask
