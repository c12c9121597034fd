"""The per-sample SGD epoch on the padded work buffer (workspace.py): one compiled call trains
every sample of a chunk, updating the weights in place.

Per sample: forward layer by layer (out = act(b + sum over non-zero inputs of x_i * W[i])), the
loss and its gradient, then the backward fused with the SGD step, layer by layer from the top:
each row of W gets its dinp = W[i] . dz from the OLD row and its step in the same pass. Without
weight decay, layer 0's row steps are deferred into the next sample's forward (same numbers;
each of the largest matrix's rows is fetched once per sample, not twice).
An L2 penalty alone, and SGD with momentum (no penalty), run in the same epoch with the weights
in a lazy form (lazy.py): the rows a sample does not touch cost nothing, the touched rows take
the same row steps (momentum: twice, on two buffers), the forward and dinp a scalar more.
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
from .lazy import (MT_MIN, S_MIN, backward_scaled_clip_rows, decay_bound_holds, fold_scale,
                   backward_momentum_rows, form_begin, form_finish, momentum_bias_step,
                   momentum_constant, momentum_from_qu, momentum_renorm, momentum_to_qu)
from .vector import _vdot, _vdot_update, _vupdate
from .vforward import _vforward_rows, _vforward_union
from .vmomentum import _vforward2_rows, _vforward2_union
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
def _forward_pending(out, inp, idx, nnz, W, prev, pidx, pnnz, dz, lr, clip_value, U, lru, kd):
    # out: (stride,) += inp @ W over the rows idx[:nnz], after first applying the deferred
    # update W[i] -= lr * clip(prev[i] * dz) to the rows pidx[:pnnz]. Block by block over the
    # rows, a block's pending rows are updated just before the forward reads the same block, so
    # a row both updated and read is fetched from L2 once. Every number is the same as updating
    # everything first, then running the forward. U: None, or momentum's u rows (lazy.py):
    # U[i] -= lru * clip(prev[i] * dz) too, and out += inp @ (W - kd * U) (None: the momentum
    # code is not compiled at all, see _epoch_per_sample)
    fan_in = W.shape[0]
    mom = U is not None
    kp = 0
    kf = 0
    zero = W.dtype.type(0)
    for i0 in range(0, fan_in, ROW_BLOCK):
        i1 = i0 + ROW_BLOCK
        if clip_value == 0 and not mom:
            while kp < pnnz and pidx[kp] < i1:
                _vupdate(W, pidx[kp], lr * prev[pidx[kp]], dz)  # inlined: no call per row
                kp += 1
        else:
            while kp < pnnz and pidx[kp] < i1:
                _update_row(W, pidx[kp], prev[pidx[kp]], dz, lr, zero, zero, clip_value)
                if mom:
                    _update_row(U, pidx[kp], prev[pidx[kp]], dz, lru, zero, zero, clip_value)
                kp += 1
        stop = kf
        while stop < nnz and idx[stop] < i1:
            stop += 1
        if mom:
            _vforward2_rows(out, inp, idx[kf:], stop - kf, W, U, kd)
        else:
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
def _forward_layers(acts, idx, ioff, nnz, x, work, playout, activations, first, uwork, s, kd):
    # forward of x through layers first, ..., L - 1 (the earlier ones' outputs already in acts):
    # out = act(b + sum over the non-zero inputs i of inp[i] * W[i]), the rows in order, out's
    # partial sums in registers (vector._vforward_rows). Leaves each layer's non-zero input
    # rows in idx[ioff[l]:][:nnz[l]] for the backward. The weights in a lazy form (lazy.py):
    # the scaled form when s != 1; momentum's (q, u) form when uwork (the u buffer, work's
    # layout; else None) is given, kd = c * mu**t.
    mom = uwork is not None
    for l in range(first, playout.shape[0]):
        W, b = _work_views(work, playout, l)
        fan_in, fan_out = playout[l, 0], playout[l, 1]
        out = _work_slot(acts, playout, l)
        inp = x if l == 0 else _work_slot(acts, playout, l - 1)[:fan_in]
        rows = idx[ioff[l]:]
        nnz[l] = _nonzero_rows(rows, inp)
        form_begin(out, b, s == 1.0)
        if mom:
            _vforward2_rows(out, inp, rows, nnz[l], W, _work_views(uwork, playout, l)[0], kd)
        else:
            _vforward_rows(out, inp, rows, nnz[l], W)
        form_finish(out, b, s)
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
def _apply_pending(work, uwork, playout, prev, pidx, dz0, plr, plru, clip_value):
    # layer 0's deferred step for the input row prev now: W[i] -= plr * clip(prev[i] * dz0)
    # for the rows with prev[i] != 0 (and U's with plru in momentum's form)
    pnnz = _nonzero_rows(pidx, prev)
    W = _work_views(work, playout, 0)[0]
    zero = W.dtype.type(0)
    for k in range(pnnz):
        _update_row(W, pidx[k], prev[pidx[k]], dz0, plr, zero, zero, clip_value)
    if uwork is not None:
        U = _work_views(uwork, playout, 0)[0]
        for k in range(pnnz):
            _update_row(U, pidx[k], prev[pidx[k]], dz0, plru, zero, zero, clip_value)


@jit
def _epoch_per_sample(work, playout, acts, dacts, X, Y, order, activations, loss, lr, alpha,
                      l1, clip_value, sample_weight, lazy_decay, uwork, momentum, nesterov):
    # work: padded weights (workspace.py)  acts, dacts: padded slots, zero pads
    # X: (n, n_in)  Y: (n, n_out)  order: (m,) int64  sample_weight: (n,) or (0,) (all 1)
    # lazy_decay: L2 in the scaled form where exact (lazy.py), else every row steps every
    # sample; uwork: None for plain SGD (the momentum code is then pruned before it is compiled:
    # a first fit compiles less), or the velocity in work's layout for SGD with momentum
    # (then alpha == l1 == 0, 0 < momentum < 1), trained in the (q, u) form (lazy.py)
    # returns (loss_sum, n_correct, n_done); n_done < m: order[n_done] gave a non-finite loss
    L = playout.shape[0]
    dt = work.dtype.type
    # scratch, allocated once per call (nothing per sample): the non-zero input rows of every
    # layer and layer 0's pending rows
    idx, ioff, nnz = _scratch(playout)
    pidx = np.empty(playout[0, 0], np.int64)
    mom = uwork is not None
    m = order.shape[0]
    loss_sum = 0.0
    n_correct = 0
    # L2 alone: the scaled form w = s * V (with clip_value, while the bound holds)
    scaled = (lazy_decay and not mom and alpha > 0 and l1 == 0 and
              float(lr) * float(alpha) < 1.0)
    if scaled and clip_value > 0:
        scaled = decay_bound_holds(work, playout, alpha, clip_value)
    decay = 1.0 - float(lr) * float(alpha)
    s = 1.0
    # momentum: the (q, u) form, mt = mu**t
    mu = float(momentum)
    c = momentum_constant(momentum, nesterov) if mom else 0.0
    if mom:
        momentum_to_qu(work, uwork, playout, c)
    mt = 1.0
    lrq = dt(float(lr) / (1.0 - mu)) if mom else lr
    # without a penalty (or with L2 in the scaled form, unclipped), layer 0's row steps wait
    # for the next forward (see module doc)
    defer = (alpha == 0 and l1 == 0) or (scaled and clip_value == 0)
    pending = False  # X[prev]'s layer-0 step (with dz0, plr / plru) is still to be applied
    prev = order[0] if m > 0 else 0
    plr = lr
    plru = lr
    dz0 = _work_slot(dacts, playout, 0)
    weighted = sample_weight.shape[0] > 0
    done = m
    for k in range(m):
        i = order[k]
        if k + 1 < m:
            # hints only: the next sample's input and target rows, fetched meanwhile (the target
            # row is one line, but a miss on it cost ~0.3 us per sample in the loss)
            prefetch_row(X[order[k + 1]])
            prefetch_row(Y[order[k + 1]])
        x = X[i]
        if (scaled and s < S_MIN) or (mom and mt < MT_MIN):
            # renormalise a lazy form (lazy.py), layer 0's pending step first
            if pending:
                _apply_pending(work, uwork, playout, X[prev], pidx, dz0, plr, plru, clip_value)
                pending = False
            if scaled:
                fold_scale(work, playout, s)
                s = 1.0
            if mom:
                momentum_renorm(uwork, playout, mt)
                mt = 1.0
        kd = dt(c * mt)  # momentum's form: p = q - kd * u
        # this sample's step sizes of the weight rows: W's (V's, q's), and u's
        lrw = dt(float(lr) / (s * decay)) if scaled else lrq
        lru = dt(float(lr) / (mt * mu)) if mom else lr
        # forward; layer 0 first applies the previous sample's deferred step if one is pending
        first = 0
        if pending:
            W, b = _work_views(work, playout, 0)
            out = _work_slot(acts, playout, 0)
            # Float32 only: a float64 row is 25 vectors, 4 register blocks, and walking the
            # union 4 times costs more than it saves (measured 0.89x vs 1.13x in float32)
            union = clip_value == 0 and lanes(W) == 16
            pnnz = 0
            if union:
                # one pass over the union of the previous and this sample's non-zero pixels:
                # a pending row is stepped, then (if active) added with its new values
                n = _nonzero_union(idx, x, X[prev])
            else:
                pnnz = _nonzero_rows(pidx, X[prev])
                n = _nonzero_rows(idx, x)
            form_begin(out, b, s == 1.0)
            if mom:
                U0 = _work_views(uwork, playout, 0)[0]
                if union:
                    _vforward2_union(out, x, X[prev], idx, n, W, U0, dz0, plr, plru, kd)
                else:
                    _forward_pending(out, x, idx, n, W, X[prev], pidx, pnnz, dz0, plr,
                                     clip_value, U0, plru, kd)
            elif union:
                _vforward_union(out, x, X[prev], idx, n, W, dz0, plr)
            else:
                _forward_pending(out, x, idx, n, W, X[prev], pidx, pnnz, dz0, plr, clip_value,
                                 None, plru, kd)
            form_finish(out, b, s)
            nnz[0] = n  # layer 0's rows are not used again when its step is deferred
            activation_forward(out[:playout[0, 1]], activations[0])
            first = 1
        _forward_layers(acts, idx, ioff, nnz, x, work, playout, activations, first, uwork, s,
                        kd)
        pending = False
        n_out = playout[L - 1, 1]
        out = _work_slot(acts, playout, L - 1)[:n_out]
        dz_out = _work_slot(dacts, playout, L - 1)[:n_out]
        value = loss_forward_backward(dz_out, out, Y[i], activations[L - 1], loss)
        if not math.isfinite(value):
            done = k
            break
        if weighted:
            value = weigh_output(dz_out[:n_out], value, sample_weight[i])
        loss_sum += value
        n_correct += argmax_equal(out, Y[i])
        # backward fused with the step, from the top
        ok = True  # the scaled form's clip bound (lazy.py)
        # the penalty in the rows' step: none in a lazy form (the scale is the decay)
        alpha_rows = alpha - alpha if scaled or mom else alpha
        for l in range(L - 1, -1, -1):
            W, b = _work_views(work, playout, l)
            fan_in, fan_out, stride = playout[l, 0], playout[l, 1], playout[l, 2]
            dz = _work_slot(dacts, playout, l)
            if l < L - 1:  # the output layer's dz comes from the loss, act' included
                activation_backward(dz[:fan_out], _work_slot(acts, playout, l)[:fan_out],
                                    activations[l])
            rows = idx[ioff[l]:]
            if l > 0:
                dinp = _work_slot(dacts, playout, l - 1)[:fan_in]
                inp = _work_slot(acts, playout, l - 1)[:fan_in]
                relu = activations[l - 1] == RELU
                if scaled and clip_value > 0:
                    ok &= backward_scaled_clip_rows(dinp, dz, inp, rows, nnz[l], W, relu, lr,
                                                    alpha, clip_value, s, s * decay)
                elif mom:  # dinp = (Q - kd * U) @ dz
                    backward_momentum_rows(dinp, dz, inp, rows, nnz[l], W,
                                           _work_views(uwork, playout, l)[0], kd, lrw, lru, relu,
                                           clip_value)
                else:
                    _backward_sgd_rows(dinp, dz, inp, rows, nnz[l], W, relu, lrw, alpha_rows, l1,
                                       clip_value)
                    if scaled:
                        so = dt(s)
                        for r in range(fan_in):
                            dinp[r] *= so
            elif defer:
                pending = True
                prev = i
                plr = lrw
                plru = lru
            elif scaled:  # with clip_value: the rows of x's non-zero pixels, through the clip
                ok &= backward_scaled_clip_rows(dz[:0], dz, x, rows, nnz[0], W, False, lr,
                                                alpha, clip_value, s, s * decay)
            else:
                for i0 in range(fan_in):  # weight decay moves every row
                    _update_row(W, i0, x[i0], dz, lr, alpha, l1, clip_value)
            if mom:
                momentum_bias_step(b, _work_views(uwork, playout, l)[1], dz, lr, momentum,
                                   nesterov, clip_value)
            else:
                for j in range(stride):
                    b[j] -= lr * clip_gradient(dz[j], clip_value)
        if scaled:
            s *= decay
            if not ok:
                # a stepped weight broke the clip bound: the rest of the call steps densely
                fold_scale(work, playout, s)
                s = 1.0
                scaled = False
        if mom:
            mt *= mu
    if pending:
        _apply_pending(work, uwork, playout, X[prev], pidx, dz0, plr, plru, clip_value)
    if scaled and s != 1.0:
        fold_scale(work, playout, s)
    if mom:
        momentum_from_qu(work, uwork, playout, c, mt)
    return loss_sum, n_correct, done


def _train_per_sample(params, acts, dacts, X, Y, order, layout, activations, loss, lr, alpha,
                      l1, clip_value, sample_weight, lazy_decay=True):
    # train_epoch at batch size 1 without clip_norm: copy the weights into the padded work
    # buffer, run the compiled epoch there, copy them (and the last sample's acts/dacts) back;
    # a small call (fewer than PADDED_FROM samples) runs the same epoch on params in place
    # (flat_playout: the copies would cost more than the padding saves).
    # Plain Python around one compiled call (see workspace.new_work). lazy_decay=False: an L2
    # penalty steps every row every sample (the exact dense path, kept for the benchmark)
    if order.shape[0] < PADDED_FROM:
        return _epoch_per_sample(params, flat_playout(layout), acts, dacts, X, Y, order,
                                 activations, loss, lr, alpha, l1, clip_value, sample_weight,
                                 lazy_decay, None, lr - lr, False)
    work, playout, acts_p, dacts_p = new_work(params, layout)
    result = _epoch_per_sample(work, playout, acts_p, dacts_p, X, Y, order, activations, loss,
                               lr, alpha, l1, clip_value, sample_weight, lazy_decay,
                               None, lr - lr, False)
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
        _forward_layers(acts, idx, ioff, nnz, X[i], work, playout, activations, 0, None, 1.0,
                        work.dtype.type(0))
        last = _work_slot(acts, playout, L - 1)
        for j in range(n_out):
            out[i, j] = last[j]
