"""Each solver's speed on MNIST (784-200-200-10 ReLU, softmax + cross-entropy, He init):
samples/s of train_epoch at batch size 1 and 128, the solvers side by side in one process,
interleaved round by round, each round on a fresh random subset of the training set.

    taskset -c 1 python bench/solvers.py [--rounds 5] [--dtype float32] [--samples 4000]

Prints one line per solver and batch size: the median samples/s over the rounds (min-max) and
its median ratio to plain SGD at the same batch size (paired by round), plus the machine (lscpu's
model and LLVM's CPU name). At batch 1 it also times momentum through the general epoch (every
parameter stepped every sample) beside train_epoch's lazy momentum epoch.
"""

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from machine_info import llvm_cpu_name, lscpu_model  # noqa: E402

from fastmlp import kernels  # noqa: E402
from fastmlp.kernels import sgd  # noqa: E402
from fastmlp.codes import ADAM, CROSS_ENTROPY, RELU, SGD, SOFTMAX  # noqa: E402
from fastmlp.datasets import load_mnist  # noqa: E402
from fastmlp.init import initialise  # noqa: E402
from fastmlp.layout import make_layout  # noqa: E402

SOLVERS = {  # name: (solver code, momentum, nesterov, learning rate)
    "sgd": (SGD, 0.0, False, 0.01),
    "momentum 0.9": (SGD, 0.9, False, 0.001),
    "nesterov 0.9": (SGD, 0.9, True, 0.001),
    "adam": (ADAM, 0.0, False, 0.0005),
}
# at batch 1: momentum through the general epoch (every parameter stepped every sample),
# bypassing train_epoch's lazy per-sample momentum epoch, for the side-by-side ratio
DENSE = {"momentum 0.9 dense": "momentum 0.9", "nesterov 0.9 dense": "nesterov 0.9"}


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    ap.add_argument("--samples", type=int, default=4000,
                    help="samples per timed call at batch 1 (x8 at batch 128)")
    ap.add_argument("--batches", default="1,128")
    args = ap.parse_args(argv)
    dtype = np.dtype(args.dtype)
    t = dtype.type
    X, y, _, _ = load_mnist()
    X = np.ascontiguousarray(X, dtype)
    Y = np.zeros((len(y), 10), dtype)
    Y[np.arange(len(y)), y] = 1
    layout, P, A = make_layout((784, 200, 200, 10))
    p0 = np.zeros(P)
    initialise(p0, layout, "he", np.random.default_rng(0))
    p0 = p0.astype(dtype)
    codes = np.array([RELU, RELU, SOFTMAX], np.int64)
    print(f"CPU: {lscpu_model()}; LLVM CPU name: {llvm_cpu_name()}; {dtype.name}; "
          f"784-200-200-10; {args.rounds} rounds")

    def run(name, B, order):
        solver, mu, nesterov, lr = SOLVERS[DENSE.get(name, name)]
        epoch = sgd.train_epoch_batches if name in DENSE else kernels.train_epoch
        params = p0.copy()
        grads, acts, dacts = np.zeros(P, dtype), np.zeros(A, dtype), np.zeros(A, dtype)
        used = solver == ADAM or mu > 0
        velocity = np.zeros(P if used else 0, dtype)
        sq_avg = np.zeros(P if solver == ADAM else 0, dtype)
        step = np.zeros(1, np.int64)
        tic = time.perf_counter()
        res = epoch(params, grads, acts, dacts, X, Y, order, layout, codes, CROSS_ENTROPY,
                    t(lr), t(0), t(0), t(0), t(0), B, np.zeros(0, dtype), solver, t(mu),
                    nesterov, t(0.9), t(0.999), t(1e-8), velocity, sq_avg, step)
        seconds = time.perf_counter() - tic
        assert res[2] == len(order), f"{name} batch {B} diverged"
        return len(order) / seconds

    rng = np.random.default_rng(1)
    for B in (int(b) for b in args.batches.split(",")):
        n = args.samples * (8 if B > 1 else 1)
        names = list(SOLVERS) + (list(DENSE) if B == 1 else [])
        for name in names:  # compile / load outside the measurement
            run(name, B, np.arange(2 * B, dtype=np.int64))
        rates = {k: [] for k in names}
        for r in range(args.rounds):
            order = rng.permutation(len(X))[:n].astype(np.int64)
            for k in names[r % len(names):] + names[:r % len(names)]:  # rotate the order
                rates[k].append(run(k, B, order))
        for k in names:
            ratio = statistics.median(a / b for a, b in zip(rates[k], rates["sgd"]))
            extra = ""
            if k in DENSE:
                lazy = statistics.median(a / b for a, b in zip(rates[DENSE[k]], rates[k]))
                extra = f"  (lazy / dense {lazy:.2f}x)"
            print(f"batch {B:4d}  {k:18s} {statistics.median(rates[k]):10,.0f} samples/s "
                  f"({min(rates[k]):,.0f}-{max(rates[k]):,.0f})  vs sgd {ratio:.3f}x{extra}")


if __name__ == "__main__":
    main(sys.argv[1:])
