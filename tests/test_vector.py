"""The vector row operations (kernels/vector.py) and the padded work buffer
(kernels/workspace.py) on their own: each operation against NumPy on odd widths and unaligned
rows, and the pad columns of a trained work buffer still exactly zero."""

import numba
import numpy as np
import pytest

from fastmlp.kernels import config, epochs, rows, vecbase, vector, workspace
from fastmlp.layout import make_layout

from helpers import make_problem

DTYPES = [np.float64, np.float32]


@numba.njit
def _ops(out, W, x, idx, n, prev, uidx, un, dz, step, i):
    vector._vaxpy4(out, W, idx[0], idx[1], idx[2], idx[3], x[idx[0]], x[idx[1]], x[idx[2]],
                   x[idx[3]])
    vector._vaxpy(out, W, idx[4], x[idx[4]])
    d = vector._vdot(W, i, dz)
    du = vector._vdot_update(W, i, step, dz)
    vector._vupdate(W, idx[5], step, dz)
    return d, du


@numba.njit
def _forwards(out1, out2, x, idx, n, W1, prev, uidx, un, W2, dz, lr):
    vector._vforward_rows(out1, x, idx, n, W1)
    vector._vforward_union(out2, x, prev, uidx, un, W2, dz, lr)


def _unaligned(shape, dtype, rng):
    # a C-contiguous array one element past an aligned start: no row starts on a 64-byte line
    n = int(np.prod(shape))
    raw = np.empty(n + 1, dtype)
    a = raw[1:]
    a[:] = rng.standard_normal(n)
    return a.reshape(shape)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("nv", [1, 2, 3, 7, 8, 9, 13, 17, 25])
@pytest.mark.parametrize("partial", [0, 1, 5, -1])
def test_vector_row_operations_equal_numpy_in_the_order_they_state(dtype, nv, partial):
    """Rows of whole vectors (the padded work buffer) and rows ending in a partial vector (the
    public flat buffer: ``partial`` more elements, -1 = one short of a whole vector), whose
    masked lanes are neither read into a result nor written."""
    rng = np.random.default_rng(nv)
    lanes = 64 // np.dtype(dtype).itemsize
    S, fan_in = nv * lanes + partial % lanes - (lanes if partial < 0 else 0), 12
    W = _unaligned((fan_in, S), dtype, rng)
    guard = _unaligned((S + lanes,), dtype, rng)  # out with one vector of guard elements after it
    out, guard0 = guard[:S], guard[S:].copy()
    dz = _unaligned((S,), dtype, rng)
    x = ((rng.random(fan_in) < 0.6) * rng.standard_normal(fan_in)).astype(dtype)
    x[[1, 3, 5, 7, 9, 11]] = rng.standard_normal(6)  # the rows used below are non-zero
    prev = ((rng.random(fan_in) < 0.5) * rng.standard_normal(fan_in)).astype(dtype)
    idx = np.array([1, 3, 5, 7, 9, 11], np.int64)
    W0, out0 = W.copy(), out.copy()
    step = dtype(0.125)
    d, du = _ops(out, W, x, idx, 6, prev, idx, 6, dz, step, 2)
    expect = out0.copy()
    for i in idx[:5]:  # one row after the other, each element in IEEE order
        expect = expect + x[i] * W0[i]
    assert np.array_equal(out, expect)
    exact = float(W0[2].astype(np.float64) @ dz.astype(np.float64))
    bound = 8 * np.finfo(dtype).eps * float(np.abs(W0[2] * dz).sum())
    assert d == du and abs(float(d) - exact) <= bound  # reordered sum: rounding only
    assert np.array_equal(W[2], W0[2] - step * dz)
    assert np.array_equal(W[11], W0[11] - step * dz)
    untouched = [r for r in range(fan_in) if r not in (2, 11)]
    assert np.array_equal(W[untouched], W0[untouched])
    # register-blocked forwards: identical to row after row, and the union's pending steps
    W1, W2 = W0.copy(), W0.copy()
    o1, o2 = out0.copy(), out0.copy()
    act = np.flatnonzero(x).astype(np.int64)
    union = np.flatnonzero((x != 0) | (prev != 0)).astype(np.int64)
    lr = dtype(0.01)
    _forwards(o1, o2, x, act, len(act), W1, prev, union, len(union), W2, dz, lr)
    expect_W = W0.copy()
    for i in np.flatnonzero(prev):
        expect_W[i] = expect_W[i] - (lr * prev[i]) * dz
    e1, e2 = out0.copy(), out0.copy()
    for i in act:
        e1 = e1 + x[i] * W0[i]
        e2 = e2 + x[i] * expect_W[i]
    assert np.array_equal(o1, e1) and np.array_equal(W1, W0)
    assert np.array_equal(o2, e2) and np.array_equal(W2, expect_W)
    assert np.array_equal(guard[S:], guard0)  # nothing written past the end of out


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fan_out", [1, 10, 16, 21, 200])
def test_a_row_gives_the_same_numbers_in_the_padded_and_the_public_buffer(dtype, fan_out):
    """A masked lane adds exactly what a zero pad column adds: the dot products (reordered
    sums) of a row of the public flat buffer equal those of its padded copy bit for bit."""
    rng = np.random.default_rng(fan_out)
    layout, P, _ = make_layout((9, fan_out))
    params = rng.standard_normal(P).astype(dtype)
    work, playout, _, _ = workspace.new_work(params, layout)
    Wp = work[:9 * playout[0, 2]].reshape(9, playout[0, 2])
    Wf = params[:9 * fan_out].reshape(9, fan_out)
    dzp = np.zeros(playout[0, 2], dtype)
    dzp[:fan_out] = rng.standard_normal(fan_out)
    dzf = dzp[:fan_out].copy()
    x = rng.standard_normal(9).astype(dtype)
    idx = np.arange(9, dtype=np.int64)
    for i in range(9):
        assert _dot(Wp, i, dzp) == _dot(Wf, i, dzf)
    op, of = np.zeros(playout[0, 2], dtype), np.zeros(fan_out, dtype)
    _forward(op, x, idx, 9, Wp)
    _forward(of, x, idx, 9, Wf)
    assert np.array_equal(op[:fan_out], of) and not op[fan_out:].any()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("masked", [False, True])
def test_both_ways_of_storing_a_partial_or_pending_vector_give_the_same_numbers(dtype, masked,
                                                                                monkeypatch):
    """vecbase.MASKED_STORES picks, when the code is generated, masked stores (AVX-512) or a
    branch per pending row and a partial vector stored in pieces (other CPUs). The choice is
    forced here in both directions (AVX2 runs masked stores too, slowly), on freshly compiled
    functions, so whichever CPU runs the tests checks both."""
    monkeypatch.setattr(vecbase, "MASKED_STORES", masked)

    @numba.njit
    def ops(out, x, prev, uidx, un, W, dz, lr, i, step):
        vector._vforward_union(out, x, prev, uidx, un, W, dz, lr)
        vector._vupdate(W, i, step, dz)
        return vector._vdot_update(W, i + 1, step, dz)

    rng = np.random.default_rng(3)
    lanes = 64 // np.dtype(dtype).itemsize
    for S in (3, lanes // 2, lanes + 5, 3 * lanes - 1, 2 * lanes):
        W = rng.standard_normal((9, S + 1)).astype(dtype)[:, :S].copy()
        W0 = W.copy()
        guard = rng.standard_normal(S + lanes).astype(dtype)
        out, g0 = guard[:S], guard.copy()
        x = ((rng.random(9) < 0.5) * rng.standard_normal(9)).astype(dtype)
        prev = ((rng.random(9) < 0.5) * rng.standard_normal(9)).astype(dtype)
        union = np.flatnonzero((x != 0) | (prev != 0)).astype(np.int64)
        dz = rng.standard_normal(S).astype(dtype)
        lr, step = dtype(0.01), dtype(0.25)
        du = ops(out, x, prev, union, len(union), W, dz, lr, 2, step)
        expect_W = W0.copy()
        e = g0[:S].copy()
        for i in union:
            if prev[i] != 0:
                expect_W[i] = expect_W[i] - (lr * prev[i]) * dz
            if x[i] != 0:
                e = e + x[i] * expect_W[i]
        old = expect_W[3].copy()
        expect_W[2] = expect_W[2] - step * dz
        expect_W[3] = expect_W[3] - step * dz
        assert np.array_equal(out, e) and np.array_equal(guard[S:], g0[S:])
        assert np.array_equal(W, expect_W)
        exact = float(old.astype(np.float64) @ dz.astype(np.float64))
        assert abs(float(du) - exact) <= 8 * np.finfo(dtype).eps * float(np.abs(old * dz).sum())


@numba.njit
def _dot(W, i, dz):
    return vector._vdot(W, i, dz)


@numba.njit
def _forward(out, x, idx, n, W):
    vector._vforward_rows(out, x, idx, n, W)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [0, 1, 7, 8, 15, 16, 17, 33, 200, 784])
def test_nonzero_rows_are_compacted_in_order_nan_kept_and_nothing_written_past_the_input(dtype, n):
    rng = np.random.default_rng(n)
    a = ((rng.random(n) < 0.3) * rng.standard_normal(n)).astype(dtype)
    b = ((rng.random(n) < 0.3) * rng.standard_normal(n)).astype(dtype)
    if n > 5:
        a[2], a[3], b[4] = np.nan, -0.0, np.inf
    idx = np.full(n + 3, -7, np.int64)
    k = rows._nonzero_rows(idx, a)
    expect = np.flatnonzero((a != 0) | np.isnan(a))
    assert k == len(expect) and np.array_equal(idx[:k], expect)
    assert (idx[n:] == -7).all()
    idx[:] = -7
    k = rows._nonzero_union(idx, a, b)
    expect = np.flatnonzero((a != 0) | (b != 0) | np.isnan(a) | np.isnan(b))
    assert k == len(expect) and np.array_equal(idx[:k], expect)
    assert (idx[n:] == -7).all()


@pytest.mark.parametrize("dtype", DTYPES)
def test_work_buffer_rows_are_aligned_whole_vectors_and_copy_back_exactly(dtype):
    layout, P, _ = make_layout((13, 200, 10, 1))
    params = np.random.default_rng(0).standard_normal(P).astype(dtype)
    work, playout, acts, dacts = workspace.new_work(params, layout)
    lanes = 64 // np.dtype(dtype).itemsize
    assert work.ctypes.data % 64 == 0 and acts.ctypes.data % 64 == 0 and dacts.ctypes.data % 64 == 0
    assert (playout[:, workspace.P_STRIDE] % lanes == 0).all()
    assert (playout[:, workspace.P_STRIDE] >= layout[:, 1]).all()
    assert (playout[:, workspace.P_W_OFF] % lanes == 0).all()
    back = np.full(P, np.nan, dtype)
    workspace.copy_back(back, np.zeros(len(acts)), np.zeros(len(acts)), layout, work, acts, dacts,
                        playout)
    assert np.array_equal(back, params)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("alpha,clip_value,momentum", [
    (0.0, 0.0, 0.0), (1e-3, 0.0, 0.0), (0.0, 0.05, 0.0), (1e-3, 0.05, 0.0), (0.0, 0.0, 0.9),
    (0.0, 0.05, 0.9)])
@pytest.mark.parametrize("hidden", ["relu", "tanh", "sigmoid"])
def test_pad_columns_stay_exactly_zero_after_training(dtype, alpha, clip_value, momentum,
                                                      hidden):
    """The pads of W and b (workspace.py) must stay 0: their gradient is dz = 0 there, and
    weight decay and clipping of 0 give 0. A pad that drifted would leak into nothing visible
    (pads are never copied out), so this is checked on the work buffer itself; with L2 and
    with momentum also in their lazy forms (kernels/lazy.py), the velocity's pads too."""
    p = make_problem((37, 21, 10, 3), hidden=hidden, dtype=dtype, n=64, sparse=True)
    work, playout, acts, dacts = workspace.new_work(p["params"], p["layout"])
    velocity = np.random.default_rng(1).standard_normal(len(p["params"])).astype(dtype) * 0.01
    uwork = workspace.new_work(velocity, p["layout"])[0] if momentum else None
    t = np.dtype(dtype).type
    order = np.random.default_rng(0).integers(0, 64, 300).astype(np.int64)
    res = epochs._epoch_per_sample(work, playout, acts, dacts, p["X"], p["Y"], order,
                                   p["activations"], p["loss"], t(0.05), t(alpha), t(0),
                                   t(clip_value), np.zeros(0, dtype), True, uwork, t(momentum),
                                   True)
    assert res[2] == 300
    for buf in (work, uwork) if momentum else (work,):
        for l in range(len(playout)):
            fan_in, fan_out, stride, w_off, b_off, a_off = playout[l]
            W = buf[w_off:w_off + fan_in * stride].reshape(fan_in, stride)
            assert stride > fan_out
            assert not W[:, fan_out:].any() and not buf[b_off + fan_out:b_off + stride].any()
            assert not np.array_equal(W[:, :fan_out], np.zeros_like(W[:, :fan_out]))


def test_every_kernel_cache_entry_is_stamped_with_the_hash_of_all_kernel_sources():
    """Numba checks a cached function only against its own file; the kernels inline kernels
    from other files, so a stamp per file would let an edit to one file run stale code from
    another. config.py stamps every kernel's entry with one hash of all kernel files."""
    locator = epochs._epoch_per_sample._cache._impl.locator
    assert type(locator).__name__.startswith("Kernels")
    assert locator.get_source_stamp() == config.SOURCE_HASH == config._sources_hash()
