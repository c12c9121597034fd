"""Side-by-side training throughput of kernel trees, interleaved in ONE process (noise cancels).

    python bench/compare_kernels.py DTYPE BATCH N ROUNDS name=KERNELS_DIR [name=KERNELS_DIR ...]

Each KERNELS_DIR (a copy of ``kernels/``, e.g. from another commit:
``git archive REV kernels | tar -x -C /tmp/old``) is imported under its own name; every variant
first trains the same 300 MNIST samples from the same He-initialised 784-200-200-10 weights
(max abs weight difference vs the first variant is printed: 0.0 = bit-identical), then ROUNDS
rounds of N random samples each, the starting variant rotating. Prints samples/s median/min/max
and the median of the per-round ratios to the first variant.
"""
import importlib
import inspect
import os
import shutil
import statistics
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from fastmlp.datasets import load_mnist  # noqa: E402
from fastmlp.init import initialise  # noqa: E402
from fastmlp.layout import make_layout  # noqa: E402


def main(argv):
    dtype, B, n, rounds = np.dtype(argv[0]), int(argv[1]), int(argv[2]), int(argv[3])
    tmp = tempfile.mkdtemp()
    sys.path.insert(0, tmp)
    variants = {}
    for spec in argv[4:]:
        name, d = spec.split("=")
        shutil.copytree(d, os.path.join(tmp, f"k_{name}"),
                        ignore=shutil.ignore_patterns("__pycache__"))
        variants[name] = importlib.import_module(f"k_{name}")
    X, y = load_mnist()[:2]
    X = np.ascontiguousarray(X, dtype)
    Y = np.zeros((len(y), 10), dtype)
    Y[np.arange(len(y)), y] = 1
    layout, P, A = make_layout((784, 200, 200, 10))
    p0 = np.zeros(P)
    initialise(p0, layout, "he", np.random.default_rng(0))
    p0 = p0.astype(dtype)
    acts_codes = np.array([1, 1, 4], np.int64)  # relu, relu, softmax
    t = dtype.type

    def run(K, order):
        params = p0.copy()
        grads, acts, dacts = np.zeros(P, dtype), np.zeros(A, dtype), np.zeros(A, dtype)
        tic = time.perf_counter()
        # kernels from before L1 take no l1 argument (it follows alpha)
        sig = inspect.signature(K.train_epoch).parameters
        l1 = (t(0),) if "l1" in sig else ()
        # kernels from before sample weights and solvers end at batch_size: plain SGD after it
        tail = ((np.zeros(0, dtype), 0, t(0), True, t(0.9), t(0.999), t(1e-8),
                 np.zeros(0, dtype), np.zeros(0, dtype), np.zeros(1, np.int64))
                if "solver" in sig else ())
        res = K.train_epoch(params, grads, acts, dacts, X, Y, order, layout, acts_codes, 0,
                            t(0.01), t(0), *l1, t(0), t(0), B, *tail)
        assert res[2] == len(order), "diverged"
        return time.perf_counter() - tic, params

    check = np.arange(300, dtype=np.int64)  # also compiles every variant
    trained = {k: run(K, check)[1] for k, K in variants.items()}
    first = next(iter(trained.values())).astype(np.float64)
    for k, v in trained.items():
        print(f"{k}: max abs weight diff vs first {float(np.abs(v - first).max()):.3g}")
    rng = np.random.default_rng(1)
    names = list(variants)
    res = {k: [] for k in names}
    for r in range(rounds):
        order = rng.permutation(len(X))[:n].astype(np.int64)
        for k in names[r % len(names):] + names[:r % len(names)]:
            res[k].append(n / run(variants[k], order)[0])
    for k in names:
        ratio = statistics.median(a / b for a, b in zip(res[k], res[names[0]]))
        print(f"{dtype} batch {B}  {k:8s} median {statistics.median(res[k]):9,.0f}/s  "
              f"min {min(res[k]):9,.0f}  max {max(res[k]):9,.0f}  ratio vs {names[0]}: {ratio:.3f}")


if __name__ == "__main__":
    main(sys.argv[1:])
