"""Carefully tuned NumPy: preallocated buffers, in-place BLAS (scipy's sger/dger rank-1 update
A += alpha * x y^T, and gemv), no temporaries in the loop. The best a NumPy user can do without a
compiler. Needs SciPy for direct BLAS access.
"""

import numpy as np


def available():
    try:
        import scipy.linalg.blas  # noqa: F401
        return True, ""
    except ImportError:
        return False, "scipy not installed"


class TunedNumpy:
    def __init__(self, Ws, bs, dtype):
        from scipy.linalg import blas
        self.dtype = np.dtype(dtype)
        # BLAS wants Fortran order: store W^T (fan_out, fan_in) in F order == W in C order
        self.WT = [np.asfortranarray(np.array(W, dtype=self.dtype).T) for W in Ws]
        self.b = [np.array(b, dtype=self.dtype) for b in bs]
        self.a = [np.zeros(W.shape[1], self.dtype) for W in Ws]
        self.d = [np.zeros(W.shape[1], self.dtype) for W in Ws]
        f32 = self.dtype == np.float32
        self.ger = blas.sger if f32 else blas.dger
        self.gemv = blas.sgemv if f32 else blas.dgemv

    def train(self, X, Y, y, order, lr):
        ger, gemv, WT, b, a, d = self.ger, self.gemv, self.WT, self.b, self.a, self.d
        L = len(WT)
        X = X.astype(self.dtype, copy=False)
        Y = Y.astype(self.dtype, copy=False)
        for i in order:
            x = X[i]
            inp = x
            for l in range(L):
                # a = W^T x + b, in place (beta=1 on a copy of b)
                a[l][:] = b[l]
                gemv(1.0, WT[l], inp, beta=1.0, y=a[l], overwrite_y=1)
                if l < L - 1:
                    np.maximum(a[l], 0, out=a[l])
                inp = a[l]
            p = a[-1]
            p -= p.max()
            np.exp(p, out=p)
            p /= p.sum()
            np.subtract(p, Y[i], out=d[-1])
            for l in range(L - 1, -1, -1):
                prev = x if l == 0 else a[l - 1]
                if l > 0:
                    # d_prev = W d, masked by ReLU'
                    gemv(1.0, WT[l], d[l], trans=1, y=d[l - 1], overwrite_y=1, beta=0.0)
                    d[l - 1] *= a[l - 1] > 0
                # W^T -= lr * d prev^T, in place (rank-1 update)
                ger(-lr, d[l], prev, a=WT[l], overwrite_a=1)
                b[l] -= lr * d[l]

    def weights(self):
        return [np.asarray(W.T, np.float64) for W in self.WT], [np.asarray(v, np.float64) for v in self.b]


def make(Ws, bs, dtype):
    return TunedNumpy(Ws, bs, dtype)
