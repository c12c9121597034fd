"""fastmlp.check_gradients: backprop (reference and kernels) vs central finite differences."""

import sys
import types

import numpy as np
import pytest

import fastmlp
from fastmlp import MLPClassifier, MLPRegressor, backends, kernels, reference
from fastmlp.gradcheck import GradientCheckError, analytic_gradient, check_gradients, objective
from fastmlp.layout import coef_views
from helpers import VALID_OUTPUTS


def data(n=12, n_features=3, n_classes=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, n_features))
    return X, np.arange(n) % n_classes


@pytest.mark.parametrize("output,loss", VALID_OUTPUTS)
@pytest.mark.parametrize("hidden", ["sigmoid", "tanh", "identity", "relu"])
def test_backprop_matches_finite_differences(hidden, output, loss):
    X, y = data()
    m = MLPClassifier(hidden_layer_sizes=(5, 4), activation=hidden, output_activation=output,
                      loss=loss, alpha=0.05, random_state=1)
    report = check_gradients(m, X, y)
    assert report["passed"] and report["max_relative_error"] < 1e-6
    assert {r["backend"] for r in report["layers"]} == {"reference", "numba"}
    assert len(report["layers"]) == 2 * 3
    assert report["n_checked"] == report["n_params"] == 3 * 5 + 5 + 5 * 4 + 4 + 4 * 3 + 3


def test_exported_and_regressor_and_fitted_float32_model():
    assert fastmlp.check_gradients is check_gradients
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (15, 2))
    y = np.column_stack([X[:, 0] * X[:, 1], X[:, 0] - X[:, 1]])
    m = MLPRegressor(hidden_layer_sizes=(6,), activation="tanh", alpha=0.2, epochs=3,
                     random_state=0).fit(X, y)
    before = m.params_.copy()
    report = check_gradients(m, X, y)
    assert report["max_relative_error"] < 1e-6
    np.testing.assert_array_equal(m.params_, before)  # the model is untouched
    assert m.params_.dtype == np.float32


def test_unfitted_model_stays_unfitted():
    X, y = data()
    m = MLPClassifier(hidden_layer_sizes=(3,), activation="tanh", random_state=0)
    check_gradients(m, X, y)
    assert not hasattr(m, "params_")


def _problem(alpha):
    X, y = data()
    m = MLPClassifier(hidden_layer_sizes=(4,), activation="sigmoid", alpha=alpha, random_state=0,
                      dtype="float64", epochs=1).fit(X, y)
    Y = np.eye(3)[y]
    return m, X, Y, m._settings.activation_codes, m._settings.loss_code


@pytest.mark.parametrize("backend", [reference, kernels], ids=["reference", "numba"])
def test_l2_gradient_is_alpha_w_and_biases_are_not_penalised(backend):
    alpha = 0.37
    m, X, Y, acts, loss = _problem(alpha)
    p = m.params_.copy()
    g_alpha = analytic_gradient(p, m.layout_, X, Y, acts, loss, alpha, backend)
    g_zero = analytic_gradient(p, m.layout_, X, Y, acts, loss, 0.0, backend)
    dW, db = coef_views(g_alpha - g_zero, m.layout_)
    W, _ = coef_views(p, m.layout_)
    for l in range(len(W)):
        np.testing.assert_allclose(dW[l], alpha * W[l], rtol=1e-12, atol=1e-14)
        np.testing.assert_array_equal(db[l], 0)
    # and the penalised objective: + 0.5 * alpha * sum(W**2), biases excluded
    f_alpha = objective(p, m.layout_, X, Y, acts, loss, alpha, backend)
    f_zero = objective(p, m.layout_, X, Y, acts, loss, 0.0, backend)
    assert f_alpha - f_zero == pytest.approx(0.5 * alpha * sum((w ** 2).sum() for w in W),
                                             rel=1e-12)


def test_l2_gradient_against_finite_differences_of_the_penalised_loss():
    alpha = 0.5
    m, X, Y, acts, loss = _problem(alpha)
    p = m.params_.copy()
    eps = 1e-6
    num = np.zeros_like(p)
    for k in range(p.shape[0]):
        q = p.copy()
        q[k] += eps
        up = objective(q, m.layout_, X, Y, acts, loss, alpha)
        q[k] -= 2 * eps
        num[k] = (up - objective(q, m.layout_, X, Y, acts, loss, alpha)) / (2 * eps)
    for backend in (reference, kernels):
        np.testing.assert_allclose(analytic_gradient(p, m.layout_, X, Y, acts, loss, alpha,
                                                     backend), num, rtol=1e-6, atol=1e-8)


def test_a_wrong_gradient_is_caught(monkeypatch):
    """A backend that also penalises the biases (a classic bug) fails the check."""
    def biased_sgd_update(params, grads, layout, scale, lr, alpha, l1, clip_value, clip_norm):
        reference.sgd_update(params, grads, layout, scale, lr, alpha, l1, clip_value, clip_norm)
        for l in range(layout.shape[0]):
            _, gb = reference.layer_views(grads, layout, l)
            _, b = reference.layer_views(params, layout, l)
            gb += alpha * (b + lr * gb)  # alpha * b of the bias before the update
    broken = types.SimpleNamespace(**{k: getattr(reference, k) for k in dir(reference)
                                      if not k.startswith("_")})
    broken.sgd_update = biased_sgd_update
    monkeypatch.setitem(sys.modules, "broken_backend", broken)
    monkeypatch.setitem(backends.BACKENDS, "broken", "broken_backend")
    X, y = data()
    m = MLPClassifier(hidden_layer_sizes=(4,), activation="tanh", alpha=0.5, epochs=3,
                      learning_rate=0.1, random_state=0).fit(X, y)  # non-zero biases
    assert check_gradients(m, X, y, backends=("reference",))["passed"]
    with pytest.raises(GradientCheckError, match="intercepts"):
        check_gradients(m, X, y, backends=("broken",))
    report = check_gradients(m, X, y, backends=("broken",), raise_on_failure=False)
    assert not report["passed"]
    bad = [r for r in report["layers"] if r["intercepts"] > 1e-3]
    assert bad and all(r["coefs"] < 1e-6 for r in report["layers"])


def test_subset_of_parameters_for_big_networks():
    X, y = data(n=4, n_features=30)
    m = MLPClassifier(hidden_layer_sizes=(20,), activation="tanh", random_state=0)
    report = check_gradients(m, X, y, max_params=50)
    assert report["n_checked"] == 50 and report["n_params"] == 30 * 20 + 20 + 20 * 3 + 3
    assert report["passed"]
    with pytest.raises(ValueError, match="backend"):
        check_gradients(m, X, y, backends=("gpu",))
