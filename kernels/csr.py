"""Sparse input: training and prediction on a CSR matrix (data, indices, indptr) without ever
making it dense.

``train_epoch_csr`` is ``train_epoch`` with X given as the three CSR arrays of scipy.sparse:
row i's stored values are ``data[indptr[i]:indptr[i + 1]]`` at columns ``indices[...]``. Each
sample's row is scattered into a scratch vector and its columns listed from ``indices``
(inputs.py); then the dense layer code runs on the public buffers: mini-batches (and clip_norm)
in the general mini-batch epoch (sgd.train_epoch_batches, the same compiled body and update
step as dense input; also every batch size of Adam, and of momentum with a penalty or
clip_norm), per-sample momentum otherwise in sgd._epoch_momentum_lazy (layer 0's zero-input
rows caught up lazily; dense X takes momentum's (q, u) form, lazy.py), plain SGD at batch
size 1 in ``_per_sample`` (the forward, loss and fused backward +
step of network.py, as ``network_backward_sgd``; on MNIST 1.8x (float32) and 2.1x (float64)
the general epoch at batch 1, bench/sparse.py).
Layer 0's forward is b + sum over stored entries of data_k * W0[indices_k] and, without a
penalty, its backward touches only those rows, so a sample costs O(stored entries x fan_out)
in layer 0, whatever n_features is (a penalty moves every row; dense X's per-sample L2 takes
the scaled form of lazy.py instead).
``predict_csr`` is ``predict`` for CSR rows.

Numbers: with sorted indices, no duplicates and no explicit zeros (what fastmlp/sparse.py
prepares), bit-identical to the same layer code on the dense X (the same rows added in the
same order). How that relates to the dense fast epochs: tests/test_csr.py.
A new solver reaches the sparse path through the general epoch: route it there (as
train_epoch does) unless ``_per_sample`` learns it.

The arrays: data of params' dtype; indices and indptr int32 (scipy's usual) or both int64.
"""

import math

import numpy as np

from .config import jit
from .inputs import _clear_input, _list_input, _prefetch_input
from .network import _backward_sgd_sample, _forward_listed, _idx_offset, layer_slice
from .codes import SGD
from .loss import weigh_output
from .sgd import _check_buffers, _epoch_momentum_lazy, _sample_forward_loss, train_epoch_batches


def _csr_tuple(params, X_data, X_indices, X_indptr, n_in, n_rows):
    # the CSR tuple the compiled code takes (inputs.py), after the O(1) checks that keep the
    # compiled code to one specialisation per dtype; the fastmlp/sparse.py layer checks values
    if X_data.dtype != params.dtype:
        raise ValueError(f"X_data has dtype {X_data.dtype}, expected {params.dtype}")
    if X_indices.dtype != X_indptr.dtype or X_indices.dtype not in (np.int32, np.int64):
        raise ValueError(f"X_indices and X_indptr must both be int32 or both int64, got "
                         f"{X_indices.dtype} and {X_indptr.dtype}")
    if not (X_data.ndim == X_indices.ndim == X_indptr.ndim == 1) or \
            X_data.shape != X_indices.shape:
        raise ValueError("X_data, X_indices must be 1-D of the same length, X_indptr 1-D")
    if X_indptr.shape[0] < n_rows + 1:
        raise ValueError(f"X_indptr has {X_indptr.shape[0]} entries; the rows need "
                         f"{n_rows + 1}")
    xs = np.zeros(n_in, params.dtype)  # one dense row of scratch, all zero between samples
    seen = np.zeros(n_in, np.uint8)
    return (np.ascontiguousarray(X_data), np.ascontiguousarray(X_indices),
            np.ascontiguousarray(X_indptr), xs, seen)


def train_epoch_csr(params, grads, acts, dacts, X_data, X_indices, X_indptr, Y, order, layout,
                    activations, loss, lr, alpha, l1, clip_value, clip_norm, batch_size,
                    sample_weight, solver, momentum, nesterov, beta_1, beta_2, epsilon,
                    velocity, sq_avg, step):
    # params, grads: (P,)  acts, dacts: (A,)  X_data, X_indices: (nnz,)  X_indptr: (n + 1,)
    # Y: (n, n_out)  order: (m,) int64; the rest and the result as in train_epoch
    X = _csr_tuple(params, X_data, X_indices, X_indptr, layout[0, 0], Y.shape[0])
    _check_buffers(params, Y, sample_weight, solver, momentum, velocity, sq_avg, step)
    if (solver == SGD and momentum > 0 and batch_size == 1 and alpha == 0 and l1 == 0 and
            clip_norm == 0):
        # per-sample momentum without a penalty: layer 0's zero-input rows caught up lazily
        last = np.zeros(layout[0, 0], np.int64)
        return _epoch_momentum_lazy(params, grads, acts, dacts, X, Y, order, layout,
                                    activations, loss, lr, clip_value, sample_weight, momentum,
                                    nesterov, velocity, last)
    if solver == SGD and momentum == 0 and batch_size == 1 and clip_norm == 0:
        return _per_sample(params, acts, dacts, X, Y, order, layout, activations, loss, lr,
                           alpha, l1, clip_value, sample_weight)
    return train_epoch_batches(params, grads, acts, dacts, X, Y, order, layout, activations,
                               loss, lr, alpha, l1, clip_value, clip_norm, batch_size,
                               sample_weight, solver, momentum, nesterov, beta_1, beta_2,
                               epsilon, velocity, sq_avg, step)


@jit
def _per_sample(params, acts, dacts, X, Y, order, layout, activations, loss, lr, alpha, l1,
                clip_value, sample_weight):
    # plain per-sample SGD on the public buffers, the backward fused with the step
    # (network._backward_sgd_sample: each row's dinp from the old row, then its step)
    L = layout.shape[0]
    idx = np.empty(_idx_offset(layout, L), np.int64)
    nnz = np.empty(L, np.int64)
    m = order.shape[0]
    loss_sum = 0.0
    n_correct = 0
    weighted = sample_weight.shape[0] > 0
    dz = layer_slice(dacts, layout, L - 1)
    for k in range(m):
        i = order[k]
        if k + 1 < m:
            _prefetch_input(X, order[k + 1])
        x = _list_input(idx, nnz, X, i)
        value, correct = _sample_forward_loss(acts, dacts, idx, nnz, x, Y, i, params, layout,
                                              activations, loss)
        if not math.isfinite(value):
            return loss_sum, n_correct, k
        if weighted:
            value = weigh_output(dz, value, sample_weight[i])
        loss_sum += value
        n_correct += correct
        _backward_sgd_sample(dacts, params, acts, idx, nnz, x, layout, activations, lr, alpha,
                             l1, clip_value)
        _clear_input(X, idx, nnz)
    return loss_sum, n_correct, m


def predict_csr(out, X_data, X_indices, X_indptr, params, acts, layout, activations):
    # out: (n, n_out)  X_data, X_indices: (nnz,)  X_indptr: (n + 1,)  acts: (A,) scratch (left
    # holding the last row's outputs)
    X = _csr_tuple(params, X_data, X_indices, X_indptr, layout[0, 0], out.shape[0])
    _predict_rows(out, X, params, acts, layout, activations)


@jit
def _predict_rows(out, X, params, acts, layout, activations):
    # out[i] = the network's output for row i of X (dense or a CSR tuple), on the public buffers
    L = layout.shape[0]
    idx = np.empty(_idx_offset(layout, L), np.int64)
    nnz = np.empty(L, np.int64)
    for i in range(out.shape[0]):
        x = _list_input(idx, nnz, X, i)
        _forward_listed(acts, idx, nnz, x, params, layout, activations)
        last = layer_slice(acts, layout, L - 1)
        for j in range(out.shape[1]):
            out[i, j] = last[j]
        _clear_input(X, idx, nnz)
