"""The one place where Numba's compilation flags are set.

- fastmath is OFF for ``jit``: flags that assume away NaN/inf would break divergence detection
  and the equality with the reference.
- ``jit_reassoc`` allows exactly one fast-math flag, ``reassoc``: LLVM may reorder the terms of
  a sum. That is what lets an FP reduction (a dot product) vectorise; IEEE order forces one add
  after the other (~4 cycles each). It does NOT assume away NaN/inf (no ``nnan``/``ninf``), so a
  NaN or inf still propagates to the loss and divergence detection still works. It is used for
  dot products only (``dense.row_dot``, ``dense.dot_update_row``); the reference's BLAS
  reorders those sums too.
- cache=True: compiled machine code is stored on disk, so a new process loads it instead of
  compiling (see ``NUMBA_CACHE_DIR`` when the package directory is read-only).
- nogil=True: kernels release the GIL, so threads (e.g. a threaded grid search) run in parallel.
- boundscheck follows ``NUMBA_BOUNDSCHECK`` (the CI runs the kernel tests once with it set to 1);
  unset, Numba's default (off) applies and the Python layer is the only guard.
"""

import numba

JIT_OPTIONS = dict(cache=True, nogil=True, fastmath=False, error_model="numpy")
REASSOC_OPTIONS = dict(JIT_OPTIONS, fastmath={"reassoc"})

jit = numba.njit(**JIT_OPTIONS)
jit_reassoc = numba.njit(**REASSOC_OPTIONS)
