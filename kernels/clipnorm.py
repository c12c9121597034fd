"""The per-sample SGD epoch with ``clip_norm`` (batch size 1, no penalty, no ``clip_value``), on
the padded work buffer (workspace.py) like the unclipped per-sample epoch (epochs.py).

clip_norm rescales the step of the WHOLE network, g *= clip_norm / ||g|| when ||g|| > clip_norm,
so no layer may step before the backward has reached layer 0. At batch size 1 without a penalty
each layer's gradient is rank one, dW = inp (x) dz and db = dz, so

    ||g||^2 = sum over layers of ||dz||^2 * (||inp||^2 + 1)

needs two vector norms per layer instead of the gradient itself (the general mini-batch epoch,
sgd.py, materialises every dW in a gradient buffer and sweeps every parameter twice per sample).
Per sample: the forward (epochs._forward_layers), the loss, the backward without updates
(dinp = W . dz from the rows, and each layer's dz kept in dacts), the norm, then one pass over the
rows with a non-zero input: W[i] -= (lr * f * inp[i]) * dz, b -= (lr * f) * dz, with
f = min(1, clip_norm / ||g||). The same numbers as reference.sgd_update with clip_norm, up to the
order of roundings (the norm is summed in float64 in both).
"""

import math

from .activations import activation_backward
from .codes import RELU
from .config import jit
from .epochs import _forward_layers, _scratch, argmax_equal
from .loss import loss_forward_backward
from .prefetch import prefetch_row
from .vector import _vdot, _vupdate
from .workspace import _work_slot, _work_views, copy_back, new_work


@jit
def _epoch_clip_norm(work, playout, acts, dacts, X, Y, order, activations, loss, lr, clip_norm):
    # work: padded weights  acts, dacts: padded slots, zero pads  X: (n, n_in)  Y: (n, n_out)
    # order: (m,) int64; returns (loss_sum, n_correct, n_done) as epochs._epoch_per_sample
    L = playout.shape[0]
    idx, ioff, nnz = _scratch(playout)
    m = order.shape[0]
    loss_sum = 0.0
    n_correct = 0
    for k in range(m):
        i = order[k]
        if k + 1 < m:
            prefetch_row(X[order[k + 1]])
            prefetch_row(Y[order[k + 1]])
        x = X[i]
        _forward_layers(acts, idx, ioff, nnz, x, work, playout, activations, 0, None, 1.0,
                        work.dtype.type(0))
        n_out = playout[L - 1, 1]
        out = _work_slot(acts, playout, L - 1)[:n_out]
        value = loss_forward_backward(_work_slot(dacts, playout, L - 1)[:n_out], out, Y[i],
                                      activations[L - 1], loss)
        if not math.isfinite(value):
            return loss_sum, n_correct, k
        loss_sum += value
        n_correct += argmax_equal(out, Y[i])
        # backward without updates, from the top: every layer's dz stays in its dacts slot
        sq = 0.0
        for l in range(L - 1, -1, -1):
            W, _ = _work_views(work, playout, l)
            fan_in, fan_out = playout[l, 0], playout[l, 1]
            dz = _work_slot(dacts, playout, l)
            if l < L - 1:  # the output layer's dz comes from the loss, act' included
                activation_backward(dz[:fan_out], _work_slot(acts, playout, l)[:fan_out],
                                    activations[l])
            inp = x if l == 0 else _work_slot(acts, playout, l - 1)[:fan_in]
            rows = idx[ioff[l]:]
            dz_sq = 0.0
            for j in range(fan_out):
                dz_sq += float(dz[j]) * float(dz[j])
            inp_sq = 0.0
            for r in range(nnz[l]):
                inp_sq += float(inp[rows[r]]) * float(inp[rows[r]])
            sq += dz_sq * (inp_sq + 1.0)
            if l > 0:
                dinp = _work_slot(dacts, playout, l - 1)[:fan_in]
                if activations[l - 1] == RELU:
                    # ReLU' = 0 where the input is 0: only the non-zero rows matter
                    for r in range(fan_in):
                        dinp[r] = 0
                    for r in range(nnz[l]):
                        dinp[rows[r]] = _vdot(W, rows[r], dz)
                else:
                    for r in range(fan_in):
                        dinp[r] = _vdot(W, r, dz)
        norm = math.sqrt(sq)
        step = lr
        if norm > clip_norm:
            step = lr * work.dtype.type(clip_norm / norm)
        # the step of every layer: rows with a zero input have gradient exactly 0
        for l in range(L):
            W, b = _work_views(work, playout, l)
            dz = _work_slot(dacts, playout, l)
            inp = x if l == 0 else _work_slot(acts, playout, l - 1)[:playout[l, 0]]
            rows = idx[ioff[l]:]
            for r in range(nnz[l]):
                _vupdate(W, rows[r], step * inp[rows[r]], dz)
            for j in range(playout[l, 2]):
                b[j] -= step * dz[j]
    return loss_sum, n_correct, m


def _train_per_sample_clip_norm(params, acts, dacts, X, Y, order, layout, activations, loss,
                                lr, clip_norm):
    # train_epoch at batch size 1 with clip_norm and neither a penalty nor clip_value: the
    # padded work copy around one compiled call, as epochs._train_per_sample
    work, playout, acts_p, dacts_p = new_work(params, layout)
    result = _epoch_clip_norm(work, playout, acts_p, dacts_p, X, Y, order, activations, loss,
                              lr, clip_norm)
    copy_back(params, acts, dacts, layout, work, acts_p, dacts_p, playout)
    return result
