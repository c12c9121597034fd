"""The first run on a machine, end to end (fresh processes, an empty kernel cache): the command
says that it compiles, reports the compile on its own line with the cache folder, and the next
run, which loads the kernels from that folder, says nothing about compiling."""

import os
import re
import subprocess
import sys


def _train(cache):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache))
    return subprocess.run([sys.executable, "-m", "fastmlp", "train", "--train-samples", "64",
                           "--epochs", "1", "--hidden", "8"],
                          capture_output=True, text=True, env=env, timeout=900)


def test_a_first_run_says_it_is_compiling_and_the_next_run_does_not(tmp_path):
    first = _train(tmp_path)
    assert first.returncode == 0, first.stderr
    assert "compiling the kernels for this machine, once: ~" in first.stderr
    line = re.search(r"^compiled the kernels in ([0-9.]+) s, cached in (.+)$", first.stdout,
                     re.M)
    assert line, first.stdout
    folder = line.group(2)
    assert folder.startswith(str(tmp_path)) and any(f.endswith(".nbi")
                                                    for f in os.listdir(folder))
    out = first.stdout.splitlines()
    assert out.index(line.group(0)) == 1 and out[2].startswith("epoch 1:")  # after the header
    second = _train(tmp_path)
    assert second.returncode == 0, second.stderr
    assert "compil" not in second.stdout + second.stderr
