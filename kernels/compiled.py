"""Whether the kernels were compiled on this machine before: lets the command line say, once,
that a first run spends several seconds compiling (a cold start compiles for ~10 s and would
otherwise look like a hang).

A marker file beside Numba's cache entries, named by the hash of all kernel sources (see
config.py), the CPU Numba compiles for, the dtype and the epoch (per-sample or mini-batch),
is written after a run compiled and cached that combination.
"""

import os

import llvmlite.binding
import numba
import numpy as np

from .config import SOURCE_HASH
from .epochs import _epoch_per_sample


def _marker(dtype, per_sample):
    try:  # Numba's cache object is internal: without it, no notice is given
        folder = _epoch_per_sample._cache._cache_path
    except AttributeError:  # pragma: no cover
        return None
    cpu = numba.config.CPU_NAME or llvmlite.binding.get_host_cpu_name()
    mode = "sample" if per_sample else "batch"
    return os.path.join(folder, f"fastmlp-{SOURCE_HASH[:16]}-{cpu}-{np.dtype(dtype).name}-"
                                f"{mode}.compiled")


def compiled_before(dtype, per_sample):
    """True if a run with this dtype and epoch kind already compiled the kernels here."""
    path = _marker(dtype, per_sample)
    return path is None or os.path.exists(path)


def mark_compiled(dtype, per_sample):
    """Record that the kernels for this dtype and epoch kind are compiled and cached."""
    path = _marker(dtype, per_sample)
    if path is not None:
        try:
            with open(path, "w"):
                pass
        except OSError:  # a read-only cache folder: the notice just shows again
            pass
