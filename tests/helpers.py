"""Shared test helpers: random problems laid out the way the kernels expect, and tolerances."""

import numpy as np

from fastmlp import MLPClassifier, MLPRegressor
from fastmlp.backends import get_backend
from fastmlp.codes import ACTIVATIONS, ADAM, CROSS_ENTROPY, LOSSES, SGD, SOFTMAX
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

# the backends by name, from the package's one table (reference first: the readable one)
BACKENDS = {name: get_backend(name) for name in ("reference", "numba")}


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


def plain_sgd(dtype, sample_weight=None):
    """train_epoch's arguments after batch_size for plain SGD: (sample_weight, solver, momentum,
    nesterov, beta_1, beta_2, epsilon, velocity, sq_avg, step), no optimizer state."""
    dtype = np.dtype(dtype)
    t = dtype.type
    w = np.zeros(0, dtype) if sample_weight is None else np.asarray(sample_weight, dtype)
    return (w, SGD, t(0), True, t(0.9), t(0.999), t(1e-8), np.zeros(0, dtype),
            np.zeros(0, dtype), np.zeros(1, np.int64))


def solver_args(q, solver="sgd", momentum=0.0, nesterov=True, beta_1=0.9, beta_2=0.999,
                epsilon=1e-8, sample_weight=None):
    """train_epoch's arguments after batch_size for problem q, with fresh optimizer state kept
    in q ("velocity", "sq_avg", "step") unless q already holds some (a later epoch)."""
    dtype = q["dtype"]
    t = dtype.type
    for name in ("velocity", "sq_avg"):
        q.setdefault(name, np.zeros_like(q["params"]))
    q.setdefault("step", np.zeros(1, np.int64))
    w = np.zeros(0, dtype) if sample_weight is None else np.asarray(sample_weight, dtype)
    return (w, {"sgd": SGD, "adam": ADAM}[solver], t(momentum), nesterov, t(beta_1), t(beta_2),
            t(epsilon), q["velocity"], q["sq_avg"], q["step"])


def run_epoch(backend, p, order, lr=0.05, alpha=0.0, clip_value=0.0, clip_norm=0.0, batch_size=1,
              l1=0.0, **solver):
    """Run backend.train_epoch on a copy of problem p; return (result tuple, problem copy).
    solver: keyword arguments of solver_args (solver, momentum, ..., sample_weight); the
    optimizer state is read from p if there and left in the copy."""
    q = copy_problem(p)
    t = q["dtype"].type
    res = backend.train_epoch(q["params"], q["grads"], q["acts"], q["dacts"], q["X"], q["Y"],
                              np.ascontiguousarray(order, np.int64), q["layout"],
                              q["activations"], q["loss"], t(lr), t(alpha), t(l1), t(clip_value),
                              t(clip_norm), batch_size, *solver_args(q, **solver))
    return res, q


VALID_OUTPUTS = [("softmax", "cross_entropy"), ("softmax", "squared_error"),
                 ("sigmoid", "squared_error"), ("identity", "squared_error"),
                 ("tanh", "squared_error"), ("relu", "squared_error"),
                 ("sigmoid", "cross_entropy")]  # binary cross-entropy per output (multilabel)

# ---------------------------------------------------------------- small estimator problems
# Three sets of data and estimators, each shared by the estimator-level test files. The
# estimators take X as given (scale_inputs=False): these tests check what the kernels do with
# it; the input standardisation has its own tests (tests/test_scaling.py).


def blobs(n=30, n_features=4, n_classes=3, seed=0):
    """Random labels (every class present) around centers * 2: the (X, Y) below."""
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((n_classes, n_features)) * 2
    y = rng.integers(0, n_classes, n)
    y[:n_classes] = np.arange(n_classes)  # every class present
    return centers[y] + rng.standard_normal((n, n_features)), y


X, Y = blobs()


def clf(**kw):
    params = dict(hidden_layer_sizes=(5,), epochs=2, learning_rate=0.05, random_state=0,
                  scale_inputs=False)
    params.update(kw)
    return MLPClassifier(**params)


def reg(**kw):
    params = dict(hidden_layer_sizes=(5,), epochs=2, learning_rate=0.01, random_state=0,
                  scale_inputs=False)
    params.update(kw)
    return MLPRegressor(**params)


def balanced_blobs(n=60, n_features=4, n_classes=3, seed=0):
    """Labels 0, 1, 2, 0, 1, 2, ... around well separated centers (* 3)."""
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((n_classes, n_features)) * 3
    y = np.arange(n) % n_classes
    return centers[y] + rng.standard_normal((n, n_features)), y


def clf64(**kw):
    params = dict(hidden_layer_sizes=(8,), epochs=2, learning_rate=0.05, random_state=0,
                  dtype="float64", scale_inputs=False)
    params.update(kw)
    return MLPClassifier(**params)


def blobs6(n=120, n_features=6, n_classes=3, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((n_classes, n_features)) * 3
    y = rng.integers(0, n_classes, n)
    X = centers[y] + rng.standard_normal((n, n_features))
    return X, y


def small(**kw):
    params = dict(hidden_layer_sizes=(16, 8), epochs=3, learning_rate=0.05, random_state=0,
                  scale_inputs=False)
    params.update(kw)
    return MLPClassifier(**params)


def regression(n=40, scale=100.0, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (n, 3)) * 10
    return X, scale * (X @ np.array([1.0, -2.0, 0.5]))


__all__ = ["TOL", "BACKENDS", "tol", "make_problem", "copy_problem", "run_epoch", "plain_sgd",
           "solver_args",
           "VALID_OUTPUTS", "SOFTMAX", "CROSS_ENTROPY", "blobs", "X", "Y", "clf", "reg",
           "balanced_blobs", "clf64", "blobs6", "small", "regression"]
