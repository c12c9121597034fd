"""MNIST as a scipy.sparse CSR matrix vs the same data dense: training throughput of the kernel
entry points, interleaved in ONE process (noise cancels).

    taskset -c 1 python bench/sparse.py [--dtype float32] [--batches 1,128] [--n 20000]
                                        [--rounds 7]

For each batch size: ``train_epoch`` on the dense X (its fast epochs: per-sample at batch 1,
the padded mini-batch epoch at 128) and ``train_epoch_csr`` on ``scipy.sparse.csr_matrix(X)``
(the general mini-batch epoch, the one the dense path takes with a weight penalty or clip_norm),
plus that general epoch on the dense X (``sgd.train_epoch_batches``), the code the CSR path
shares. All start from the same He-initialised 784-200-200-10 weights; each round trains the
same fresh random N samples with every variant, the starting variant rotating. Prints samples/s
(median, min, max) and the median of the per-round ratios to the dense ``train_epoch``, with
the CPU model and the CPU LLVM compiles for.
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from machine_info import llvm_cpu_name, lscpu_model  # noqa: E402
from fastmlp import kernels  # noqa: E402
from fastmlp.datasets import load_mnist  # noqa: E402
from fastmlp.init import initialise  # noqa: E402
from fastmlp.codes import SGD  # noqa: E402
from fastmlp.kernels import sgd  # noqa: E402
from fastmlp.layout import make_layout  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--batches", default="1,128")
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=7)
    a = ap.parse_args(argv)
    dtype = np.dtype(a.dtype)
    t = dtype.type
    X, y = load_mnist()[:2]
    X = np.ascontiguousarray(X, dtype)
    Xc = sp.csr_matrix(X)
    Y = np.zeros((len(y), 10), dtype)
    Y[np.arange(len(y)), y] = 1
    layout, P, A = make_layout((784, 200, 200, 10))
    p0 = np.zeros(P)
    initialise(p0, layout, "he", np.random.default_rng(0))
    p0 = p0.astype(dtype)
    codes = np.array([1, 1, 4], np.int64)  # relu, relu, softmax
    tail = (t(0.01), t(0), t(0), t(0), t(0))  # lr, alpha, l1, clip_value, clip_norm
    empty = np.zeros(0, dtype)
    # after batch_size: no sample weights, plain SGD, no optimizer state
    plain = (empty, SGD, t(0), True, t(0.9), t(0.999), t(1e-8), empty, empty,
             np.zeros(1, np.int64))

    variants = {
        "dense train_epoch": lambda b, o: kernels.train_epoch(
            b[0], b[1], b[2], b[3], X, Y, o, layout, codes, 0, *tail, b[4], *plain),
        "csr train_epoch_csr": lambda b, o: kernels.train_epoch_csr(
            b[0], b[1], b[2], b[3], Xc.data, Xc.indices, Xc.indptr, Y, o, layout, codes, 0,
            *tail, b[4], *plain),
        "dense general epoch": lambda b, o: sgd.train_epoch_batches(
            b[0], b[1], b[2], b[3], X, Y, o, layout, codes, 0, *tail, b[4], *plain),
    }

    def run(name, B, order):
        bufs = (p0.copy(), np.zeros(P, dtype), np.zeros(A, dtype), np.zeros(A, dtype), B)
        tic = time.perf_counter()
        res = variants[name](bufs, order)
        assert res[2] == len(order), "diverged"
        return time.perf_counter() - tic, bufs[0]

    print(f"CPU: {lscpu_model()}; LLVM CPU: {llvm_cpu_name()}; {dtype}; MNIST "
          f"{Xc.nnz / X.shape[0]:.0f} stored entries per row of 784 "
          f"({Xc.nnz / X.size:.0%}); {a.n} samples per run, {a.rounds} rounds")
    names = list(variants)
    rng = np.random.default_rng(1)
    for B in [int(b) for b in a.batches.split(",")]:
        check = np.arange(512, dtype=np.int64)  # also compiles every variant
        w = {k: run(k, B, check)[1].astype(np.float64) for k in names}
        for k in names[1:]:
            print(f"batch {B}: {k}: max abs weight difference vs {names[0]} "
                  f"{float(np.abs(w[k] - w[names[0]]).max()):.3g}")
        res = {k: [] for k in names}
        for r in range(a.rounds):
            order = rng.permutation(X.shape[0])[:a.n].astype(np.int64)
            for k in names[r % len(names):] + names[:r % len(names)]:
                res[k].append(a.n / run(k, B, order)[0])
        for k in names:
            ratio = statistics.median(x / d for x, d in zip(res[k], res[names[0]]))
            print(f"batch {B:4d}  {k:20s} median {statistics.median(res[k]):9,.0f}/s  "
                  f"min {min(res[k]):9,.0f}  max {max(res[k]):9,.0f}  "
                  f"ratio vs {names[0]}: {ratio:.3f}")


if __name__ == "__main__":
    main()
