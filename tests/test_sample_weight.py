"""Sample weights through train_epoch and the training driver.

A sample's loss and output gradient are multiplied by its weight: the kernels equal the
reference with weights on every compiled epoch (per-sample, mini-batch, the general epoch,
full batch), weight 1 is bit for bit no weights, and in the driver a zero weight is exactly a
row that is not there.
"""

import numpy as np
import pytest

from fastmlp import MLPClassifier, MLPRegressor, fitted, kernels, reference, training
from helpers import make_problem, run_epoch, tol

DTYPES = [np.float64, np.float32]

# batch size, alpha, clip_value, clip_norm: which compiled epoch runs
PATHS = {
    "per-sample": (1, 0.0, 0.0, 0.0),
    "per-sample, L2 + clip": (1, 0.01, 0.05, 0.0),
    "mini-batch": (7, 0.0, 0.0, 0.0),
    "mini-batch, clip": (7, 0.0, 0.05, 0.0),
    "general, L2": (7, 0.01, 0.0, 0.0),
    # (with clip_norm alone and no weights, batch 1 takes kernels/clipnorm.py instead)
    "general, L2 + clip_norm, batch 1": (1, 0.01, 0.0, 0.5),
    "full batch": (40, 0.0, 0.0, 0.0),
}


def weighted_problem(dtype, n=40, seed=0):
    p = make_problem((9, 7, 5, 4), dtype=dtype, n=n, seed=seed, sparse=True)
    w = np.random.default_rng(seed + 1).uniform(0.1, 3.0, n)
    return p, w


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("path", PATHS)
def test_kernels_equal_the_reference_with_weights(dtype, path):
    B, alpha, clip_value, clip_norm = PATHS[path]
    p, w = weighted_problem(dtype)
    order = np.random.default_rng(3).permutation(40)
    for _ in range(2):
        (rl, rc, rn), ref = run_epoch(reference, p, order, 0.05, alpha, clip_value, clip_norm, B,
                                      sample_weight=w)
        (cl, cc, cn), comp = run_epoch(kernels, p, order, 0.05, alpha, clip_value, clip_norm, B,
                                       sample_weight=w)
        assert (rn, rc) == (cn, cc) == (40, rc)
        np.testing.assert_allclose(cl, rl, **tol(dtype, "epoch"))
        np.testing.assert_allclose(comp["params"], ref["params"], **tol(dtype, "epoch"))
        p["params"] = ref["params"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("backend", [reference, kernels], ids=["reference", "kernels"])
def test_weight_one_is_bit_identical_to_no_weights(dtype, path, backend):
    B, alpha, clip_value, clip_norm = PATHS[path]
    p, _ = weighted_problem(dtype)
    order = np.random.default_rng(4).permutation(40)
    res0, q0 = run_epoch(backend, p, order, 0.05, alpha, clip_value, clip_norm, B)
    res1, q1 = run_epoch(backend, p, order, 0.05, alpha, clip_value, clip_norm, B,
                         sample_weight=np.ones(40))
    assert res0 == res1
    np.testing.assert_array_equal(q1["params"], q0["params"])


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_weighted_sample_steps_like_its_loss_times_the_weight(dtype):
    """Batch size 1: weight w on one sample == its step scaled by w (reference), and the loss
    sum counts w * loss."""
    p, _ = weighted_problem(dtype, n=1)
    order = np.zeros(1, np.int64)
    (l1, _, _), q1 = run_epoch(reference, p, order, 0.05, batch_size=1)
    (l3, _, _), q3 = run_epoch(reference, p, order, 0.05, batch_size=1,
                               sample_weight=np.array([3.0]))
    np.testing.assert_allclose(q3["params"] - p["params"], 3 * (q1["params"] - p["params"]),
                               **tol(dtype))
    np.testing.assert_allclose(l3, 3 * l1, **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_weighted_batch_mean_is_the_sum_of_weighted_gradients_over_the_batch_size(dtype):
    """A weight of 2 on a sample of a batch == that sample twice in a batch of the same size
    (the mean divides by the samples in the batch, not by the weights' sum)."""
    p, _ = weighted_problem(dtype, n=4)
    w = np.array([2.0, 0.0, 1.0, 1.0])
    (_, _, _), qw = run_epoch(reference, p, np.arange(4), 0.05, batch_size=4, sample_weight=w)
    (_, _, _), qd = run_epoch(reference, p, np.array([0, 0, 2, 3]), 0.05, batch_size=4)
    np.testing.assert_allclose(qw["params"], qd["params"], **tol(dtype))


def test_the_kernel_refuses_a_sample_weight_of_the_wrong_shape_or_dtype():
    p, _ = weighted_problem(np.float64)
    with pytest.raises(ValueError, match="sample_weight must have shape"):
        run_epoch(kernels, p, np.arange(40), sample_weight=np.ones(39))
    with pytest.raises(ValueError, match="sample_weight must have shape"):
        run_epoch(kernels, p, np.arange(40), sample_weight=np.ones((40, 1)))


# ------------------------------------------------------------------ the driver


def fit_weighted(est, X, y, sample_weight, epochs=3):
    """fit's steps with train(..., sample_weight=...): what the estimators' fit does."""
    settings = est._resolve()
    X, Y, y = est._prepare_xy(X, y, settings, reset=True)
    fitted.initialise(est, X.shape[1], Y.shape[1], settings)
    return training.train(est, X, Y, epochs, settings, sample_weight=sample_weight)


def data(n=30, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 4))
    return X, (X[:, 0] + X[:, 1] > 0).astype(int)


@pytest.mark.parametrize("backend", ["numba", "reference"])
@pytest.mark.parametrize("batch_size", [1, 4])
@pytest.mark.parametrize("shuffle", [True, False])
def test_a_zero_weight_is_exactly_a_removed_row(backend, batch_size, shuffle):
    X, y = data()
    w = np.ones(30)
    w[[3, 17]] = 0
    keep = w > 0
    kw = dict(hidden_layer_sizes=(6,), learning_rate=0.05, random_state=0, backend=backend,
              batch_size=batch_size, shuffle=shuffle)
    a = fit_weighted(MLPClassifier(**kw), X, y, w)
    b = fit_weighted(MLPClassifier(**kw), X[keep], y[keep], None)
    np.testing.assert_array_equal(a.params_, b.params_)
    assert a.loss_curve_ == b.loss_curve_ and a.t_ == b.t_ == 3 * 28


@pytest.mark.parametrize("backend", ["numba", "reference"])
def test_equal_weights_are_bit_identical_to_no_weights(backend):
    X, y = data()
    kw = dict(hidden_layer_sizes=(6,), learning_rate=0.05, random_state=0, backend=backend)
    a = fit_weighted(MLPClassifier(**kw), X, y, np.full(30, 0.1))
    b = fit_weighted(MLPClassifier(**kw), X, y, None)
    np.testing.assert_array_equal(a.params_, b.params_)
    assert a.loss_curve_ == b.loss_curve_


def test_weights_are_normalised_to_mean_one_and_the_loss_curve_is_the_weighted_mean():
    X, y = data()
    w = np.random.default_rng(2).uniform(0.5, 2.0, 30)
    kw = dict(hidden_layer_sizes=(6,), learning_rate=0.05, random_state=0, dtype="float64")
    a = fit_weighted(MLPClassifier(**kw), X, y, w)
    b = fit_weighted(MLPClassifier(**kw), X, y, 10 * w)  # the scale of the weights is no matter
    np.testing.assert_allclose(a.params_, b.params_, rtol=1e-12, atol=1e-14)
    # one epoch at learning rate ~0: the loss curve is the weighted mean of the per-row losses
    c = MLPClassifier(**dict(kw, learning_rate=1e-300))
    fit_weighted(c, X, y, w, epochs=1)
    losses = -np.log(c.predict_proba(X)[np.arange(30), y])
    np.testing.assert_allclose(c.loss_curve_[0], np.sum(w * losses) / np.sum(w), rtol=1e-9)


def test_weights_reach_the_regressor_too():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 3))
    y = X @ np.array([1.0, -1.0, 0.5])
    w = rng.uniform(0.2, 2.0, 20)
    kw = dict(hidden_layer_sizes=(5,), learning_rate=0.01, random_state=0, dtype="float64")
    a = fit_weighted(MLPRegressor(**kw, backend="numba"), X, y, w)
    b = fit_weighted(MLPRegressor(**kw, backend="reference"), X, y, w)
    np.testing.assert_allclose(a.params_, b.params_, **tol(np.float64, "epoch"))
    c = fit_weighted(MLPRegressor(**kw), X, y, None)
    assert not np.array_equal(a.params_, c.params_)


def test_sample_weights_helper():
    kept, w = training.sample_weights(None, 5, np.dtype(np.float32))
    assert kept is None and w.shape == (0,) and w.dtype == np.float32
    kept, w = training.sample_weights(np.array([0, 2.0, 0, 2.0, 2.0]), 5, np.dtype(np.float64))
    assert kept.tolist() == [1, 3, 4] and w.shape == (0,)
    kept, w = training.sample_weights(np.array([0, 1.0, 3.0]), 3, np.dtype(np.float64))
    assert kept.tolist() == [1, 2] and w.tolist() == [0.0, 0.5, 1.5]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch_size", [1, 7])
@pytest.mark.parametrize("solver", [dict(momentum=0.9), dict(momentum=0.9, nesterov=False),
                                    dict(solver="adam")], ids=["nesterov", "momentum", "adam"])
def test_weight_one_is_bit_identical_to_no_weights_with_every_solver(dtype, batch_size, solver):
    p, _ = weighted_problem(dtype)
    order = np.random.default_rng(4).permutation(40)
    res0, q0 = run_epoch(kernels, p, order, 0.01, batch_size=batch_size, **solver)
    res1, q1 = run_epoch(kernels, p, order, 0.01, batch_size=batch_size,
                         sample_weight=np.ones(40), **solver)
    assert res0 == res1
    for name in ("params", "velocity", "sq_avg", "step"):
        np.testing.assert_array_equal(q1[name], q0[name])


def test_weights_so_large_their_sum_overflows_train_like_their_ratios():
    # 1e308 each: their mean overflowed to inf and every normalised weight became 0, so the
    # fit silently trained nothing; only the ratios count
    X, y = np.random.default_rng(0).normal(size=(40, 3)), np.arange(40) % 2
    kw = dict(hidden_layer_sizes=(4,), epochs=2, random_state=0, dtype="float64")
    w = np.where(np.arange(40) < 20, 1e308, 0.5e308)
    huge = MLPClassifier(**kw).fit(X, y, sample_weight=w)
    plain = MLPClassifier(**kw).fit(X, y, sample_weight=w / 1e308)
    start = MLPClassifier(**dict(kw, epochs=1, learning_rate=1e-300)).fit(X, y)
    assert not np.allclose(huge.params_, start.params_)  # it trained
    np.testing.assert_allclose(huge.params_, plain.params_, rtol=1e-12)
    assert huge.score(X, y, sample_weight=w) == pytest.approx(plain.score(X, y, w / 1e308))
    reg = MLPRegressor(**kw).fit(X, X[:, 0], sample_weight=w)
    assert np.isfinite(reg._y_mean).all() and np.isfinite(reg.predict(X)).all()
    tiny = MLPClassifier(**kw).fit(X, y, sample_weight=w * 1e-320 / 1e308 + 1e-320)
    assert not np.allclose(tiny.params_, start.params_)
