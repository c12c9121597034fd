"""The compiled kernels themselves (beyond their equality with the reference): bounds
checking when NUMBA_BOUNDSCHECK=1."""

BOUNDS_SCRIPT = """
import numpy as np
from fastmlp import kernels
out = np.zeros(10)
out[9] = 1.0
target = np.zeros(9)  # one short: like a label 10 in a 10-class network
try:
    kernels.argmax_equal(out, target)  # a small kernel: compiles in about a second
except IndexError as exc:
    print("IndexError:", exc)
else:
    print("no error")
"""


def test_numba_boundscheck_turns_an_out_of_bounds_kernel_access_into_an_index_error(tmp_path):
    """Why CI runs the kernel tests once with NUMBA_BOUNDSCHECK=1: then a kernel that reads
    past an array raises IndexError (here: a target row shorter than the output) instead of
    reading whatever memory follows."""
    import os
    import subprocess
    import sys
    env = dict(os.environ, NUMBA_BOUNDSCHECK="1", NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    done = subprocess.run([sys.executable, "-c", BOUNDS_SCRIPT], capture_output=True,
                          text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("IndexError"), done.stdout
