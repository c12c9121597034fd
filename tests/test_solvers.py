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
