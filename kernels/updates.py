"""The optimizer step of a mini-batch on the flat public buffers (the general mini-batch epoch
in sgd.py): the step's gradient (step_gradient), plain SGD from it and its restriction to the
rows a batch touched, and SGD with momentum / Adam (optimizer_update, dense: every parameter
each step).
"""

import math

import numpy as np

from .codes import ADAM, SGD
from .config import jit
from .rows import clip_gradient, l1_term


@jit
def step_gradient(grads, params, layout, scale, alpha, l1, clip_value, clip_norm):
    # grads, params: (P,); grads <- the step's g, in place:
    # g = clip(scale * grads + alpha * W + l1 * sign(W)) for weights, clip(scale * grads) for
    # biases (no penalty), then the whole g rescaled to L2 norm clip_norm if it was longer
    for l in range(layout.shape[0]):
        w_off, b_off = layout[l, 2], layout[l, 3]
        # slices indexed from 0 (no wraparound select per element: the loops vectorise)
        W, g = params[w_off:b_off], grads[w_off:b_off]
        for k in range(b_off - w_off):
            g[k] = clip_gradient(scale * g[k] + alpha * W[k] + l1_term(W[k], l1), clip_value)
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


@jit
def sgd_update(params, grads, layout, scale, lr, alpha, l1, clip_value, clip_norm):
    # params, grads: (P,); on exit grads holds the step g (step_gradient) applied as
    # params -= lr * g
    step_gradient(grads, params, layout, scale, alpha, l1, clip_value, clip_norm)
    for k in range(params.shape[0]):
        params[k] -= lr * grads[k]


@jit
def adam_rate(lr, beta_1, beta_2, t):
    # lr * sqrt(1 - b2**t) / (1 - b1**t) in float64 (t >= 1); the caller casts to the dtype
    b1, b2 = float(beta_1), float(beta_2)
    return float(lr) * math.sqrt(1.0 - math.pow(b2, float(t))) / (1.0 - math.pow(b1, float(t)))


@jit
def optimizer_update(params, grads, velocity, sq_avg, step, layout, scale, lr, alpha, l1,
                     clip_value, clip_norm, solver, momentum, nesterov, beta_1, beta_2, epsilon):
    # params, grads, velocity, sq_avg: (P,)  step: (1,) int64
    # g = step_gradient(...) left in grads; then SGD with momentum (velocity = v) or Adam
    # (velocity = m, sq_avg = s, step = t, incremented here), as reference.optimizer_update
    step_gradient(grads, params, layout, scale, alpha, l1, clip_value, clip_norm)
    n = params.shape[0]
    if solver == SGD:
        mu = momentum
        if nesterov:
            for k in range(n):
                v = mu * velocity[k] - lr * grads[k]
                velocity[k] = v
                params[k] += mu * v - lr * grads[k]
        else:
            for k in range(n):
                v = mu * velocity[k] - lr * grads[k]
                velocity[k] = v
                params[k] += v
    elif solver == ADAM:
        step[0] += 1
        lr_t = params.dtype.type(adam_rate(lr, beta_1, beta_2, step[0]))
        one = params.dtype.type(1)
        c1 = one - beta_1
        c2 = one - beta_2
        for k in range(n):
            g = grads[k]
            m = beta_1 * velocity[k] + c1 * g
            s = beta_2 * sq_avg[k] + c2 * (g * g)
            velocity[k] = m
            sq_avg[k] = s
            params[k] -= lr_t * m / (np.sqrt(s) + epsilon)


@jit
def _mark_rows(touched, tcount, mark, idx, nnz, layout):
    # adds this sample's non-zero input rows (idx/nnz from _forward_sample) to the batch's
    # touched rows: touched, mark: (sum fan_in,) int64, layer l's part at _idx_offset(layout, l);
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
def _sgd_update_rows(params, grads, layout, touched, tcount, mark, scale, lr, clip_value):
    # sgd_update for alpha == 0 and clip_norm == 0, restricted to the weight rows touched in
    # this batch (_mark_rows) and all biases. Exact: an untouched row's gradient is exactly 0,
    # clip(scale * 0) == 0 and W -= lr * 0 leaves W as it is. Each touched number is computed as
    # in sgd_update (g = clip(scale * grad); W -= lr * g). The touched rows, the biases and the
    # marks are zeroed again, so grads is all zero for the next batch without a full sweep.
    off = 0
    for l in range(layout.shape[0]):
        fan_in, fan_out, w_off, b_off = layout[l, 0], layout[l, 1], layout[l, 2], layout[l, 3]
        if 2 * tcount[l] > fan_in:
            # most rows touched (large batches): one flat pass over the whole matrix is faster;
            # the untouched rows' gradients are 0 and they stay as they are
            _update_scaled(params, grads, w_off, fan_in * fan_out, scale, lr, clip_value)
            for i in range(fan_in):
                mark[off + i] = 0
        else:
            for k in range(tcount[l]):
                i = touched[off + k]
                mark[off + i] = 0
                _update_scaled(params, grads, w_off + i * fan_out, fan_out, scale, lr, clip_value)
        tcount[l] = 0
        _update_scaled(params, grads, b_off, fan_out, scale, lr, clip_value)
        off += fan_in


@jit
def _update_scaled(params, grads, start, n, scale, lr, clip_value):
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
