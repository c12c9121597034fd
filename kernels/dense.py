"""One dense layer with its activation: forward, backward, and backward fused with the SGD step.

The public kernels mirror the reference one-to-one (same names, argument order and in-place
semantics) on the public layout, W: (fan_in, fan_out). The ``_dense_*_rows`` forms do the work
on rows listed by the caller (the rows with a non-zero input, see rows._nonzero_rows), so the
network passes in network.py allocate nothing per sample. Row primitives and the arithmetic
rules: rows.py.
"""

import numpy as np

from .activations import activation_backward, activation_forward
from .config import jit
from .rows import (_axpy_rows, _dot_update_row, _nonzero_rows, _row_dot, _update_row,
                   clip_gradient)

__all__ = ["dense_forward", "dense_backward", "dense_backward_sgd", "clip_gradient"]


@jit
def _dense_forward_rows(out, inp, idx, nnz, W, b, act):
    # out: (fan_out,) = act(b + sum over i in idx[:nnz] of inp[i] * W[i]), rows in order
    # inp: (fan_in,)  W: (fan_in, fan_out)  b: (fan_out,)
    for j in range(W.shape[1]):
        out[j] = b[j]
    _axpy_rows(out, inp, idx, 0, nnz, W)
    activation_forward(out, act)


@jit
def dense_forward(out, inp, W, b, act):
    # out: (fan_out,)  inp: (fan_in,)  W: (fan_in, fan_out)  b: (fan_out,)
    idx = np.empty(W.shape[0], np.int64)  # one-off call: the epochs keep their own scratch
    _dense_forward_rows(out, inp, idx, _nonzero_rows(idx, inp), W, b, act)


@jit
def _dense_backward_rows(dinp, dW, db, dout, out, inp, idx, nnz, W, act, inp_relu):
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
                dinp[idx[k]] = _row_dot(W, idx[k], dout)
        else:
            for i in range(fan_in):
                dinp[i] = _row_dot(W, i, dout)


@jit
def dense_backward(dinp, dW, db, dout, out, inp, W, act):
    # dinp: (fan_in,) or (0,)  dW: (fan_in, fan_out)  db, dout, out: (fan_out,)  inp: (fan_in,)
    # dout becomes dz; dW and db ACCUMULATE; an empty dinp is not computed
    idx = np.empty(W.shape[0], np.int64)
    _dense_backward_rows(dinp, dW, db, dout, out, inp, idx, _nonzero_rows(idx, inp), W, act,
                         False)


@jit
def _dense_backward_sgd_rows(dinp, dout, out, inp, idx, nnz, W, b, act, inp_relu, lr, alpha,
                             l1, clip_value):
    # dinp: (fan_in,) or (0,)  dout, out, b: (fan_out,)  inp: (fan_in,)  W: (fan_in, fan_out)
    # idx[:nnz]: rows with inp != 0; inp_relu as in _dense_backward_rows.
    # Each row's dinp is computed from W before that row is updated (rows are independent), so
    # this equals dense_backward + update.
    fan_in = W.shape[0]
    activation_backward(dout, out, act)
    need_dinp = dinp.shape[0] > 0
    if alpha == 0 and l1 == 0:
        # zero-input rows: gradient exactly 0, no penalty -> only dinp may need them.
        # Without clipping, a row that needs both its dinp and its update gets them in one pass
        # (_dot_update_row); rows are independent, so the order of rows does not matter.
        fuse = need_dinp and clip_value == 0
        if need_dinp and not inp_relu:
            k = 0
            for i in range(fan_in):
                if fuse and k < nnz and idx[k] == i:
                    dinp[i] = _dot_update_row(W, i, lr * inp[i], dout)
                    k += 1
                else:
                    dinp[i] = _row_dot(W, i, dout)
            if fuse:
                nnz = 0  # every row with a non-zero input is updated already
        elif need_dinp:
            dinp[:] = 0
        for k in range(nnz):
            i = idx[k]
            if fuse and inp_relu:
                dinp[i] = _dot_update_row(W, i, lr * inp[i], dout)
            else:
                if need_dinp and inp_relu:
                    dinp[i] = _row_dot(W, i, dout)
                _update_row(W, i, inp[i], dout, lr, alpha, l1, clip_value)
    else:
        # a penalty (L2 or L1) moves every row
        for i in range(fan_in):
            if need_dinp:
                dinp[i] = _row_dot(W, i, dout)
            _update_row(W, i, inp[i], dout, lr, alpha, l1, clip_value)
    for j in range(b.shape[0]):
        b[j] -= lr * clip_gradient(dout[j], clip_value)


@jit
def dense_backward_sgd(dinp, dout, out, inp, W, b, act, lr, alpha, l1, clip_value):
    # dinp: (fan_in,) or (0,)  dout, out, b: (fan_out,)  inp: (fan_in,)  W: (fan_in, fan_out)
    # dinp is computed from W before its row is updated, so this equals dense_backward + update
    idx = np.empty(W.shape[0], np.int64)
    _dense_backward_sgd_rows(dinp, dout, out, inp, idx, _nonzero_rows(idx, inp), W, b, act,
                             False, lr, alpha, l1, clip_value)
