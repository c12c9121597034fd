"""The CSR kernels (kernels/csr.py: train_epoch_csr, predict_csr) against their NumPy
reference, against the dense epoch they share their body with, and on awkward CSR input.

- kernels == reference: per-sample (batch 1) and mini-batches, both dtypes, every hidden
  activation, L2, L1, clip_value, clip_norm, no hidden layer, rows with no stored entries, a row
  with every feature stored; within the tolerance table of helpers.py (the reference sums
  layer 0 with BLAS, in its own order).
- CSR == dense, bit for bit: on a canonical CSR matrix (sorted indices, no duplicates, no
  explicit zeros) a sample lists exactly the dense row's non-zero columns in the same order.
  Mini-batches (and clip_norm) run the very epoch the dense X runs with a penalty or clip_norm
  (sgd.train_epoch_batches); batch size 1 runs the public-buffer layer code of
  network_forward + network_backward_sgd. So every weight, the loss sum and the count equal
  those of that dense code. The dense fast epochs (epochs.py, batches.py) compute the hidden
  layers' dinp dot products on the padded copy in another order: within tolerance only, and bit
  for bit without a hidden layer (tested). predict_csr equals the dense predict bit for bit:
  both forwards add the non-zero rows in ascending order, unreordered.
- Unsorted indices and duplicate entries: handled exactly (a duplicate column is summed, as
  scipy's sum_duplicates does); equal to the reference on the same arrays and to the canonical
  matrix within tolerance (the rows are added in the stored order, not ascending).
"""

import numpy as np
import pytest
import scipy.sparse as sp

from fastmlp import kernels, reference
from fastmlp.kernels import epochs, sgd
from helpers import copy_problem, make_problem, run_epoch, solver_args, tol

DTYPES = [np.float64, np.float32]
ARCHS = [(30, 17, 5), (12, 4), (40, 33, 20, 3)]


def csr_problem(sizes, dtype, n=40, seed=0, **kw):
    """A make_problem with ~70% zeros, an all-zero row every 7th row, row 1 with every
    feature stored; (problem, canonical CSR of its X)."""
    p = make_problem(sizes, dtype=dtype, n=n, seed=seed, sparse=True, **kw)
    p["X"][::7] = 0
    p["X"][1] = np.random.default_rng(seed + 1).uniform(0.5, 1, sizes[0])
    Xc = sp.csr_matrix(p["X"])
    assert Xc.indptr[1] == Xc.indptr[0] and Xc.indptr[2] - Xc.indptr[1] == sizes[0]
    return p, Xc


def run_csr(backend, p, data, indices, indptr, order, lr=0.05, alpha=0.0, l1=0.0,
            clip_value=0.0, clip_norm=0.0, batch_size=1, **solver):
    """backend.train_epoch_csr on a copy of problem p (solver: as helpers.run_epoch)."""
    q = copy_problem(p)
    t = q["dtype"].type
    res = backend.train_epoch_csr(q["params"], q["grads"], q["acts"], q["dacts"], data, indices,
                                  indptr, q["Y"], np.ascontiguousarray(order, np.int64),
                                  q["layout"], q["activations"], q["loss"], t(lr), t(alpha),
                                  t(l1), t(clip_value), t(clip_norm), batch_size,
                                  *solver_args(q, **solver))
    return res, q


def run_dense_general(p, order, lr=0.05, alpha=0.0, l1=0.0, clip_value=0.0, clip_norm=0.0,
                      batch_size=1, **solver):
    q = copy_problem(p)
    t = q["dtype"].type
    res = sgd.train_epoch_batches(q["params"], q["grads"], q["acts"], q["dacts"], q["X"], q["Y"],
                                  np.ascontiguousarray(order, np.int64), q["layout"],
                                  q["activations"], q["loss"], t(lr), t(alpha), t(l1),
                                  t(clip_value), t(clip_norm), batch_size,
                                  *solver_args(q, **solver))
    return res, q


def run_dense_momentum_lazy(p, order, lr=0.05, clip_value=0.0, **solver):
    """sgd._epoch_momentum_lazy, the CSR input's per-sample momentum epoch, on the dense rows
    (dense X's train_epoch takes momentum's (q, u) form instead: kernels/lazy.py)."""
    q = copy_problem(p)
    t = q["dtype"].type
    w, _, mu, nesterov, _, _, _, velocity, _, _ = solver_args(q, **solver)
    res = sgd._epoch_momentum_lazy(q["params"], q["grads"], q["acts"], q["dacts"], q["X"],
                                   q["Y"], np.ascontiguousarray(order, np.int64), q["layout"],
                                   q["activations"], q["loss"], t(lr), t(clip_value), w, mu,
                                   nesterov, velocity, np.zeros(q["layout"][0, 0], np.int64))
    return res, q


def run_dense_fused(p, order, lr=0.05, alpha=0.0, l1=0.0, clip_value=0.0, sample_weight=None):
    """Per-sample SGD on the dense rows with the public-buffer kernels, sample by sample."""
    q = copy_problem(p)
    t = q["dtype"].type
    L = q["layout"].shape[0]
    loss_sum, n_correct = 0.0, 0
    for i in order:
        kernels.network_forward(q["acts"], q["X"][i], q["params"], q["layout"],
                                q["activations"])
        out = kernels.layer_slice(q["acts"], q["layout"], L - 1)
        dz = kernels.layer_slice(q["dacts"], q["layout"], L - 1)
        value = kernels.loss_forward_backward(dz, out, q["Y"][i], q["activations"][L - 1],
                                              q["loss"])
        if sample_weight is not None:
            w = q["dtype"].type(sample_weight[i])
            value = float(value) * float(w)  # the loss in float64, as the kernels
            dz *= w
        loss_sum += float(value)  # in float64, as the kernels sum
        n_correct += kernels.argmax_equal(out, q["Y"][i])
        kernels.network_backward_sgd(q["dacts"], q["params"], q["acts"], q["X"][i], q["layout"],
                                     q["activations"], t(lr), t(alpha), t(l1), t(clip_value))
    return (loss_sum, n_correct, len(order)), q


WEIGHTS = np.random.default_rng(5).uniform(0, 2, 40)
OPTIONS = [dict(), dict(alpha=1e-2), dict(l1=1e-3), dict(alpha=1e-3, l1=1e-3),
           dict(clip_value=0.05), dict(clip_norm=0.5), dict(sample_weight=WEIGHTS),
           dict(solver="sgd", momentum=0.9), dict(solver="sgd", momentum=0.9, nesterov=False),
           dict(solver="sgd", momentum=0.5, clip_value=0.05, sample_weight=WEIGHTS),
           dict(solver="sgd", momentum=0.9, alpha=1e-3),
           dict(solver="adam", lr=0.01), dict(solver="adam", lr=0.01, alpha=1e-3,
                                              sample_weight=WEIGHTS)]
FUSED = ("solver", "momentum", "clip_norm")  # any of these: the general epoch at batch 1 too


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sizes", ARCHS, ids=str)
@pytest.mark.parametrize("batch_size", [1, 3, 16])
@pytest.mark.parametrize("opts", OPTIONS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()
                                                         if k != "sample_weight") +
                         (",weighted" if "sample_weight" in o else "") or "plain")
def test_csr_epoch_equals_the_reference_and_the_dense_epoch(dtype, sizes, batch_size, opts):
    p, Xc = csr_problem(sizes, dtype)
    order = np.random.default_rng(1).permutation(40)
    (rl, rc, rn), ref = run_csr(reference, p, Xc.data, Xc.indices, Xc.indptr, order,
                                batch_size=batch_size, **opts)
    (cl, cc, cn), comp = run_csr(kernels, p, Xc.data, Xc.indices, Xc.indptr, order,
                                 batch_size=batch_size, **opts)
    assert (cn, cc) == (rn, rc) == (40, rc)
    np.testing.assert_allclose(cl, rl, **tol(dtype, "epoch"))
    np.testing.assert_allclose(comp["params"], ref["params"], **tol(dtype, "epoch"))
    # the dense X through the same compiled layer code: bit for bit
    lazy = (opts.get("momentum", 0) > 0 and not any(k in opts for k in ("alpha", "l1",
                                                                          "clip_norm")))
    if batch_size == 1 and not any(k in opts for k in FUSED):
        (dl, dc, dn), dense = run_dense_fused(p, order, **opts)
        np.testing.assert_array_equal(comp["dacts"], dense["dacts"])
    elif batch_size == 1 and lazy:  # per-sample momentum: the lazy epoch, for both inputs
        (dl, dc, dn), dense = run_dense_momentum_lazy(p, order, **opts)
    else:
        (dl, dc, dn), dense = run_dense_general(p, order, batch_size=batch_size, **opts)
    assert (dl, dc, dn) == (cl, cc, cn)
    np.testing.assert_array_equal(comp["params"], dense["params"])
    np.testing.assert_array_equal(comp["acts"], dense["acts"])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch_size", [1, 4])
@pytest.mark.parametrize("opts", [dict(), dict(alpha=1e-2), dict(clip_value=0.05)],
                         ids=["plain", "l2", "clip"])
def test_without_a_hidden_layer_csr_equals_the_dense_fast_epochs_bit_for_bit(dtype, batch_size,
                                                                            opts):
    p, Xc = csr_problem((30, 5), dtype)
    order = np.random.default_rng(1).permutation(40)
    (cl, cc, cn), comp = run_csr(kernels, p, Xc.data, Xc.indices, Xc.indptr, order,
                                 batch_size=batch_size, **opts)
    (dl, dc, dn), dense = run_epoch(kernels, p, order, batch_size=batch_size, **opts)
    if batch_size == 1 and "alpha" in opts:
        # dense X's per-sample L2 takes the scaled form (kernels/lazy.py): within the
        # tolerances; CSR's per-sample epoch steps every row, as dense X's exact dense step
        np.testing.assert_allclose(comp["params"], dense["params"], **tol(dtype, "epoch"))
        q = copy_problem(p)
        t = q["dtype"].type
        (dl, dc, dn) = epochs._train_per_sample(
            q["params"], q["acts"], q["dacts"], q["X"], q["Y"], order.astype(np.int64),
            q["layout"], q["activations"], q["loss"], t(0.05), t(opts["alpha"]), t(0), t(0),
            np.zeros(0, dtype), lazy_decay=False)
        dense = q
    assert (cl, cc, cn) == (dl, dc, dn)
    np.testing.assert_array_equal(comp["params"], dense["params"])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("hidden", ["identity", "relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("output,loss", [("softmax", "cross_entropy"),
                                         ("identity", "squared_error")])
def test_csr_epoch_every_activation(dtype, hidden, output, loss):
    p, Xc = csr_problem((25, 9, 6, 4), dtype, hidden=hidden, output=output, loss=loss)
    order = np.random.default_rng(2).permutation(40)
    for batch_size in (1, 5):
        (rl, rc, rn), ref = run_csr(reference, p, Xc.data, Xc.indices, Xc.indptr, order,
                                    batch_size=batch_size)
        (cl, cc, cn), comp = run_csr(kernels, p, Xc.data, Xc.indices, Xc.indptr, order,
                                     batch_size=batch_size)
        assert (cn, cc) == (rn, rc)
        np.testing.assert_allclose(comp["params"], ref["params"], **tol(dtype, "epoch"))
        np.testing.assert_allclose(comp["dacts"], ref["dacts"], **tol(dtype, "epoch"))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sizes", ARCHS + [(70, 40, 10)], ids=str)
def test_predict_csr_equals_the_reference_and_the_dense_predict(dtype, sizes):
    p, Xc = csr_problem(sizes, dtype)
    n_out = sizes[-1]
    outs = {}
    for name, call in [
            ("ref", lambda o, a: reference.predict_csr(o, Xc.data, Xc.indices, Xc.indptr,
                                                       p["params"], a, p["layout"],
                                                       p["activations"])),
            ("csr", lambda o, a: kernels.predict_csr(o, Xc.data, Xc.indices, Xc.indptr,
                                                     p["params"], a, p["layout"],
                                                     p["activations"])),
            ("dense", lambda o, a: kernels.predict(o, p["X"], p["params"], a, p["layout"],
                                                   p["activations"]))]:
        out = np.full((40, n_out), np.nan, dtype)
        call(out, np.zeros_like(p["acts"]))
        outs[name] = out
    np.testing.assert_allclose(outs["csr"], outs["ref"], **tol(dtype))
    np.testing.assert_array_equal(outs["csr"], outs["dense"])
    # the scratch row is clean after a call: a second call gives the same numbers
    again = np.empty_like(outs["csr"])
    kernels.predict_csr(again, Xc.data, Xc.indices, Xc.indptr, p["params"],
                        np.zeros_like(p["acts"]), p["layout"], p["activations"])
    np.testing.assert_array_equal(again, outs["csr"])


def shuffled_with_duplicates(Xc, seed=0):
    """The same matrix with every row's entries in reverse order, and every stored value split
    into two entries of the same column (v/4 and 3v/4, both exact in binary)."""
    rng = np.random.default_rng(seed)
    data, indices, indptr = [], [], [0]
    for i in range(Xc.shape[0]):
        s = slice(Xc.indptr[i], Xc.indptr[i + 1])
        d, c = Xc.data[s][::-1], Xc.indices[s][::-1]
        split = rng.random(d.shape[0]) < 0.5
        d = np.concatenate([np.where(split, d / 4, d), d[split] * 3 / 4])
        c = np.concatenate([c, c[split]])
        data.append(d)
        indices.append(c)
        indptr.append(indptr[-1] + d.shape[0])
    return (np.concatenate(data).astype(Xc.dtype), np.concatenate(indices).astype(np.int32),
            np.array(indptr, np.int32))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch_size", [1, 4])
@pytest.mark.parametrize("opts", [dict(), dict(alpha=1e-2)], ids=["plain", "l2"])
def test_unsorted_and_duplicate_indices_are_handled_exactly(dtype, batch_size, opts):
    p, Xc = csr_problem((30, 17, 5), dtype)
    data, indices, indptr = shuffled_with_duplicates(Xc)
    assert data.shape[0] > Xc.nnz
    order = np.random.default_rng(1).permutation(40)
    (rl, rc, rn), ref = run_csr(reference, p, data, indices, indptr, order,
                                batch_size=batch_size, **opts)
    (cl, cc, cn), comp = run_csr(kernels, p, data, indices, indptr, order,
                                 batch_size=batch_size, **opts)
    (_, kc, kn), canon = run_csr(kernels, p, Xc.data, Xc.indices, Xc.indptr, order,
                                 batch_size=batch_size, **opts)
    assert (cn, cc) == (rn, rc) == (kn, kc)
    np.testing.assert_allclose(comp["params"], ref["params"], **tol(dtype, "epoch"))
    np.testing.assert_allclose(comp["params"], canon["params"], **tol(dtype, "epoch"))
    out, out_canon = np.empty((40, 5), dtype), np.empty((40, 5), dtype)
    kernels.predict_csr(out, data, indices, indptr, p["params"], p["acts"].copy(), p["layout"],
                        p["activations"])
    kernels.predict_csr(out_canon, Xc.data, Xc.indices, Xc.indptr, p["params"],
                        p["acts"].copy(), p["layout"], p["activations"])
    np.testing.assert_allclose(out, out_canon, **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch_size", [1, 3])
def test_a_non_finite_loss_stops_at_its_sample(dtype, batch_size):
    p, Xc = csr_problem((12, 6, 3), dtype, loss="squared_error", output="identity")
    Xc = Xc.copy()
    Xc.data[Xc.indptr[9]:Xc.indptr[10]] = np.finfo(dtype).max  # row 9 overflows
    order = np.arange(40)
    with np.errstate(over="ignore", invalid="ignore"):
        (rl, rc, rn), ref = run_csr(reference, p, Xc.data, Xc.indices, Xc.indptr, order,
                                    batch_size=batch_size)
    (cl, cc, cn), comp = run_csr(kernels, p, Xc.data, Xc.indices, Xc.indptr, order,
                                 batch_size=batch_size)
    assert cn == rn == 9
    np.testing.assert_allclose(comp["params"], ref["params"], **tol(dtype, "epoch"))


def test_the_entry_point_refuses_arrays_it_has_no_code_for():
    p, Xc = csr_problem((12, 4), np.float64)
    order = np.arange(40)
    with pytest.raises(ValueError, match="X_data has dtype float32"):
        run_csr(kernels, p, Xc.data.astype(np.float32), Xc.indices, Xc.indptr, order)
    with pytest.raises(ValueError, match="both be int32 or both int64"):
        run_csr(kernels, p, Xc.data, Xc.indices.astype(np.int64), Xc.indptr, order)
    with pytest.raises(ValueError, match="X_indptr has 40 entries"):
        run_csr(kernels, p, Xc.data, Xc.indices, Xc.indptr[:-1], order)
    # int64 indices and indptr (scipy's choice for huge matrices) train as int32 do
    (_, c32, _), a = run_csr(kernels, p, Xc.data, Xc.indices, Xc.indptr, order, batch_size=2)
    (_, c64, _), b = run_csr(kernels, p, Xc.data, Xc.indices.astype(np.int64),
                             Xc.indptr.astype(np.int64), order, batch_size=2)
    np.testing.assert_array_equal(a["params"], b["params"])
