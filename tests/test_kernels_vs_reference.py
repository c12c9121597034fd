"""The core promise: every compiled kernel equals its NumPy reference, tensor by tensor.

Each test builds one problem, runs ``ref = reference.f(...)`` and ``comp = kernels.f(...)`` on
copies of the same buffers, and compares every output buffer with the tolerances in helpers.TOL.
"""

import numpy as np
import pytest

from fastmlp import kernels, reference
from fastmlp.codes import ACTIVATIONS, IDENTITY
from helpers import VALID_OUTPUTS, copy_problem, make_problem, run_epoch, tol

DTYPES = [np.float64, np.float32]
ACTS = ["identity", "relu", "sigmoid", "tanh", "softmax"]
HIDDEN = ["identity", "relu", "sigmoid", "tanh"]


def both(fn_name, *args):
    """Call reference.fn and kernels.fn on independent copies of args; return both arg lists."""
    ref_args = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    comp_args = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    ref_out = getattr(reference, fn_name)(*ref_args)
    comp_out = getattr(kernels, fn_name)(*comp_args)
    return (ref_out, ref_args), (comp_out, comp_args)


def assert_args_close(ref_args, comp_args, dtype, kind="step"):
    for i, (r, c) in enumerate(zip(ref_args, comp_args)):
        if isinstance(r, np.ndarray):
            np.testing.assert_allclose(c, r, err_msg=f"argument {i}", **tol(dtype, kind))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("n", [1, 7, 33])
def test_activation_forward_backward(act, dtype, n):
    rng = np.random.default_rng(n)
    z = (rng.standard_normal(n) * 3).astype(dtype)
    (_, ra), (_, ca) = both("activation_forward", z, ACTIVATIONS[act])
    assert_args_close(ra, ca, dtype)
    out = ra[0]
    g = rng.standard_normal(n).astype(dtype)
    (_, ra), (_, ca) = both("activation_backward", g, out, ACTIVATIONS[act])
    assert_args_close(ra, ca, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (17, 4), (784, 10)])
@pytest.mark.parametrize("inputs", ["dense", "sparse", "zero"])
def test_dense_forward(act, dtype, shape, inputs):
    rng = np.random.default_rng(sum(shape))
    fan_in, fan_out = shape
    W = (rng.standard_normal(shape) / np.sqrt(fan_in)).astype(dtype)
    b = rng.standard_normal(fan_out).astype(dtype)
    x = rng.standard_normal(fan_in).astype(dtype)
    if inputs == "sparse":
        x[rng.random(fan_in) < 0.7] = 0
    elif inputs == "zero":
        x[:] = 0
    out = np.zeros(fan_out, dtype)
    (_, ra), (_, ca) = both("dense_forward", out, x, W, b, ACTIVATIONS[act])
    assert_args_close(ra, ca, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", HIDDEN + ["softmax"])
@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (17, 4)])
@pytest.mark.parametrize("need_dinp", [True, False])
def test_dense_backward(act, dtype, shape, need_dinp):
    rng = np.random.default_rng(7)
    fan_in, fan_out = shape
    W = rng.standard_normal(shape).astype(dtype)
    x = rng.standard_normal(fan_in).astype(dtype)
    x[0] = 0  # one zero input row is skipped by the kernel
    out = rng.uniform(0.05, 0.95, fan_out).astype(dtype)
    if act == "relu":
        out[::2] = 0
    dout = rng.standard_normal(fan_out).astype(dtype)
    dW = rng.standard_normal(shape).astype(dtype)  # accumulates: start from non-zero
    db = rng.standard_normal(fan_out).astype(dtype)
    dinp = np.zeros(fan_in if need_dinp else 0, dtype)
    (_, ra), (_, ca) = both("dense_backward", dinp, dW, db, dout, out, x, W, ACTIVATIONS[act])
    assert_args_close(ra, ca, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", HIDDEN)
@pytest.mark.parametrize("alpha,clip_value", [(0.0, 0.0), (0.01, 0.0), (0.0, 0.05), (0.1, 0.02)])
@pytest.mark.parametrize("need_dinp", [True, False])
def test_dense_backward_sgd(act, dtype, alpha, clip_value, need_dinp):
    rng = np.random.default_rng(3)
    fan_in, fan_out = 9, 6
    W = rng.standard_normal((fan_in, fan_out)).astype(dtype)
    b = rng.standard_normal(fan_out).astype(dtype)
    x = rng.standard_normal(fan_in).astype(dtype)
    x[[1, 4]] = 0
    out = rng.uniform(0.05, 0.95, fan_out).astype(dtype)
    dout = rng.standard_normal(fan_out).astype(dtype)
    dinp = np.zeros(fan_in if need_dinp else 0, dtype)
    t = np.dtype(dtype).type
    (_, ra), (_, ca) = both("dense_backward_sgd", dinp, dout, out, x, W, b, ACTIVATIONS[act],
                            t(0.1), t(alpha), t(0), t(clip_value))
    assert_args_close(ra, ca, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("alpha,clip_value", [(0.0, 0.0), (0.05, 0.1)])
def test_fused_step_equals_backward_then_update(dtype, alpha, clip_value):
    """dense_backward into zero grads + the update == dense_backward_sgd (reference side)."""
    rng = np.random.default_rng(11)
    W = rng.standard_normal((5, 4)).astype(dtype)
    b = rng.standard_normal(4).astype(dtype)
    x = rng.standard_normal(5).astype(dtype)
    out = rng.uniform(0.1, 0.9, 4).astype(dtype)
    dout = rng.standard_normal(4).astype(dtype)
    t = np.dtype(dtype).type
    for backend in (reference, kernels):
        W1, b1, d1 = W.copy(), b.copy(), dout.copy()
        dinp1 = np.zeros(5, dtype)
        backend.dense_backward_sgd(dinp1, d1, out, x, W1, b1, ACTIVATIONS["tanh"], t(0.1),
                                   t(alpha), t(0), t(clip_value))
        dW, db, d2, dinp2 = np.zeros_like(W), np.zeros_like(b), dout.copy(), np.zeros(5, dtype)
        backend.dense_backward(dinp2, dW, db, d2, out, x, W, ACTIVATIONS["tanh"])
        gW = np.clip(dW + t(alpha) * W, -clip_value, clip_value) if clip_value else dW + t(alpha) * W
        gb = np.clip(db, -clip_value, clip_value) if clip_value else db
        np.testing.assert_allclose(W1, W - t(0.1) * gW, **tol(dtype))
        np.testing.assert_allclose(b1, b - t(0.1) * gb, **tol(dtype))
        np.testing.assert_allclose(dinp1, dinp2, **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("output,loss", VALID_OUTPUTS)
@pytest.mark.parametrize("n_out", [1, 2, 10])
def test_loss_forward_backward(output, loss, dtype, n_out):
    if output == "softmax" and n_out == 1:
        pytest.skip("a one-unit softmax is constant")
    p = make_problem((4, n_out), output=output, loss=loss, dtype=dtype, n=3)
    for i in range(3):
        reference.network_forward(p["acts"], p["X"][i], p["params"], p["layout"], p["activations"])
        out = p["acts"].copy()
        dz = np.zeros(n_out, dtype)
        (rv, ra), (cv, ca) = both("loss_forward_backward", dz, out, p["Y"][i],
                                  p["activations"][-1], p["loss"])
        np.testing.assert_allclose(cv, rv, **tol(dtype))
        assert_args_close(ra, ca, dtype)


def test_cross_entropy_is_finite_for_a_confident_wrong_prediction():
    for backend in (reference, kernels):
        out = np.array([1.0, 0.0, 0.0])
        dz = np.zeros(3)
        value = backend.loss_forward_backward(dz, out, np.array([0.0, 1.0, 0.0]), 4, 0)
        assert np.isfinite(value) and value > 700


ARCHS = [(4, 3), (5, 7, 3), (6, 5, 4, 3), (1, 1, 1), (13, 1, 2)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sizes", ARCHS)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_network_forward_backward(sizes, hidden, dtype):
    p = make_problem(sizes, hidden=hidden, dtype=dtype, n=2, sparse=True)
    x = p["X"][0]
    (_, ra), (_, ca) = both("network_forward", p["acts"], x, p["params"], p["layout"],
                            p["activations"])
    assert_args_close(ra, ca, dtype)
    acts = ra[0]
    dacts = np.zeros_like(acts)
    reference.loss_forward_backward(reference.layer_slice(dacts, p["layout"], len(sizes) - 2),
                                    reference.layer_slice(acts, p["layout"], len(sizes) - 2),
                                    p["Y"][0], p["activations"][-1], p["loss"])
    grads = np.random.default_rng(0).standard_normal(p["params"].shape).astype(dtype)
    (_, ra), (_, ca) = both("network_backward", grads, dacts, acts, x, p["params"], p["layout"],
                            p["activations"])
    assert_args_close(ra, ca, dtype)
    t = np.dtype(dtype).type
    (_, ra), (_, ca) = both("network_backward_sgd", dacts, p["params"], acts, x, p["layout"],
                            p["activations"], t(0.05), t(0.01), t(0), t(0))
    assert_args_close(ra, ca, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("alpha,clip_value,clip_norm", [(0, 0, 0), (0.01, 0, 0), (0, 0.01, 0),
                                                       (0, 0, 0.1), (0.01, 0.05, 1e6)])
def test_sgd_update(dtype, alpha, clip_value, clip_norm):
    p = make_problem((5, 4, 3), dtype=dtype)
    grads = np.random.default_rng(1).standard_normal(p["params"].shape).astype(dtype)
    t = np.dtype(dtype).type
    (_, ra), (_, ca) = both("sgd_update", p["params"], grads, p["layout"], t(0.25), t(0.1),
                            t(alpha), t(0), t(clip_value), t(clip_norm))
    assert_args_close(ra, ca, dtype)


EPOCH_CASES = [
    # sizes, hidden, output, loss, n, batch_size, alpha, clip_value, clip_norm
    ((8, 6, 4), "relu", "softmax", "cross_entropy", 20, 1, 0, 0, 0),
    ((8, 6, 5, 4), "tanh", "softmax", "cross_entropy", 20, 1, 0.01, 0, 0),
    ((8, 6, 4), "sigmoid", "sigmoid", "squared_error", 20, 1, 0, 0.05, 0),
    ((8, 6, 4), "identity", "identity", "squared_error", 20, 3, 0, 0, 0),
    ((8, 6, 4), "relu", "softmax", "cross_entropy", 20, 3, 0.01, 0, 0),
    ((8, 6, 4), "relu", "softmax", "cross_entropy", 20, 20, 0, 0, 0),  # full batch
    ((8, 6, 4), "tanh", "tanh", "squared_error", 20, 7, 0, 0, 0.5),
    ((8, 6, 4), "relu", "softmax", "cross_entropy", 20, 1, 0, 0, 0.5),  # unfused B=1
    ((8, 4), "relu", "softmax", "cross_entropy", 20, 1, 0, 0, 0),  # no hidden layer
    ((3, 5, 2), "sigmoid", "softmax", "squared_error", 1, 1, 0, 0, 0),  # n = 1
    ((2, 3, 2), "sigmoid", "sigmoid", "squared_error", 30, 30, 0.01, 0, 0),  # XOR-like full batch
    ((8, 6, 4), "relu", "softmax", "cross_entropy", 20, 3, 0, 0.01, 0),  # sparse batches + clip
    # batch size 1 with clip_norm biting (kernels/clipnorm.py): ReLU, tanh rows (dinp over every
    # row), identity/squared error, no hidden layer; with a penalty or clip_value: sgd.py
    ((8, 6, 5, 4), "relu", "softmax", "cross_entropy", 20, 1, 0, 0, 0.05),
    ((8, 6, 5, 4), "tanh", "softmax", "cross_entropy", 20, 1, 0, 0, 0.05),
    ((8, 6, 4), "identity", "identity", "squared_error", 20, 1, 0, 0, 0.1),
    ((8, 4), "relu", "softmax", "cross_entropy", 20, 1, 0, 0, 0.05),
    ((8, 6, 4), "relu", "softmax", "cross_entropy", 20, 1, 0.01, 0, 0.05),
    ((8, 6, 4), "relu", "softmax", "cross_entropy", 20, 1, 0, 0.05, 0.05),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", EPOCH_CASES, ids=[str(i) for i in range(len(EPOCH_CASES))])
def test_train_epoch(case, dtype):
    sizes, hidden, output, loss, n, B, alpha, clip_value, clip_norm = case
    p = make_problem(sizes, hidden=hidden, output=output, loss=loss, dtype=dtype, n=n,
                     sparse=True)
    order = np.random.default_rng(5).permutation(n)
    for epoch in range(3):
        (rl, rc, rn), ref = run_epoch(reference, p, order, 0.05, alpha, clip_value, clip_norm, B)
        (cl, cc, cn), comp = run_epoch(kernels, p, order, 0.05, alpha, clip_value, clip_norm, B)
        assert (rn, rc) == (cn, cc) == (n, rc)
        np.testing.assert_allclose(cl, rl, **tol(dtype, "epoch"))
        np.testing.assert_allclose(comp["params"], ref["params"], **tol(dtype, "epoch"))
        p["params"] = ref["params"]


@pytest.mark.parametrize("dtype", DTYPES)
def test_train_epoch_all_zero_inputs(dtype):
    p = make_problem((6, 5, 3), dtype=dtype, n=5, zero_inputs=True)
    order = np.arange(5)
    (rl, rc, rn), ref = run_epoch(reference, p, order)
    (cl, cc, cn), comp = run_epoch(kernels, p, order)
    np.testing.assert_allclose(comp["params"], ref["params"], **tol(dtype, "epoch"))
    # with zero inputs the first layer's weights cannot move, only its biases
    W0 = comp["params"][:30]
    np.testing.assert_array_equal(W0, p["params"][:30])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("hidden", ["identity", "tanh", "relu"])
@pytest.mark.parametrize("clip_value", [0.0, 0.05])
def test_train_epoch_with_hidden_units_exactly_zero(dtype, hidden, clip_value):
    """Hidden units that are exactly 0 (zero weight column and bias) leave gaps in the rows the
    next layer's backward updates; with a non-ReLU activation its dinp still covers every row
    (the fused dinp+update pass walks the gaps, see dense_backward_sgd_rows)."""
    p = make_problem((12, 9, 7, 4), hidden=hidden, dtype=dtype, n=30, sparse=True)
    for layer, cols in ((0, [0, 3, 5]), (1, [2])):
        fan_in, fan_out, w_off, b_off = p["layout"][layer, :4]
        p["params"][w_off:w_off + fan_in * fan_out].reshape(fan_in, fan_out)[:, cols] = 0
        p["params"][b_off + np.array(cols)] = 0
    acts = p["acts"].copy()
    kernels.network_forward(acts, p["X"][0], p["params"], p["layout"], p["activations"])
    a0 = acts[:9]
    assert (a0[[0, 3, 5]] == 0).all() and (a0 != 0).any()  # gaps between non-zero rows
    order = np.random.default_rng(0).integers(0, 30, 60)
    (rl, rc, rn), ref = run_epoch(reference, p, order, lr=0.05, clip_value=clip_value)
    (cl, cc, cn), comp = run_epoch(kernels, p, order, lr=0.05, clip_value=clip_value)
    assert cn == rn == 60 and cc == rc
    np.testing.assert_allclose(cl, rl, **tol(dtype, "epoch"))
    np.testing.assert_allclose(comp["params"], ref["params"], **tol(dtype, "epoch"))


@pytest.mark.parametrize("dtype", DTYPES)
def test_fused_and_unfused_per_sample_paths_agree(dtype):
    """Batch size 1 takes the fused backward+update path unless clip_norm is set; a clip_norm
    too large to bite must give the same weights."""
    p = make_problem((10, 8, 6, 4), dtype=dtype, n=25, sparse=True)
    order = np.arange(25)
    _, fused = run_epoch(kernels, p, order, 0.05, 0.01)
    _, unfused = run_epoch(kernels, p, order, 0.05, 0.01, clip_norm=1e30)
    np.testing.assert_allclose(fused["params"], unfused["params"], **tol(dtype, "epoch"))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("B", [1, 4])
def test_divergence_is_reported_at_the_same_sample(dtype, B):
    p = make_problem((6, 16, 3), hidden="identity", output="identity", loss="squared_error",
                     dtype=dtype, n=40, weight_scale=3)
    p["X"] *= 50
    order = np.arange(40)
    (_, _, rn), _ = run_epoch(reference, p, order, lr=10.0, batch_size=B)
    (_, _, cn), _ = run_epoch(kernels, p, order, lr=10.0, batch_size=B)
    assert rn < 40
    assert cn == rn


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sizes", ARCHS)
def test_predict(sizes, dtype):
    p = make_problem(sizes, dtype=dtype, n=9, sparse=True)
    out = np.zeros((9, sizes[-1]), dtype)
    (_, ra), (_, ca) = both("predict", out, p["X"], p["params"], p["acts"], p["layout"],
                            p["activations"])
    assert_args_close(ra, ca, dtype)


def test_order_controls_visiting_and_repeats_are_allowed():
    p = make_problem((4, 3, 2), n=5)
    order = np.array([4, 4, 0, 2], np.int64)
    (_, _, rn), ref = run_epoch(reference, p, order)
    (_, _, cn), comp = run_epoch(kernels, p, order)
    assert rn == cn == 4
    np.testing.assert_allclose(comp["params"], ref["params"], **tol(np.float64, "epoch"))
    _, other = run_epoch(kernels, p, order[::-1])
    assert not np.allclose(other["params"], comp["params"])


def test_identity_code_is_zero():
    assert IDENTITY == 0


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch_size", [1, 3])
def test_clip_value_bites_and_still_equals_the_reference(dtype, batch_size):
    """The clipped paths (per-sample fused, and mini-batches updating only touched rows) must
    really clip here, so equality with the reference says something."""
    p = make_problem((8, 6, 4), dtype=dtype, n=20, sparse=True)
    order = np.random.default_rng(3).permutation(20)
    (_, _, rn), ref = run_epoch(reference, p, order, lr=0.5, clip_value=0.01,
                                batch_size=batch_size)
    (_, _, cn), comp = run_epoch(kernels, p, order, lr=0.5, clip_value=0.01,
                                 batch_size=batch_size)
    _, free = run_epoch(reference, p, order, lr=0.5, batch_size=batch_size)
    assert cn == rn == 20
    assert np.abs(free["params"] - ref["params"]).max() > 1e-3  # clipping changed the result
    np.testing.assert_allclose(comp["params"], ref["params"], **tol(dtype, "epoch"))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("where", ["pixel", "zero_row_then_nan"])
def test_a_nan_input_reaches_the_loss_and_stops_training_at_that_sample(dtype, where):
    """Rows with a zero input are skipped; a NaN is not zero and must never be skipped: it
    must propagate to the loss so divergence is reported at exactly that sample."""
    p = make_problem((6, 5, 3), dtype=dtype, n=6, sparse=True)
    if where == "zero_row_then_nan":
        p["X"][2] = 0
    p["X"][2, 4] = np.nan
    order = np.arange(6)
    (rl, rc, rn), ref = run_epoch(reference, p, order)
    (cl, cc, cn), comp = run_epoch(kernels, p, order)
    assert cn == rn == 2
    np.testing.assert_allclose(comp["params"], ref["params"], **tol(dtype, "epoch"))
    out_r = np.zeros((6, 3), dtype)
    out_c = np.zeros((6, 3), dtype)
    reference.predict(out_r, p["X"], p["params"], p["acts"].copy(), p["layout"], p["activations"])
    kernels.predict(out_c, p["X"], p["params"], p["acts"].copy(), p["layout"], p["activations"])
    assert np.isnan(out_c[2]).all() and np.isnan(out_r[2]).all()
    np.testing.assert_allclose(out_c, out_r, equal_nan=True, **tol(dtype))


@pytest.mark.parametrize("backend", [reference, kernels], ids=["reference", "numba"])
@pytest.mark.parametrize("out,target,expected", [
    ([0.0, 0.0, 0.0], [1, 0, 0], 1),  # a tie (dead ReLU outputs): the first maximum wins
    ([0.0, 0.0, 0.0], [0, 0, 1], 0),
    ([0.2, 0.5, 0.5], [0, 1, 0], 1),
    ([0.2, 0.5, 0.5], [0, 0, 1], 0),
    ([0.9, 0.05, 0.05], [1, 0, 0], 1),
])
def test_argmax_equal_breaks_ties_like_np_argmax(backend, out, target, expected):
    out, target = np.array(out), np.array(target, float)
    assert (np.argmax(out) == np.argmax(target)) == bool(expected)
    assert backend.argmax_equal(out, target) == expected


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_of_huge_logits_is_finite_and_equal(dtype):
    """Logits far beyond exp's range (float32 overflows at ~88): the max-shifted softmax
    must stay finite and agree, in the forward pass and in the loss gradient."""
    p = make_problem((5, 4), output="softmax", loss="cross_entropy", dtype=dtype, n=4,
                     weight_scale=3000.0)
    for i in range(4):
        (_, ra), (_, ca) = both("network_forward", p["acts"], p["X"][i], p["params"],
                                p["layout"], p["activations"])
        assert np.abs(p["X"][i] @ p["params"][:20].reshape(5, 4)).max() > 100  # really huge
        assert np.isfinite(ca[0]).all() and np.isfinite(ra[0]).all()
        np.testing.assert_allclose(ca[0], ra[0], **tol(dtype))
        dz = np.zeros(4, dtype)
        (rv, rb), (cv, cb) = both("loss_forward_backward", dz, ra[0], p["Y"][i],
                                  p["activations"][-1], p["loss"])
        assert np.isfinite(cv) and np.isfinite(cb[0]).all()
        np.testing.assert_allclose(cb[0], rb[0], **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_clip_norm_at_batch_size_1_bites(dtype):
    """The per-sample clip_norm epoch (kernels/clipnorm.py) rescales the steps: its weights
    differ from unclipped training, equal the reference's, and a clip_norm too large to bite
    gives the unclipped weights."""
    p = make_problem((10, 8, 6, 4), dtype=dtype, n=25, sparse=True)
    order = np.arange(25)
    _, plain = run_epoch(kernels, p, order, 0.05)
    _, clipped = run_epoch(kernels, p, order, 0.05, clip_norm=0.05)
    _, ref = run_epoch(reference, p, order, 0.05, clip_norm=0.05)
    _, loose = run_epoch(kernels, p, order, 0.05, clip_norm=1e30)
    assert not np.allclose(clipped["params"], plain["params"], **tol(dtype, "epoch"))
    np.testing.assert_allclose(clipped["params"], ref["params"], **tol(dtype, "epoch"))
    np.testing.assert_allclose(loose["params"], plain["params"], **tol(dtype, "epoch"))
