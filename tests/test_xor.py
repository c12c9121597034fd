"""fastmlp/xor.py: the XOR demo's data, the write-up's network, kernels == reference on a
whole fit (`fastmlp xor` is tested in test_cli.py)."""


import numpy as np

from fastmlp.xor import DEFAULTS, make_xor, train_xor, xor_model
from helpers import tol


def test_make_xor_is_the_write_ups_data():
    X, y = make_xor()
    np.testing.assert_array_equal(X, np.random.RandomState(0).randn(300, 2))
    assert y.shape == (300,) and y.dtype == np.int64
    np.testing.assert_array_equal(y, (np.sign(X[:, 0]) != np.sign(X[:, 1])).astype(int))
    assert 100 < y.sum() < 200  # both classes well represented
    X2, _ = make_xor(n=50, seed=3)
    assert X2.shape == (50, 2) and not np.allclose(X2, X[:50])


def test_xor_model_is_the_write_ups_network():
    m = xor_model(hidden=3)
    assert m.hidden_layer_sizes == (3,)
    assert (m.activation, m.output_activation, m.loss, m.batch_size) == \
        ("sigmoid", "sigmoid", "squared_error", "full")
    assert m.alpha > 0 and m.dtype == "float64"
    m.set_params(epochs=1).fit(*make_xor())
    assert [W.shape for W in m.coefs_] == [(2, 3), (3, 2)]


def test_full_batch_xor_fit_numba_equals_reference():
    """A whole XOR fit (full batch, L2, sigmoid/sigmoid, squared error) through the kernels and
    through the NumPy reference: same weights, losses and accuracies to float64 rounding."""
    X, y = make_xor()
    runs = {}
    for backend in ("numba", "reference"):
        runs[backend] = train_xor(X, y, epochs=80, backend=backend)[0]
    a, b = runs["numba"], runs["reference"]
    np.testing.assert_allclose(a.params_, b.params_, **tol(np.float64, "epoch"))
    np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, **tol(np.float64, "epoch"))
    np.testing.assert_array_equal(a.accuracy_curve_, b.accuracy_curve_)
    assert a.loss_curve_[-1] < a.loss_curve_[0]  # it did learn something in 80 epochs
    assert not np.array_equal(a.params_, xor_model(epochs=1).fit(X, y).params_)


def test_default_xor_reaches_high_accuracy():
    X, y = make_xor()
    model, history = train_xor(X, y)
    assert model.n_iter_ == DEFAULTS["epochs"]
    assert model.score(X, y) >= 0.97
    assert history["accuracy"][0] < 0.9 and history["accuracy"][-1] >= 0.97
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert history["frames"] == []
    # the L2 term is part of the recorded loss
    penalty = 0.5 * DEFAULTS["alpha"] * sum(float((W ** 2).sum()) for W in model.coefs_)
    assert penalty > 0 and history["loss"][-1] > penalty


def test_small_2_3_2_network_learns_most_of_xor():
    X, y = make_xor()
    model, _ = train_xor(X, y, hidden=3)
    assert model.score(X, y) > 0.8


def test_frames_for_the_animation():
    X, y = make_xor()
    _, history = train_xor(X, y, epochs=100, frames=10, resolution=20)
    epochs = [e for e, _ in history["frames"]]
    assert epochs[0] == 1 and epochs[-1] == 100 and epochs == sorted(set(epochs))
    for _, proba in history["frames"]:
        assert proba.shape == (20, 20) and np.all((proba >= 0) & (proba <= 1))
    assert not np.allclose(history["frames"][0][1], history["frames"][-1][1])
