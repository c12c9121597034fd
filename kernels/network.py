"""A whole network over the flat buffers: forward, backward, fused backward + SGD, update.

Layout (see fastmlp/reference.py): params = W0, b0, W1, b1, ... flat; ``layout[l]`` is
(fan_in, fan_out, w_off, b_off, a_off); acts/dacts hold every layer's output / its gradient.
"""

import math

import numpy as np

from .codes import IDENTITY, RELU
from .config import jit
from .dense import (clip_gradient, dense_backward_rows, dense_backward_sgd_rows, dense_forward_rows,
                    nonzero_rows, update_row)


@jit
def layer_views(buf, layout, l):
    # (W, b) views of layer l in a flat params or grads buffer; no copy
    fan_in, fan_out, w_off, b_off = layout[l, 0], layout[l, 1], layout[l, 2], layout[l, 3]
    return buf[w_off:w_off + fan_in * fan_out].reshape((fan_in, fan_out)), buf[b_off:b_off + fan_out]


@jit
def layer_slice(buf, layout, l):
    # layer l's slot in a flat acts or dacts buffer
    return buf[layout[l, 4]:layout[l, 4] + layout[l, 1]]


@jit
def idx_offset(layout, l):
    # where layer l's compacted input rows start in the (sum of fan_in,) idx scratch
    off = 0
    for k in range(l):
        off += layout[k, 0]
    return off


@jit
def forward_sample(acts, idx, nnz, x, params, layout, activations, prev, pidx, pnnz, dz0, lr,
                   clip_value):
    # acts: (A,)  idx: (sum fan_in,) int64 scratch  nnz: (L,) int64  x: (n_in,)  params: (P,)
    # fills idx/nnz with each layer's non-zero input rows; the backward reuses them.
    # Before layer 0's forward, the previous sample's deferred layer-0 update
    # W0[i] -= lr * clip(prev[i] * dz0) is applied to rows pidx[:pnnz] (pnnz == 0: nothing
    # pending), fused into the forward (see dense_forward_rows).
    # prev: (n_in,) previous input  pidx: (n_in,) int64  dz0: (h1,) layer 0's dz (in dacts)
    for l in range(layout.shape[0]):
        W, b = layer_views(params, layout, l)
        inp = x if l == 0 else layer_slice(acts, layout, l - 1)
        rows = idx[idx_offset(layout, l):]
        nnz[l] = nonzero_rows(rows, inp)
        dense_forward_rows(layer_slice(acts, layout, l), inp, rows, nnz[l], W, b, activations[l],
                           prev, pidx, pnnz if l == 0 else 0, dz0, lr, clip_value)


@jit
def apply_pending(params, layout, prev, pidx, pnnz, dz0, lr, clip_value):
    # the deferred layer-0 update on its own (end of a chunk): W0[pidx[:pnnz]] -= lr*clip(prev*dz0)
    W, _ = layer_views(params, layout, np.int64(0))
    for k in range(pnnz):
        update_row(W, pidx[k], prev[pidx[k]], dz0, lr, W.dtype.type(0), clip_value)


@jit
def network_forward(acts, x, params, layout, activations):
    # acts: (A,) flat  x: (n_in,)  params: (P,) flat  layout: (L, 5)  activations: (L,)
    idx = np.empty(idx_offset(layout, layout.shape[0]), np.int64)  # one-off call; train_epoch keeps its own
    nnz = np.empty(layout.shape[0], np.int64)
    forward_sample(acts, idx, nnz, x, params, layout, activations, x, idx, np.int64(0), acts,
                   params.dtype.type(0), params.dtype.type(0))


@jit
def backward_sample(grads, dacts, acts, idx, nnz, x, params, layout, activations):
    # grads: (P,) ACCUMULATES  dacts, acts: (A,)  idx, nnz: from forward_sample on the same x
    L = layout.shape[0]
    for l in range(L - 1, -1, -1):
        W, _ = layer_views(params, layout, l)
        dW, db = layer_views(grads, layout, l)
        act = IDENTITY if l == L - 1 else activations[l]
        rows = idx[idx_offset(layout, l):]
        # one call site with non-literal arguments: one compiled specialisation per dtype
        if l == 0:
            dinp, inp, inp_relu = dacts[:0], x, False
        else:
            dinp, inp = layer_slice(dacts, layout, l - 1), layer_slice(acts, layout, l - 1)
            inp_relu = activations[l - 1] == RELU
        dense_backward_rows(dinp, dW, db, layer_slice(dacts, layout, l),
                            layer_slice(acts, layout, l), inp, rows, nnz[l], W, act, inp_relu)


@jit
def network_backward(grads, dacts, acts, x, params, layout, activations):
    # grads: (P,) ACCUMULATES  dacts, acts: (A,)  x: (n_in,); output dz already in dacts
    idx = np.empty(idx_offset(layout, layout.shape[0]), np.int64)
    nnz = np.empty(layout.shape[0], np.int64)
    for l in range(layout.shape[0]):
        inp = x if l == 0 else layer_slice(acts, layout, l - 1)
        nnz[l] = nonzero_rows(idx[idx_offset(layout, l):], inp)
    backward_sample(grads, dacts, acts, idx, nnz, x, params, layout, activations)


@jit
def backward_sgd_sample(dacts, params, acts, idx, nnz, x, layout, activations, lr, alpha,
                        clip_value, defer0):
    # dacts, acts: (A,)  params: (P,) updated in place  idx, nnz: from forward_sample on x
    # defer0: leave layer 0's weight rows to the next forward_sample / apply_pending
    L = layout.shape[0]
    for l in range(L - 1, -1, -1):
        W, b = layer_views(params, layout, l)
        act = IDENTITY if l == L - 1 else activations[l]
        rows = idx[idx_offset(layout, l):]
        # one call site with non-literal arguments: one compiled specialisation per dtype
        if l == 0:
            dinp, inp, inp_relu = dacts[:0], x, False
        else:
            # a ReLU input's zero rows get dinp = 0: the next activation_backward zeroes them
            dinp, inp = layer_slice(dacts, layout, l - 1), layer_slice(acts, layout, l - 1)
            inp_relu = activations[l - 1] == RELU
        dense_backward_sgd_rows(dinp, layer_slice(dacts, layout, l), layer_slice(acts, layout, l),
                                inp, rows, nnz[l], W, b, act, inp_relu, lr, alpha, clip_value,
                                defer0 and l == 0)


@jit
def network_backward_sgd(dacts, params, acts, x, layout, activations, lr, alpha, clip_value):
    # dacts, acts: (A,)  params: (P,) updated in place  x: (n_in,); output dz already in dacts
    idx = np.empty(idx_offset(layout, layout.shape[0]), np.int64)
    nnz = np.empty(layout.shape[0], np.int64)
    for l in range(layout.shape[0]):
        inp = x if l == 0 else layer_slice(acts, layout, l - 1)
        nnz[l] = nonzero_rows(idx[idx_offset(layout, l):], inp)
    backward_sgd_sample(dacts, params, acts, idx, nnz, x, layout, activations, lr, alpha,
                        clip_value, False)


@jit
def sgd_update(params, grads, layout, scale, lr, alpha, clip_value, clip_norm):
    # params, grads: (P,); on exit grads holds the step g applied as params -= lr * g:
    # g = clip(scale * grads + alpha * W) for weights, clip(scale * grads) for biases (no decay),
    # then the whole g rescaled to L2 norm clip_norm if it was longer
    for l in range(layout.shape[0]):
        w_off, b_off = layout[l, 2], layout[l, 3]
        # slices indexed from 0 (no wraparound select per element: the loops vectorise)
        W, g = params[w_off:b_off], grads[w_off:b_off]
        for k in range(b_off - w_off):
            g[k] = clip_gradient(scale * g[k] + alpha * W[k], clip_value)
        g = grads[b_off:b_off + layout[l, 1]]
        for k in range(layout[l, 1]):
            g[k] = clip_gradient(scale * g[k], clip_value)
    if clip_norm > 0:
        sq = 0.0
        for k in range(grads.shape[0]):
            sq += float(grads[k]) * float(grads[k])
        norm = math.sqrt(sq)
        if norm > clip_norm:
            factor = grads.dtype.type(clip_norm / norm)
            for k in range(grads.shape[0]):
                grads[k] *= factor
    for k in range(params.shape[0]):
        params[k] -= lr * grads[k]


@jit
def mark_rows(touched, tcount, mark, idx, nnz, layout):
    # adds this sample's non-zero input rows (idx/nnz from forward_sample) to the batch's
    # touched rows: touched, mark: (sum fan_in,) int64, layer l's part at idx_offset(layout, l);
    # tcount: (L,) int64, how many rows layer l has touched so far in this batch
    off = 0
    for l in range(layout.shape[0]):
        for k in range(nnz[l]):
            i = idx[off + k]
            if mark[off + i] == 0:
                mark[off + i] = 1
                touched[off + tcount[l]] = i
                tcount[l] += 1
        off += layout[l, 0]


@jit
def sgd_update_rows(params, grads, layout, touched, tcount, mark, scale, lr, clip_value):
    # sgd_update for alpha == 0 and clip_norm == 0, restricted to the weight rows touched in
    # this batch (mark_rows) and all biases. Exact: an untouched row's gradient is exactly 0,
    # clip(scale * 0) == 0 and W -= lr * 0 leaves W as it is. Each touched number is computed as
    # in sgd_update (g = clip(scale * grad); W -= lr * g). The touched rows, the biases and the
    # marks are zeroed again, so grads is all zero for the next batch without a full sweep.
    off = 0
    for l in range(layout.shape[0]):
        fan_in, fan_out, w_off, b_off = layout[l, 0], layout[l, 1], layout[l, 2], layout[l, 3]
        if 2 * tcount[l] > fan_in:
            # most rows touched (large batches): one flat pass over the whole matrix is faster;
            # the untouched rows' gradients are 0 and they stay as they are
            update_scaled(params, grads, w_off, fan_in * fan_out, scale, lr, clip_value)
            for i in range(fan_in):
                mark[off + i] = 0
        else:
            for k in range(tcount[l]):
                i = touched[off + k]
                mark[off + i] = 0
                update_scaled(params, grads, w_off + i * fan_out, fan_out, scale, lr, clip_value)
        tcount[l] = 0
        update_scaled(params, grads, b_off, fan_out, scale, lr, clip_value)
        off += fan_in


@jit
def update_scaled(params, grads, start, n, scale, lr, clip_value):
    # params[k] -= lr * clip(scale * grads[k]); grads[k] = 0, for k in start .. start + n - 1
    # on slices indexed from 0: the index is provably non-negative, so no wraparound select per
    # element and the loop vectorises
    p = params[start:start + n]
    g = grads[start:start + n]
    if clip_value == 0:
        for k in range(n):  # clip is the identity: its own loop, vectorises
            p[k] -= lr * (scale * g[k])
            g[k] = 0
    else:
        for k in range(n):
            p[k] -= lr * clip_gradient(scale * g[k], clip_value)
            g[k] = 0
