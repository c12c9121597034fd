"""The one place where Numba's compilation flags are set.

- fastmath is OFF for ``jit``: flags that assume away NaN/inf would break divergence detection
  and the equality with the reference.
- ``jit_reassoc`` allows exactly one fast-math flag, ``reassoc``: LLVM may reorder the terms of
  a sum. That is what lets an FP reduction (a dot product) vectorise; IEEE order forces one add
  after the other (~4 cycles each). It does NOT assume away NaN/inf (no ``nnan``/``ninf``), so a
  NaN or inf still propagates to the loss and divergence detection still works. It is used for
  dot products only (``rows._row_dot``, ``rows._dot_update_row`` on rows that are not whole
  64-byte vectors); the reference's BLAS reorders those sums too. The vector row operations
  (vector.py) emit their LLVM code directly and need no flag: their one reordered sum, the same
  dot product, is written out as partial sums per lane and a fixed pairwise reduction.
- boundscheck does not reach inside the vector row operations (raw pointer arithmetic): their
  preconditions (a padded, C-contiguous work buffer, rows in range) hold by construction
  (workspace.py) and are tested against NumPy (tests/test_vector.py).
- cache=True: compiled machine code is stored on disk, so a new process loads it instead of
  compiling (see ``NUMBA_CACHE_DIR`` when the package directory is read-only). Numba checks a
  cached function only against its own file, but a kernel inlines the kernels it calls from
  other files: an edit to rows.py would leave the epochs in epochs.py running the old rows code.
  So every kernel's cache entry is stamped with one hash of ALL kernel sources
  (``SOURCE_HASH``): any edit to any kernel file recompiles them all.
- nogil=True: kernels release the GIL, so threads (e.g. a threaded grid search) run in parallel.
- boundscheck follows ``NUMBA_BOUNDSCHECK`` (the CI runs the kernel tests once with it set to 1);
  unset, Numba's default (off) applies and the Python layer is the only guard.
"""

import glob
import hashlib
import os

import numba
from numba.core import caching

JIT_OPTIONS = dict(cache=True, nogil=True, fastmath=False, error_model="numpy")
REASSOC_OPTIONS = dict(JIT_OPTIONS, fastmath={"reassoc"})

jit = numba.njit(**JIT_OPTIONS)
jit_reassoc = numba.njit(**REASSOC_OPTIONS)


def _sources_hash():
    h = hashlib.sha256()
    for path in sorted(glob.glob(os.path.join(_HERE, "*.py"))):
        with open(path, "rb") as f:
            h.update(os.path.basename(path).encode() + b"\0" + f.read())
    return h.hexdigest()


_HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_HASH = _sources_hash()


def _kernel_locator(base):
    # a cache locator like `base` for the files of this folder only, stamped with SOURCE_HASH
    class Locator(base):
        def get_source_stamp(self):
            return SOURCE_HASH

        @classmethod
        def from_function(cls, py_func, py_file):
            if os.path.dirname(os.path.abspath(py_file)) != _HERE:
                return None
            return super().from_function(py_func, py_file)

    Locator.__name__ = Locator.__qualname__ = "Kernels" + base.__name__
    return Locator


try:  # Numba's locator list is internal: if it ever changes, caching works as before
    caching.CacheImpl._locator_classes[:0] = [
        _kernel_locator(caching.UserProvidedCacheLocator),
        _kernel_locator(caching.InTreeCacheLocator),
        _kernel_locator(caching.UserWideCacheLocator)]
except (AttributeError, TypeError):  # pragma: no cover
    pass
