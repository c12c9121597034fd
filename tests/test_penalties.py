"""L1 and elastic net: ``penalty="l1" | "elasticnet"`` (scikit-learn SGDClassifier's names).

The weight-decay gradient term is ``alpha * W + l1 * sign(W)`` (sign(0) = 0; biases never
penalised), in the reference and the kernels alike; the kernels equal the reference under the
tolerance table; the penalised objective's gradient agrees with finite differences away from 0;
a weight at exactly 0 with no data gradient stays put under pure L1.
"""

import json

import numpy as np
import pytest

import fastmlp
from fastmlp import cli, kernels, reference
from fastmlp.gradcheck import analytic_gradient, objective
from fastmlp.layout import coef_views
from fastmlp.training import weight_penalty
from helpers import X, Y, clf, make_problem, run_epoch, tol

DTYPES = [np.float64, np.float32]

# sizes, hidden, output, loss, n, batch_size, (alpha, l1), clip_value, clip_norm
CASES = [
    ((6, 8, 3), "relu", "softmax", "cross_entropy", 20, 1, (0.0, 0.01), 0.0, 0.0),
    ((6, 8, 3), "relu", "softmax", "cross_entropy", 20, 1, (0.005, 0.003), 0.0, 0.0),
    ((6, 8, 3), "tanh", "sigmoid", "squared_error", 20, 1, (0.0, 0.02), 0.05, 0.0),
    ((6, 8, 3), "relu", "softmax", "cross_entropy", 20, 1, (0.0, 0.01), 0.0, 0.5),
    ((6, 8, 5, 3), "relu", "softmax", "cross_entropy", 23, 4, (0.0, 0.01), 0.0, 0.0),
    ((6, 8, 5, 3), "relu", "softmax", "cross_entropy", 23, 4, (0.004, 0.002), 0.1, 0.0),
    ((6, 8, 3), "sigmoid", "softmax", "squared_error", 17, 17, (0.0, 0.05), 0.0, 1.0),
    ((6, 7, 3), "relu", "identity", "squared_error", 21, 5, (0.01, 0.01), 0.02, 2.0),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_train_epoch_with_l1_and_elasticnet_kernels_equal_reference(case, dtype):
    sizes, hidden, output, loss, n, B, (alpha, l1), clip_value, clip_norm = case
    p = make_problem(sizes, hidden, output, loss, dtype=dtype, n=n, sparse=True)
    order = np.random.default_rng(3).permutation(n)
    order = np.concatenate([order, order[::-1]])  # two passes: weights that cross 0 and back
    (rl, rc, rn), ref = run_epoch(reference, p, order, 0.05, alpha, clip_value, clip_norm, B,
                                  l1=l1)
    (cl, cc, cn), comp = run_epoch(kernels, p, order, 0.05, alpha, clip_value, clip_norm, B,
                                   l1=l1)
    assert (cn, cc) == (rn, rc) == (len(order), rc)
    np.testing.assert_allclose(comp["params"], ref["params"], **tol(dtype, "epoch"))
    assert cl == pytest.approx(rl, rel=1e-4 if dtype == np.float32 else 1e-10)
    # the penalty did something: not the same as training without it
    (_, _, _), plain = run_epoch(reference, p, order, 0.05, alpha, clip_value, clip_norm, B)
    assert not np.allclose(plain["params"], ref["params"], rtol=0, atol=1e-7)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("l1,clip_value", [(0.01, 0.0), (0.2, 0.05)])
def test_one_fused_step_and_sgd_update_with_l1_equal_reference(dtype, l1, clip_value):
    rng = np.random.default_rng(5)
    t = np.dtype(dtype).type
    W = rng.standard_normal((9, 6)).astype(dtype)
    W[2, 3] = 0  # sign(0) = 0
    b = rng.standard_normal(6).astype(dtype)
    x = rng.standard_normal(9).astype(dtype)
    x[[1, 4]] = 0
    out = rng.uniform(0.05, 0.95, 6).astype(dtype)
    dout = rng.standard_normal(6).astype(dtype)
    results = []
    for backend in (reference, kernels):
        args = [np.zeros(9, dtype), dout.copy(), out, x, W.copy(), b.copy()]
        backend.dense_backward_sgd(*args, 2, t(0.1), t(0.001), t(l1), t(clip_value))
        results.append(args)
    for r, c in zip(*results):
        np.testing.assert_allclose(c, r, **tol(dtype))
    # the reference's step is exactly W - lr * clip(x (x) dz + alpha W + l1 sign(W))
    dz = dout * out * (1 - out)
    g = np.outer(x, dz) + t(0.001) * W + t(l1) * np.sign(W)
    g = np.clip(g, -clip_value, clip_value) if clip_value else g
    np.testing.assert_allclose(results[0][4], W - t(0.1) * g, **tol(dtype))
    p = make_problem((5, 4, 3), dtype=dtype)
    grads = rng.standard_normal(p["params"].shape).astype(dtype)
    done = []
    for backend in (reference, kernels):
        q, gq = p["params"].copy(), grads.copy()
        backend.sgd_update(q, gq, p["layout"], t(0.25), t(0.1), t(0.01), t(l1), t(clip_value),
                           t(0))
        done.append((q, gq))
    np.testing.assert_allclose(done[1][0], done[0][0], **tol(dtype))
    np.testing.assert_allclose(done[1][1], done[0][1], **tol(dtype))


@pytest.mark.parametrize("backend", [reference, kernels], ids=["reference", "numba"])
@pytest.mark.parametrize("batch_size", [1, 3])
def test_a_zero_weight_with_no_data_gradient_stays_put_under_pure_l1(backend, batch_size):
    """Input feature 0 is always 0, so row 0 of W0 gets no data gradient: under pure L1 its
    zeros stay exactly 0 (sign(0) = 0), its non-zero weights move towards 0 by lr * l1 per
    step, and the biases get no penalty."""
    p = make_problem((4, 6, 3), "relu", dtype=np.float64, n=12)
    p["X"][:, 0] = 0
    W0, _ = coef_views(p["params"], p["layout"])[0][0], None
    W0[0, :3] = 0
    W0[0, 3:] = [0.5, -0.5, 0.2]
    lr, l1 = 0.05, 0.01
    order = np.arange(12)
    _, q = run_epoch(backend, p, order, lr, 0.0, 0.0, 0.0, batch_size, l1=l1)
    row = coef_views(q["params"], q["layout"])[0][0][0]
    steps = 12 // batch_size
    assert np.all(row[:3] == 0)
    np.testing.assert_allclose(row[3:], [0.5 - steps * lr * l1, -0.5 + steps * lr * l1,
                                         0.2 - steps * lr * l1], rtol=0, atol=1e-12)


@pytest.mark.parametrize("hidden", ["tanh", "sigmoid"])
def test_l1_gradient_agrees_with_finite_differences_away_from_zero(hidden):
    model = fastmlp.MLPClassifier(hidden_layer_sizes=(5,), activation=hidden, alpha=0.05,
                                  penalty="elasticnet", l1_ratio=0.6, random_state=2,
                                  dtype="float64")
    Xs, ys = np.random.default_rng(0).standard_normal((12, 4)), np.arange(12) % 3
    report = fastmlp.check_gradients(model, Xs, ys)  # raises above 1e-6
    assert report["max_relative_error"] < 1e-6
    l1_only = fastmlp.check_gradients(model.set_params(penalty="l1"), Xs, ys)
    assert l1_only["passed"]


def test_the_l1_term_is_l1_sign_w_and_biases_are_not_penalised():
    m = fastmlp.MLPClassifier(hidden_layer_sizes=(4,), activation="tanh", dtype="float64",
                              random_state=0).fit(X, Y)
    layout, p = m.layout_, m.params_.copy()
    Ymat = np.eye(3)[Y]
    acts, loss = m._settings.activation_codes, m._settings.loss_code
    g0 = analytic_gradient(p, layout, X, Ymat, acts, loss, 0.0)
    g1 = analytic_gradient(p, layout, X, Ymat, acts, loss, 0.0, l1=0.3)
    dW, db = coef_views(g1 - g0, layout)
    W, _ = coef_views(p, layout)
    for l in range(len(W)):
        np.testing.assert_allclose(dW[l], 0.3 * np.sign(W[l]), rtol=1e-12, atol=1e-14)
        np.testing.assert_array_equal(db[l], 0)
    f0 = objective(p, layout, X, Ymat, acts, loss, 0.0)
    f1 = objective(p, layout, X, Ymat, acts, loss, 0.0, l1=0.3)
    assert f1 - f0 == pytest.approx(0.3 * sum(np.abs(w).sum() for w in W), rel=1e-10)


@pytest.mark.parametrize("penalty", ["l1", "elasticnet"])
@pytest.mark.parametrize("batch_size", [1, 4])
def test_whole_fits_with_l1_equal_across_backends_and_record_the_penalty(penalty, batch_size):
    kw = dict(alpha=1e-2, penalty=penalty, l1_ratio=0.5, batch_size=batch_size,
              dtype="float64", epochs=3)
    a = clf(**kw).fit(X, Y)
    b = clf(backend="reference", **kw).fit(X, Y)
    np.testing.assert_allclose(a.params_, b.params_, **tol(np.float64, "epoch"))
    np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, **tol(np.float64, "epoch"))
    s = a._resolve()
    penalty_now = weight_penalty(a.coefs_, s.l2, s.l1)
    expected = (0.5 * s.l2 * sum((W ** 2).sum() for W in a.coefs_)
                + s.l1 * sum(np.abs(W).sum() for W in a.coefs_))
    assert penalty_now == pytest.approx(expected, rel=1e-12) and penalty_now > 0
    assert a.loss_curve_[-1] > penalty_now
    plain = clf(**dict(kw, alpha=0.0)).fit(X, Y)
    assert not np.allclose(plain.params_, a.params_)


def test_l1_shrinks_unneeded_weights_more_than_l2():
    """Noise features: L1 drives their first-layer weights much closer to 0 than L2 does
    at the same strength."""
    rng = np.random.default_rng(0)
    Xn = np.hstack([X, rng.standard_normal((len(X), 6)) * 0.1])
    kw = dict(hidden_layer_sizes=(8,), epochs=60, learning_rate=0.05, alpha=0.02,
              dtype="float64", random_state=0)
    l1 = fastmlp.MLPClassifier(penalty="l1", **kw).fit(Xn, Y)
    l2 = fastmlp.MLPClassifier(penalty="l2", **kw).fit(Xn, Y)
    noise = lambda m: np.abs(m.coefs_[0][4:]).mean()
    assert noise(l1) < 0.5 * noise(l2)


def test_cli_penalty_and_l1_ratio(capsys):
    assert cli.main(["train", "--train-samples", "300", "--epochs", "1", "--hidden", "8",
                     "--alpha", "1e-4", "--penalty", "elasticnet", "--l1-ratio", "0.3",
                     "--quiet", "--json"]) == 0
    cfg = json.loads(capsys.readouterr().out)["config"]
    assert (cfg["penalty"], cfg["l1_ratio"], cfg["alpha"]) == ("elasticnet", 0.3, 1e-4)
    assert cli.main(["xor", "--no-plots", "--json", "--epochs", "30", "--penalty", "l1",
                     "--alpha", "1e-3"]) == 0
    assert json.loads(capsys.readouterr().out)["config"]["penalty"] == "l1"


def test_l1_model_saves_and_loads(tmp_path):
    m = clf(alpha=1e-3, penalty="elasticnet", l1_ratio=0.4).fit(X, Y)
    same = fastmlp.load(m.save(tmp_path / "m.npz"))
    assert (same.penalty, same.l1_ratio) == ("elasticnet", 0.4)
    np.testing.assert_array_equal(same.predict(X), m.predict(X))
