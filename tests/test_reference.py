"""fastmlp/reference.py: the NumPy reference's gradients against central finite differences
(float64), and its functions are the kernels' twins, name for name and argument for argument.

This is the anchor of the whole equality chain: finite differences check the reference, and
test_kernels_vs_reference.py checks the kernels against the reference.
"""

import inspect

import numpy as np
import pytest

from fastmlp import kernels
from fastmlp import reference as ref
from fastmlp.codes import ACTIVATIONS, LOSSES
from fastmlp.layout import make_layout

from helpers import VALID_OUTPUTS, plain_sgd

H = 1e-6          # central-difference step
RTOL = 1e-6       # |analytic - numeric| <= RTOL * max(1, |numeric|) + ATOL
ATOL = 1e-8


def problem(sizes, hidden, output, loss, n, seed):
    rng = np.random.default_rng(seed)
    layout, n_params, n_acts = make_layout(sizes)
    params = rng.normal(0, 0.8, n_params)
    X = rng.normal(0, 1, (n, sizes[0]))
    if loss == "cross_entropy":
        Y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], n)]
    else:
        Y = rng.uniform(-1 if output in ("identity", "tanh") else 0, 1, (n, sizes[-1]))
    acts = np.array([ACTIVATIONS[hidden]] * (len(sizes) - 2) + [ACTIVATIONS[output]], np.int64)
    return layout, params, X, Y, acts, LOSSES[loss], n_acts


def mean_loss(params, layout, X, Y, acts, loss, n_acts, alpha=0.0):
    """Mean per-sample loss + 0.5 * alpha * sum(W**2) (biases unpenalised), via the reference."""
    buf, dbuf = np.zeros(n_acts), np.zeros(n_acts)
    L = layout.shape[0]
    total = 0.0
    for x, y in zip(X, Y):
        ref.network_forward(buf, x, params, layout, acts)
        total += ref.loss_forward_backward(ref.layer_slice(dbuf, layout, L - 1),
                                           ref.layer_slice(buf, layout, L - 1), y, acts[-1], loss)
    penalty = sum(np.sum(ref.layer_views(params, layout, l)[0] ** 2) for l in range(L))
    return total / len(X) + 0.5 * alpha * penalty


def numeric_gradient(f, params):
    g = np.zeros_like(params)
    for j in range(params.size):
        old = params[j]
        params[j] = old + H
        up = f(params)
        params[j] = old - H
        down = f(params)
        params[j] = old
        g[j] = (up - down) / (2 * H)
    return g


def away_from_relu_kinks(params, layout, X, acts, n_acts):
    """True if no ReLU pre-activation is within 1e-3 of 0 (finite differences would straddle it)."""
    buf = np.zeros(n_acts)
    for x in X:
        inp = x
        for l in range(layout.shape[0]):
            W, b = ref.layer_views(params, layout, l)
            z = inp @ W + b
            if acts[l] == ACTIVATIONS["relu"] and np.min(np.abs(z)) < 1e-3:
                return False
            out = ref.layer_slice(buf, layout, l)
            ref.dense_forward(out, inp, W, b, acts[l])
            inp = out
    return True


def saturated(params, layout, X, acts, n_acts):
    """True if a sigmoid output is within 1e-3 of 0 or 1: there 1 - out keeps only a few
    digits of exp(-z), and the binary cross-entropy's log(1 - out) (a loss value, not the
    gradient out - y) is too coarse for a central difference of step H."""
    buf = np.zeros(n_acts)
    L = layout.shape[0]
    for x in X:
        ref.network_forward(buf, x, params, layout, acts)
        out = ref.layer_slice(buf, layout, L - 1)
        if out.min() < 1e-3 or out.max() > 1 - 1e-3:
            return True
    return False


def check(analytic, numeric):
    err = np.abs(analytic - numeric)
    bound = RTOL * np.maximum(1.0, np.abs(numeric)) + ATOL
    worst = int(np.argmax(err - bound))
    assert np.all(err <= bound), (f"parameter {worst}: analytic {analytic[worst]!r} vs numeric "
                                  f"{numeric[worst]!r}")


@pytest.mark.parametrize("output, loss", VALID_OUTPUTS)
@pytest.mark.parametrize("hidden", ["identity", "relu", "sigmoid", "tanh"])
def test_network_backward_matches_finite_differences(hidden, output, loss):
    sizes = (4, 5, 3, 3)
    for seed in range(50):  # the first draw whose ReLUs sit clear of their kink
        layout, params, X, Y, acts, code, n_acts = problem(sizes, hidden, output, loss, 3, seed)
        if away_from_relu_kinks(params, layout, X, acts, n_acts) and (
                output != "sigmoid" or not saturated(params, layout, X, acts, n_acts)):
            break
    else:
        pytest.fail("no draw away from ReLU kinks")
    grads = np.zeros_like(params)
    buf, dbuf = np.zeros(n_acts), np.zeros(n_acts)
    L = layout.shape[0]
    for x, y in zip(X, Y):
        ref.network_forward(buf, x, params, layout, acts)
        ref.loss_forward_backward(ref.layer_slice(dbuf, layout, L - 1),
                                  ref.layer_slice(buf, layout, L - 1), y, acts[-1], code)
        ref.network_backward(grads, dbuf, buf, x, params, layout, acts)
    grads /= len(X)
    numeric = numeric_gradient(lambda p: mean_loss(p, layout, X, Y, acts, code, n_acts), params)
    assert np.abs(numeric).max() > 1e-3  # the check is not vacuous
    check(grads, numeric)


@pytest.mark.parametrize("hidden", ["tanh", "sigmoid"])
def test_the_last_shorter_batch_is_averaged_over_its_own_size(hidden):
    # n = 5, batch_size = 4: the second batch holds one sample; its step must be -lr times the
    # gradient of that ONE sample's loss (+ L2), not of its loss divided by 4
    layout, params, X, Y, acts, code, n_acts = problem((3, 4, 2), hidden, "softmax",
                                                       "cross_entropy", 5, seed=11)
    lr, alpha = 0.1, 0.3

    def epoch(p, order):
        ref.train_epoch(p, np.zeros_like(p), np.zeros(n_acts), np.zeros(n_acts), X, Y,
                        np.asarray(order, np.int64), layout, acts, code, lr, alpha, 0.0, 0.0, 0.0, 4,
                        *plain_sgd(p.dtype))

    mid = params.copy()
    epoch(mid, [0, 1, 2, 3])  # the first batch alone
    end = params.copy()
    epoch(end, [0, 1, 2, 3, 4])  # both batches
    numeric = numeric_gradient(
        lambda p: mean_loss(p, layout, X[4:], Y[4:], acts, code, n_acts, alpha), mid.copy())
    assert np.abs(numeric).max() > 1e-3
    check((mid - end) / lr, numeric)


@pytest.mark.parametrize("batch_size", [1, 4])
@pytest.mark.parametrize("hidden", ["tanh", "sigmoid"])
def test_one_sgd_step_with_l2_is_minus_lr_times_the_penalised_gradient(hidden, batch_size):
    # One train_epoch call over n samples with batch_size == n is exactly one full-batch step:
    # params_new = params - lr * grad(mean loss + 0.5 * alpha * ||W||^2), biases unpenalised.
    # With batch_size 1 and n == 1 the fused per-sample path must give the same.
    n = batch_size
    layout, params, X, Y, acts, code, n_acts = problem((3, 4, 2), hidden, "softmax",
                                                       "cross_entropy", n, seed=7)
    lr, alpha = 0.1, 0.3
    numeric = numeric_gradient(
        lambda p: mean_loss(p, layout, X, Y, acts, code, n_acts, alpha), params.copy())
    new = params.copy()
    ref.train_epoch(new, np.zeros_like(params), np.zeros(n_acts), np.zeros(n_acts), X, Y,
                    np.arange(n, dtype=np.int64), layout, acts, code, lr, alpha, 0.0, 0.0, 0.0,
                    batch_size, *plain_sgd(new.dtype))
    check((params - new) / lr, numeric)
    # biases really are unpenalised: the bias step equals the unpenalised gradient
    plain = numeric_gradient(lambda p: mean_loss(p, layout, X, Y, acts, code, n_acts),
                             params.copy())
    for l in range(layout.shape[0]):
        b_off, size = layout[l, 3], layout[l, 1]
        sl = slice(b_off, b_off + size)
        check(((params - new) / lr)[sl], plain[sl])


@pytest.mark.parametrize("name", kernels.__all__)
def test_every_kernel_has_a_reference_twin_with_the_same_signature(name):
    """Same name, same parameter names in the same order, same defaults: one test body can call
    either backend (test_kernels_vs_reference.py does)."""
    kernel = getattr(kernels, name)
    twin = getattr(ref, name, None)
    assert twin is not None, f"fastmlp.reference has no {name}"
    k = inspect.signature(getattr(kernel, "py_func", kernel)).parameters
    r = inspect.signature(getattr(twin, "py_func", twin)).parameters
    assert list(k) == list(r)
    assert [p.default for p in k.values()] == [p.default for p in r.values()]
