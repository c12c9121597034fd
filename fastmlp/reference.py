"""The pure-NumPy reference: backpropagation written to be read.

Every function here has a compiled twin in ``fastmlp.kernels`` with the same name, the same
argument order (outputs, inputs, weights, sizes/options) and the same in-place semantics, so a
test can call ``ref.f(...)`` and ``kernels.f(...)`` on copies of the same buffers and compare.

The network
-----------
A network with layer sizes ``sizes = (n_in, h1, ..., n_out)`` has ``L = len(sizes) - 1`` dense
layers. Layer ``l`` computes

    z = a @ W + b            a: (fan_in,)   W: (fan_in, fan_out)   b: (fan_out,)
    out = act(z)

``W`` is stored as (fan_in, fan_out) -- scikit-learn's ``coefs_`` layout -- so each input unit
owns one contiguous row of weights.

Memory layout (llm.c style)
---------------------------
All parameters live in ONE flat buffer ``params``: W0, b0, W1, b1, ... each C-ordered. The
gradient buffer ``grads`` has the same layout. The outputs of every layer live in one flat buffer
``acts`` and their gradients in ``dacts``. ``layout`` is an int64 array of shape (L, 5) whose row
``l`` is ``(fan_in, fan_out, w_off, b_off, a_off)``: layer l's W is
``params[w_off : w_off + fan_in*fan_out].reshape(fan_in, fan_out)``, its b is
``params[b_off : b_off + fan_out]`` and its output is ``acts[a_off : a_off + fan_out]``.

Losses (per sample, ``y`` the target row)
-----------------------------------------
- cross-entropy with a softmax output: ``-sum(y * log(p))``; its gradient with respect to the
  output layer's pre-activation ``z`` is simply ``p - y``.
- squared error: ``0.5 * sum((out - y)**2)``; gradient ``(out - y) * act'(out)``.

SGD with an L2 penalty ``alpha`` and an L1 penalty ``l1`` (weights only, never biases) and
optional clipping: ``g = mean_batch_gradient + alpha * W + l1 * sign(W)`` (sign(0) = 0, so a
weight at exactly 0 with no data gradient stays put); ``g = clip(g, -clip_value, clip_value)`` if
``clip_value > 0``; ``g *= clip_norm / ||g||`` if ``clip_norm > 0`` and ``||g|| > clip_norm``;
then the solver's step with g:

- SGD: ``param -= lr * g``; with momentum ``mu > 0``, the velocity ``v = mu * v - lr * g``,
  then ``param += mu * v - lr * g`` (Nesterov) or ``param += v``.
- Adam: ``t += 1``; ``m = b1 * m + (1 - b1) * g``; ``s = b2 * s + (1 - b2) * g * g``;
  ``param -= lr_t * m / (sqrt(s) + eps)`` with ``lr_t = lr * sqrt(1 - b2**t) / (1 - b1**t)``.

(scikit-learn's update rules.) Sample weights scale a sample's loss and its output gradient, so
a mini-batch steps with ``sum_i w_i * g_i / (samples in the batch)``.
"""

import math

import numpy as np

from fastmlp.codes import ADAM, CROSS_ENTROPY, IDENTITY, RELU, SGD, SIGMOID, SOFTMAX, TANH
from fastmlp.sparse import CSRRows


# ----------------------------------------------------------------------------------------------
# activations


def activation_forward(out, act):
    """out <- act(out), in place. out: (n,) pre-activations on entry."""
    if act == RELU:
        np.maximum(out, 0, out=out)
    elif act == SIGMOID:
        out[:] = 1 / (1 + np.exp(-out))
    elif act == TANH:
        np.tanh(out, out=out)
    elif act == SOFTMAX:
        # subtract the max so exp never overflows; the result is unchanged mathematically
        e = np.exp(out - out.max())
        out[:] = e / e.sum()
    # IDENTITY: nothing to do


def activation_backward(dout, out, act):
    """dout <- dout * d act / dz, in place, written in terms of the saved output ``out``.

    dout: (n,) gradient w.r.t. the layer output on entry, w.r.t. its pre-activation on exit.
    """
    if act == RELU:
        dout[out <= 0] = 0  # derivative 0 at z <= 0 (out == 0)
    elif act == SIGMOID:
        dout *= out * (1 - out)
    elif act == TANH:
        dout *= 1 - out * out
    elif act == SOFTMAX:
        # Jacobian-vector product of softmax: p * (g - <g, p>)
        dout[:] = out * (dout - np.dot(dout, out))


# ----------------------------------------------------------------------------------------------
# one dense layer


def dense_forward(out, inp, W, b, act):
    """out <- act(inp @ W + b).  out: (fan_out,)  inp: (fan_in,)  W: (fan_in, fan_out)  b: (fan_out,)"""
    out[:] = inp @ W + b
    activation_forward(out, act)


def dense_backward(dinp, dW, db, dout, out, inp, W, act):
    """Backward through act and the dense layer, ACCUMULATING into dW and db.

    dinp: (fan_in,) or (0,)   dW: (fan_in, fan_out)   db: (fan_out,)
    dout: (fan_out,) upstream gradient; overwritten with the pre-activation gradient dz
    out:  (fan_out,) this layer's saved output   inp: (fan_in,)   W: (fan_in, fan_out)
    An empty ``dinp`` means the gradient w.r.t. the input is not needed (the first layer).
    """
    activation_backward(dout, out, act)
    dz = dout
    dW += np.outer(inp, dz)
    db += dz
    if dinp.shape[0] > 0:
        dinp[:] = W @ dz


def clip_gradient(g, clip_value):
    """g clipped to [-clip_value, clip_value] when clip_value > 0 (0 means no clipping)."""
    if clip_value > 0:
        return np.clip(g, -clip_value, clip_value)
    return g


def dense_backward_sgd(dinp, dout, out, inp, W, b, act, lr, alpha, l1, clip_value):
    """Backward through one layer fused with its SGD update (batch size 1).

    Same as ``dense_backward`` into zeroed dW, db followed by the update, but with no gradient
    buffer: dinp uses W BEFORE the update, then
    W -= lr * clip(inp (x) dz + alpha * W + l1 * sign(W)).
    dinp: (fan_in,) or (0,)   dout: (fan_out,) overwritten with dz   out, b: (fan_out,)
    inp: (fan_in,)   W: (fan_in, fan_out)
    """
    activation_backward(dout, out, act)
    dz = dout
    if dinp.shape[0] > 0:
        dinp[:] = W @ dz
    gW = clip_gradient(np.outer(inp, dz) + alpha * W + l1 * np.sign(W), clip_value)
    W -= lr * gW
    b -= lr * clip_gradient(dz, clip_value)


# ----------------------------------------------------------------------------------------------
# loss


def loss_forward_backward(dz, out, target, act, loss):
    """Loss of one sample, and dz <- its gradient w.r.t. the OUTPUT layer's pre-activation.

    dz, out, target: (n_out,).  Returns the loss as a float of out's dtype.
    """
    if loss == CROSS_ENTROPY:
        # out is a softmax (categorical cross-entropy) or sigmoids (the binary cross-entropy of
        # each output, multilabel); clamp so a confidently wrong finite network gives a large
        # finite loss rather than inf (inf is reserved for true divergence)
        tiny = np.finfo(out.dtype).tiny
        value = -np.sum(target * np.log(np.maximum(out, tiny)))
        if act == SIGMOID:
            value -= np.sum((1 - target) * np.log(np.maximum(1 - out, tiny)))
        dz[:] = out - target
    else:  # SQUARED_ERROR
        diff = out - target
        value = 0.5 * np.sum(diff * diff)
        dz[:] = diff
        activation_backward(dz, out, act)
    return value


# ----------------------------------------------------------------------------------------------
# whole network


def layer_views(buf, layout, l):
    """(W, b) views of layer l inside a flat params (or grads) buffer."""
    fan_in, fan_out, w_off, b_off, _ = layout[l]
    W = buf[w_off : w_off + fan_in * fan_out].reshape(fan_in, fan_out)
    b = buf[b_off : b_off + fan_out]
    return W, b


def layer_slice(buf, layout, l):
    """The slot of layer l's output inside a flat acts (or dacts) buffer."""
    _, fan_out, _, _, a_off = layout[l]
    return buf[a_off : a_off + fan_out]


def network_forward(acts, x, params, layout, activations):
    """Forward one sample through every layer. acts: flat outputs  x: (n_in,)"""
    inp = x
    for l in range(layout.shape[0]):
        W, b = layer_views(params, layout, l)
        out = layer_slice(acts, layout, l)
        dense_forward(out, inp, W, b, activations[l])
        inp = out


def _input_of(acts, x, layout, l):
    return x if l == 0 else layer_slice(acts, layout, l - 1)


def _dinp_of(dacts, layout, l):
    return dacts[:0] if l == 0 else layer_slice(dacts, layout, l - 1)


def network_backward(grads, dacts, acts, x, params, layout, activations):
    """Backward one sample, ACCUMULATING into grads (same layout as params).

    On entry the output layer's slot of dacts holds dz from loss_forward_backward, so the output
    layer is treated as linear here; hidden layers apply their activation's derivative.
    """
    L = layout.shape[0]
    for l in range(L - 1, -1, -1):
        W, _ = layer_views(params, layout, l)
        dW, db = layer_views(grads, layout, l)
        act = IDENTITY if l == L - 1 else activations[l]
        dense_backward(_dinp_of(dacts, layout, l), dW, db, layer_slice(dacts, layout, l),
                       layer_slice(acts, layout, l), _input_of(acts, x, layout, l), W, act)


def network_backward_sgd(dacts, params, acts, x, layout, activations, lr, alpha, l1,
                         clip_value):
    """Backward one sample fused with the SGD update of every layer (batch size 1)."""
    L = layout.shape[0]
    for l in range(L - 1, -1, -1):
        W, b = layer_views(params, layout, l)
        act = IDENTITY if l == L - 1 else activations[l]
        dense_backward_sgd(_dinp_of(dacts, layout, l), layer_slice(dacts, layout, l),
                           layer_slice(acts, layout, l), _input_of(acts, x, layout, l),
                           W, b, act, lr, alpha, l1, clip_value)


def step_gradient(grads, params, layout, scale, alpha, l1, clip_value, clip_norm):
    """grads <- the step's gradient g = clip(scale * grads + alpha * W + l1 * sign(W)), in place.

    Biases get no penalty. clip_value clips every number, then clip_norm rescales the whole g
    to that L2 norm if it was longer.
    """
    grads *= scale
    for l in range(layout.shape[0]):
        gW, _ = layer_views(grads, layout, l)
        W, _ = layer_views(params, layout, l)
        gW += alpha * W
        gW += l1 * np.sign(W)
    grads[:] = clip_gradient(grads, clip_value)
    if clip_norm > 0:
        # the norm is summed in float64 whatever the dtype, as in the kernel
        norm = np.sqrt(np.sum(grads.astype(np.float64) ** 2))
        if norm > clip_norm:
            grads *= grads.dtype.type(clip_norm / norm)


def sgd_update(params, grads, layout, scale, lr, alpha, l1, clip_value, clip_norm):
    """params -= lr * g, with g = clip(scale * grads + alpha * W + l1 * sign(W)) written into
    grads (step_gradient).

    Biases get no penalty. grads holds the step g on exit (the kernel computes it in place too).
    """
    step_gradient(grads, params, layout, scale, alpha, l1, clip_value, clip_norm)
    params -= lr * grads


def adam_rate(lr, beta_1, beta_2, t):
    """Adam's bias-corrected rate lr * sqrt(1 - b2**t) / (1 - b1**t) at step t >= 1, computed
    in float64 from the dtype's lr and betas (the caller casts it to the dtype)."""
    b1, b2 = float(beta_1), float(beta_2)
    return float(lr) * math.sqrt(1.0 - math.pow(b2, float(t))) / (1.0 - math.pow(b1, float(t)))


def optimizer_update(params, grads, velocity, sq_avg, step, layout, scale, lr, alpha, l1,
                     clip_value, clip_norm, solver, momentum, nesterov, beta_1, beta_2, epsilon):
    """One optimizer step from the summed gradients in grads (scikit-learn's rules).

    params, grads, velocity, sq_avg: (P,)   step: (1,) int64, Adam's t (incremented here)
    g = step_gradient(...) is left in grads, then
    - solver SGD: v = mu * v - lr * g; params += mu * v - lr * g if nesterov else v
      (velocity holds v; sq_avg and step are not used);
    - solver ADAM: t += 1; m = b1 * m + (1 - b1) * g; s = b2 * s + (1 - b2) * g * g;
      params -= lr_t * m / (sqrt(s) + eps) (velocity holds m, sq_avg holds s).
    Biases follow the same rule (they only get no penalty in g).
    """
    step_gradient(grads, params, layout, scale, alpha, l1, clip_value, clip_norm)
    g = grads
    if solver == SGD:
        mu = momentum
        velocity[:] = mu * velocity - lr * g
        if nesterov:
            params += mu * velocity - lr * g
        else:
            params += velocity
    elif solver == ADAM:
        step[0] += 1
        one = params.dtype.type(1)
        velocity[:] = beta_1 * velocity + (one - beta_1) * g
        sq_avg[:] = beta_2 * sq_avg + (one - beta_2) * (g * g)
        lr_t = params.dtype.type(adam_rate(lr, beta_1, beta_2, step[0]))
        params -= lr_t * velocity / (np.sqrt(sq_avg) + epsilon)


def argmax_equal(out, target):
    """1 if the predicted class (argmax of out) is the target's, else 0."""
    return 1 if np.argmax(out) == np.argmax(target) else 0


def train_epoch(params, grads, acts, dacts, X, Y, order, layout, activations, loss,
                lr, alpha, l1, clip_value, clip_norm, batch_size,
                sample_weight, solver, momentum, nesterov, beta_1, beta_2, epsilon,
                velocity, sq_avg, step):
    """One epoch (or a chunk of one) over the samples X[order], updating params in place.

    params, grads: flat (P,)   acts, dacts: flat (A,)   X: (n, n_in)   Y: (n, n_out) targets
    order: (m,) int64 row indices in the order to visit them
    sample_weight: (n,) one weight per row of X, or (0,) for all weights 1. A sample's loss and
    its output gradient are multiplied by its weight.
    solver, momentum, nesterov, beta_1, beta_2, epsilon: the optimizer (see optimizer_update);
    velocity, sq_avg: (P,) its state, step: (1,) int64 Adam's t; all updated in place. Plain
    SGD (solver SGD, momentum 0) reads none of them (they may be shape (0,)).
    Batches are consecutive runs of ``batch_size`` entries of ``order``; the last may be shorter
    and is averaged over its own size. Plain SGD at batch size 1 without clip_norm takes the
    fused path.
    Returns (loss_sum, n_correct, n_done): loss_sum sums weight * loss; n_done < m means sample
    order[n_done] produced a non-finite loss; training stopped before updating with it.
    """
    L = layout.shape[0]
    out_slot = layer_slice(acts, layout, L - 1)
    dout_slot = layer_slice(dacts, layout, L - 1)
    out_act = activations[L - 1]
    m = order.shape[0]
    loss_sum = 0.0
    n_correct = 0
    weighted = sample_weight.shape[0] > 0
    plain = solver == SGD and momentum == 0
    fused = plain and batch_size == 1 and clip_norm == 0
    for start in range(0, m, batch_size):
        stop = min(start + batch_size, m)
        if not fused:
            grads[:] = 0
        for k in range(start, stop):
            i = order[k]
            network_forward(acts, X[i], params, layout, activations)
            value = loss_forward_backward(dout_slot, out_slot, Y[i], out_act, loss)
            if not np.isfinite(value):
                return loss_sum, n_correct, k
            if weighted:
                # the weighted loss w * loss_i has the gradient w * dz
                value = value * sample_weight[i]
                dout_slot *= sample_weight[i]
            loss_sum += float(value)  # summed in float64, as the kernels do
            n_correct += argmax_equal(out_slot, Y[i])
            if fused:
                network_backward_sgd(dacts, params, acts, X[i], layout, activations,
                                     lr, alpha, l1, clip_value)
            else:
                network_backward(grads, dacts, acts, X[i], params, layout, activations)
        if fused:
            continue
        scale = params.dtype.type(1.0 / (stop - start))
        if plain:
            sgd_update(params, grads, layout, scale, lr, alpha, l1, clip_value, clip_norm)
        else:
            optimizer_update(params, grads, velocity, sq_avg, step, layout, scale, lr, alpha,
                             l1, clip_value, clip_norm, solver, momentum, nesterov, beta_1,
                             beta_2, epsilon)
    return loss_sum, n_correct, m


def predict(out, X, params, acts, layout, activations):
    """out[i] <- network output for X[i], for every row.  out: (n, n_out)  X: (n, n_in)"""
    L = layout.shape[0]
    for i in range(X.shape[0]):
        network_forward(acts, X[i], params, layout, activations)
        out[i] = layer_slice(acts, layout, L - 1)


# ----------------------------------------------------------------------------------------------
# sparse input: X as the three CSR arrays (data, indices, indptr) of scipy.sparse. The reference
# is train_epoch / predict on the rows made dense one at a time (sparse.CSRRows: X[i] is row i
# as a dense vector, a repeated column summed), so it follows every path of train_epoch.


def train_epoch_csr(params, grads, acts, dacts, X_data, X_indices, X_indptr, Y, order, layout,
                    activations, loss, lr, alpha, l1, clip_value, clip_norm, batch_size,
                    sample_weight, solver, momentum, nesterov, beta_1, beta_2, epsilon,
                    velocity, sq_avg, step):
    """train_epoch with X given as CSR arrays (X_indptr: (n + 1,)); the same numbers as
    train_epoch on the dense X."""
    X = CSRRows(X_data, X_indices, X_indptr, layout[0, 0], Y.shape[0])
    return train_epoch(params, grads, acts, dacts, X, Y, order, layout, activations, loss,
                       lr, alpha, l1, clip_value, clip_norm, batch_size, sample_weight, solver,
                       momentum, nesterov, beta_1, beta_2, epsilon, velocity, sq_avg, step)


def predict_csr(out, X_data, X_indices, X_indptr, params, acts, layout, activations):
    """predict with X given as CSR arrays.  out: (n, n_out)"""
    predict(out, CSRRows(X_data, X_indices, X_indptr, layout[0, 0], out.shape[0]), params,
            acts, layout, activations)
