"""``train_epoch``, the one entry point of training: every sample of a chunk trained in ONE
compiled call, and the general mini-batch epoch.

The Python loop around ``train_epoch`` does epochs, shuffling, schedules and progress; this
module only picks the compiled epoch: per-sample SGD (epochs.py; with clip_norm and neither a
penalty nor clip_value: clipnorm.py), mini-batches without weight decay or clip_norm (batches.py), or the general mini-batch epoch below (weight decay, clip_norm,
batches beyond batches.MAX_BATCH) on the public flat buffers. No allocation per sample and no
RNG: the caller passes buffers and the order.
"""

import math

import numpy as np

from .batches import MAX_BATCH, _train_batches
from .clipnorm import _train_per_sample_clip_norm
from .config import jit
from .epochs import _train_per_sample, argmax_equal
from .loss import loss_forward_backward
from .network import _backward_sample, _forward_sample, _idx_offset, layer_slice
from .updates import _mark_rows, _sgd_update_rows, sgd_update
from .prefetch import prefetch_row


def train_epoch(params, grads, acts, dacts, X, Y, order, layout, activations, loss,
                lr, alpha, l1, clip_value, clip_norm, batch_size):
    # params, grads: (P,)  acts, dacts: (A,)  X: (n, n_in)  Y: (n, n_out)  order: (m,) int64
    # returns (loss_sum, n_correct, n_done); n_done < m: order[n_done] gave a non-finite loss
    # grads is scratch for batch_size > 1 (or clip_norm): its contents on exit are unspecified
    # (the reference leaves the last step in it; nothing reads it).
    # The one entry point, mirroring reference.train_epoch; it only picks which compiled epoch
    # runs. Two compiled functions rather than one with both paths: a first fit with the
    # default batch size 1 then compiles only the per-sample path (a cold start ~1/3 shorter).
    if batch_size == 1 and clip_norm == 0:
        return _train_per_sample(params, acts, dacts, X, Y, order, layout, activations, loss, lr,
                                 alpha, l1, clip_value)
    if batch_size == 1 and alpha == 0 and l1 == 0 and clip_value == 0:
        # clip_norm at batch size 1: rank-one gradients, the norm without them (clipnorm.py)
        return _train_per_sample_clip_norm(params, acts, dacts, X, Y, order, layout,
                                           activations, loss, lr, clip_norm)
    if alpha == 0 and l1 == 0 and clip_norm == 0 and batch_size <= MAX_BATCH:
        # mini-batches without weight decay or clip_norm (the common case): batches.py
        return _train_batches(params, grads, acts, dacts, X, Y, order, layout, activations, loss,
                              lr, alpha, l1, clip_value, clip_norm, batch_size)
    return train_epoch_batches(params, grads, acts, dacts, X, Y, order, layout, activations,
                               loss, lr, alpha, l1, clip_value, clip_norm, batch_size)


@jit
def _sample_forward_loss(acts, dacts, idx, nnz, X, Y, i, params, layout, activations, loss):
    # forward of X[i], then the loss and the output gradient; returns (loss, 1 if the
    # prediction is right else 0)
    L = layout.shape[0]
    out_slot = layer_slice(acts, layout, L - 1)
    _forward_sample(acts, idx, nnz, X[i], params, layout, activations)
    value = loss_forward_backward(layer_slice(dacts, layout, L - 1), out_slot, Y[i],
                                  activations[L - 1], loss)
    return value, argmax_equal(out_slot, Y[i])


@jit
def train_epoch_batches(params, grads, acts, dacts, X, Y, order, layout, activations, loss,
                        lr, alpha, l1, clip_value, clip_norm, batch_size):
    # mini-batches (or batch size 1 with clip_norm): gradients of batch_size samples are
    # averaged, then one step. Shapes and result as in train_epoch.
    L = layout.shape[0]
    m = order.shape[0]
    loss_sum = 0.0
    n_correct = 0
    idx = np.empty(_idx_offset(layout, L), np.int64)
    nnz = np.empty(L, np.int64)
    # without weight decay or clip_norm, only the weight rows some sample of the batch had a
    # non-zero input for get a gradient; the others stay exactly as they are. So grads is
    # zeroed once, the batch's touched rows are tracked, and only they (and the biases) are
    # updated and re-zeroed (sgd_update_rows), instead of sweeping every parameter twice per
    # batch (the batch-size cliff)
    sparse = alpha == 0 and l1 == 0 and clip_norm == 0
    touched = np.empty(idx.shape[0], np.int64)
    mark = np.zeros(idx.shape[0], np.int64)
    tcount = np.zeros(L, np.int64)
    if sparse:
        grads[:] = 0
    for start in range(0, m, batch_size):
        stop = min(start + batch_size, m)
        if not sparse:
            grads[:] = 0
        for k in range(start, stop):
            i = order[k]
            if k + 1 < m:
                prefetch_row(X[order[k + 1]])
            value, correct = _sample_forward_loss(acts, dacts, idx, nnz, X, Y, i, params, layout,
                                                  activations, loss)
            if not math.isfinite(value):
                return loss_sum, n_correct, k
            loss_sum += value
            n_correct += correct
            _backward_sample(grads, dacts, acts, idx, nnz, X[i], params, layout, activations)
            if sparse:
                _mark_rows(touched, tcount, mark, idx, nnz, layout)
        scale = params.dtype.type(1.0 / (stop - start))
        if sparse:
            _sgd_update_rows(params, grads, layout, touched, tcount, mark, scale, lr, clip_value)
        else:
            sgd_update(params, grads, layout, scale, lr, alpha, l1, clip_value, clip_norm)
    return loss_sum, n_correct, m
