"""Activations, forward (in place on pre-activations) and backward (from the saved output)."""

import math

from .codes import RELU, SIGMOID, SOFTMAX, TANH
from .config import jit


@jit
def activation_forward(out, act):
    # out: (n,) pre-activations on entry, activations on exit
    n = out.shape[0]
    if act == RELU:
        for j in range(n):
            if out[j] < 0:
                out[j] = 0
    elif act == SIGMOID:
        for j in range(n):
            out[j] = 1 / (1 + math.exp(-out[j]))
    elif act == TANH:
        for j in range(n):
            out[j] = math.tanh(out[j])
    elif act == SOFTMAX:
        m = out[0]
        for j in range(1, n):
            if out[j] > m:
                m = out[j]
        s = 0.0
        for j in range(n):
            out[j] = math.exp(out[j] - m)
            s += out[j]
        for j in range(n):
            out[j] = out[j] / s


@jit
def activation_backward(dout, out, act):
    # dout: (n,) d loss / d out on entry, d loss / d z on exit   out: (n,) saved activations
    n = out.shape[0]
    if act == RELU:
        for j in range(n):
            if out[j] <= 0:
                dout[j] = 0
    elif act == SIGMOID:
        for j in range(n):
            dout[j] *= out[j] * (1 - out[j])
    elif act == TANH:
        for j in range(n):
            dout[j] *= 1 - out[j] * out[j]
    elif act == SOFTMAX:
        s = 0.0
        for j in range(n):
            s += dout[j] * out[j]
        for j in range(n):
            dout[j] = out[j] * (dout[j] - s)
