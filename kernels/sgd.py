"""``train_epoch``, the one entry point of training: every sample of a chunk trained in ONE
compiled call, and the general mini-batch epoch.

The Python loop around ``train_epoch`` does epochs, shuffling, schedules and progress; this
module only picks the compiled epoch: per-sample SGD (epochs.py, an L2 penalty alone in its
lazy scaled form; with clip_norm, no weights and neither a penalty nor clip_value: clipnorm.py)
and per-sample SGD with momentum without a penalty or clip_norm (the same epoch, in momentum's
lazy (q, u) form: lazy.py), mini-batches without weight decay or clip_norm (batches.py), or the
general epoch below (weight decay at batch sizes > 1 and L1 at any, clip_norm, batches beyond
batches.MAX_BATCH, every batch size of Adam, and SGD with momentum otherwise) on the public flat
buffers. ``_epoch_momentum_lazy`` (per-sample momentum on the public buffers, the rows of W0
whose input is zero caught up lazily) serves CSR input (csr.py). No allocation per sample and
no RNG: the caller passes buffers and the order.
"""

import math

import numpy as np

from .batches import MAX_BATCH, _train_batches
from .clipnorm import _train_per_sample_clip_norm
from .config import jit
from . import epochs
from .epochs import _epoch_per_sample, _train_per_sample, argmax_equal
from .loss import loss_forward_backward, weigh_output
from .codes import ADAM, SGD
from .lazy import momentum_bias_step
from .inputs import _clear_input, _list_input, _prefetch_input
from .network import _backward_sample, _forward_listed, _idx_offset, layer_slice
from .updates import _mark_rows, _sgd_update_rows, optimizer_update, sgd_update
from .workspace import copy_back, copy_params_back, flat_playout, new_work


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
    if (solver == SGD and 0 < momentum < 1 and batch_size == 1 and alpha == 0 and l1 == 0 and
            clip_norm == 0):
        # per-sample momentum without a penalty: the per-sample epoch in momentum's (q, u)
        # form, where a row with a zero input costs nothing (epochs.py, lazy.py)
        return _train_momentum_per_sample(params, velocity, acts, dacts, X, Y, order, layout,
                                          activations, loss, lr, clip_value, sample_weight,
                                          momentum, nesterov)
    if solver == SGD and momentum == 0:
        if batch_size == 1 and clip_norm == 0:
            return _train_per_sample(params, acts, dacts, X, Y, order, layout, activations, loss,
                                     lr, alpha, l1, clip_value, sample_weight)
        if (batch_size == 1 and alpha == 0 and l1 == 0 and clip_value == 0 and
                sample_weight.shape[0] == 0):
            # clip_norm at batch size 1: rank-one gradients, the norm without them (clipnorm.py)
            return _train_per_sample_clip_norm(params, acts, dacts, X, Y, order, layout,
                                               activations, loss, lr, clip_norm)
        if alpha == 0 and l1 == 0 and clip_norm == 0 and batch_size <= MAX_BATCH:
            # mini-batches without weight decay or clip_norm (the common case): batches.py
            return _train_batches(params, grads, acts, dacts, X, Y, order, layout, activations,
                                  loss, lr, alpha, l1, clip_value, clip_norm, batch_size,
                                  sample_weight)
    return train_epoch_batches(params, grads, acts, dacts, X, Y, order, layout, activations,
                               loss, lr, alpha, l1, clip_value, clip_norm, batch_size,
                               sample_weight, solver, momentum, nesterov, beta_1, beta_2,
                               epsilon, velocity, sq_avg, step)


def _train_momentum_per_sample(params, velocity, acts, dacts, X, Y, order, layout, activations,
                               loss, lr, clip_value, sample_weight, momentum, nesterov):
    # train_epoch at batch size 1 for SGD with momentum (0 < momentum < 1), no penalty, no
    # clip_norm: params and velocity copied into padded work buffers (a small call: in place,
    # as epochs._train_per_sample), the per-sample epoch in momentum's (q, u) form (lazy.py),
    # both copied back (no samples: nothing to do, and the round trip through the form would
    # round the weights)
    if order.shape[0] == 0:
        return 0.0, 0, 0
    zero = lr - lr
    if order.shape[0] < epochs.PADDED_FROM:  # a small call: on the public buffers in place
        return _epoch_per_sample(params, flat_playout(layout), acts, dacts, X, Y, order,
                                 activations, loss, lr, zero, zero, clip_value, sample_weight,
                                 False, velocity, momentum, nesterov)
    work, playout, acts_p, dacts_p = new_work(params, layout)
    uwork = new_work(velocity, layout)[0]
    result = _epoch_per_sample(work, playout, acts_p, dacts_p, X, Y, order, activations, loss,
                               lr, zero, zero, clip_value, sample_weight, False, uwork,
                               momentum, nesterov)
    copy_back(params, acts, dacts, layout, work, acts_p, dacts_p, playout)
    copy_params_back(velocity, layout, uwork, playout)
    return result


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
def _sample_forward_loss(acts, dacts, idx, nnz, x, Y, i, params, layout, activations, loss):
    # forward of the input row x (layer 0's rows listed in idx[:nnz[0]]: inputs._list_input),
    # then the loss against Y[i] and the output gradient; returns (loss, 1 if the prediction is
    # right else 0)
    L = layout.shape[0]
    out_slot = layer_slice(acts, layout, L - 1)
    _forward_listed(acts, idx, nnz, x, params, layout, activations)
    value = loss_forward_backward(layer_slice(dacts, layout, L - 1), out_slot, Y[i],
                                  activations[L - 1], loss)
    return value, argmax_equal(out_slot, Y[i])


@jit
def train_epoch_batches(params, grads, acts, dacts, X, Y, order, layout, activations, loss,
                        lr, alpha, l1, clip_value, clip_norm, batch_size,
                        sample_weight, solver, momentum, nesterov, beta_1, beta_2, epsilon,
                        velocity, sq_avg, step):
    # the general epoch: gradients of batch_size samples (any size, 1 included) are averaged,
    # then one step of the solver. Shapes and result as in train_epoch, except that X may also
    # be a CSR tuple (data, indices, indptr, xs, seen): see inputs.py and csr.train_epoch_csr.
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
                _prefetch_input(X, order[k + 1])
            x = _list_input(idx, nnz, X, i)  # X[i], or a CSR row scattered (inputs.py)
            value, correct = _sample_forward_loss(acts, dacts, idx, nnz, x, Y, i, params, layout,
                                                  activations, loss)
            if not math.isfinite(value):
                return loss_sum, n_correct, k
            if weighted:
                value = weigh_output(dz, value, sample_weight[i])
            loss_sum += value
            n_correct += correct
            _backward_sample(grads, dacts, acts, idx, nnz, x, params, layout, activations)
            if sparse:
                _mark_rows(touched, tcount, mark, idx, nnz, layout)
            _clear_input(X, idx, nnz)
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


@jit
def _catch_up(params, velocity, start, n, k, mu, nesterov):
    # k skipped momentum steps (gradient exactly 0) of params[start:start + n] at once: each
    # did v = mu * v, p += v (classic) or p += mu * v (Nesterov), so after k of them
    # v = mu**k * v0 and p = p0 + c * v0 with c = sum_{j=1..k} mu**j (times mu for Nesterov).
    # Exact in real arithmetic; rounds differently from k single steps.
    if k == 0:
        return
    m = float(mu)
    mk = math.pow(m, float(k))
    c = m * (1.0 - mk) / (1.0 - m)
    if nesterov:
        c *= m
    cd = params.dtype.type(c)
    md = params.dtype.type(mk)
    p = params[start:start + n]
    v = velocity[start:start + n]
    for j in range(n):
        p[j] += cd * v[j]
        v[j] *= md


@jit
def _momentum_step(params, velocity, grads, start, n, lr, clip_value, mu, nesterov):
    # optimizer_update's momentum step for batch size 1 without penalty or clip_norm on
    # params[start:start + n] (g = clip(grads); the biases' step of the (q, u) form, number for
    # number); grads zeroed for the next
    g = grads[start:start + n]
    momentum_bias_step(params[start:start + n], velocity[start:start + n], g, lr, mu, nesterov,
                       clip_value)
    for j in range(n):
        g[j] = 0


@jit
def _epoch_momentum_lazy(params, grads, acts, dacts, X, Y, order, layout, activations, loss,
                         lr, clip_value, sample_weight, momentum, nesterov, velocity, last):
    # params, grads, velocity: (P,)  acts, dacts: (A,)  last: (fan_in of layer 0,) int64 zeros
    # X: dense, or a CSR tuple as in train_epoch_batches
    # Per-sample SGD with momentum, no penalty, no clip_norm. A row of W0 whose input is 0 has
    # a zero gradient, so its step only decays its velocity: such steps are not done one by
    # one but caught up at once (_catch_up) just before the forward reads the row again, and
    # at the end of the call. last[r]: the steps of this call row r has had. Everything else
    # (the touched rows, the biases, the other layers) is stepped every sample as in
    # optimizer_update. Shapes and result as in train_epoch.
    L = layout.shape[0]
    m = order.shape[0]
    loss_sum = 0.0
    n_correct = 0
    idx = np.empty(_idx_offset(layout, L), np.int64)
    nnz = np.empty(L, np.int64)
    fan_in, fan_out, w_off, b_off = layout[0, 0], layout[0, 1], layout[0, 2], layout[0, 3]
    rest = params.shape[0] - b_off  # b0 and every later layer, stepped densely
    weighted = sample_weight.shape[0] > 0
    dz = layer_slice(dacts, layout, L - 1)
    mu = momentum
    for k in range(grads.shape[0]):
        grads[k] = 0
    done = m
    for k in range(m):
        i = order[k]
        if k + 1 < m:
            _prefetch_input(X, order[k + 1])
        x = _list_input(idx, nnz, X, i)  # X[i], or a CSR row scattered (inputs.py)
        for q in range(nnz[0]):  # the rows of W0 this sample's forward reads
            r = idx[q]
            _catch_up(params, velocity, w_off + r * fan_out, fan_out, k - last[r], mu, nesterov)
            last[r] = k
        value, correct = _sample_forward_loss(acts, dacts, idx, nnz, x, Y, i, params, layout,
                                              activations, loss)
        if not math.isfinite(value):
            done = k
            break
        if weighted:
            value = weigh_output(dz, value, sample_weight[i])
        loss_sum += value
        n_correct += correct
        _backward_sample(grads, dacts, acts, idx, nnz, x, params, layout, activations)
        for q in range(nnz[0]):  # the same rows: W0's gradient is 0 outside them
            r = idx[q]
            _momentum_step(params, velocity, grads, w_off + r * fan_out, fan_out, lr,
                           clip_value, mu, nesterov)
            last[r] = k + 1
        _clear_input(X, idx, nnz)
        _momentum_step(params, velocity, grads, b_off, rest, lr, clip_value, mu, nesterov)
    for r in range(fan_in):  # every row up to date on return
        _catch_up(params, velocity, w_off + r * fan_out, fan_out, done - last[r], mu, nesterov)
    return loss_sum, n_correct, done
