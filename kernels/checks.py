"""Input checks that run compiled, for the small calls of fastmlp/online.py: a NumPy check of
one row (a ufunc, a reduction, a temporary) costs more than the row's whole forward pass.
They only read, and answer the Python caller, which raises the error; they are not called by
the training kernels.
"""

import math

from .config import jit


@jit
def all_finite(a):
    # a: (n, m) C-contiguous; True if no element is NaN or infinite
    flat = a.ravel()
    for k in range(flat.shape[0]):
        if not math.isfinite(flat[k]):
            return False
    return True
