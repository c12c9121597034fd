"""The first-run notice: a fresh machine (an empty kernel cache) is told once that the kernels
are compiling; the next run, which loads them from the cache, is not."""

import os
import subprocess
import sys


def _train(cache):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache))
    return subprocess.run([sys.executable, "-m", "fastmlp", "train", "--train-samples", "64",
                           "--epochs", "1", "--hidden", "8"],
                          capture_output=True, text=True, env=env, timeout=600)


def test_a_first_run_says_it_is_compiling_and_the_next_run_does_not(tmp_path):
    first = _train(tmp_path)
    assert first.returncode == 0, first.stderr
    assert "compiling the kernels" in first.stderr
    second = _train(tmp_path)
    assert second.returncode == 0, second.stderr
    assert "compiling the kernels" not in second.stderr
    assert any(name.endswith("float32-sample.compiled") for _, _, files in os.walk(tmp_path)
               for name in files)
