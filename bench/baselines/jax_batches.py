"""JAX mini-batch SGD: the whole pass as one jit-compiled lax.scan over the mini-batches (plain
SGD, the gradient of the batch's mean loss, as fastmlp's mini-batches). The training set is put
on the device once; each batch is gathered inside the compiled scan from an index array, the way
fastmlp's kernel reads ``X[order[k]]``. The number of samples must be a multiple of the batch
size (no shorter last batch)."""

import numpy as np

from .jax_scan import available  # noqa: F401  (same requirement)


class JaxBatches:
    def __init__(self, Ws, bs, dtype, batch_size):
        import jax
        if np.dtype(dtype) == np.float64:
            jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp
        self.jax, self.jnp = jax, jnp
        self.dtype = np.dtype(dtype)
        self.B = int(batch_size)
        self.params = [(jnp.asarray(np.asarray(W, self.dtype)), jnp.asarray(np.asarray(b, self.dtype)))
                       for W, b in zip(Ws, bs)]
        self._source = None

        def loss(params, x, t):
            a = x
            for W, b in params[:-1]:
                a = jax.nn.relu(a @ W + b)
            W, b = params[-1]
            return -jnp.sum(t * jax.nn.log_softmax(a @ W + b)) / x.shape[0]

        grad = jax.grad(loss)

        @jax.jit
        def epoch(params, X, T, batches, lr):
            def step(p, rows):
                g = grad(p, X[rows], T[rows])
                return jax.tree_util.tree_map(lambda w, gw: w - lr * gw, p, g), None
            params, _ = jax.lax.scan(step, params, batches)
            return params

        self.epoch = epoch

    def _device_data(self, X, Y):
        if self._source is None or self._source[0] is not X or self._source[1] is not Y:
            self._X = self.jnp.asarray(np.asarray(X, self.dtype))
            self._Y = self.jnp.asarray(np.asarray(Y, self.dtype))
            self._source = (X, Y)
        return self._X, self._Y

    def train(self, X, Y, y, order, lr):
        order = np.asarray(order, np.int64)
        if order.shape[0] % self.B:
            raise ValueError(f"{order.shape[0]} samples is not a multiple of batch {self.B}")
        Xd, Yd = self._device_data(X, Y)
        batches = self.jnp.asarray(order.reshape(-1, self.B))
        self.params = self.epoch(self.params, Xd, Yd, batches, self.dtype.type(lr))
        self.jax.block_until_ready(self.params)

    def weights(self):
        return ([np.asarray(W, np.float64) for W, _ in self.params],
                [np.asarray(b, np.float64) for _, b in self.params])


def make(Ws, bs, dtype, batch_size):
    return JaxBatches(Ws, bs, dtype, batch_size)
