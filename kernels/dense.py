"""Fused dense + activation layer: forward, backward, and backward fused with the SGD step.

Rows of W whose input is exactly zero are skipped: a zero input contributes exactly nothing to
the product and to the weight gradient, and MNIST pixels (~81%) and inactive ReLU units (~2/3)
are mostly zero. The indices of the non-zero inputs are compacted once per layer and sample
(``nonzero_rows``) and reused by the forward product, the backward and the update.

The public kernels (``dense_forward``, ``dense_backward``, ``dense_backward_sgd``) mirror the
reference one-to-one. The ``*_rows`` helpers do the work; they take the compacted rows from the
caller so the compiled epochs in ``sgd.py`` allocate nothing per sample.

Arithmetic: every update and forward product is IEEE, in the order written. The only
reassociated sums are the dot products dinp = W @ dz (``row_dot``, ``dot_update_row``), see
config.py. Without weight decay or clipping, a row's SGD step is computed as
``W[i, j] -= (lr * x_i) * dz_j``: one multiply per weight instead of two; the reference's
``lr * (x_i * dz_j)`` can differ from it in the last bit (covered by the tests' tolerances).
"""

import numpy as np

from .activations import activation_backward, activation_forward
from .config import jit, jit_reassoc


@jit
def nonzero_rows(idx, inp):
    # idx: (>= fan_in,) int64 scratch  inp: (fan_in,); returns nnz, idx[:nnz] = i with inp[i] != 0
    # branch-free: always store, advance only on non-zero (no mispredictions on pixel patterns);
    # NaN != 0 is true, so a NaN input is never skipped and still reaches the loss
    nnz = 0
    for i in range(inp.shape[0]):
        idx[nnz] = i
        nnz += inp[i] != 0
    return nnz


@jit_reassoc
def row_dot(W, i, v):
    # sum_j W[i, j] * v[j] in W's dtype; W: (fan_in, fan_out)  v: (fan_out,)
    # jit_reassoc: the sum may be reordered so it vectorises (8 or 16 float32 lanes per
    # instruction with AVX2 / AVX-512)
    s = W.dtype.type(0)
    for j in range(W.shape[1]):
        s += W[i, j] * v[j]
    return s


@jit_reassoc
def dot_update_row(W, i, xi, dz, lr):
    # returns sum_j W[i, j] * dz[j] with the OLD row, and applies W[i] -= (lr * xi) * dz, in one
    # pass over the row (it is read once, not once for the dot and again for the update).
    # W: (fan_in, fan_out)  dz: (fan_out,). Only the sum is reordered (jit_reassoc): the step
    # is written with its product already grouped, so reassociation has nothing to change there
    s = W.dtype.type(0)
    step = lr * xi
    for j in range(W.shape[1]):
        w = W[i, j]
        s += w * dz[j]
        W[i, j] = w - step * dz[j]
    return s


@jit
def axpy_rows(out, inp, idx, k, stop, W):
    # out: (fan_out,) += inp[i] * W[i] for i = idx[k], ..., idx[stop - 1], in that order
    # Four rows per pass over out: out[j] receives exactly the same additions in the same order
    # as row by row (so this is exact), but is loaded and stored 4x less often.
    fan_out = W.shape[1]
    while k + 4 <= stop:
        i0, i1, i2, i3 = idx[k], idx[k + 1], idx[k + 2], idx[k + 3]
        x0, x1, x2, x3 = inp[i0], inp[i1], inp[i2], inp[i3]
        for j in range(fan_out):
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
        for j in range(fan_out):
            out[j] += xi * W[i, j]
        k += 1


ROW_BLOCK = 128  # rows per block in dense_forward_rows; ~25 active rows fit in L1


@jit
def dense_forward_rows(out, inp, idx, nnz, W, b, act, prev, pidx, pnnz, dz, lr, clip_value):
    # out: (fan_out,)  inp: (fan_in,)  idx[:nnz]: rows with inp != 0  W: (fan_in, fan_out)
    # b: (fan_out,). First applies a deferred update W[i] -= lr * clip(prev[i] * dz) to the rows
    # i in pidx[:pnnz] (pnnz == 0: none; prev: (fan_in,), dz: (fan_out,)), then
    # out = act(b + inp @ W) by row-by-row axpy (out += x_i * W[i]): contiguous, vectorises
    # without reassociation. One kernel for both (one compilation): block by block over the
    # rows, a block's pending rows are updated just before the forward reads the same block, so
    # a row both updated and read is fetched from L2 once. Every number is the same as updating
    # everything first, then running the forward.
    fan_in, fan_out = W.shape
    for j in range(fan_out):
        out[j] = b[j]
    kp = np.int64(0)
    kf = np.int64(0)  # np.int64, not 0: a literal would compile axpy_rows a second time
    for i0 in range(0, fan_in, ROW_BLOCK):
        i1 = i0 + ROW_BLOCK
        while kp < pnnz and pidx[kp] < i1:
            update_row(W, pidx[kp], prev[pidx[kp]], dz, lr, W.dtype.type(0), clip_value)
            kp += 1
        stop = kf
        while stop < nnz and idx[stop] < i1:
            stop += 1
        axpy_rows(out, inp, idx, kf, stop, W)
        kf = stop
    activation_forward(out, act)


@jit
def dense_forward(out, inp, W, b, act):
    # out: (fan_out,)  inp: (fan_in,)  W: (fan_in, fan_out)  b: (fan_out,)
    idx = np.empty(W.shape[0], np.int64)  # one-off call: the epoch loop passes its own scratch
    dense_forward_rows(out, inp, idx, nonzero_rows(idx, inp), W, b, act, inp, idx,
                       np.int64(0), out, W.dtype.type(0), W.dtype.type(0))


@jit
def dense_backward_rows(dinp, dW, db, dout, out, inp, idx, nnz, W, act, inp_relu):
    # dinp: (fan_in,) or (0,)  dW: (fan_in, fan_out)  db, dout, out: (fan_out,)  inp: (fan_in,)
    # dout becomes dz; dW and db ACCUMULATE; an empty dinp is not computed.
    # inp_relu: inp is a ReLU output, so dinp[i] where inp[i] == 0 is multiplied by ReLU' = 0
    # by the caller's next activation_backward; it is written as 0 instead of computed.
    fan_in, fan_out = W.shape
    activation_backward(dout, out, act)
    for k in range(nnz):
        i = idx[k]
        xi = inp[i]
        for j in range(fan_out):
            dW[i, j] += xi * dout[j]
    for j in range(fan_out):
        db[j] += dout[j]
    if dinp.shape[0] > 0:
        if inp_relu:
            dinp[:] = 0
            for k in range(nnz):
                dinp[idx[k]] = row_dot(W, idx[k], dout)
        else:
            for i in range(fan_in):
                dinp[i] = row_dot(W, i, dout)


@jit
def dense_backward(dinp, dW, db, dout, out, inp, W, act):
    # dinp: (fan_in,) or (0,)  dW: (fan_in, fan_out)  db, dout, out: (fan_out,)  inp: (fan_in,)
    # dout becomes dz; dW and db ACCUMULATE; an empty dinp is not computed
    idx = np.empty(W.shape[0], np.int64)
    dense_backward_rows(dinp, dW, db, dout, out, inp, idx, nonzero_rows(idx, inp), W, act, False)


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
def update_row(W, i, xi, dz, lr, alpha, clip_value):
    # W[i] -= lr * clip(xi * dz + alpha * W[i]); W: (fan_in, fan_out)  dz: (fan_out,)
    fan_out = W.shape[1]
    if alpha == 0 and clip_value == 0:
        # the common case as its own loop, so it vectorises: x + alpha * W with alpha == 0 is x
        # (for finite W), and clip is the identity; lr * xi once per row (see the module doc)
        step = lr * xi
        for j in range(fan_out):
            W[i, j] -= step * dz[j]
    else:
        for j in range(fan_out):
            W[i, j] -= lr * clip_gradient(xi * dz[j] + alpha * W[i, j], clip_value)


@jit
def dense_backward_sgd_rows(dinp, dout, out, inp, idx, nnz, W, b, act, inp_relu, lr, alpha,
                            clip_value, defer_rows):
    # dinp: (fan_in,) or (0,)  dout, out, b: (fan_out,)  inp: (fan_in,)  W: (fan_in, fan_out)
    # idx[:nnz]: rows with inp != 0; inp_relu as in dense_backward_rows.
    # Each row's dinp is computed from W before that row is updated (rows are independent), so
    # this equals dense_backward + update; the row is still in L1 for its update.
    # defer_rows (only with alpha == 0 and no dinp): update b only and leave dz in dout; the
    # caller applies W[idx[:nnz]] -= lr * clip(inp * dz) in the next forward (see
    # dense_forward_rows), so each row of W crosses the cache hierarchy once per sample.
    fan_in, fan_out = W.shape
    activation_backward(dout, out, act)
    need_dinp = dinp.shape[0] > 0
    if defer_rows:
        pass
    elif alpha == 0:
        # zero-input rows: gradient exactly 0, no weight decay -> only dinp may need them.
        # Without clipping, a row that needs both its dinp and its update gets them in one pass
        # (dot_update_row); rows are independent, so the order of rows does not matter.
        fuse = need_dinp and clip_value == 0
        if need_dinp and not inp_relu:
            k = 0
            for i in range(fan_in):
                if fuse and k < nnz and idx[k] == i:
                    dinp[i] = dot_update_row(W, i, inp[i], dout, lr)
                    k += 1
                else:
                    dinp[i] = row_dot(W, i, dout)
            if fuse:
                nnz = 0  # every row with a non-zero input is updated already
        elif need_dinp:
            dinp[:] = 0
        for k in range(nnz):
            i = idx[k]
            if fuse and inp_relu:
                dinp[i] = dot_update_row(W, i, inp[i], dout, lr)
            else:
                if need_dinp and inp_relu:
                    dinp[i] = row_dot(W, i, dout)
                update_row(W, i, inp[i], dout, lr, alpha, clip_value)
    else:
        # weight decay moves every row
        for i in range(fan_in):
            if need_dinp:
                dinp[i] = row_dot(W, i, dout)
            update_row(W, i, inp[i], dout, lr, alpha, clip_value)
    for j in range(fan_out):
        b[j] -= lr * clip_gradient(dout[j], clip_value)


@jit
def dense_backward_sgd(dinp, dout, out, inp, W, b, act, lr, alpha, clip_value):
    # dinp: (fan_in,) or (0,)  dout, out, b: (fan_out,)  inp: (fan_in,)  W: (fan_in, fan_out)
    # dinp is computed from W before its row is updated, so this equals dense_backward + update
    idx = np.empty(W.shape[0], np.int64)
    dense_backward_sgd_rows(dinp, dout, out, inp, idx, nonzero_rows(idx, inp), W, b, act, False,
                            lr, alpha, clip_value, False)
