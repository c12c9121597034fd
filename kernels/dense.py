"""Fused dense + activation layer: forward, backward, and backward fused with the SGD step.

Rows of W whose input is exactly zero are skipped: a zero input contributes exactly nothing to
the product and to the weight gradient, and MNIST pixels and inactive ReLU units are mostly zero.
"""

from .activations import activation_backward, activation_forward
from .config import jit


@jit
def dense_forward(out, inp, W, b, act):
    # out: (fan_out,)  inp: (fan_in,)  W: (fan_in, fan_out)  b: (fan_out,)
    fan_in, fan_out = W.shape
    for j in range(fan_out):
        out[j] = b[j]
    for i in range(fan_in):
        xi = inp[i]
        if xi != 0:
            for j in range(fan_out):
                out[j] += xi * W[i, j]
    activation_forward(out, act)


@jit
def dense_backward(dinp, dW, db, dout, out, inp, W, act):
    # dinp: (fan_in,) or (0,)  dW: (fan_in, fan_out)  db, dout, out: (fan_out,)  inp: (fan_in,)
    # dout becomes dz; dW and db ACCUMULATE; an empty dinp is not computed
    fan_in, fan_out = W.shape
    activation_backward(dout, out, act)
    for i in range(fan_in):
        xi = inp[i]
        if xi != 0:
            for j in range(fan_out):
                dW[i, j] += xi * dout[j]
    for j in range(fan_out):
        db[j] += dout[j]
    if dinp.shape[0] > 0:
        for i in range(fan_in):
            s = 0.0
            for j in range(fan_out):
                s += W[i, j] * dout[j]
            dinp[i] = s


@jit
def clip_gradient(g, clip_value):
    # a scalar g clipped to [-clip_value, clip_value]; clip_value == 0 means no clipping
    if clip_value > 0:
        if g > clip_value:
            return clip_value
        if g < -clip_value:
            return -clip_value
    return g


@jit
def dense_backward_sgd(dinp, dout, out, inp, W, b, act, lr, alpha, clip_value):
    # dinp: (fan_in,) or (0,)  dout, out, b: (fan_out,)  inp: (fan_in,)  W: (fan_in, fan_out)
    # dinp is computed from W before its row is updated, so this equals dense_backward + update
    fan_in, fan_out = W.shape
    activation_backward(dout, out, act)
    need_dinp = dinp.shape[0] > 0
    for i in range(fan_in):
        if need_dinp:
            s = 0.0
            for j in range(fan_out):
                s += W[i, j] * dout[j]
            dinp[i] = s
        xi = inp[i]
        if xi != 0 or alpha != 0:
            for j in range(fan_out):
                W[i, j] -= lr * clip_gradient(xi * dout[j] + alpha * W[i, j], clip_value)
    for j in range(fan_out):
        b[j] -= lr * clip_gradient(dout[j], clip_value)
