"""The estimator: conventions, repeatability, continuing from weights, backends agree, save/load."""

import numpy as np
import pytest

import fastmlp
from fastmlp import MLPClassifier, MLPRegressor
from helpers import tol


def blobs(n=120, n_features=6, n_classes=3, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((n_classes, n_features)) * 3
    y = rng.integers(0, n_classes, n)
    X = centers[y] + rng.standard_normal((n, n_features))
    return X, y


def small(**kw):
    params = dict(hidden_layer_sizes=(16, 8), epochs=3, learning_rate=0.05, random_state=0)
    params.update(kw)
    return MLPClassifier(**params)


def test_init_only_stores_hyperparameters():
    m = MLPClassifier(hidden_layer_sizes=(5,), learning_rate=-1, activation="nope")
    assert m.learning_rate == -1 and m.activation == "nope"  # validated in fit, not here
    assert not hasattr(m, "coefs_")


def test_defaults_are_the_reference_workload():
    m = MLPClassifier()
    assert (m.hidden_layer_sizes, m.activation, m.learning_rate, m.epochs, m.batch_size,
            m.dtype, m.backend) == ((200, 200), "relu", 0.01, 3, 1, "float32", "numba")


def test_fit_returns_self_and_sets_fitted_state():
    X, y = blobs()
    m = small()
    assert m.fit(X, y) is m
    assert [c.shape for c in m.coefs_] == [(6, 16), (16, 8), (8, 3)]
    assert [b.shape for b in m.intercepts_] == [(16,), (8,), (3,)]
    assert m.n_features_in_ == 6 and m.n_iter_ == 3 and len(m.loss_curve_) == 3
    np.testing.assert_array_equal(m.classes_, [0, 1, 2])
    assert m.score(X, y) > 0.9
    assert m.loss_curve_[-1] < m.loss_curve_[0]


def test_coefs_are_views_of_the_trained_parameters():
    X, y = blobs()
    m = small(epochs=1).fit(X, y)
    for W in m.coefs_ + m.intercepts_:
        assert np.shares_memory(W, m.params_)
    m.coefs_[0][:] = 0  # an in-place edit takes effect in the next prediction:
    m.intercepts_[0][:] = 0  # the first hidden layer now outputs 0 for every input
    assert np.all(m.params_[:6 * 16 + 16] == 0)
    proba = m.predict_proba(X[:5])
    np.testing.assert_array_equal(proba, np.repeat(proba[:1], 5, axis=0))


def test_same_random_state_gives_identical_weights():
    X, y = blobs()
    a = small().fit(X, y).params_
    b = small().fit(X, y).params_
    c = small(random_state=1).fit(X, y).params_
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_refit_starts_afresh():
    X, y = blobs()
    m = small()
    first = m.fit(X, y).params_.copy()
    np.testing.assert_array_equal(m.fit(X, y).params_, first)
    assert m.n_iter_ == 3


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("batch_size", [1, 5, "full"])
def test_numba_and_reference_backends_agree_on_whole_fits(dtype, batch_size):
    X, y = blobs(n=40)
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
    X, y = blobs()
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
    X, y = blobs()
    a = small(epochs=2).fit(X, y)
    b = small(epochs=2)
    b.partial_fit(X, y, classes=[0, 1, 2])
    b.partial_fit(X, y)
    np.testing.assert_array_equal(a.params_, b.params_)


def test_string_labels():
    X, y = blobs()
    names = np.array(["cat", "dog", "emu"])[y]
    m = small().fit(X, names)
    assert set(m.predict(X)) <= {"cat", "dog", "emu"}
    assert m.score(X, names) > 0.9
    np.testing.assert_allclose(m.predict_proba(X).sum(axis=1), 1, rtol=1e-5)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_save_load_round_trip_is_exact(tmp_path, dtype):
    X, y = blobs()
    m = small(dtype=dtype).fit(X, np.array(["a", "b", "c"])[y])
    path = m.save(tmp_path / "model.npz")
    loaded = fastmlp.load(path)
    assert type(loaded) is MLPClassifier
    np.testing.assert_array_equal(loaded.params_, m.params_)
    np.testing.assert_array_equal(loaded.predict_proba(X), m.predict_proba(X))
    np.testing.assert_array_equal(loaded.classes_, m.classes_)
    assert loaded.get_params() == m.get_params()
    loaded.partial_fit(X, np.array(["a", "b", "c"])[y])  # and it trains on
    assert loaded.n_iter_ == m.n_iter_ + 1


def test_regressor_save_load(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (200, 2))
    y = np.sin(2 * X[:, 0]) + X[:, 1] ** 2
    m = MLPRegressor(hidden_layer_sizes=(32,), activation="tanh", epochs=30,
                     learning_rate=0.02, random_state=0).fit(X, y)
    assert m.predict(X).shape == (200,)
    assert m.score(X, y) > 0.8
    loaded = fastmlp.load(m.save(tmp_path / "reg"))
    np.testing.assert_array_equal(loaded.predict(X), m.predict(X))


def test_backends_are_the_modules_they_name():
    from fastmlp import kernels, reference
    from fastmlp.backends import get_backend
    assert get_backend("reference") is reference and get_backend("numba") is kernels


class _OrderSpy:
    """Stands in for a backend: records the sample order of every train_epoch call."""

    def __init__(self, real):
        self.real, self.orders = real, []

    def __getattr__(self, name):
        return getattr(self.real, name)

    def train_epoch(self, *args):
        self.orders.append(np.array(args[6]))
        return self.real.train_epoch(*args)


@pytest.mark.parametrize("shuffle", [True, False])
def test_shuffle_visits_a_new_permutation_every_epoch_and_no_shuffle_visits_in_order(
        shuffle, monkeypatch):
    from fastmlp import kernels, training
    spy = _OrderSpy(kernels)
    monkeypatch.setattr(training, "get_backend", lambda name: spy)
    X, y = blobs(n=50)
    small(epochs=3, shuffle=shuffle, chunk_size=10**6).fit(X, y)
    assert len(spy.orders) == 3
    for order in spy.orders:
        assert sorted(order.tolist()) == list(range(50))  # every sample once per epoch
    if shuffle:
        assert all(not np.array_equal(o, np.arange(50)) for o in spy.orders)
        assert not np.array_equal(spy.orders[0], spy.orders[1])
        assert not np.array_equal(spy.orders[1], spy.orders[2])
    else:
        assert all(np.array_equal(o, np.arange(50)) for o in spy.orders)


@pytest.mark.parametrize("backend", ["numba", "reference"])
def test_loss_curve_is_the_mean_loss_plus_the_l2_penalty(backend):
    """With a learning rate too small to move the weights, one full-batch epoch records exactly
    the penalised objective of the starting weights."""
    from fastmlp.gradcheck import objective
    X, y = blobs(n=40)
    alpha = 0.5
    m0 = small(epochs=1, learning_rate=1e-300, dtype="float64", backend=backend,
               batch_size="full", shuffle=False, alpha=alpha).fit(X, y)
    Y = np.zeros((len(y), 3))
    Y[np.arange(len(y)), np.searchsorted(m0.classes_, y)] = 1
    expected = objective(m0.params_, m0.layout_, X, Y, m0._settings.activation_codes, m0._settings.loss_code,
                         alpha)
    plain = objective(m0.params_, m0.layout_, X, Y, m0._settings.activation_codes, m0._settings.loss_code, 0)
    assert expected - plain > 0.1  # the penalty is a visible part of it
    assert m0.loss_curve_[0] == pytest.approx(expected, rel=1e-12)
