"""Training diagnostics: per epoch and per layer, the numbers that say what to change first.

Recorded in ``model.diagnostics_`` (a dict of per-epoch lists; each entry a list with one value
per layer, layer 0 first) when the estimator has ``diagnostics=True``; nothing is computed
otherwise. After every epoch, at the weights the epoch ended with:

- ``grad_norm``: the Frobenius norm of dLoss/dW of each layer, the loss being the mean data loss
  (no penalty) over a fixed sample of training rows (the first ``SAMPLE_ROWS`` rows of the
  training set, the same every epoch, so epochs compare). Tiny values in the early layers:
  vanishing gradients; values growing by orders of magnitude: exploding gradients.
- ``weight_norm``: the Frobenius norm of each layer's weight matrix W (biases not included).
- ``update_ratio``: ``||W_after - W_before|| / ||W_before||`` over the epoch: how much of each
  weight matrix one epoch changed (~1e-3 per epoch is healthy for per-sample SGD; 1e-6 learns
  nothing, above 1 the weights are being thrown around).
- ``inactive``: for each hidden layer, the fraction of its units that are inactive on every
  sampled row: output exactly 0 (a dead ReLU: it passes no gradient back, and a unit dead on
  every row never recovers), or, for sigmoid/tanh units, saturated (local derivative below 1%
  of its maximum). The output layer has no entry.

The gradient is computed here in NumPy over the sampled rows at once, with the same formulas
as the per-sample reference (fastmlp/reference.py), which tests/test_diagnostics.py checks.
"""

import numpy as np

from . import sparse
from .codes import CROSS_ENTROPY, IDENTITY, RELU, SIGMOID, SOFTMAX, TANH
from .reference import layer_views

SAMPLE_ROWS = 256
KEYS = ("grad_norm", "weight_norm", "update_ratio", "inactive")
SATURATED = 0.01  # sigmoid/tanh: local derivative below this share of its maximum


def _forward(out, act):
    if act == RELU:
        np.maximum(out, 0, out=out)
    elif act == SIGMOID:
        out[:] = 1 / (1 + np.exp(-out))
    elif act == TANH:
        np.tanh(out, out=out)
    elif act == SOFTMAX:
        e = np.exp(out - out.max(axis=1, keepdims=True))
        out[:] = e / e.sum(axis=1, keepdims=True)


def _backward(d, out, act):
    """d <- d * act'(z), row by row, in terms of the output (as the reference)."""
    if act == RELU:
        d[out <= 0] = 0
    elif act == SIGMOID:
        d *= out * (1 - out)
    elif act == TANH:
        d *= 1 - out * out
    elif act == SOFTMAX:
        d[:] = out * (d - np.sum(d * out, axis=1, keepdims=True))


def _derivative_share(out, act):
    """The local derivative as a share of its maximum (1 for identity)."""
    if act == RELU:
        return (out > 0).astype(np.float64)
    if act == SIGMOID:
        return 4 * out * (1 - out)
    if act == TANH:
        return 1 - out * out
    return np.ones_like(out)


def batch_forward(params, layout, X, activations):
    """Every layer's outputs (n, fan_out) for the rows of X, in float64, layer 0 first."""
    params = np.asarray(params, np.float64)
    # scipy.sparse X stays sparse: its product with a dense W is dense
    outs, inp = [], X.astype(np.float64) if hasattr(X, "tocsr") else np.asarray(X, np.float64)
    for l in range(layout.shape[0]):
        W, b = layer_views(params, layout, l)
        out = inp @ W + b
        _forward(out, activations[l])
        outs.append(out)
        inp = out
    return outs


def batch_gradients(params, layout, X, Y, activations, loss):
    """([dW per layer], [hidden outputs per hidden layer]): the gradient of the mean data loss
    over the rows of X (float64), and every hidden layer's outputs (n, fan_out)."""
    params = params.astype(np.float64)
    # a sparse X stays sparse: X @ W and X.T @ d are dense results
    X = X.astype(np.float64) if sparse.is_sparse(X) else np.asarray(X, np.float64)
    Y = np.asarray(Y, np.float64)
    L = layout.shape[0]
    outs = batch_forward(params, layout, X, activations)
    d = outs[-1] - Y
    if loss != CROSS_ENTROPY:
        _backward(d, outs[-1], activations[-1])
    grads = [None] * L
    for l in range(L - 1, -1, -1):
        W, _ = layer_views(params, layout, l)
        if l < L - 1:
            _backward(d, outs[l], activations[l])
        grads[l] = (X if l == 0 else outs[l - 1]).T @ d / X.shape[0]
        if l > 0:
            d = d @ W.T
    return grads, outs[:-1]


def inactive_fractions(hidden_outputs, activations):
    """Per hidden layer: the share of units inactive on every row (see the module doc)."""
    result = []
    for l, out in enumerate(hidden_outputs):
        act = activations[l]
        if act == IDENTITY:
            result.append(0.0)
            continue
        share = _derivative_share(out, act)
        result.append(float(np.mean(np.all(share < (1e-300 if act == RELU else SATURATED),
                                           axis=0))))
    return result


def _weights(params, layout):
    return [layer_views(params, layout, l)[0] for l in range(layout.shape[0])]


def _norm(A):
    return float(np.sqrt(np.sum(np.asarray(A, np.float64) ** 2)))


def record(diagnostics, params_before, params, layout, X, Y, activations, loss):
    """Append one epoch's numbers to ``diagnostics`` (dict of lists), computed at ``params``;
    ``params_before``: the weights at the start of the epoch."""
    rows = slice(0, min(SAMPLE_ROWS, X.shape[0]))
    grads, hidden = batch_gradients(params, layout, X[rows], Y[rows], activations, loss)
    before, after = _weights(params_before, layout), _weights(params, layout)
    values = dict(
        grad_norm=[_norm(g) for g in grads],
        weight_norm=[_norm(W) for W in after],
        update_ratio=[_norm(np.asarray(a, np.float64) - b) / max(_norm(b), 1e-300)
                      for a, b in zip(after, before)],
        inactive=inactive_fractions(hidden, activations),
    )
    for key in KEYS:
        diagnostics.setdefault(key, []).append(values[key])
