"""Divergence that does not break sweeps: by default a diverged fit keeps its last finite
weights, sets diverged_, warns (ConvergenceWarning) with remedies that fit the data, and scores
as the poor model it is; on_divergence='raise' raises DivergenceError (fastmlp/divergence.py)."""

import warnings

import numpy as np
import pytest

from fastmlp import ConvergenceWarning, DivergenceError, MLPClassifier, MLPRegressor, divergence
from helpers import balanced_blobs


def _standardised(X):
    return (X - X.mean(axis=0)) / X.std(axis=0)


def _fit(model, X, y, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(X, y, **kw)
    return [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]


def test_a_diverged_fit_warns_keeps_its_last_finite_weights_and_scores():
    X, y = balanced_blobs(n=60)
    fresh = MLPClassifier(hidden_layer_sizes=(8,), epochs=1, learning_rate=1e-30,
                          random_state=0, dtype="float64").fit(X, y)
    m = MLPClassifier(hidden_layer_sizes=(8,), learning_rate=1e30, epochs=5, random_state=0,
                      dtype="float64")
    found = _fit(m, X, y)
    assert len(found) == 1 and "diverged in epoch 1" in found[0] and "diverged_ is True" in found[0]
    assert m.diverged_ is True and m.n_iter_ == 0 and m.t_ == 0 and m.loss_curve_ == []
    # the weights of the start of epoch 1: the initial ones (a fit at a negligible rate)
    np.testing.assert_allclose(m.params_, fresh.params_, rtol=1e-12, atol=1e-20)
    assert 0 <= m.score(X, y) <= 1 and np.isfinite(m.predict_proba(X)).all()


def test_on_divergence_raise_keeps_the_exception():
    X, y = balanced_blobs(n=60)
    m = MLPClassifier(hidden_layer_sizes=(8,), learning_rate=1e30, epochs=5, random_state=0,
                      on_divergence="raise")
    with pytest.raises(DivergenceError, match="diverged in epoch 1") as info:
        m.fit(X, y)
    assert info.value.epoch == 1 and m.diverged_ is True and m.n_iter_ == 0


def test_diverged_is_false_after_a_healthy_fit_and_partial_fit():
    X, y = balanced_blobs(n=60)
    m = MLPClassifier(hidden_layer_sizes=(8,), epochs=2, random_state=0).fit(X, y)
    assert m.diverged_ is False
    m.set_params(learning_rate=1e30)
    with pytest.warns(ConvergenceWarning, match="diverged"):
        m.partial_fit(X, y)
    assert m.diverged_ is True and m.n_iter_ == 2
    m.set_params(learning_rate=0.01).partial_fit(X, y)
    assert m.diverged_ is False and m.n_iter_ == 3


def test_the_remedies_fit_the_data():
    X, y = balanced_blobs(n=60)
    Xs = _standardised(X)
    found = _fit(MLPClassifier(hidden_layer_sizes=(8,), learning_rate=1e30, random_state=0),
                 Xs, y)
    assert "lower learning_rate (it was 1e+30)" in found[0]
    assert "[0, 1]" not in found[0] and "scale" not in found[0]  # X is standardised already
    # raw inputs far from unit scale, kept as they are: scaling them is a remedy
    raw = _fit(MLPClassifier(hidden_layer_sizes=(8,), learning_rate=1e30, random_state=0,
                             scale_inputs=False), Xs * 1000, y)
    assert "scale_inputs=True" in raw[0] and "[0, 1]" not in raw[0]
    # momentum and squared error have remedies of their own
    mom = _fit(MLPClassifier(hidden_layer_sizes=(8,), learning_rate=1e30, momentum=0.9,
                             random_state=0), Xs, y)
    assert "less momentum (it was 0.9)" in mom[0]
    reg = _fit(MLPRegressor(hidden_layer_sizes=(8,), learning_rate=1e30, clip_value=0.0,
                            random_state=0), Xs, Xs[:, 0] * 100)
    assert "targets y scaled" in reg[0]


def test_the_decision_is_one_function():
    X, y = balanced_blobs(n=30)
    m = MLPClassifier(hidden_layer_sizes=(4,), epochs=1, random_state=0).fit(X, y)
    err = DivergenceError("Training diverged (test)", epoch=1, sample=0)
    with pytest.warns(ConvergenceWarning, match=r"Training diverged \(test\)"):
        divergence.settle(m, m._resolve(), err)
    assert m.diverged_ is True
    with pytest.raises(DivergenceError):
        divergence.settle(m, m.set_params(on_divergence="raise")._resolve(), err)


def test_grid_search_over_learning_rates_finishes_without_failed_fits():
    sklearn = pytest.importorskip("sklearn")  # noqa: F841
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import GridSearchCV
    X, y = load_breast_cancer(return_X_y=True)
    X = _standardised(X)
    grid = GridSearchCV(MLPClassifier(hidden_layer_sizes=(32,), random_state=0),
                        {"learning_rate": [0.001, 0.01, 0.1, 1.0]}, cv=3,
                        error_score="raise")  # a failed fit raises here
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        grid.fit(X, y)
    scores = grid.cv_results_["mean_test_score"]
    assert np.isfinite(scores).all() and grid.best_params_["learning_rate"] < 1.0
    assert max(scores) > 0.95 and scores[-1] < 0.9  # the diverged rate scores poorly
    assert any("diverged" in str(w.message) for w in caught)
