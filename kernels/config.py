"""The one place where Numba's compilation flags are set.

- fastmath is OFF: flags that assume away NaN/inf would break divergence detection and the
  equality with the reference.
- cache=True: compiled machine code is stored on disk, so a new process loads it instead of
  compiling (see ``NUMBA_CACHE_DIR`` when the package directory is read-only).
- nogil=True: kernels release the GIL, so threads (e.g. a threaded grid search) run in parallel.
- boundscheck follows ``NUMBA_BOUNDSCHECK`` (the CI runs the kernel tests once with it set to 1);
  unset, Numba's default (off) applies and the Python layer is the only guard.
"""

import numba

JIT_OPTIONS = dict(cache=True, nogil=True, fastmath=False, error_model="numpy")

jit = numba.njit(**JIT_OPTIONS)
