"""fastmlp/diagnostics.py: the per-epoch, per-layer numbers of diagnostics=True."""

import numpy as np
import pytest

from fastmlp import diagnostics, reference
from helpers import X, Y, clf, make_problem


@pytest.mark.parametrize("hidden,output,loss", [("relu", "softmax", "cross_entropy"),
                                                ("tanh", "sigmoid", "squared_error"),
                                                ("sigmoid", "softmax", "squared_error"),
                                                ("identity", "identity", "squared_error")])
def test_batch_gradient_is_the_mean_of_the_references_per_sample_gradients(hidden, output,
                                                                          loss):
    p = make_problem((5, 7, 4, 3), hidden=hidden, output=output, loss=loss, n=9)
    grads = np.zeros_like(p["params"])
    L = p["layout"].shape[0]
    for i in range(9):
        reference.network_forward(p["acts"], p["X"][i], p["params"], p["layout"],
                                  p["activations"])
        reference.loss_forward_backward(reference.layer_slice(p["dacts"], p["layout"], L - 1),
                                        reference.layer_slice(p["acts"], p["layout"], L - 1),
                                        p["Y"][i], p["activations"][-1], p["loss"])
        reference.network_backward(grads, p["dacts"], p["acts"], p["X"][i], p["params"],
                                   p["layout"], p["activations"])
    got, hidden_out = diagnostics.batch_gradients(p["params"], p["layout"], p["X"], p["Y"],
                                                  p["activations"], p["loss"])
    for l in range(L):
        expected = reference.layer_views(grads, p["layout"], l)[0] / 9
        np.testing.assert_allclose(got[l], expected, rtol=1e-10, atol=1e-12)
    assert [h.shape for h in hidden_out] == [(9, 7), (9, 4)]


def test_off_by_default_and_costs_nothing(monkeypatch):
    monkeypatch.setattr(diagnostics, "record", lambda *a: pytest.fail("computed"))
    m = clf().fit(X, Y)
    assert m.diagnostics_ == {}


def test_recorded_per_epoch_and_layer():
    m = clf(hidden_layer_sizes=(6, 5), epochs=3, diagnostics=True).fit(X, Y)
    d = m.diagnostics_
    assert set(d) == set(diagnostics.KEYS)
    assert [len(d[k]) for k in diagnostics.KEYS] == [3, 3, 3, 3]
    assert len(d["grad_norm"][0]) == 3 and len(d["inactive"][0]) == 2
    np.testing.assert_allclose(d["weight_norm"][-1], [np.linalg.norm(W) for W in m.coefs_],
                               rtol=1e-6)
    assert all(v > 0 for v in d["update_ratio"][0])
    m.partial_fit(X, Y)
    assert len(d["grad_norm"]) == 4


def test_update_ratio_is_the_epochs_relative_change():
    m = clf(epochs=1, diagnostics=True)
    m.fit(X, Y)
    before = [W.copy() for W in m.coefs_]
    m.partial_fit(X, Y)
    expected = [np.linalg.norm(a.astype(float) - b) / np.linalg.norm(b)
                for a, b in zip(m.coefs_, before)]
    np.testing.assert_allclose(m.diagnostics_["update_ratio"][-1], expected, rtol=1e-5)


def test_a_dead_relu_unit_is_counted():
    m = clf(hidden_layer_sizes=(4,), epochs=1, learning_rate=1e-6, diagnostics=True).fit(X, Y)
    m.coefs_[0][:, 0] = 0
    m.intercepts_[0][0] = -1.0  # unit 0 outputs 0 on every row: dead
    m.partial_fit(X, Y)
    assert m.diagnostics_["inactive"][-1] == [0.25]


def test_saturated_sigmoid_units_are_inactive():
    out = np.array([[1e-6, 0.5], [1 - 1e-6, 0.4]])
    from fastmlp.codes import SIGMOID
    assert diagnostics.inactive_fractions([out], np.array([SIGMOID, SIGMOID])) == [0.5]


def test_exploding_gradients_show_in_the_unstable_xor_preset():
    from fastmlp.xor import train_xor, xor_settings
    settings = xor_settings("50-neurons-unstable", epochs=600)
    _, history = train_xor(diagnostics=True, **settings)
    g = np.array(history["diagnostics"]["grad_norm"])[100:, 0]
    loss = np.array(history["loss"])[100:]
    # the loss climbs suddenly (more than doubles from one epoch to the next) ...
    jumps = np.flatnonzero(loss[1:] > 2 * loss[:-1])
    assert jumps.size > 0
    # ... when the gradient norm is several times its median
    assert g[jumps + 1].max() > 3 * np.median(g)


def test_validation_loss_per_epoch_only_with_diagnostics():
    seen = {True: [], False: []}
    for on in (True, False):
        clf(epochs=2, validation_fraction=0.3, diagnostics=on).fit(
            X, Y, epoch_callback=lambda m, info, on=on: seen[on].append(info))
    assert all(info["validation_loss"] > 0 for info in seen[True])
    assert all("validation_loss" not in info for info in seen[False])
    m = clf(epochs=2).fit(X, Y)
    p = m.predict_proba(X)
    assert m.data_loss(X, Y) == pytest.approx(-np.mean(np.log(p[np.arange(len(Y)), Y])),
                                              rel=1e-5)
