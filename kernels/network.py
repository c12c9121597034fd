"""A whole network over the flat public buffers: forward, backward, fused backward + SGD.

Layout (see fastmlp/reference.py): params = W0, b0, W1, b1, ... flat; ``layout[l]`` is
(fan_in, fan_out, w_off, b_off, a_off); acts/dacts hold every layer's output / its gradient.
"""

import numpy as np

from .codes import IDENTITY, RELU
from .config import jit
from .dense import _dense_backward_rows, _dense_backward_sgd_rows, _dense_forward_rows
from .rows import _nonzero_rows


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
def _idx_offset(layout, l):
    # where layer l's compacted input rows start in the (sum of fan_in,) idx scratch
    off = 0
    for k in range(l):
        off += layout[k, 0]
    return off


@jit
def _forward_sample(acts, idx, nnz, x, params, layout, activations):
    # acts: (A,)  idx: (sum fan_in,) int64 scratch  nnz: (L,) int64  x: (n_in,)  params: (P,)
    # fills idx/nnz with each layer's non-zero input rows; the backward reuses them
    nnz[0] = _nonzero_rows(idx, x)
    _forward_listed(acts, idx, nnz, x, params, layout, activations)


@jit
def _forward_listed(acts, idx, nnz, x, params, layout, activations):
    # _forward_sample with layer 0's non-zero input rows already listed in idx[:nnz[0]] (by
    # the dense scan, or from a CSR row's indices: inputs.py); lists the other layers' rows
    for l in range(layout.shape[0]):
        W, b = layer_views(params, layout, l)
        inp = x if l == 0 else layer_slice(acts, layout, l - 1)
        rows = idx[_idx_offset(layout, l):]
        if l > 0:
            nnz[l] = _nonzero_rows(rows, inp)
        _dense_forward_rows(layer_slice(acts, layout, l), inp, rows, nnz[l], W, b, activations[l])


@jit
def network_forward(acts, x, params, layout, activations):
    # acts: (A,) flat  x: (n_in,)  params: (P,) flat  layout: (L, 5)  activations: (L,)
    idx = np.empty(_idx_offset(layout, layout.shape[0]), np.int64)  # one-off call
    nnz = np.empty(layout.shape[0], np.int64)
    _forward_sample(acts, idx, nnz, x, params, layout, activations)


@jit
def _backward_sample(grads, dacts, acts, idx, nnz, x, params, layout, activations):
    # grads: (P,) ACCUMULATES  dacts, acts: (A,)  idx, nnz: from _forward_sample on the same x
    L = layout.shape[0]
    for l in range(L - 1, -1, -1):
        W, _ = layer_views(params, layout, l)
        dW, db = layer_views(grads, layout, l)
        act = IDENTITY if l == L - 1 else activations[l]
        rows = idx[_idx_offset(layout, l):]
        # one call site with non-literal arguments: one compiled specialisation per dtype
        if l == 0:
            dinp, inp, inp_relu = dacts[:0], x, False
        else:
            dinp, inp = layer_slice(dacts, layout, l - 1), layer_slice(acts, layout, l - 1)
            inp_relu = activations[l - 1] == RELU
        _dense_backward_rows(dinp, dW, db, layer_slice(dacts, layout, l),
                             layer_slice(acts, layout, l), inp, rows, nnz[l], W, act, inp_relu)


@jit
def network_backward(grads, dacts, acts, x, params, layout, activations):
    # grads: (P,) ACCUMULATES  dacts, acts: (A,)  x: (n_in,); output dz already in dacts
    idx = np.empty(_idx_offset(layout, layout.shape[0]), np.int64)
    nnz = np.empty(layout.shape[0], np.int64)
    for l in range(layout.shape[0]):
        inp = x if l == 0 else layer_slice(acts, layout, l - 1)
        nnz[l] = _nonzero_rows(idx[_idx_offset(layout, l):], inp)
    _backward_sample(grads, dacts, acts, idx, nnz, x, params, layout, activations)


@jit
def _backward_sgd_sample(dacts, params, acts, idx, nnz, x, layout, activations, lr, alpha, l1,
                         clip_value):
    # dacts, acts: (A,)  params: (P,) updated in place  idx, nnz: from _forward_sample on x
    L = layout.shape[0]
    for l in range(L - 1, -1, -1):
        W, b = layer_views(params, layout, l)
        act = IDENTITY if l == L - 1 else activations[l]
        rows = idx[_idx_offset(layout, l):]
        # one call site with non-literal arguments: one compiled specialisation per dtype
        if l == 0:
            dinp, inp, inp_relu = dacts[:0], x, False
        else:
            # a ReLU input's zero rows get dinp = 0: the next activation_backward zeroes them
            dinp, inp = layer_slice(dacts, layout, l - 1), layer_slice(acts, layout, l - 1)
            inp_relu = activations[l - 1] == RELU
        _dense_backward_sgd_rows(dinp, layer_slice(dacts, layout, l),
                                 layer_slice(acts, layout, l), inp, rows, nnz[l], W, b, act,
                                 inp_relu, lr, alpha, l1, clip_value)


@jit
def network_backward_sgd(dacts, params, acts, x, layout, activations, lr, alpha, l1, clip_value):
    # dacts, acts: (A,)  params: (P,) updated in place  x: (n_in,); output dz already in dacts
    idx = np.empty(_idx_offset(layout, layout.shape[0]), np.int64)
    nnz = np.empty(layout.shape[0], np.int64)
    for l in range(layout.shape[0]):
        inp = x if l == 0 else layer_slice(acts, layout, l - 1)
        nnz[l] = _nonzero_rows(idx[_idx_offset(layout, l):], inp)
    _backward_sgd_sample(dacts, params, acts, idx, nnz, x, layout, activations, lr, alpha, l1,
                         clip_value)
