"""``train_epoch``, the one entry point of training: every sample of a chunk trained in ONE
compiled call, and the general mini-batch epoch.

The Python loop around ``train_epoch`` does epochs, shuffling, schedules and progress; this
module only picks the compiled epoch: per-sample SGD (epochs.py), mini-batches without weight
decay or clip_norm (batches.py), or the general epoch below (weight decay, clip_norm, batches
beyond batches.MAX_BATCH, and every batch size of SGD with momentum and of Adam) on the public
flat buffers. No allocation per sample and no
RNG: the caller passes buffers and the order.
"""

import math

import numpy as np

from .batches import MAX_BATCH, _train_batches
from .config import jit
from .epochs import _train_per_sample, argmax_equal
from .loss import loss_forward_backward
from .network import _backward_sample, _forward_sample, _idx_offset, layer_slice
from .codes import ADAM, SGD
from .updates import _mark_rows, _sgd_update_rows, optimizer_update, sgd_update
from .prefetch import prefetch_row


def train_epoch(params, grads, acts, dacts, X, Y, order, layout, activations, loss,
                lr, alpha, l1, clip_value, clip_norm, batch_size,
                sample_weight, solver, momentum, nesterov, beta_1, beta_2, epsilon,
                velocity, sq_avg, step):
    # params, grads: (P,)  acts, dacts: (A,)  X: (n, n_in)  Y: (n, n_out)  order: (m,) int64
    # sample_weight: (n,) or (0,) (all 1)  velocity, sq_avg: (P,) (or (0,) if unused)
    # step: (1,) int64 (or (0,) if unused)
    # returns (loss_sum, n_correct, n_done); n_done < m: order[n_done] gave a non-finite loss
    # grads is scratch for batch_size > 1 (or clip_norm): its contents on exit are unspecified
    # (the reference leaves the last step in it; nothing reads it).
    # The one entry point, mirroring reference.train_epoch; it checks the optimizer buffers'
    # shapes (the compiled code does not) and picks which compiled epoch runs. Separate
    # compiled functions rather than one with every path: a first fit with the default batch
    # size 1 then compiles only the per-sample path (a cold start ~1/3 shorter).
    _check_buffers(params, X, sample_weight, solver, momentum, velocity, sq_avg, step)
    if solver == SGD and momentum == 0:
        if batch_size == 1 and clip_norm == 0:
            return _train_per_sample(params, acts, dacts, X, Y, order, layout, activations, loss,
                                     lr, alpha, l1, clip_value, sample_weight)
        if alpha == 0 and l1 == 0 and clip_norm == 0 and batch_size <= MAX_BATCH:
            # mini-batches without weight decay or clip_norm (the common case): batches.py
            return _train_batches(params, grads, acts, dacts, X, Y, order, layout, activations,
                                  loss, lr, alpha, l1, clip_value, clip_norm, batch_size,
                                  sample_weight)
    return train_epoch_batches(params, grads, acts, dacts, X, Y, order, layout, activations,
                               loss, lr, alpha, l1, clip_value, clip_norm, batch_size,
                               sample_weight, solver, momentum, nesterov, beta_1, beta_2,
                               epsilon, velocity, sq_avg, step)


def _check_buffers(params, X, sample_weight, solver, momentum, velocity, sq_avg, step):
    # the compiled epochs index these without bounds checks: wrong shapes are refused here
    if sample_weight.shape not in ((0,), (X.shape[0],)) or sample_weight.dtype != params.dtype:
        raise ValueError(f"sample_weight must have shape (0,) or ({X.shape[0]},) and dtype "
                         f"{params.dtype}, got shape {sample_weight.shape} and dtype "
                         f"{sample_weight.dtype}")
    if solver not in (SGD, ADAM):
        raise ValueError(f"solver code {solver!r} is not valid; expected {SGD} (SGD) or "
                         f"{ADAM} (Adam)")
    if solver == SGD and momentum == 0:
        return
    need = [("velocity", velocity)] + ([("sq_avg", sq_avg)] if solver == ADAM else [])
    for name, buf in need:
        if buf.shape != params.shape or buf.dtype != params.dtype:
            raise ValueError(f"{name} must have the shape {params.shape} and dtype "
                             f"{params.dtype} of params, got {buf.shape} {buf.dtype}")
    if solver == ADAM and (step.shape != (1,) or step.dtype != np.int64):
        raise ValueError(f"step must be a (1,) int64 array, got {step.shape} {step.dtype}")


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
                        lr, alpha, l1, clip_value, clip_norm, batch_size,
                        sample_weight, solver, momentum, nesterov, beta_1, beta_2, epsilon,
                        velocity, sq_avg, step):
    # the general epoch: gradients of batch_size samples (any size, 1 included) are averaged,
    # then one step of the solver. Shapes and result as in train_epoch.
    L = layout.shape[0]
    m = order.shape[0]
    loss_sum = 0.0
    n_correct = 0
    idx = np.empty(_idx_offset(layout, L), np.int64)
    nnz = np.empty(L, np.int64)
    weighted = sample_weight.shape[0] > 0
    plain = solver == SGD and momentum == 0
    dz = layer_slice(dacts, layout, L - 1)
    # plain SGD without weight decay or clip_norm: only the weight rows some sample of the
    # batch had a non-zero input for get a gradient; the others stay exactly as they are. So
    # grads is zeroed once, the batch's touched rows are tracked, and only they (and the
    # biases) are updated and re-zeroed (sgd_update_rows), instead of sweeping every parameter
    # twice per batch (the batch-size cliff). Momentum and Adam move every parameter each step.
    sparse = plain and alpha == 0 and l1 == 0 and clip_norm == 0
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
            if weighted:  # the weighted loss w * loss_i has the output gradient w * dz
                w = sample_weight[i]
                value = value * w
                for j in range(dz.shape[0]):
                    dz[j] *= w
            loss_sum += value
            n_correct += correct
            _backward_sample(grads, dacts, acts, idx, nnz, X[i], params, layout, activations)
            if sparse:
                _mark_rows(touched, tcount, mark, idx, nnz, layout)
        scale = params.dtype.type(1.0 / (stop - start))
        if sparse:
            _sgd_update_rows(params, grads, layout, touched, tcount, mark, scale, lr, clip_value)
        elif plain:
            sgd_update(params, grads, layout, scale, lr, alpha, l1, clip_value, clip_norm)
        else:
            optimizer_update(params, grads, velocity, sq_avg, step, layout, scale, lr, alpha, l1,
                             clip_value, clip_norm, solver, momentum, nesterov, beta_1, beta_2,
                             epsilon)
    return loss_sum, n_correct, m
