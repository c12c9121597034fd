"""Shared test helpers: random problems laid out the way the kernels expect, and tolerances."""

import numpy as np

from fastmlp import kernels, reference
from fastmlp.codes import ACTIVATIONS, CROSS_ENTROPY, LOSSES, SOFTMAX
from fastmlp.layout import make_layout

# Reference vs kernel tolerances (the one table). The kernels sum in a different order than
# NumPy/BLAS, so results agree to rounding, not bitwise. "step" covers one forward/backward/
# update; "epoch" covers many chained updates, where rounding differences compound.
TOL = {
    np.dtype(np.float64): {"step": dict(rtol=1e-10, atol=1e-12),
                           "epoch": dict(rtol=1e-10, atol=1e-12)},
    np.dtype(np.float32): {"step": dict(rtol=2e-5, atol=2e-6),
                           "epoch": dict(rtol=1e-4, atol=1e-5)},
}

BACKENDS = {"reference": reference, "numba": kernels}


def tol(dtype, kind="step"):
    return TOL[np.dtype(dtype)][kind]


def make_problem(sizes, hidden="relu", output="softmax", loss="cross_entropy", dtype=np.float64,
                 n=8, seed=0, zero_inputs=False, sparse=False, weight_scale=1.0):
    """Random params/data/buffers for a network with the given layer sizes."""
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    layout, n_params, n_acts = make_layout(sizes)
    params = (rng.standard_normal(n_params) * weight_scale / np.sqrt(max(sizes[0], 1))).astype(dtype)
    X = rng.standard_normal((n, sizes[0])).astype(dtype)
    if sparse:
        X[rng.random(X.shape) < 0.7] = 0
    if zero_inputs:
        X[:] = 0
    n_out = sizes[-1]
    if loss == "cross_entropy":
        Y = np.zeros((n, n_out), dtype)
        Y[np.arange(n), rng.integers(0, n_out, n)] = 1
    else:
        Y = rng.uniform(-1 if output in ("identity", "tanh") else 0, 1, (n, n_out)).astype(dtype)
    activations = np.array([ACTIVATIONS[hidden]] * (len(sizes) - 2) + [ACTIVATIONS[output]],
                           np.int64)
    return dict(layout=layout, params=params, grads=np.zeros(n_params, dtype),
                acts=np.zeros(n_acts, dtype), dacts=np.zeros(n_acts, dtype), X=X, Y=Y,
                activations=activations, loss=LOSSES[loss], dtype=dtype)


def copy_problem(p):
    return {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in p.items()}


def run_epoch(backend, p, order, lr=0.05, alpha=0.0, clip_value=0.0, clip_norm=0.0, batch_size=1):
    """Run backend.train_epoch on a copy of problem p; return (result tuple, problem copy)."""
    q = copy_problem(p)
    t = q["dtype"].type
    res = backend.train_epoch(q["params"], q["grads"], q["acts"], q["dacts"], q["X"], q["Y"],
                              np.ascontiguousarray(order, np.int64), q["layout"],
                              q["activations"], q["loss"], t(lr), t(alpha), t(clip_value),
                              t(clip_norm), batch_size)
    return res, q


VALID_OUTPUTS = [("softmax", "cross_entropy"), ("softmax", "squared_error"),
                 ("sigmoid", "squared_error"), ("identity", "squared_error"),
                 ("tanh", "squared_error"), ("relu", "squared_error")]

__all__ = ["TOL", "BACKENDS", "tol", "make_problem", "copy_problem", "run_epoch",
           "VALID_OUTPUTS", "SOFTMAX", "CROSS_ENTROPY"]
