"""The solvers (SGD with momentum / Nesterov momentum, Adam) in the reference and the kernels.

The reference against steps computed by hand and against invariants (momentum 0 is plain SGD,
Adam's first step moves every parameter with a gradient by about lr, Adam's step ignores the
scale of the loss, the step counter counts optimizer steps); then the kernels against the
reference for every solver x nesterov x batch size x dtype x penalty x clipping x sample weight.
"""

import itertools

import numpy as np
import pytest

from fastmlp import kernels, reference
from fastmlp.codes import ADAM, SGD
from fastmlp.layout import make_layout
from helpers import make_problem, run_epoch, tol

DTYPES = [np.float64, np.float32]


def small_state(dtype=np.float64, seed=0):
    """params and a gradient for a (3, 2) network: 6 weights then 2 biases."""
    layout, n_params, _ = make_layout((3, 2))
    rng = np.random.default_rng(seed)
    params = rng.standard_normal(n_params).astype(dtype)
    grads = rng.standard_normal(n_params).astype(dtype)
    return layout, params, grads


def update(backend, params, grads, velocity, sq_avg, step, layout, lr=0.1, scale=1.0,
           alpha=0.0, l1=0.0, clip_value=0.0, clip_norm=0.0, solver=SGD, momentum=0.9,
           nesterov=True, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
    t = params.dtype.type
    backend.optimizer_update(params, grads, velocity, sq_avg, step, layout, t(scale), t(lr),
                             t(alpha), t(l1), t(clip_value), t(clip_norm), solver, t(momentum),
                             nesterov, t(beta_1), t(beta_2), t(epsilon))


# ------------------------------------------------------------------ the reference by hand


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_steps_by_hand(nesterov):
    layout, p0, g0 = small_state()
    _, _, g1 = small_state(seed=1)
    lr, mu = 0.1, 0.9
    p, v = p0.copy(), np.zeros_like(p0)
    update(reference, p, g0.copy(), v, None, None, layout, lr=lr, momentum=mu,
           nesterov=nesterov)
    update(reference, p, g1.copy(), v, None, None, layout, lr=lr, momentum=mu,
           nesterov=nesterov)
    for k in range(p0.shape[0]):  # scalar arithmetic, number by number
        v1 = -lr * g0[k]
        q1 = p0[k] + (mu * v1 - lr * g0[k] if nesterov else v1)
        v2 = mu * v1 - lr * g1[k]
        q2 = q1 + (mu * v2 - lr * g1[k] if nesterov else v2)
        assert v[k] == pytest.approx(v2, rel=1e-14)
        assert p[k] == pytest.approx(q2, rel=1e-14)


def test_adam_steps_by_hand():
    layout, p0, g0 = small_state()
    _, _, g1 = small_state(seed=1)
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    p, m, s, t = p0.copy(), np.zeros_like(p0), np.zeros_like(p0), np.zeros(1, np.int64)
    update(reference, p, g0.copy(), m, s, t, layout, lr=lr, solver=ADAM)
    update(reference, p, g1.copy(), m, s, t, layout, lr=lr, solver=ADAM)
    assert t[0] == 2
    for k in range(p0.shape[0]):
        q, mk, sk = p0[k], 0.0, 0.0
        for step, g in ((1, g0[k]), (2, g1[k])):
            mk = b1 * mk + (1 - b1) * g
            sk = b2 * sk + (1 - b2) * g * g
            q -= lr * np.sqrt(1 - b2 ** step) / (1 - b1 ** step) * mk / (np.sqrt(sk) + eps)
        assert m[k] == pytest.approx(mk, rel=1e-12)
        assert s[k] == pytest.approx(sk, rel=1e-12)
        assert p[k] == pytest.approx(q, rel=1e-12)


@pytest.mark.parametrize("backend", [reference, kernels], ids=["reference", "kernels"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("alpha,l1,clip_value,clip_norm", [(0, 0, 0, 0), (0.1, 0.05, 0.5, 1.0)])
def test_momentum_zero_is_plain_sgd(backend, dtype, alpha, l1, clip_value, clip_norm):
    layout, p0, g0 = small_state(dtype)
    t = np.dtype(dtype).type
    a, ga = p0.copy(), g0.copy()
    backend.sgd_update(a, ga, layout, t(0.5), t(0.1), t(alpha), t(l1), t(clip_value),
                       t(clip_norm))
    for nesterov in (False, True):
        b, gb, v = p0.copy(), g0.copy(), np.zeros_like(p0)
        update(backend, b, gb, v, np.zeros(0, dtype), np.zeros(0, np.int64), layout, lr=0.1,
               scale=0.5, alpha=alpha, l1=l1, clip_value=clip_value, clip_norm=clip_norm,
               momentum=0.0, nesterov=nesterov)
        np.testing.assert_array_equal(b, a)
        np.testing.assert_array_equal(gb, ga)  # the same step gradient left in grads


@pytest.mark.parametrize("dtype", DTYPES)
def test_adam_first_step_moves_every_parameter_with_a_gradient_by_about_lr(dtype):
    layout, p0, g0 = small_state(dtype)
    g0[[1, 6]] = 0  # a weight and a bias without gradient stay put
    p, lr = p0.copy(), 0.01
    update(reference, p, g0.copy(), np.zeros_like(p), np.zeros_like(p), np.zeros(1, np.int64),
           layout, lr=lr, solver=ADAM)
    moved = p - p0
    np.testing.assert_array_equal(moved[[1, 6]], 0)
    others = np.ones(p.shape[0], bool)
    others[[1, 6]] = False
    np.testing.assert_allclose(np.abs(moved[others]), lr, rtol=1e-4)
    assert (np.sign(moved[others]) == -np.sign(g0[others])).all()


def test_adam_steps_ignore_the_scale_of_the_loss():
    """Weights 100 on every sample (an unnormalised loss 100x larger) give Adam the same steps
    up to epsilon; plain SGD's would be 100x larger."""
    p = make_problem((6, 5, 3), dtype=np.float64, n=12, seed=3)
    order = np.arange(12)
    # a tiny epsilon: it is the only term that does not scale with the gradient
    _, a = run_epoch(reference, p, order, 0.01, batch_size=4, solver="adam", epsilon=1e-14)
    _, b = run_epoch(reference, p, order, 0.01, batch_size=4, solver="adam", epsilon=1e-14,
                     sample_weight=np.full(12, 100.0))
    np.testing.assert_allclose(b["params"], a["params"], rtol=1e-9, atol=1e-12)
    _, c = run_epoch(reference, p, order, 0.01, batch_size=4, solver="adam")
    assert np.abs(c["params"] - a["params"]).max() > 1e-7  # epsilon does matter
    assert a["step"][0] == 3


@pytest.mark.parametrize("backend", [reference, kernels], ids=["reference", "kernels"])
@pytest.mark.parametrize("n,batch_size,steps", [(10, 3, 4), (10, 1, 10), (10, 10, 1)])
def test_the_adam_step_counter_counts_optimizer_steps_across_calls(backend, n, batch_size,
                                                                   steps):
    p = make_problem((4, 3, 2), n=n)
    _, q = run_epoch(backend, p, np.arange(n), 0.01, batch_size=batch_size, solver="adam")
    assert q["step"][0] == steps
    _, q2 = run_epoch(backend, q, np.arange(n), 0.01, batch_size=batch_size, solver="adam")
    assert q2["step"][0] == 2 * steps


@pytest.mark.parametrize("backend", [reference, kernels], ids=["reference", "kernels"])
def test_momentum_first_step_nesterov_is_one_plus_mu_times_plain(backend):
    """From zero velocity, classic momentum's first step is plain SGD's; Nesterov's is
    (1 + mu) times it."""
    p = make_problem((5, 4, 3), n=1, seed=2)
    order = np.zeros(1, np.int64)
    _, plain = run_epoch(backend, p, order, 0.05)
    _, classic = run_epoch(backend, p, order, 0.05, momentum=0.9, nesterov=False)
    _, nest = run_epoch(backend, p, order, 0.05, momentum=0.9, nesterov=True)
    d = plain["params"] - p["params"]
    np.testing.assert_allclose(classic["params"] - p["params"], d, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(nest["params"] - p["params"], 1.9 * d, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(classic["velocity"], d, rtol=1e-12, atol=1e-15)


# ------------------------------------------------------------------ kernels == reference

SOLVERS = {"momentum": dict(momentum=0.9, nesterov=False),
           "nesterov": dict(momentum=0.9, nesterov=True),
           "adam": dict(solver="adam", nesterov=False),
           "adam, nesterov flag": dict(solver="adam", nesterov=True)}  # the flag is ignored
PENALTIES = {"none": (0.0, 0.0), "l2": (0.01, 0.0), "l1": (0.0, 0.005)}
CLIPS = {"none": (0.0, 0.0), "value": (0.05, 0.0), "norm": (0.0, 0.5)}
GRID = list(itertools.product(SOLVERS, [1, 7, "full"], PENALTIES, CLIPS, [False, True]))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("solver,batch,penalty,clip,weighted", GRID,
                         ids=["-".join(map(str, case)) for case in GRID])
def test_kernels_equal_the_reference(dtype, solver, batch, penalty, clip, weighted):
    n = 30
    p = make_problem((9, 7, 5, 4), dtype=dtype, n=n, sparse=True, seed=4)
    B = n if batch == "full" else batch
    alpha, l1 = PENALTIES[penalty]
    clip_value, clip_norm = CLIPS[clip]
    opts = dict(SOLVERS[solver])
    if weighted:
        w = np.random.default_rng(5).uniform(0.0, 2.0, n)
        w[::7] = 0
        opts["sample_weight"] = w
    order = np.random.default_rng(6).permutation(n)
    lr = 0.005 if "adam" in solver else 0.05
    state = p
    for _ in range(3):  # the optimizer state carries over from call to call
        (rl, rc, rn), ref = run_epoch(reference, state, order, lr, alpha, clip_value, clip_norm,
                                      B, l1, **opts)
        (cl, cc, cn), comp = run_epoch(kernels, state, order, lr, alpha, clip_value, clip_norm,
                                       B, l1, **opts)
        assert (rn, rc) == (cn, cc) == (n, rc)
        np.testing.assert_allclose(cl, rl, **tol(dtype, "epoch"))
        for name in ("params", "velocity", "sq_avg"):
            np.testing.assert_allclose(comp[name], ref[name], **tol(dtype, "epoch"),
                                       err_msg=name)
        assert comp["step"][0] == ref["step"][0]
        state = ref


@pytest.mark.parametrize("solver", ["momentum", "adam"])
def test_the_kernel_refuses_missing_optimizer_state(solver):
    p = make_problem((4, 3, 2), n=5)
    q = dict(p, velocity=np.zeros(3), sq_avg=np.zeros_like(p["params"]))
    opts = dict(solver="adam") if solver == "adam" else dict(momentum=0.9)
    with pytest.raises(ValueError, match="velocity must have the shape"):
        run_epoch(kernels, q, np.arange(5), **opts)
    if solver == "adam":
        q = dict(p, step=np.zeros(2, np.int64))
        with pytest.raises(ValueError, match="step must be"):
            run_epoch(kernels, q, np.arange(5), **opts)


# ------------------------------------------------------------------ lazy per-sample momentum


def lazy_problem(dtype, seed=0):
    """Inputs with ~85% zeros (MNIST's blank pixels): most rows of W0 skip most steps."""
    p = make_problem((64, 16, 10), dtype=dtype, n=300, seed=seed, sparse=True)
    p["X"][np.random.default_rng(seed).random(p["X"].shape) < 0.5] = 0
    p["X"][:, :8] = 0  # rows never read: caught up only at the end of the call
    return p


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("clip_value", [0.0, 0.05])
def test_lazy_momentum_is_within_the_tolerances_of_the_step_by_step_reference(dtype, nesterov,
                                                                               clip_value):
    """train_epoch at batch size 1 with momentum and no penalty leaves the zero-gradient rows
    alone (momentum's (q, u) form, kernels/lazy.py): exact in real arithmetic, so it must stay
    within the epoch tolerances of the reference (which steps every parameter every sample)
    and of the general epoch (the same kernels, stepping densely) over several chained calls."""
    from fastmlp.kernels import sgd
    p = lazy_problem(dtype)
    order = np.random.default_rng(1).permutation(300)
    opts = dict(momentum=0.9, nesterov=nesterov)
    ref_state, lazy_state = p, p
    worst = 0.0
    for _ in range(4):
        (rl, rc, rn), ref = run_epoch(reference, ref_state, order, 0.01, clip_value=clip_value,
                                      **opts)
        (cl, cc, cn), lazy = run_epoch(kernels, lazy_state, order, 0.01, clip_value=clip_value,
                                       **opts)
        assert (cn, cc) == (rn, rc) == (300, rc)
        np.testing.assert_allclose(cl, rl, **tol(dtype, "epoch"))
        for name in ("params", "velocity"):
            np.testing.assert_allclose(lazy[name], ref[name], **tol(dtype, "epoch"))
        worst = max(worst, float(np.max(np.abs(lazy["params"] - ref["params"]) /
                                        (1 + np.abs(ref["params"])))))
        ref_state, lazy_state = ref, lazy  # each carries on from its own weights
    # the same epoch stepped densely by the general epoch: the lazy one is a different sum
    q = dict(p, velocity=np.zeros_like(p["params"]))
    dense = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in q.items()}
    t = np.dtype(dtype).type
    sgd.train_epoch_batches(dense["params"], dense["grads"], dense["acts"], dense["dacts"],
                            dense["X"], dense["Y"], order.astype(np.int64), dense["layout"],
                            dense["activations"], dense["loss"], t(0.01), t(0), t(0),
                            t(clip_value), t(0), 1, np.zeros(0, dtype), SGD, t(0.9), nesterov,
                            t(0.9), t(0.999), t(1e-8), dense["velocity"],
                            np.zeros(0, dtype), np.zeros(1, np.int64))
    _, lazy1 = run_epoch(kernels, p, order, 0.01, clip_value=clip_value, **opts)
    np.testing.assert_allclose(lazy1["params"], dense["params"], **tol(dtype, "epoch"))
    np.testing.assert_allclose(lazy1["velocity"], dense["velocity"], **tol(dtype, "epoch"))
    # measured |difference| / (1 + |w|): ~3e-15 float64, ~1e-6 float32 (~6e-6 with clip_value:
    # a clipped gradient is the same constant step after step, and so is its rounding)
    assert worst < tol(dtype, "epoch")["atol"]


def test_lazy_momentum_rows_never_read_are_caught_up_exactly_in_real_arithmetic():
    """A row whose input is 0 for the whole call only decays: after k steps its velocity is
    mu**k * v0 and it moved by (mu + ... + mu**k) * v0 (times mu with Nesterov)."""
    p = lazy_problem(np.float64)
    n_rows = 8  # rows 0..7 of W0 are never read
    fan_out = p["layout"][0, 1]
    v0 = np.random.default_rng(3).standard_normal(p["params"].shape)
    for nesterov in (False, True):
        q = dict(p, velocity=v0.copy())
        _, out = run_epoch(kernels, q, np.arange(300), 0.01, momentum=0.9, nesterov=nesterov)
        rows = slice(0, n_rows * fan_out)
        c = sum(0.9 ** j for j in range(1, 301)) * (0.9 if nesterov else 1.0)
        np.testing.assert_allclose(out["velocity"][rows], 0.9 ** 300 * v0[rows], rtol=1e-12,
                                   atol=1e-300)
        np.testing.assert_allclose(out["params"][rows] - p["params"][rows], c * v0[rows],
                                   rtol=1e-12)
