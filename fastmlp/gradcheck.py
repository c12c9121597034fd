"""``check_gradients``: backpropagation checked against central finite differences.

The objective is exactly what training minimises: the mean per-sample loss over (X, y) plus the
penalty ``0.5 * alpha * sum(W**2) + l1 * sum(|W|)`` over the weight matrices (never the biases;
``alpha``/``l1`` from the model's ``penalty``, ``alpha`` and ``l1_ratio``). Its analytic
gradient is taken the way training takes it -- per-sample ``network_backward`` accumulated into
the flat gradient buffer, then ``sgd_update``'s step ``g = grads / n + alpha * W + l1 *
sign(W)`` -- through
the NumPy reference and, by default, through the Numba kernels too. Everything runs in float64
on a copy of the model, whatever its dtype; the model itself is never changed.

    import fastmlp
    report = fastmlp.check_gradients(model, X[:20], y[:20])
    report["max_relative_error"]          # ~1e-9 for a correct backward pass

Per layer the error is ``||g_analytic - g_numeric|| / (||g_analytic|| + ||g_numeric||)``
(0 when both vanish), for the weights and the biases separately. Near a ReLU kink (a hidden
unit with pre-activation within ``eps`` of 0) finite differences are not meaningful; use
smooth activations or nudge X if such a point trips the check. The same holds for L1 at a
weight within ``eps`` of 0 (|W| has a kink there).
"""

import numpy as np

from . import reference, sparse
from .backends import BACKENDS, get_backend
from .estimators import prepared_copy
from .layout import activation_size, coef_views


class GradientCheckError(AssertionError):
    """The analytic gradient disagrees with finite differences beyond the tolerance."""


def _prepared(model, X, y):
    """(model copy, X, Y in float64, activation codes, loss code)."""
    m, X, Y, settings = prepared_copy(model, X, y)
    if sparse.is_sparse(X):  # checked CSR; a gradient check runs on a few rows: dense is fine
        X = X.toarray()
    return (m, np.ascontiguousarray(X, np.float64), np.ascontiguousarray(Y, np.float64),
            settings.activation_codes, settings.loss_code)


def _buffers(layout):
    n_acts = activation_size(layout)
    return np.zeros(n_acts), np.zeros(n_acts)


def objective(params, layout, X, Y, activations, loss, alpha, backend=reference, l1=0.0):
    """Mean loss over the rows of (X, Y) plus 0.5 * alpha * sum of squared weights plus
    l1 * sum of absolute weights (float)."""
    acts, dacts = _buffers(layout)
    L = layout.shape[0]
    out_slot = backend.layer_slice(acts, layout, L - 1)
    dz = backend.layer_slice(dacts, layout, L - 1)
    total = 0.0
    for i in range(X.shape[0]):
        backend.network_forward(acts, X[i], params, layout, activations)
        total += float(backend.loss_forward_backward(dz, out_slot, Y[i], activations[L - 1], loss))
    coefs, _ = coef_views(params, layout)
    return (total / X.shape[0] + 0.5 * alpha * sum(float(np.sum(W * W)) for W in coefs)
            + l1 * sum(float(np.sum(np.abs(W))) for W in coefs))


def analytic_gradient(params, layout, X, Y, activations, loss, alpha, backend=reference,
                      l1=0.0):
    """The gradient of :func:`objective` as training computes it, flat like params."""
    acts, dacts = _buffers(layout)
    grads = np.zeros_like(params)
    L = layout.shape[0]
    out_slot = backend.layer_slice(acts, layout, L - 1)
    dz = backend.layer_slice(dacts, layout, L - 1)
    for i in range(X.shape[0]):
        backend.network_forward(acts, X[i], params, layout, activations)
        backend.loss_forward_backward(dz, out_slot, Y[i], activations[L - 1], loss)
        backend.network_backward(grads, dacts, acts, X[i], params, layout, activations)
    # sgd_update with lr = 1 and no clipping leaves the step g = grads / n + alpha * W
    # + l1 * sign(W) in grads
    step = params.copy()
    backend.sgd_update(step, grads, layout, 1.0 / X.shape[0], 1.0, float(alpha), float(l1),
                       0.0, 0.0)
    return grads


def _relative_error(a, b):
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    return float(np.linalg.norm(a - b) / denom) if denom > 0 else 0.0


def check_gradients(model, X, y, eps=1e-6, tol=1e-6, backends=("reference", "numba"),
                    max_params=2000, seed=0, raise_on_failure=True):
    """Compare backpropagation with central finite differences on (X, y); return a report.

    model: an MLPClassifier/MLPRegressor, fitted or not (an unfitted one is initialised from
    its hyperparameters, on a copy). Keep X small: the numeric gradient costs two passes over X
    per parameter checked; networks with more than ``max_params`` parameters are checked on a
    random subset of that many (chosen with ``seed``).

    Returns a dict: ``max_relative_error``, ``passed`` (max <= tol), ``n_checked``, and
    ``layers``: one dict per layer and backend with the relative error of its weights
    (``coefs``) and biases (``intercepts``). Raises GradientCheckError when the check fails and
    ``raise_on_failure`` is true.
    """
    m, X, Y, activations, loss = _prepared(model, X, y)
    layout = m.layout_
    params = m.params_.astype(np.float64)
    settings = m._resolve()
    alpha, l1 = float(settings.l2), float(settings.l1)
    for name in backends:
        if name not in BACKENDS:
            raise ValueError(f"backend {name!r} is not supported; expected one of "
                             f"{tuple(BACKENDS)}")
    P = params.shape[0]
    idx = np.arange(P)
    if max_params is not None and P > max_params:
        idx = np.sort(np.random.default_rng(seed).choice(P, int(max_params), replace=False))
    numeric = np.zeros(P)
    checked = np.zeros(P, bool)
    checked[idx] = True
    for k in idx:
        orig = params[k]
        params[k] = orig + eps
        up = objective(params, layout, X, Y, activations, loss, alpha, l1=l1)
        params[k] = orig - eps
        down = objective(params, layout, X, Y, activations, loss, alpha, l1=l1)
        params[k] = orig
        numeric[k] = (up - down) / (2 * eps)
    layers = []
    worst = 0.0
    for name in backends:
        g = analytic_gradient(params, layout, X, Y, activations, loss, alpha, get_backend(name),
                              l1=l1)
        for l, (fan_in, fan_out, w_off, b_off, _) in enumerate(layout):
            w = slice(int(w_off), int(b_off))
            b = slice(int(b_off), int(b_off + fan_out))
            row = dict(layer=l, backend=name)
            for part, sl in (("coefs", w), ("intercepts", b)):
                mask = checked[sl]
                row[part] = _relative_error(g[sl][mask], numeric[sl][mask])
                worst = max(worst, row[part])
            layers.append(row)
    report = dict(max_relative_error=worst, passed=worst <= tol, tol=tol, eps=eps,
                  n_checked=int(idx.shape[0]), n_params=int(P), layers=layers)
    if raise_on_failure and not report["passed"]:
        lines = "; ".join(f"layer {r['layer']} ({r['backend']}): coefs {r['coefs']:.2e}, "
                          f"intercepts {r['intercepts']:.2e}" for r in layers)
        raise GradientCheckError(f"gradient check failed: max relative error {worst:.3e} > "
                                 f"tol {tol:g} ({lines})")
    return report
