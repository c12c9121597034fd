"""Per-sample losses and their gradient w.r.t. the output layer's pre-activation."""

import math

import numpy as np

from .activations import activation_backward
from .codes import CROSS_ENTROPY, SIGMOID
from .config import jit


@jit
def loss_forward_backward(dz, out, target, act, loss):
    # dz, out, target: (n_out,); returns the loss of this sample
    n = out.shape[0]
    value = out.dtype.type(0)
    if loss == CROSS_ENTROPY:
        # softmax: categorical cross-entropy; sigmoid outputs: the binary cross-entropy of
        # each output (multilabel). Both have the output gradient out - target
        tiny = np.finfo(out.dtype).tiny
        one = out.dtype.type(1)
        for j in range(n):
            if target[j] != 0:
                value -= target[j] * math.log(max(out[j], tiny))
            if act == SIGMOID and target[j] != one:
                value -= (one - target[j]) * math.log(max(one - out[j], tiny))
            dz[j] = out[j] - target[j]
    else:  # SQUARED_ERROR
        for j in range(n):
            d = out[j] - target[j]
            value += d * d
            dz[j] = d
        value *= 0.5
        activation_backward(dz, out, act)
    return value


@jit
def weigh_output(dout, value, w):
    # dout: (n_out,) the output gradient of one sample, scaled in place
    # a sample of weight w: the weighted loss w * loss has the output gradient w * dout;
    # returns w * value
    for j in range(dout.shape[0]):
        dout[j] *= w
    return value * w
