"""The compiled mini-batch epoch (kernels/batches.py: no weight decay, no clip_norm) against the
NumPy reference and against the general mini-batch epoch it replaces (sgd.train_epoch_batches):
odd layer widths (rows of 1 to several vectors: the in-place and the per-row gradient paths),
every hidden activation, both output/loss pairs, both dtypes, a last batch shorter than the
others, inputs with many exact zeros, divergence in the middle of a batch, and the padded work
buffer's pad columns staying exactly zero.
"""

import numpy as np
import pytest

from fastmlp import kernels, reference
from fastmlp.kernels import batches, sgd, workspace
from helpers import copy_problem, make_problem, plain_sgd, run_epoch, tol

DTYPES = [np.float64, np.float32]

# widths chosen so rows span 1 vector (3, 5, 13 float32), 2 (20, 33 float64), 3+ (40, 70):
# the narrow (in place) and the wide (per-row registers, column tiles) gradient paths
ARCHS = [(7, 13, 5, 3), (20, 1, 4), (30, 40, 33, 4), (50, 70, 6)]
HIDDEN = ["tanh", "sigmoid", "relu"]
OUTPUTS = [("softmax", "cross_entropy"), ("identity", "squared_error")]


def run_batches(p, order, lr=0.05, clip_value=0.0, batch_size=2):
    """batches._train_batches on a copy of problem p; returns (result, problem copy)."""
    q = copy_problem(p)
    t = q["dtype"].type
    res = batches._train_batches(q["params"], q["grads"], q["acts"], q["dacts"], q["X"], q["Y"],
                                 np.ascontiguousarray(order, np.int64), q["layout"],
                                 q["activations"], q["loss"], t(lr), t(0), t(0), t(clip_value), t(0),
                                 batch_size, plain_sgd(q["dtype"])[0])
    return res, q


def run_old(p, order, lr=0.05, clip_value=0.0, batch_size=2):
    q = copy_problem(p)
    t = q["dtype"].type
    res = sgd.train_epoch_batches(q["params"], q["grads"], q["acts"], q["dacts"], q["X"], q["Y"],
                                  np.ascontiguousarray(order, np.int64), q["layout"],
                                  q["activations"], q["loss"], t(lr), t(0), t(0), t(clip_value), t(0),
                                  batch_size, *plain_sgd(q["dtype"]))
    return res, q


def sparse_problem(sizes, hidden, output, loss, dtype, n, seed=0):
    p = make_problem(sizes, hidden=hidden, output=output, loss=loss, dtype=dtype, n=n,
                     seed=seed, sparse=True)
    p["X"][::5] = 0  # whole rows of zeros too
    return p


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sizes", ARCHS, ids=str)
@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("output,loss", OUTPUTS)
@pytest.mark.parametrize("batch_size", [2, 3, 32, 128])
def test_batches_equal_the_reference(dtype, sizes, hidden, output, loss, batch_size):
    n = 150 if batch_size == 128 else 71  # the last batch is shorter than the others
    p = sparse_problem(sizes, hidden, output, loss, dtype, n)
    order = np.random.default_rng(2).permutation(n)
    assert n % batch_size != 0
    (rl, rc, rn), ref = run_epoch(reference, p, order, 0.05, batch_size=batch_size)
    (cl, cc, cn), comp = run_batches(p, order, 0.05, batch_size=batch_size)
    assert cn == rn == n
    assert cc == rc
    np.testing.assert_allclose(cl, rl, **tol(dtype, "epoch"))
    np.testing.assert_allclose(comp["params"], ref["params"], **tol(dtype, "epoch"))
    # the last sample's outputs and gradients, as the reference leaves them
    np.testing.assert_allclose(comp["acts"], ref["acts"], **tol(dtype, "epoch"))
    np.testing.assert_allclose(comp["dacts"], ref["dacts"], **tol(dtype, "epoch"))
    # the general mini-batch epoch: the same arithmetic except the reordered dinp dot products
    (ol, oc, on), old = run_old(p, order, 0.05, batch_size=batch_size)
    assert (on, oc) == (cn, cc)
    np.testing.assert_allclose(comp["params"], old["params"], **tol(dtype, "epoch"))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sizes", [(8, 4), (20, 3), (40, 37)], ids=str)
@pytest.mark.parametrize("batch_size", [2, 5, 16])
def test_batches_without_hidden_layer_are_bit_identical_to_the_old_epoch(dtype, sizes,
                                                                        batch_size):
    """No hidden layer: no dinp, so no reordered sum at all: exactly the old epoch's numbers."""
    p = sparse_problem(sizes, "relu", "softmax", "cross_entropy", dtype, 41)
    order = np.random.default_rng(3).permutation(41)
    for clip_value in (0.0, 0.02):
        (cl, cc, cn), comp = run_batches(p, order, 0.3, clip_value, batch_size)
        (ol, oc, on), old = run_old(p, order, 0.3, clip_value, batch_size)
        assert (cn, cc) == (on, oc) == (41, oc)
        assert cl == ol
        np.testing.assert_array_equal(comp["params"], old["params"])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sizes", [(7, 13, 5, 3), (30, 40, 33, 4)], ids=str)
@pytest.mark.parametrize("batch_size", [3, 32])
def test_batches_clip_value_bites_and_equals_the_reference(dtype, sizes, batch_size):
    p = sparse_problem(sizes, "relu", "softmax", "cross_entropy", dtype, 70)
    order = np.random.default_rng(4).permutation(70)
    (_, _, rn), ref = run_epoch(reference, p, order, 0.5, clip_value=0.01,
                                batch_size=batch_size)
    (_, _, cn), comp = run_batches(p, order, 0.5, 0.01, batch_size)
    _, free = run_epoch(reference, p, order, 0.5, batch_size=batch_size)
    assert cn == rn == 70
    assert np.abs(free["params"] - ref["params"]).max() > 1e-3  # clipping changed the result
    np.testing.assert_allclose(comp["params"], ref["params"], **tol(dtype, "epoch"))


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch_size", [4, 32])
@pytest.mark.parametrize("where", ["nan_input", "inf_input"])
def test_divergence_in_the_middle_of_a_batch(dtype, batch_size, where):
    """A non-finite loss at sample k inside a batch: n_done == k, and the weights are those of
    that batch's start (its first k - start samples' gradients are discarded), as in the
    reference."""
    n = 80
    p = sparse_problem((30, 40, 9, 4), "tanh", "softmax", "cross_entropy", dtype, n)
    order = np.random.default_rng(5).permutation(n)
    k = batch_size + batch_size // 2 + 1  # in the middle of the second batch
    if where == "nan_input":
        p["X"][order[k], 3] = np.nan
    else:
        p["X"][order[k]] = np.inf  # inf - inf in the first layer: NaN
    (rl, rc, rn), ref = run_epoch(reference, p, order, 0.05, batch_size=batch_size)
    (cl, cc, cn), comp = run_batches(p, order, 0.05, batch_size=batch_size)
    assert rn == cn == k
    assert cc == rc
    np.testing.assert_allclose(cl, rl, **tol(dtype, "epoch"))
    np.testing.assert_allclose(comp["params"], ref["params"], **tol(dtype, "epoch"))
    # exactly one batch was applied: the first batch alone gives the same weights
    (_, _, n1), first = run_batches(p, order[:batch_size], 0.05, batch_size=batch_size)
    assert n1 == batch_size
    np.testing.assert_array_equal(comp["params"], first["params"])


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize("dtype", DTYPES)
def test_divergence_in_the_first_batch_leaves_the_weights_alone(dtype):
    p = sparse_problem((12, 20, 3), "relu", "softmax", "cross_entropy", dtype, 40)
    order = np.arange(40)
    p["X"][5, 0] = np.inf
    (_, _, cn), comp = run_batches(p, order, batch_size=16)
    (_, _, rn), _ = run_epoch(reference, p, order, batch_size=16)
    assert cn == rn == 5
    np.testing.assert_array_equal(comp["params"], p["params"])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch_size", [3, 32])
def test_pad_columns_of_the_work_buffer_stay_zero(dtype, batch_size):
    sizes = (20, 13, 7, 3)  # no width a whole number of vectors: every row has pad columns
    p = sparse_problem(sizes, "relu", "softmax", "cross_entropy", dtype, 90)
    q = copy_problem(p)
    layout = q["layout"]
    work, playout, _, _ = workspace.new_work(q["params"], layout)
    n_work = len(work)
    pads = np.ones(n_work, bool)
    for l in range(len(sizes) - 1):
        fan_in, fan_out, stride, w_off, b_off, _ = playout[l]
        assert stride > fan_out
        pads[w_off:w_off + fan_in * stride].reshape(fan_in, stride)[:, :fan_out] = False
        pads[b_off:b_off + fan_out] = False
    t = q["dtype"].type
    order = np.random.default_rng(6).permutation(90)
    for clip_value in (0.0, 0.05):
        res = batches._batches_on_work(work, playout, layout, q["acts"], q["dacts"], q["X"],
                                       q["Y"], order, q["activations"], q["loss"], t(0.1),
                                       t(clip_value), batch_size, plain_sgd(dtype)[0])
        assert res[2] == 90
        np.testing.assert_array_equal(work[pads], 0)
        assert np.abs(work[~pads]).max() > 0


@pytest.mark.parametrize("dtype", DTYPES)
def test_train_epoch_routes_plain_mini_batches_to_the_new_epoch(dtype):
    """train_epoch sends batch_size > 1 without weight decay or clip_norm here, the rest to the
    general epoch; both give the reference's numbers."""
    p = sparse_problem((30, 40, 9, 4), "relu", "softmax", "cross_entropy", dtype, 50)
    order = np.random.default_rng(7).permutation(50)
    for alpha, clip_norm in ((0.0, 0.0), (0.01, 0.0), (0.0, 0.5)):
        (rl, rc, rn), ref = run_epoch(reference, p, order, 0.05, alpha, 0.0, clip_norm, 8)
        (cl, cc, cn), comp = run_epoch(kernels, p, order, 0.05, alpha, 0.0, clip_norm, 8)
        assert (cn, cc) == (rn, rc)
        np.testing.assert_allclose(comp["params"], ref["params"], **tol(dtype, "epoch"))
    (_, _, _), direct = run_batches(p, order, 0.05, batch_size=8)
    (_, _, _), routed = run_epoch(kernels, p, order, 0.05, batch_size=8)
    np.testing.assert_array_equal(routed["params"], direct["params"])


@pytest.mark.parametrize("dtype", DTYPES)
def test_an_epoch_split_over_chunks_equals_one_call(dtype):
    p = sparse_problem((50, 70, 6), "relu", "softmax", "cross_entropy", dtype, 96)
    order = np.random.default_rng(8).permutation(96)
    _, whole = run_batches(p, order, batch_size=32)
    _, first = run_batches(p, order[:64], batch_size=32)
    _, second = run_batches(dict(p, params=first["params"]), order[64:], batch_size=32)
    np.testing.assert_array_equal(second["params"], whole["params"])


@pytest.mark.parametrize("dtype", DTYPES)
def test_strided_inputs_give_the_same_numbers(dtype):
    """X rows that are not contiguous take the scalar scan of the non-zero inputs instead of the
    vector one: the same lists, so the same numbers."""
    p = sparse_problem((40, 33, 5), "relu", "softmax", "cross_entropy", dtype, 45)
    order = np.random.default_rng(9).permutation(45)
    _, dense = run_batches(p, order, batch_size=8)
    wide = np.zeros((45, 80), dtype)
    wide[:, ::2] = p["X"]
    q = copy_problem(p)
    X = wide[:, ::2]  # not copied (copy_problem would make it contiguous)
    assert not X.flags.c_contiguous
    t = q["dtype"].type
    res = batches._train_batches(q["params"], q["grads"], q["acts"], q["dacts"], X, q["Y"],
                                 order, q["layout"], q["activations"], q["loss"], t(0.05), t(0),
                                 t(0), t(0), t(0), 8, plain_sgd(q["dtype"])[0])
    assert res[2] == 45
    np.testing.assert_array_equal(q["params"], dense["params"])
