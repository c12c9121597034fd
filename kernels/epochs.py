"""The per-sample SGD epoch on the padded work buffer (workspace.py): one compiled call trains
every sample of a chunk, updating the weights in place.

Per sample: forward layer by layer (out = act(b + sum over non-zero inputs of x_i * W[i])), the
loss and its gradient, then the backward fused with the SGD step, layer by layer from the top:
each row of W gets its dinp = W[i] . dz from the OLD row and its step in the same pass. Without
weight decay, layer 0's row steps are deferred into the next sample's forward (same numbers;
each of the largest matrix's rows is fetched once per sample, not twice).
No allocation per sample, no RNG: the caller passes the order and the scratch.
"""

import math

import numpy as np

from .activations import activation_backward, activation_forward
from .codes import RELU
from .config import jit
from .loss import loss_forward_backward, weigh_output
from .prefetch import prefetch_row
from .rows import _nonzero_rows, _nonzero_union, _row_dot, _update_row, clip_gradient
from .vector import _vdot, _vdot_update, _vupdate
from .vforward import _vforward_rows, _vforward_union
from .workspace import _work_slot, _work_views, copy_back, flat_playout, lanes, new_work

ROW_BLOCK = 128  # rows per block in _forward_pending; ~25 active rows fit in L1
# calls of at least this many samples copy the weights into the padded work buffer; smaller
# ones train and predict on the public buffer in place (bench/online.py measures both)
PADDED_FROM = 1024


@jit
def argmax_equal(out, target):
    # 1 if argmax(out) == argmax(target) (first maximum wins, as np.argmax), else 0
    a = 0
    t = 0
    for j in range(1, out.shape[0]):
        if out[j] > out[a]:
            a = j
        if target[j] > target[t]:
            t = j
    return 1 if a == t else 0


@jit
def _forward_pending(out, inp, idx, nnz, W, prev, pidx, pnnz, dz, lr, clip_value):
    # out: (stride,) += inp @ W over the rows idx[:nnz], after first applying the deferred
    # update W[i] -= lr * clip(prev[i] * dz) to the rows pidx[:pnnz]. Block by block over the
    # rows, a block's pending rows are updated just before the forward reads the same block, so
    # a row both updated and read is fetched from L2 once. Every number is the same as updating
    # everything first, then running the forward.
    fan_in = W.shape[0]
    kp = 0
    kf = 0
    zero = W.dtype.type(0)
    for i0 in range(0, fan_in, ROW_BLOCK):
        i1 = i0 + ROW_BLOCK
        if clip_value == 0:
            while kp < pnnz and pidx[kp] < i1:
                _vupdate(W, pidx[kp], lr * prev[pidx[kp]], dz)  # inlined: no call per row
                kp += 1
        else:
            while kp < pnnz and pidx[kp] < i1:
                _update_row(W, pidx[kp], prev[pidx[kp]], dz, lr, zero, zero, clip_value)
                kp += 1
        stop = kf
        while stop < nnz and idx[stop] < i1:
            stop += 1
        _vforward_rows(out, inp, idx[kf:], stop - kf, W)
        kf = stop


@jit
def _backward_sgd_rows(dinp, dz, inp, idx, nnz, W, inp_relu, lr, alpha, l1, clip_value):
    # dinp: (fan_in,)  dz: (stride,) this layer's pre-activation gradient  inp: (fan_in,)
    # W: (fan_in, stride); idx[:nnz] the rows with inp != 0. dinp = W @ dz from the OLD W, and
    # W -= lr * clip(inp (x) dz + alpha * W + l1 * sign(W)). inp_relu: inp is a ReLU output, so dinp[i] where
    # inp[i] == 0 is multiplied by ReLU' = 0 by the next activation_backward: written as 0.
    fan_in = W.shape[0]
    if alpha == 0 and l1 == 0 and clip_value == 0:
        if inp_relu:
            for i in range(fan_in):
                dinp[i] = 0
            for k in range(nnz):
                i = idx[k]
                dinp[i] = _vdot_update(W, i, lr * inp[i], dz)
        else:
            k = 0
            for i in range(fan_in):
                if k < nnz and idx[k] == i:
                    dinp[i] = _vdot_update(W, i, lr * inp[i], dz)
                    k += 1
                else:
                    dinp[i] = _vdot(W, i, dz)
    elif alpha == 0 and l1 == 0:
        # clipping, no weight decay: zero-input rows have gradient exactly 0 (clip(0) = 0)
        if inp_relu:
            for i in range(fan_in):
                dinp[i] = 0
        else:
            for i in range(fan_in):
                dinp[i] = _row_dot(W, i, dz)
        for k in range(nnz):
            i = idx[k]
            if inp_relu:
                dinp[i] = _row_dot(W, i, dz)
            _update_row(W, i, inp[i], dz, lr, alpha, l1, clip_value)
    else:
        # a penalty (L2 or L1) moves every row
        for i in range(fan_in):
            dinp[i] = _row_dot(W, i, dz)
            _update_row(W, i, inp[i], dz, lr, alpha, l1, clip_value)


@jit
def _forward_layers(acts, idx, ioff, nnz, x, work, playout, activations, first):
    # forward of x through layers first, ..., L - 1 (the earlier ones' outputs already in acts):
    # out = act(b + sum over the non-zero inputs i of inp[i] * W[i]), the rows in order, out's
    # partial sums in registers (vector._vforward_rows). Leaves each layer's non-zero input
    # rows in idx[ioff[l]:][:nnz[l]] for the backward.
    for l in range(first, playout.shape[0]):
        W, b = _work_views(work, playout, l)
        fan_in, fan_out, stride = playout[l, 0], playout[l, 1], playout[l, 2]
        out = _work_slot(acts, playout, l)
        inp = x if l == 0 else _work_slot(acts, playout, l - 1)[:fan_in]
        rows = idx[ioff[l]:]
        for j in range(stride):
            out[j] = b[j]
        nnz[l] = _nonzero_rows(rows, inp)
        _vforward_rows(out, inp, rows, nnz[l], W)
        activation_forward(out[:fan_out], activations[l])


@jit
def _scratch(playout):
    # (idx, ioff, nnz): each layer's non-zero input rows, layer l's part of idx at ioff[l]
    L = playout.shape[0]
    ioff = np.zeros(L + 1, np.int64)
    for l in range(L):
        ioff[l + 1] = ioff[l] + playout[l, 0]
    return np.empty(ioff[L], np.int64), ioff, np.zeros(L, np.int64)


@jit
def _epoch_per_sample(work, playout, acts, dacts, X, Y, order, activations, loss, lr, alpha,
                      l1, clip_value, sample_weight):
    # work: padded weights (workspace.py)  acts, dacts: padded slots, zero pads
    # X: (n, n_in)  Y: (n, n_out)  order: (m,) int64  sample_weight: (n,) or (0,) (all 1)
    # returns (loss_sum, n_correct, n_done); n_done < m: order[n_done] gave a non-finite loss
    L = playout.shape[0]
    # scratch, allocated once per call (nothing per sample): the non-zero input rows of every
    # layer, and layer 0's pending rows
    idx, ioff, nnz = _scratch(playout)
    pidx = np.empty(playout[0, 0], np.int64)
    m = order.shape[0]
    loss_sum = 0.0
    n_correct = 0
    # without a penalty, layer 0's row steps wait for the next forward (see module doc)
    defer = alpha == 0 and l1 == 0
    pending = False  # X[prev]'s layer-0 step (with dz0) is still to be applied
    prev = order[0] if m > 0 else 0
    dz0 = _work_slot(dacts, playout, 0)
    weighted = sample_weight.shape[0] > 0
    for k in range(m):
        i = order[k]
        if k + 1 < m:
            # hints only: the next sample's input and target rows, fetched meanwhile (the target
            # row is one line, but a miss on it cost ~0.3 us per sample in the loss)
            prefetch_row(X[order[k + 1]])
            prefetch_row(Y[order[k + 1]])
        x = X[i]
        # forward; layer 0 first applies the previous sample's deferred step if one is pending
        first = 0
        if pending:
            W, b = _work_views(work, playout, 0)
            out = _work_slot(acts, playout, 0)
            for j in range(playout[0, 2]):
                out[j] = b[j]
            if clip_value == 0 and lanes(W) == 16:
                # one pass over the union of the previous and this sample's non-zero pixels:
                # a pending row is stepped, then (if active) added with its new values. Float32
                # only: a float64 row is 25 vectors, 4 register blocks, and walking the union
                # 4 times costs more than it saves (measured 0.89x vs 1.13x in float32)
                n = _nonzero_union(idx, x, X[prev])
                _vforward_union(out, x, X[prev], idx, n, W, dz0, lr)
            else:
                pnnz = _nonzero_rows(pidx, X[prev])
                n = _nonzero_rows(idx, x)
                _forward_pending(out, x, idx, n, W, X[prev], pidx, pnnz, dz0, lr, clip_value)
            nnz[0] = n  # layer 0's rows are not used again when its step is deferred
            activation_forward(out[:playout[0, 1]], activations[0])
            first = 1
        _forward_layers(acts, idx, ioff, nnz, x, work, playout, activations, first)
        pending = False
        n_out = playout[L - 1, 1]
        out = _work_slot(acts, playout, L - 1)[:n_out]
        dz_out = _work_slot(dacts, playout, L - 1)[:n_out]
        value = loss_forward_backward(dz_out, out, Y[i], activations[L - 1], loss)
        if not math.isfinite(value):
            return loss_sum, n_correct, k
        if weighted:
            value = weigh_output(dz_out[:n_out], value, sample_weight[i])
        loss_sum += value
        n_correct += argmax_equal(out, Y[i])
        # backward fused with the step, from the top
        for l in range(L - 1, -1, -1):
            W, b = _work_views(work, playout, l)
            fan_in, fan_out, stride = playout[l, 0], playout[l, 1], playout[l, 2]
            dz = _work_slot(dacts, playout, l)
            if l < L - 1:  # the output layer's dz comes from the loss, act' included
                activation_backward(dz[:fan_out], _work_slot(acts, playout, l)[:fan_out],
                                    activations[l])
            rows = idx[ioff[l]:]
            if l > 0:
                _backward_sgd_rows(_work_slot(dacts, playout, l - 1)[:fan_in], dz,
                                   _work_slot(acts, playout, l - 1)[:fan_in], rows, nnz[l], W,
                                   activations[l - 1] == RELU, lr, alpha, l1, clip_value)
            elif defer:
                pending = True
                prev = i
            else:
                for i0 in range(fan_in):  # weight decay moves every row
                    _update_row(W, i0, x[i0], dz, lr, alpha, l1, clip_value)
            for j in range(stride):
                b[j] -= lr * clip_gradient(dz[j], clip_value)
    if pending:
        W, _ = _work_views(work, playout, 0)
        zero = W.dtype.type(0)
        pnnz = _nonzero_rows(pidx, X[prev])
        for k0 in range(pnnz):
            _update_row(W, pidx[k0], X[prev][pidx[k0]], dz0, lr, zero, zero, clip_value)
    return loss_sum, n_correct, m


def _train_per_sample(params, acts, dacts, X, Y, order, layout, activations, loss, lr, alpha,
                      l1, clip_value, sample_weight):
    # train_epoch at batch size 1 without clip_norm: copy the weights into the padded work
    # buffer, run the compiled epoch there, copy them (and the last sample's acts/dacts) back;
    # a small call (fewer than PADDED_FROM samples) runs the same epoch on params in place
    # (flat_playout: the copies would cost more than the padding saves).
    # Plain Python around one compiled call (see workspace.new_work)
    if order.shape[0] < PADDED_FROM:
        return _epoch_per_sample(params, flat_playout(layout), acts, dacts, X, Y, order,
                                 activations, loss, lr, alpha, l1, clip_value, sample_weight)
    work, playout, acts_p, dacts_p = new_work(params, layout)
    result = _epoch_per_sample(work, playout, acts_p, dacts_p, X, Y, order, activations, loss,
                               lr, alpha, l1, clip_value, sample_weight)
    copy_back(params, acts, dacts, layout, work, acts_p, dacts_p, playout)
    return result


def predict(out, X, params, acts, layout, activations):
    # out: (n, n_out)  X: (n, n_in)  acts: (A,) scratch (left holding the last row's outputs)
    if X.shape[0] < PADDED_FROM:
        _predict_work(out, X, params, flat_playout(layout), acts, activations)
        return
    work, playout, acts_p, dacts_p = new_work(params, layout)
    _predict_work(out, X, work, playout, acts_p, activations)
    copy_back(params, acts, np.zeros_like(acts), layout, work, acts_p, dacts_p, playout)


@jit
def _predict_work(out, X, work, playout, acts, activations):
    # out[i] = the network's output for X[i], on the padded work buffer
    idx, ioff, nnz = _scratch(playout)
    L = playout.shape[0]
    n_out = playout[L - 1, 1]
    for i in range(X.shape[0]):
        _forward_layers(acts, idx, ioff, nnz, X[i], work, playout, activations, 0)
        last = _work_slot(acts, playout, L - 1)
        for j in range(n_out):
            out[i, j] = last[j]
