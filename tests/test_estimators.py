"""fastmlp/estimators.py: the scikit-learn conventions, repeatability, continuing from
weights, whole fits equal through both backends, the regressor."""

import numpy as np
import pytest

import fastmlp
from fastmlp import MLPClassifier, MLPRegressor, kernels
from helpers import VALID_OUTPUTS, X, Y, balanced_blobs, blobs6, clf, clf64, regression, small, tol

def test_init_only_stores_hyperparameters():
    m = MLPClassifier(hidden_layer_sizes=(5,), learning_rate=-1, activation="nope")
    assert m.learning_rate == -1 and m.activation == "nope"  # validated in fit, not here
    assert not hasattr(m, "coefs_")


def test_defaults_are_the_reference_workload():
    # epochs="auto" trains MNIST's 60,000 rows for 3 epochs (the reference workload)
    m = MLPClassifier()
    assert (m.hidden_layer_sizes, m.activation, m.learning_rate, m.epochs, m.batch_size,
            m.dtype, m.backend) == ((200, 200), "relu", None, "auto", 1, "float32", "numba")
    assert m._resolve().n_epochs(60_000) == 3
    assert m._resolve().learning_rate == 0.01  # None: plain SGD's rate


def test_fit_returns_self_and_sets_fitted_state():
    X, y = blobs6()
    m = small()
    assert m.fit(X, y) is m
    assert [c.shape for c in m.coefs_] == [(6, 16), (16, 8), (8, 3)]
    assert [b.shape for b in m.intercepts_] == [(16,), (8,), (3,)]
    assert m.n_features_in_ == 6 and m.n_iter_ == 3 and len(m.loss_curve_) == 3
    np.testing.assert_array_equal(m.classes_, [0, 1, 2])
    assert m.score(X, y) > 0.9
    assert m.loss_curve_[-1] < m.loss_curve_[0]


def test_coefs_are_views_of_the_trained_parameters():
    X, y = blobs6()
    m = small(epochs=1).fit(X, y)
    for W in m.coefs_ + m.intercepts_:
        assert np.shares_memory(W, m.params_)
    m.coefs_[0][:] = 0  # an in-place edit takes effect in the next prediction:
    m.intercepts_[0][:] = 0  # the first hidden layer now outputs 0 for every input
    assert np.all(m.params_[:6 * 16 + 16] == 0)
    proba = m.predict_proba(X[:5])
    np.testing.assert_array_equal(proba, np.repeat(proba[:1], 5, axis=0))


def test_same_random_state_gives_identical_weights():
    X, y = blobs6()
    a = small().fit(X, y).params_
    b = small().fit(X, y).params_
    c = small(random_state=1).fit(X, y).params_
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_refit_starts_afresh():
    X, y = blobs6()
    m = small()
    first = m.fit(X, y).params_.copy()
    np.testing.assert_array_equal(m.fit(X, y).params_, first)
    assert m.n_iter_ == 3


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("batch_size", [1, 5, "full"])
def test_numba_and_reference_backends_agree_on_whole_fits(dtype, batch_size):
    X, y = blobs6(n=40)
    kw = dict(dtype=dtype, batch_size=batch_size, epochs=2, alpha=1e-3)
    comp = small(backend="numba", **kw).fit(X, y)
    calls = []
    real = fastmlp.reference.train_epoch
    try:  # the reference backend must really run the reference, not the kernels
        fastmlp.reference.train_epoch = lambda *a: calls.append(1) or real(*a)
        ref = small(backend="reference", **kw).fit(X, y)
    finally:
        fastmlp.reference.train_epoch = real
    assert len(calls) >= 2  # one call per epoch chunk
    np.testing.assert_allclose(comp.params_, ref.params_, **tol(dtype, "epoch"))
    np.testing.assert_allclose(comp.loss_curve_, ref.loss_curve_, **tol(dtype, "epoch"))
    np.testing.assert_allclose(comp.predict_proba(X), ref.predict_proba(X), **tol(dtype, "epoch"))


def test_partial_fit_continues_from_edited_weights():
    X, y = blobs6()
    m = small(epochs=1, shuffle=False).fit(X, y)
    W = [c.copy() for c in m.coefs_]
    b = [c.copy() for c in m.intercepts_]
    W[0] *= 0.5
    m.coefs_[0] = W[0]  # replacing an array (not a view) is taken in too
    m.partial_fit(X, y)
    # the same epoch by hand, from the same starting weights, on a fresh model
    fresh = small(epochs=1, shuffle=False).fit(X, y)
    for l in range(3):
        fresh.coefs_[l][...] = W[l]
        fresh.intercepts_[l][...] = b[l]
    fresh.partial_fit(X, y)
    np.testing.assert_array_equal(m.params_, fresh.params_)
    assert m.n_iter_ == 2
    assert np.shares_memory(m.coefs_[0], m.params_)


def test_partial_fit_from_scratch_matches_fit_epoch_by_epoch():
    X, y = blobs6()
    a = small(epochs=2).fit(X, y)
    b = small(epochs=2)
    b.partial_fit(X, y, classes=[0, 1, 2])
    b.partial_fit(X, y)
    np.testing.assert_array_equal(a.params_, b.params_)


@pytest.mark.parametrize("output,loss", VALID_OUTPUTS)
@pytest.mark.parametrize("hidden", ["identity", "relu", "sigmoid", "tanh"])
def test_every_supported_pair_trains_the_same_through_kernels_and_reference(hidden, output, loss):
    X, y = balanced_blobs(n=24)
    X = X / 4  # identity-identity networks diverge on the raw blobs
    kw = dict(activation=hidden, output_activation=output, loss=loss, batch_size=4,
              learning_rate=0.02)
    a = clf64(backend="numba", **kw).fit(X, y)
    b = clf64(backend="reference", **kw).fit(X, y)
    np.testing.assert_allclose(a.params_, b.params_, **tol(np.float64, "epoch"))
    np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, **tol(np.float64, "epoch"))
    assert a.predict_proba(X).shape == (24, 3)


@pytest.mark.parametrize("backend", ["numba", "reference"])
def test_regressor_fits_real_targets(backend):
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (120, 3))
    y = np.column_stack([X @ [1.0, -2.0, 0.5], X[:, 0] - X[:, 2] + 0.3])
    m = MLPRegressor(hidden_layer_sizes=(16,), activation="tanh", epochs=20, learning_rate=0.02,
                     random_state=0, backend=backend, dtype="float64").fit(X, y)
    assert m.predict(X).shape == (120, 2) and m.score(X, y) > 0.95
    m1 = MLPRegressor(hidden_layer_sizes=(16,), activation="tanh", epochs=20,
                      learning_rate=0.02, random_state=0, backend=backend).fit(X, y[:, 0])
    assert m1.predict(X).shape == (120,) and m1.score(X, y[:, 0]) > 0.95


def test_regressor_kernels_equal_reference():
    X, y = regression(scale=0.1)
    kw = dict(hidden_layer_sizes=(6,), activation="sigmoid", epochs=3, learning_rate=0.01,
              alpha=1e-3, batch_size=3, random_state=0, dtype="float64")
    a = MLPRegressor(backend="numba", **kw).fit(X, y)
    b = MLPRegressor(backend="reference", **kw).fit(X, y)
    np.testing.assert_allclose(a.params_, b.params_, **tol(np.float64, "epoch"))
    np.testing.assert_allclose(a.predict(X), b.predict(X), **tol(np.float64, "epoch"))


@pytest.mark.parametrize("bad_fit", [
    lambda m: m.fit(X, np.where(Y == 2, 5, Y), validation_data=(X[:, :2], Y)),
    lambda m: m.fit(X, np.where(Y == 2, 5, Y), validation_data=(X, Y[:3])),
    lambda m: m.fit(X, np.where(Y == 2, 5, Y) + 0.5),
    lambda m: m.fit(X[:, :3], np.where(Y == 2, 5, Y), epoch_callback="print"),
    lambda m: m.set_params(validation_fraction=0.001).fit(X[:, :3], np.where(Y == 2, 5, Y)),
])
def test_a_refit_with_bad_data_leaves_the_fitted_model_intact(bad_fit):
    m = clf().fit(X, Y)
    before = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in vars(m).items()}
    with pytest.raises((ValueError, TypeError)):
        bad_fit(m)
    m.set_params(validation_fraction=0.0)
    assert set(vars(m)) == set(before)
    np.testing.assert_array_equal(m.params_, before["params_"])
    np.testing.assert_array_equal(m.classes_, before["classes_"])  # not [0, 1, 5]
    assert m.n_features_in_ == 4 and m.n_iter_ == before["n_iter_"]
    assert np.shares_memory(m.coefs_[0], m.params_)
    assert m.predict(X).shape == (30,)


def test_predict_without_cached_config_checks_the_architecture():
    m = clf().fit(X, Y)
    del m._settings  # e.g. state from an older pickle: the codes come from the hyperparameters
    m.set_params(hidden_layer_sizes=(5, 5))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(kernels, "predict", lambda *a: 1 / 0)
        with pytest.raises(ValueError, match=r"hidden_layer_sizes=\(5, 5\) does not match the "
                                             r"fitted network \(4, 5, 3\); refit"):
            m.predict(X)
    m.set_params(hidden_layer_sizes=(5,))
    assert m.predict(X).shape == (30,)
