"""The row operations of momentum's (q, u) form (kernels/vmomentum.py) against NumPy, number
for number: rows of any length (whole vectors, a partial vector at the end, several register
blocks), both ways of storing a partial or pending vector (vecbase.MASKED_STORES, forced), and
nothing written outside the rows and vectors they own."""

import numba
import numpy as np
import pytest

from fastmlp.kernels import vecbase, vmomentum

DTYPES = [np.float64, np.float32]


def _rows(rng, dtype, S):
    return rng.standard_normal((9, S)).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("masked", [False, True])
def test_the_fused_q_u_row_operations_equal_numpy(dtype, masked, monkeypatch):
    monkeypatch.setattr(vecbase, "MASKED_STORES", masked)

    @numba.njit
    def ops(out, out2, x, prev, uidx, un, idx, n, Q, U, dz, lrq, lru, k, i, sq, su):
        vmomentum._vforward2_union(out, x, prev, uidx, un, Q, U, dz, lrq, lru, k)
        vmomentum._vforward2_rows(out2, x, idx, n, Q, U, k)
        d = vmomentum._vdot2(Q, U, i + 1, k, dz)
        return vmomentum._vdot2_update(Q, U, i, k, sq, su, dz), d

    rng = np.random.default_rng(7)
    t = np.dtype(dtype).type
    lanes = 64 // np.dtype(dtype).itemsize
    for S in (1, 3, lanes // 2, lanes, lanes + 5, 3 * lanes - 1, 8 * lanes + 3, 200):
        Q, U = _rows(rng, dtype, S), _rows(rng, dtype, S)
        Q0, U0 = Q.copy(), U.copy()
        guard = rng.standard_normal(2 * (S + lanes)).astype(dtype)
        g0 = guard.copy()
        out, out2 = guard[:S], guard[S + lanes:2 * S + lanes]
        x = ((rng.random(9) < 0.5) * rng.standard_normal(9)).astype(dtype)
        prev = ((rng.random(9) < 0.5) * rng.standard_normal(9)).astype(dtype)
        x[0], prev[0] = 1.5, 0.5  # a row both pending and active
        union = np.flatnonzero((x != 0) | (prev != 0)).astype(np.int64)
        idx = np.flatnonzero(x).astype(np.int64)
        dz = rng.standard_normal(S).astype(dtype)
        lrq, lru, k, sq, su = t(0.1), t(37.5), t(8.1), t(0.25), t(-3.0)
        du, d = ops(out, out2, x, prev, union, len(union), idx, len(idx), Q, U, dz, lrq, lru, k,
                    2, sq, su)
        eQ, eU = Q0.copy(), U0.copy()
        e = g0[:S].copy()
        for i in union:
            if prev[i] != 0:
                eQ[i] = eQ[i] - (lrq * prev[i]) * dz
                eU[i] = eU[i] - (lru * prev[i]) * dz
            if x[i] != 0:
                e = e + x[i] * (eQ[i] - k * eU[i])
        e2 = g0[S + lanes:2 * S + lanes].copy()
        for i in idx:
            e2 = e2 + x[i] * (eQ[i] - k * eU[i])
        assert np.array_equal(out, e) and np.array_equal(out2, e2)
        assert np.array_equal(guard[S:S + lanes], g0[S:S + lanes])
        assert np.array_equal(guard[2 * S + lanes:], g0[2 * S + lanes:])
        for got, rows, name in ((du, 2, "dot2_update"), (d, 3, "dot2")):
            w = (eQ[rows] - k * eU[rows]).astype(np.float64)
            exact = float(w @ dz.astype(np.float64))
            bound = 16 * np.finfo(dtype).eps * float(np.abs(w * dz).sum() +
                                                      np.abs(k * eU[rows] * dz).sum())
            assert abs(float(got) - exact) <= bound, name
        eQ[2] = eQ[2] - sq * dz
        eU[2] = eU[2] - su * dz
        assert np.array_equal(Q, eQ) and np.array_equal(U, eU)
