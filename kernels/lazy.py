"""Per-sample weight decay and momentum without stepping the rows a sample does not touch.

At batch size 1 a row of W whose input is exactly 0 gets no data gradient. Plain SGD leaves it
as it is; but an L2 penalty still shrinks it, w -= lr * alpha * w, and momentum still moves it,
v = mu * v, p += v (or mu * v with Nesterov), every sample: stepping every row of every layer
each sample costs ~5x plain SGD. Both moves are linear and the same for every such weight, so
the per-sample epoch (epochs.py) keeps the weights in a form where they cost nothing:

- L2 alone, the scaled form: w = s * V, one scalar s for the whole network. A step multiplies
  s by (1 - lr * alpha) and steps only the touched rows, V[i] -= (lr / s_new) * x_i * dz, which
  is w_new = (1 - lr * alpha) * w - lr * x_i * dz, the reference's step. The forward computes
  b + s * (inp @ V), the backward dinp = s * (V @ dz). With clip_value, a zero-input weight's
  step clip(alpha * w) is the plain decay only while |alpha * w| <= clip_value: the form is used
  only while every weight satisfies it (checked at the start of the call, and on every weight
  the call steps explicitly: untouched weights only shrink); the touched rows step the true
  weights through the clip (``scaled_clip_update_row``). When a stepped weight breaks the
  bound, the call folds s back and goes on with the exact dense step.
- SGD with momentum, the (q, u) form: with c = mu / (1 - mu) (classic) or mu**2 / (1 - mu)
  (Nesterov), q = p + c * v is where p goes if every later gradient is 0 (a zero-gradient step
  leaves q unchanged), and u = v / mu**t for a counter t. A step with gradient g then does
  u -= (lr / mu**(t + 1)) * g and q -= (lr / (1 - mu)) * g, and nothing where g == 0; the
  weights are p = q - c * mu**t * u. Both updates are plain SGD row steps (the same row
  operations), and the forward / dinp read both rows: b + inp @ Q - c mu**t (inp @ U). The
  biases, which have a gradient every sample, stay (p, v) and step as in the reference.

Both are exact in real arithmetic and round differently from stepping every weight (the
reference); the tests hold them to the epoch tolerances. The forms never leave a call: each
``train_epoch`` call starts from and returns the true weights (and velocity). s and mu**t are
renormalised (folded into the buffers, O(parameters)) when they get small: below ``S_MIN`` and
``MT_MIN``, so V and u stay far from overflow.
"""

from .config import jit
from .rows import _row_dot, _update_row, clip_gradient
from .vmomentum import _vdot2, _vdot2_update
from .workspace import _work_views

S_MIN = 1.0 / 1024  # the scale is folded back into the weights below this
MT_MIN = 2.0 ** -40  # momentum's mu**t is folded into u below this


@jit
def form_begin(out, b, from_b):
    # a layer's output before its rows are added: the bias (from_b), else 0 (the scaled form,
    # whose b + s * (inp @ V) is made by form_finish)
    zero = out.dtype.type(0)
    for j in range(out.shape[0]):
        out[j] = b[j] if from_b else zero


@jit
def form_finish(out, b, s):
    # out: (stride,) holding b + inp @ W, or inp @ V in the scaled form (s != 1): the layer's
    # pre-activation b + s * (inp @ V)
    if s != 1.0:
        sd = out.dtype.type(s)
        for j in range(out.shape[0]):
            out[j] = b[j] + sd * out[j]


@jit
def decay_bound_holds(work, playout, alpha, clip_value):
    # True if |alpha * w| <= clip_value for every weight (not the biases) of every layer: then
    # a weight whose input is 0 gets clip(alpha * w) = alpha * w, the plain decay
    bad = False
    for l in range(playout.shape[0]):
        W, _ = _work_views(work, playout, l)
        for i in range(playout[l, 0]):
            for j in range(playout[l, 1]):
                bad |= not abs(alpha * W[i, j]) <= clip_value  # NaN breaks the bound too
    return not bad


@jit
def fold_scale(work, playout, s):
    # the scaled form back to the weights: W <- s * W for every layer (biases are not scaled)
    f = work.dtype.type(s)
    for l in range(playout.shape[0]):
        w_off, b_off = playout[l, 3], playout[l, 4]
        W = work[w_off:b_off]
        for k in range(b_off - w_off):
            W[k] *= f


@jit
def scaled_clip_update_row(W, i, xi, dz, lr, alpha, clip_value, s_old, r_new):
    # W: (fan_in, stride) in the scaled form, row i holding w / s_old. Steps the true row as the
    # reference does, w -= lr * clip(xi * dz + alpha * w), and stores w * r_new (r_new =
    # 1 / s_new). Returns True if every new w keeps |alpha * w| <= clip_value.
    ok = True
    for j in range(W.shape[1]):
        w = s_old * W[i, j]
        w -= lr * clip_gradient(xi * dz[j] + alpha * w, clip_value)
        ok &= abs(alpha * w) <= clip_value
        W[i, j] = w * r_new
    return ok


@jit
def backward_scaled_clip_rows(dinp, dz, inp, idx, nnz, W, inp_relu, lr, alpha, clip_value,
                              s_old, s_new):
    # dinp: (fan_in,) or (0,) (not needed)  dz: (stride,)  inp: (fan_in,)  W: (fan_in, stride)
    # in the scaled form at s_old; idx[:nnz] the rows with inp != 0. dinp = s_old * (W @ dz)
    # from the OLD rows (0 where a ReLU input is 0), then the rows idx[:nnz] step through the
    # clip into the form at s_new (scaled_clip_update_row); the other rows' decay is the
    # scale's. Returns True if the bound still holds for every stepped weight.
    so = W.dtype.type(s_old)
    rn = W.dtype.type(1.0 / s_new)
    need = dinp.shape[0] > 0
    if need:
        for i in range(dinp.shape[0]):
            dinp[i] = 0 if inp_relu else so * _row_dot(W, i, dz)
    ok = True
    for k in range(nnz):
        i = idx[k]
        if need and inp_relu:
            dinp[i] = so * _row_dot(W, i, dz)
        ok &= scaled_clip_update_row(W, i, inp[i], dz, lr, alpha, clip_value, so, rn)
    return ok


@jit
def backward_momentum_rows(dinp, dz, inp, idx, nnz, Q, U, kd, lrq, lru, inp_relu, clip_value):
    # dinp: (fan_in,)  dz: (stride,) this layer's pre-activation gradient  inp: (fan_in,)
    # Q, U: (fan_in, stride) momentum's (q, u) form of W = Q - kd * U; idx[:nnz] the rows with
    # inp != 0. dinp = W @ dz from the OLD rows (0 where a ReLU input is 0), and every row with
    # g = clip(inp (x) dz) steps Q -= lrq * g, U -= lru * g: the rows idx[:nnz]
    fan_in = Q.shape[0]
    zero = Q.dtype.type(0)
    if clip_value == 0:
        k = 0
        for i in range(fan_in):
            if k < nnz and idx[k] == i:
                dinp[i] = _vdot2_update(Q, U, i, kd, lrq * inp[i], lru * inp[i], dz)
                k += 1
            else:
                dinp[i] = zero if inp_relu else _vdot2(Q, U, i, kd, dz)
    else:
        for i in range(fan_in):
            dinp[i] = zero if inp_relu else _vdot2(Q, U, i, kd, dz)
        for k in range(nnz):
            i = idx[k]
            if inp_relu:
                dinp[i] = _vdot2(Q, U, i, kd, dz)
            _update_row(Q, i, inp[i], dz, lrq, zero, zero, clip_value)
            _update_row(U, i, inp[i], dz, lru, zero, zero, clip_value)


@jit
def momentum_constant(momentum, nesterov):
    # c of q = p + c * v: mu / (1 - mu), or mu**2 / (1 - mu) with Nesterov (float64)
    mu = float(momentum)
    return mu / (1.0 - mu) * (mu if nesterov else 1.0)


@jit
def momentum_to_qu(work, uwork, playout, c):
    # the weights' (p, v) -> (q, u) = (p + c * v, v) (pads: 0 stay 0); the biases stay (p, v)
    cd = work.dtype.type(c)
    for l in range(playout.shape[0]):
        W, U = work[playout[l, 3]:playout[l, 4]], uwork[playout[l, 3]:playout[l, 4]]
        for k in range(W.shape[0]):
            W[k] += cd * U[k]


@jit
def momentum_renorm(uwork, playout, mt):
    # the weights' u <- mu**t * u (= v): the counter t starts again at 0
    f = uwork.dtype.type(mt)
    for l in range(playout.shape[0]):
        U = uwork[playout[l, 3]:playout[l, 4]]
        for k in range(U.shape[0]):
            U[k] *= f


@jit
def momentum_from_qu(work, uwork, playout, c, mt):
    # the weights' (q, u) at mu**t = mt -> (p, v) = (q - c * v, v) with v = mt * u
    f = uwork.dtype.type(mt)
    cd = work.dtype.type(c)
    for l in range(playout.shape[0]):
        W, U = work[playout[l, 3]:playout[l, 4]], uwork[playout[l, 3]:playout[l, 4]]
        for k in range(W.shape[0]):
            v = f * U[k]
            U[k] = v
            W[k] -= cd * v


@jit
def momentum_bias_step(b, vb, dz, lr, momentum, nesterov, clip_value):
    # b, vb: (stride,) a layer's biases and their velocity, stepped as the reference does
    # (every bias has a gradient every sample: no form): g = clip(dz), v = mu * v - lr * g,
    # b += mu * v - lr * g (Nesterov) or v
    for j in range(b.shape[0]):
        g = clip_gradient(dz[j], clip_value)
        v = momentum * vb[j] - lr * g
        vb[j] = v
        if nesterov:
            b[j] += momentum * v - lr * g
        else:
            b[j] += v
