"""fastmlp/fitted.py: the fitted state -- use before fit, weights replaced or edited by the
user, internal state tampered with: each is a clear error before any kernel sees it."""

import numpy as np
import pytest

from fastmlp import NotFittedError, kernels, reference
from helpers import X, Y, clf, reg

@pytest.mark.parametrize("make", [clf, reg])
def test_use_before_fit_is_a_clear_error(make, tmp_path, no_kernel_calls):
    m = make()
    calls = [lambda: m.predict(X), lambda: m.score(X, Y), lambda: m.save(tmp_path / "m")]
    if make is clf:
        calls.append(lambda: m.predict_proba(X))
    for call in calls:
        with pytest.raises(NotFittedError, match=f"This {type(m).__name__} is not fitted yet; "
                                                 f"call fit or partial_fit first"):
            call()
    assert issubclass(NotFittedError, ValueError) and issubclass(NotFittedError, AttributeError)
    assert not (tmp_path / "m.npz").exists()


def _replace(m, attr, l, value):
    arrays = list(getattr(m, attr))
    arrays[l] = value
    setattr(m, attr, arrays)


BAD_STATE = [
    ("coefs_", 0, lambda W: W.T.copy(), r"coefs_\[0\] has shape \(5, 4\), expected \(4, 5\)"),
    ("coefs_", 1, lambda W: W[:, :2].copy(), r"coefs_\[1\] has shape \(5, 2\), expected \(5, 3\)"),
    ("coefs_", 0, lambda W: W.ravel().copy(), r"coefs_\[0\] has shape \(20,\), expected \(4, 5\)"),
    ("intercepts_", 1, lambda b: np.zeros(4), r"intercepts_\[1\] has shape \(4,\), expected \(3,\)"),
    ("coefs_", 0, lambda W: W.astype(str), r"coefs_\[0\] must be a real numeric array, got "
                                            r"dtype <U"),
    ("coefs_", 1, lambda W: W.astype(complex), r"coefs_\[1\] must be a real numeric array, got "
                                                r"dtype complex128"),
    ("coefs_", 0, lambda W: W.astype(object), r"coefs_\[0\] must be a real numeric array, got "
                                               r"dtype object"),
    ("intercepts_", 0, lambda b: np.full_like(b, np.nan), r"intercepts_\[0\] contains NaN or "
                                                          r"infinity"),
    ("coefs_", 0, lambda W: np.full(W.shape, 1e300), r"coefs_\[0\] contains NaN or infinity, or "
                                                     r"values too large for float32"),
]


@pytest.mark.parametrize("attr, l, change, match", BAD_STATE)
def test_replaced_weights_of_wrong_shape_or_dtype(attr, l, change, match, tmp_path):
    m = clf().fit(X, Y)
    good = m.params_.copy()
    _replace(m, attr, l, change(getattr(m, attr)[l]))
    with pytest.MonkeyPatch.context() as mp:
        for backend in (kernels, reference):
            mp.setattr(backend, "train_epoch", lambda *a: 1 / 0)
            mp.setattr(backend, "predict", lambda *a: 1 / 0)
        for call in (lambda: m.predict(X), lambda: m.predict_proba(X),
                     lambda: m.partial_fit(X, Y), lambda: m.save(tmp_path / "m.npz")):
            with pytest.raises(ValueError, match=match):
                call()
    np.testing.assert_array_equal(m.params_, good)  # nothing half-copied into params_
    assert not (tmp_path / "m.npz").exists()
    m.fit(X, Y)  # a refit repairs the model
    assert np.isfinite(m.predict_proba(X)).all()


def test_replaced_coefs_list_is_checked():
    m = clf().fit(X, Y)
    for value, match in [
            (None, r"coefs_ must be a list of 2 arrays \(one per layer\), got NoneType"),
            (np.zeros((4, 5)), r"coefs_ must be a list of 2 arrays.*got ndarray"),
            ([np.zeros((4, 5))], r"coefs_ has 1 arrays but the network has 2 layers")]:
        m.coefs_ = value
        for call in (lambda: m.predict(X), lambda: m.partial_fit(X, Y)):
            with pytest.raises(ValueError, match=match):
                call()


def test_replaced_weights_of_another_float_dtype_are_taken_in():
    m = clf().fit(X, Y)
    W64 = [W.astype(np.float64) * 0.5 for W in m.coefs_]
    m.coefs_ = W64
    proba = m.predict_proba(X)
    assert m.params_.dtype == np.float32
    np.testing.assert_array_equal(m.coefs_[0], W64[0].astype(np.float32))
    assert np.shares_memory(m.coefs_[0], m.params_) and np.isfinite(proba).all()


def test_nan_written_into_the_weight_views_is_caught():
    m = clf().fit(X, Y)
    m.coefs_[1][2, 1] = np.nan  # in place: the view check cannot see it
    for call in (lambda: m.predict(X), lambda: m.predict_proba(X), lambda: m.partial_fit(X, Y)):
        with pytest.raises(ValueError, match="the model's weights contain NaN or infinity"):
            call()


def test_overflowing_outputs_are_an_error_not_nan():
    r = reg(hidden_layer_sizes=(), dtype="float32").fit(X, Y.astype(float))
    r.coefs_[0][...] = 3e38  # finite weights ...
    with pytest.raises(ValueError, match="the network's outputs overflowed float32"):
        r.predict(np.full((2, 4), 10.0))  # ... whose outputs are not


@pytest.mark.parametrize("attr, value, match", [
    ("params_", lambda p: p[:-1].copy(), r"params_ must be .*shape \(43,\) for this network, "
                                         r"got float32 array of shape \(42,\)"),
    ("params_", lambda p: p.astype(np.float16), r"params_ must be .*got float16 array"),
    ("params_", lambda p: p.astype(np.int64), r"params_ must be .*got int64 array"),
    ("params_", lambda p: np.repeat(p, 2)[::2], r"params_ must be a writeable C-contiguous"),
    ("params_", lambda p: list(p), r"params_ must be .*got list"),
    ("layout_", lambda L: L[:, :4].copy(), r"layout_ was modified"),
    ("layout_", lambda L: L.astype(np.int32), r"layout_ was modified"),
    ("layout_", lambda L: L + np.array([0, 0, 1, 1, 0]), r"layout_ was modified"),
    ("layout_", lambda L: L * np.array([2, 1, 1, 1, 1]), r"layout_ was modified"),
])
def test_tampered_internal_state_never_reaches_a_kernel(attr, value, match, tmp_path):
    m = clf().fit(X, Y)
    setattr(m, attr, value(getattr(m, attr)))
    with pytest.MonkeyPatch.context() as mp:
        for backend in (kernels, reference):
            mp.setattr(backend, "train_epoch", lambda *a: 1 / 0)
            mp.setattr(backend, "predict", lambda *a: 1 / 0)
        for call in (lambda: m.predict(X), lambda: m.partial_fit(X, Y),
                     lambda: m.save(tmp_path / "m.npz")):
            with pytest.raises(ValueError, match=match):
                call()
