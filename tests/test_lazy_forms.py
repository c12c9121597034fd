"""Per-sample L2 and momentum in their lazy forms (kernels/lazy.py) against the step-by-step
reference: train_epoch at batch size 1 with an L2 penalty alone trains in the scaled form
w = s * V, with SGD momentum (no penalty) in the (q, u) form; both step only the rows a sample
touches, are exact in real arithmetic, and must stay within the epoch tolerances of the
reference (which steps every weight every sample) over several chained calls: every hidden
activation, odd shapes, clip_value, sample weights, both dtypes, the forms renormalised within
a call, and the conditions under which the exact dense step is taken instead; on the public
buffers in place (small calls) and on the padded copy.
"""

import numpy as np
import pytest

from fastmlp import kernels, reference
from fastmlp.kernels import epochs, lazy
from fastmlp.layout import coef_views
from helpers import copy_problem, make_problem, run_epoch, tol

DTYPES = [np.float64, np.float32]


@pytest.fixture(autouse=True, params=["in place", "padded"])
def buffer(request, monkeypatch):
    """Every test twice: small calls train on the public buffers in place, large ones on the
    padded copy (epochs.PADDED_FROM); here every call takes one way, then the other."""
    monkeypatch.setattr(epochs, "PADDED_FROM", 10 ** 9 if request.param == "in place" else 0)
    return request.param

# sizes, hidden activation, output, loss: ReLU (the zero rows skipped in every layer), the
# other hidden activations (dinp over every row), no hidden layer, one unit, fan_outs that are
# not a multiple of the vector (17, 33, 1, 3)
SHAPES = {
    "relu": ((30, 17, 33, 3), "relu", "softmax", "cross_entropy"),
    "tanh": ((12, 9, 7, 4), "tanh", "softmax", "cross_entropy"),
    "sigmoid": ((12, 9, 5), "sigmoid", "sigmoid", "squared_error"),
    "identity": ((12, 6, 3), "identity", "identity", "squared_error"),
    "no hidden layer": ((20, 4), "relu", "softmax", "cross_entropy"),
    "one unit": ((10, 1, 3), "relu", "softmax", "cross_entropy"),
}


def problem(shape, dtype, n=60, seed=0):
    """MNIST-like inputs: ~85% zeros, so most rows of W0 are untouched by most samples."""
    sizes, hidden, output, loss = SHAPES[shape]
    p = make_problem(sizes, hidden, output, loss, dtype=dtype, n=n, seed=seed, sparse=True)
    p["X"][np.random.default_rng(seed + 1).random(p["X"].shape) < 0.5] = 0
    return p


def weights_for(n, weighted, seed=5):
    if not weighted:
        return {}
    w = np.random.default_rng(seed).uniform(0.0, 2.0, n)
    w[::7] = 0
    return {"sample_weight": w}


def assert_chained_calls_equal(p, calls, dtype, lr, **opts):
    """`calls` train_epoch calls over a shuffled order, each backend carrying on from its own
    state; every call's loss, count and weights (and velocity) within the epoch tolerances.
    Returns the largest absolute weight difference seen."""
    n = p["X"].shape[0]
    order = np.random.default_rng(6).permutation(n)
    ref_state, comp_state = p, p
    worst = 0.0
    for _ in range(calls):
        (rl, rc, rn), ref = run_epoch(reference, ref_state, order, lr, **opts)
        (cl, cc, cn), comp = run_epoch(kernels, comp_state, order, lr, **opts)
        assert (cn, cc) == (rn, rc) == (n, rc)
        np.testing.assert_allclose(cl, rl, **tol(dtype, "epoch"))
        for name in ("params", "velocity"):
            np.testing.assert_allclose(comp[name], ref[name], **tol(dtype, "epoch"),
                                       err_msg=name)
        worst = max(worst, float(np.max(np.abs(comp["params"] - ref["params"]))))
        ref_state, comp_state = ref, comp
    return worst


def dense_per_sample(p, order, lr, alpha, clip_value, l1=0.0, lazy_decay=False):
    """epochs._train_per_sample on a copy of p: lazy_decay=False is the exact dense step."""
    q = copy_problem(p)
    t = q["dtype"].type
    res = epochs._train_per_sample(q["params"], q["acts"], q["dacts"], q["X"], q["Y"],
                                   np.ascontiguousarray(order, np.int64), q["layout"],
                                   q["activations"], q["loss"], t(lr), t(alpha), t(l1),
                                   t(clip_value), np.zeros(0, q["dtype"]), lazy_decay=lazy_decay)
    return res, q


# ------------------------------------------------------------------ L2: the scaled form


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("alpha,clip_value", [(0.01, 0.0), (0.03, 1.0), (0.01, 0.05)])
@pytest.mark.parametrize("weighted", [False, True])
def test_l2_in_the_scaled_form_equals_the_reference(dtype, shape, alpha, clip_value, weighted):
    p = problem(shape, dtype)
    assert_chained_calls_equal(p, 3, dtype, 0.05, alpha=alpha, clip_value=clip_value,
                               **weights_for(60, weighted))


@pytest.mark.parametrize("dtype", DTYPES)
def test_the_scaled_form_is_taken_and_differs_from_the_dense_step_only_by_rounding(dtype):
    """Not a silent fallback: the scaled form's numbers are not bit-identical to the dense
    step's (a different rounding), but within the epoch tolerances of them."""
    p = problem("relu", dtype, n=80)
    order = np.arange(80)
    (_, _, n1), lazy_run = dense_per_sample(p, order, 0.05, 0.01, 0.0, lazy_decay=True)
    (_, _, n2), dense = dense_per_sample(p, order, 0.05, 0.01, 0.0)
    assert n1 == n2 == 80
    assert not np.array_equal(lazy_run["params"], dense["params"])
    np.testing.assert_allclose(lazy_run["params"], dense["params"], **tol(dtype, "epoch"))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("clip_value", [0.0, 5.0])
def test_the_scale_is_renormalised_within_a_call(dtype, clip_value):
    """lr * alpha = 0.2: the scale falls below lazy.S_MIN every ~31 samples and is folded back
    into the weights several times within one call (and the last layer-0 step is pending at
    each fold)."""
    lr, alpha, n = 0.1, 2.0, 120
    assert (1 - lr * alpha) ** n < lazy.S_MIN ** 3
    p = problem("relu", dtype, n=n)
    assert_chained_calls_equal(p, 2, dtype, lr, alpha=alpha, clip_value=clip_value)


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_call_starting_outside_the_clip_bound_takes_the_dense_step(dtype):
    """Some |alpha * w| > clip_value at the start: a zero-input weight's step is clipped, not
    a decay, so the whole call takes the exact dense step (bit-identical to it)."""
    p = problem("relu", dtype)
    alpha, clip_value = 0.01, 0.05
    p["params"][3] = 2 * clip_value / alpha  # a weight of W0, row 0
    order = np.arange(60)
    (_, _, n1), routed = dense_per_sample(p, order, 0.05, alpha, clip_value, lazy_decay=True)
    (_, _, n2), dense = dense_per_sample(p, order, 0.05, alpha, clip_value)
    assert n1 == n2 == 60
    np.testing.assert_array_equal(routed["params"], dense["params"])
    assert_chained_calls_equal(p, 2, dtype, 0.05, alpha=alpha, clip_value=clip_value)


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_weight_crossing_the_clip_bound_within_a_call_switches_to_the_dense_step(dtype):
    """Every weight starts inside |alpha * w| <= clip_value, W0's row 0 just inside, and input
    0 is 1 in the first 2 samples (of one class), 0 afterwards: the first step pushes row 0
    past the bound (each weight by lr * clip_value, away from 0), then the row is untouched
    for the rest of the call, where the reference clips its decay to lr * clip_value per step
    (the scaled form would decay it by lr * alpha * w): the call must leave the form then."""
    alpha, clip_value, lr = 0.04, 0.05, 1.0  # the bound: |w| <= 1.25
    p = problem("no hidden layer", dtype, n=40)
    c = int(np.argmax(p["Y"][0]))
    p["Y"][1] = p["Y"][0]
    fan_out = p["layout"][0, 1]
    p["params"][:fan_out] = np.where(np.arange(fan_out) == c, 1.249, -1.249)
    p["X"][:, 0] = 0
    p["X"][:2, 0] = 1.0
    weights = coef_views(p["params"], p["layout"])[0][0]
    assert np.all(np.abs(alpha * weights) <= clip_value)  # the call starts in the form
    order = np.arange(40)
    _, mid = run_epoch(reference, p, order[:1], lr, alpha, clip_value)
    assert np.all(np.abs(alpha * mid["params"][:fan_out]) > clip_value)  # the bound broke
    (_, _, rn), ref = run_epoch(reference, p, order, lr, alpha, clip_value)
    (_, _, cn), comp = run_epoch(kernels, p, order, lr, alpha, clip_value)
    assert cn == rn == 40
    np.testing.assert_allclose(comp["params"], ref["params"], **tol(dtype, "epoch"))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("alpha,l1,lr", [(0.0, 0.01, 0.05), (0.01, 0.005, 0.05),
                                         (2.0, 0.0, 0.5)])
def test_l1_elastic_net_and_a_decay_of_one_or_more_per_step_take_the_dense_step(dtype, alpha,
                                                                                l1, lr):
    p = problem("relu", dtype)
    order = np.arange(60)
    (_, _, n1), routed = dense_per_sample(p, order, lr, alpha, 0.0, l1=l1, lazy_decay=True)
    (_, _, n2), dense = dense_per_sample(p, order, lr, alpha, 0.0, l1=l1)
    assert n1 == n2
    np.testing.assert_array_equal(routed["params"], dense["params"])


@pytest.mark.parametrize("dtype", DTYPES)
def test_scaled_form_one_sample_per_call_and_empty_calls(dtype):
    """The online regime: one sample per call, the form entered and left every call; a call
    with no samples leaves the weights exactly as they are."""
    p = problem("relu", dtype, n=20)
    ref, comp = p, p
    for k in range(20):
        _, ref = run_epoch(reference, ref, [k], 0.05, 0.01)
        _, comp = run_epoch(kernels, comp, [k], 0.05, 0.01)
    np.testing.assert_allclose(comp["params"], ref["params"], **tol(dtype, "epoch"))
    (_, _, n), same = run_epoch(kernels, comp, np.zeros(0, np.int64), 0.05, 0.01)
    assert n == 0
    np.testing.assert_array_equal(same["params"], comp["params"])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("opts", [dict(alpha=0.01), dict(momentum=0.9, nesterov=True),
                                  dict(momentum=0.9, nesterov=False)],
                         ids=["l2", "nesterov", "momentum"])
def test_divergence_is_reported_at_the_same_sample_with_the_weights_before_it(dtype, opts):
    """A non-finite loss stops the call at the same sample as the reference, with the lazy
    form left: the weights (and velocity) are those after the samples before it."""
    p = make_problem((6, 16, 3), hidden="identity", output="identity", loss="squared_error",
                     dtype=dtype, n=40, weight_scale=3)
    p["X"] *= 50
    order = np.arange(40)
    (_, _, rn), ref = run_epoch(reference, p, order, lr=0.02, **opts)
    (_, _, cn), comp = run_epoch(kernels, p, order, lr=0.02, **opts)
    assert 0 < rn < 40 and cn == rn
    # the weights after the last finite step (reference: params before sample rn)
    _, before = run_epoch(reference, p, order[:rn], lr=0.02, **opts)
    for name in ("params", "velocity"):
        np.testing.assert_allclose(comp[name], before[name], **tol(dtype, "epoch"))


# ------------------------------------------------------------------ momentum: the (q, u) form


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("clip_value", [0.0, 0.05])
@pytest.mark.parametrize("weighted", [False, True])
def test_momentum_in_the_qu_form_equals_the_reference(dtype, shape, nesterov, clip_value,
                                                      weighted):
    p = problem(shape, dtype)
    assert_chained_calls_equal(p, 3, dtype, 0.02, momentum=0.9, nesterov=nesterov,
                               clip_value=clip_value, **weights_for(60, weighted))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_counter_is_renormalised_within_a_call(dtype, nesterov):
    """momentum 0.5: mu**t falls below lazy.MT_MIN every 40 samples, u is rescaled several
    times within a call (with layer 0's step pending each time)."""
    n = 130
    assert 0.5 ** n < lazy.MT_MIN ** 3
    p = problem("relu", dtype, n=n)
    assert_chained_calls_equal(p, 2, dtype, 0.05, momentum=0.5, nesterov=nesterov)


@pytest.mark.parametrize("dtype", DTYPES)
def test_momentum_one_sample_per_call_and_empty_calls(dtype):
    p = problem("relu", dtype, n=20)
    ref, comp = p, p
    for k in range(20):
        _, ref = run_epoch(reference, ref, [k], 0.02, momentum=0.9)
        _, comp = run_epoch(kernels, comp, [k], 0.02, momentum=0.9)
    for name in ("params", "velocity"):
        np.testing.assert_allclose(comp[name], ref[name], **tol(dtype, "epoch"))
    (_, _, n), same = run_epoch(kernels, comp, np.zeros(0, np.int64), 0.02, momentum=0.9)
    assert n == 0
    np.testing.assert_array_equal(same["params"], comp["params"])
    np.testing.assert_array_equal(same["velocity"], comp["velocity"])


@pytest.mark.parametrize("dtype", DTYPES)
def test_momentum_with_a_penalty_takes_the_general_epoch(dtype):
    """Momentum with L2 is not in a lazy form (its zero-gradient steps mix p and v): the
    general epoch, bit-identical to calling it directly."""
    from fastmlp.kernels import sgd
    from fastmlp.codes import SGD
    p = problem("relu", dtype)
    order = np.arange(60)
    _, routed = run_epoch(kernels, p, order, 0.02, 0.01, momentum=0.9)
    q = copy_problem(p)
    t = q["dtype"].type
    velocity = np.zeros_like(q["params"])
    sgd.train_epoch_batches(q["params"], q["grads"], q["acts"], q["dacts"], q["X"], q["Y"],
                            order.astype(np.int64), q["layout"], q["activations"], q["loss"],
                            t(0.02), t(0.01), t(0), t(0), t(0), 1, np.zeros(0, dtype), SGD,
                            t(0.9), True, t(0.9), t(0.999), t(1e-8), velocity,
                            np.zeros(0, dtype), np.zeros(1, np.int64))
    np.testing.assert_array_equal(routed["params"], q["params"])
    np.testing.assert_array_equal(routed["velocity"], velocity)
