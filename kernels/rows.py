"""Row primitives on a layer's W: (fan_in, stride), each input unit owning one row.

A sample touches W row by row: the forward adds x_i * W[i] for every input i != 0, the backward
takes the dot W[i] . dz for dinp and steps W[i] -= lr * x_i * dz. Rows whose input is exactly
zero contribute exactly nothing and are skipped (``_nonzero_rows`` lists the others once per
layer and sample). ``stride`` may be larger than the layer's fan_out (the padded work buffer of
workspace.py, whose pad columns are zero) or equal to it (the public layout): every primitive
walks the whole stride. A stride of exactly one 64-byte vector (the 10-unit output layer, padded
to 16 float32) has its own constant-width loop: one vector instruction, no loop at all.

Arithmetic: IEEE, in the order written, except the dot products (``_row_dot``,
``_dot_update_row``), which are compiled with ``reassoc`` so they vectorise (see config.py).
"""

from .config import jit, jit_reassoc
from .vector import _vaxpy, _vaxpy4, _vdot, _vdot_update, _vnonzero2_blocks, _vnonzero_blocks, _vupdate
from .workspace import lanes


@jit
def _nonzero_rows(idx, inp):
    # idx: (>= n,) int64 scratch  inp: (n,); returns nnz, idx[:nnz] = i with inp[i] != 0
    # branch-free: always store, advance only on non-zero (no mispredictions on pixel patterns);
    # NaN != 0 is true, so a NaN input is never skipped and still reaches the loss
    # Whole vectors first, compared and compressed 16 (float32) or 8 (float64) at a time
    # (vector._vnonzero_blocks), then the remainder
    nnz = _vnonzero_blocks(idx, inp)
    for i in range(inp.shape[0] // lanes(inp) * lanes(inp), inp.shape[0]):
        idx[nnz] = i
        nnz += inp[i] != 0
    return nnz


@jit
def _nonzero_union(idx, a, b):
    # idx: (>= n,) int64 scratch  a, b: (n,); returns nnz, idx[:nnz] = i with a[i] != 0 or
    # b[i] != 0, in order (NaN counts as non-zero)
    nnz = _vnonzero2_blocks(idx, a, b)
    for i in range(a.shape[0] // lanes(a) * lanes(a), a.shape[0]):
        idx[nnz] = i
        nnz += (a[i] != 0) | (b[i] != 0)
    return nnz


@jit
def clip_gradient(g, clip_value):
    # a scalar g clipped to [-clip_value, clip_value]; clip_value == 0 means no clipping
    if clip_value > 0:
        if g > clip_value:
            return clip_value
        if g < -clip_value:
            return -clip_value
    return g


@jit
def l1_term(w, l1):
    # the L1 penalty's gradient at a weight w: l1 * sign(w), with sign(0) = 0 (a weight at
    # exactly 0 with no data gradient stays put); in w's dtype (l1 - l1, not a literal 0)
    if w > 0:
        return l1
    if w < 0:
        return -l1
    return l1 - l1


@jit_reassoc
def _row_dot(W, i, v):
    # sum_j W[i, j] * v[j]; W: (fan_in, stride)  v: (stride,). The sum may be reordered.
    if W.shape[1] % lanes(W) == 0:
        return _vdot(W, i, v)
    s = W.dtype.type(0)
    for j in range(W.shape[1]):
        s += W[i, j] * v[j]
    return s


@jit_reassoc
def _dot_update_row(W, i, step, dz):
    # returns sum_j W[i, j] * dz[j] with the OLD row and applies W[i] -= step * dz in the same
    # pass (the row is read once). W: (fan_in, stride)  dz: (stride,)  step = lr * x_i.
    # Only the sum is reordered: the update is one multiply and one subtract per weight.
    if W.shape[1] % lanes(W) == 0:
        return _vdot_update(W, i, step, dz)
    s = W.dtype.type(0)
    for j in range(W.shape[1]):
        w = W[i, j]
        s += w * dz[j]
        W[i, j] = w - step * dz[j]
    return s


@jit
def _update_row(W, i, xi, dz, lr, alpha, l1, clip_value):
    # W[i] -= lr * clip(xi * dz + alpha * W[i] + l1 * sign(W[i])); W: (fan_in, stride)
    # dz: (stride,)
    if alpha == 0 and l1 == 0 and clip_value == 0:
        # the common case as its own loop, so it vectorises; lr * xi once per row
        step = lr * xi
        if W.shape[1] % lanes(W) == 0:
            _vupdate(W, i, step, dz)
        else:
            for j in range(W.shape[1]):
                W[i, j] -= step * dz[j]
    else:
        for j in range(W.shape[1]):
            W[i, j] -= lr * clip_gradient(xi * dz[j] + alpha * W[i, j] + l1_term(W[i, j], l1),
                                          clip_value)


@jit
def _axpy_rows(out, inp, idx, k, stop, W):
    # out: (stride,) += inp[i] * W[i] for i = idx[k], ..., idx[stop - 1], in that order
    # Four rows per pass over out: out[j] receives exactly the same additions in the same order
    # as row by row (so this is exact), but is loaded and stored 4x less often.
    if W.shape[1] % lanes(W) == 0:
        while k + 4 <= stop:
            i0, i1, i2, i3 = idx[k], idx[k + 1], idx[k + 2], idx[k + 3]
            _vaxpy4(out, W, i0, i1, i2, i3, inp[i0], inp[i1], inp[i2], inp[i3])
            k += 4
        while k < stop:
            _vaxpy(out, W, idx[k], inp[idx[k]])
            k += 1
        return
    n = W.shape[1]
    while k + 4 <= stop:
        i0, i1, i2, i3 = idx[k], idx[k + 1], idx[k + 2], idx[k + 3]
        x0, x1, x2, x3 = inp[i0], inp[i1], inp[i2], inp[i3]
        for j in range(n):
            o = out[j]
            o += x0 * W[i0, j]
            o += x1 * W[i1, j]
            o += x2 * W[i2, j]
            o += x3 * W[i3, j]
            out[j] = o
        k += 4
    while k < stop:
        i = idx[k]
        xi = inp[i]
        for j in range(n):
            out[j] += xi * W[i, j]
        k += 1
