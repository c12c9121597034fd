"""A whole network over the flat buffers: forward, backward, fused backward + SGD, update.

Layout (see fastmlp/reference.py): params = W0, b0, W1, b1, ... flat; ``layout[l]`` is
(fan_in, fan_out, w_off, b_off, a_off); acts/dacts hold every layer's output / its gradient.
"""

import math

from .codes import IDENTITY
from .config import jit
from .dense import clip_gradient, dense_backward, dense_backward_sgd, dense_forward


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
def network_forward(acts, x, params, layout, activations):
    # acts: (A,) flat  x: (n_in,)  params: (P,) flat  layout: (L, 5)  activations: (L,)
    for l in range(layout.shape[0]):
        W, b = layer_views(params, layout, l)
        if l == 0:
            dense_forward(layer_slice(acts, layout, 0), x, W, b, activations[0])
        else:
            dense_forward(layer_slice(acts, layout, l), layer_slice(acts, layout, l - 1), W, b,
                          activations[l])


@jit
def network_backward(grads, dacts, acts, x, params, layout, activations):
    # grads: (P,) ACCUMULATES  dacts, acts: (A,)  x: (n_in,); output dz already in dacts
    L = layout.shape[0]
    for l in range(L - 1, -1, -1):
        W, _ = layer_views(params, layout, l)
        dW, db = layer_views(grads, layout, l)
        act = IDENTITY if l == L - 1 else activations[l]
        dout = layer_slice(dacts, layout, l)
        out = layer_slice(acts, layout, l)
        if l == 0:
            dense_backward(dacts[:0], dW, db, dout, out, x, W, act)
        else:
            dense_backward(layer_slice(dacts, layout, l - 1), dW, db, dout, out,
                           layer_slice(acts, layout, l - 1), W, act)


@jit
def network_backward_sgd(dacts, params, acts, x, layout, activations, lr, alpha, clip_value):
    # dacts, acts: (A,)  params: (P,) updated in place  x: (n_in,); output dz already in dacts
    L = layout.shape[0]
    for l in range(L - 1, -1, -1):
        W, b = layer_views(params, layout, l)
        act = IDENTITY if l == L - 1 else activations[l]
        dout = layer_slice(dacts, layout, l)
        out = layer_slice(acts, layout, l)
        if l == 0:
            dense_backward_sgd(dacts[:0], dout, out, x, W, b, act, lr, alpha, clip_value)
        else:
            dense_backward_sgd(layer_slice(dacts, layout, l - 1), dout, out,
                               layer_slice(acts, layout, l - 1), W, b, act, lr, alpha, clip_value)


@jit
def sgd_update(params, grads, layout, scale, lr, alpha, clip_value, clip_norm):
    # params, grads: (P,); grads holds the step g = clip(scale * grads + alpha * W) on exit
    for l in range(layout.shape[0]):
        w_off, b_off = layout[l, 2], layout[l, 3]
        for k in range(w_off, b_off):
            grads[k] = clip_gradient(scale * grads[k] + alpha * params[k], clip_value)
        for k in range(b_off, b_off + layout[l, 1]):
            grads[k] = clip_gradient(scale * grads[k], clip_value)
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
