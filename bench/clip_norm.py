"""Per-sample SGD with and without clip_norm, side by side in one process (interleaved rounds).

    taskset -c 1 python bench/clip_norm.py [ROUNDS] [N]

MNIST, 784-200-200-10 ReLU, softmax + cross-entropy, float32, batch size 1, lr 0.01, He
initialisation (seed 0). Three variants train the same N random samples per round from the same
weights, the starting variant rotating: ``plain`` (train_epoch, clip_norm=0: the fused per-sample
epoch), ``clip_norm`` (train_epoch, clip_norm=1.0: kernels/clipnorm.py) and ``general`` (the
general mini-batch epoch of kernels/sgd.py at batch size 1 with clip_norm=1.0, which train_epoch
used for clip_norm before). Prints samples/s (median of rounds) and the median of the per-round
ratios to ``plain``; CPU model and LLVM CPU name first.
"""

import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from fastmlp.codes import ACTIVATIONS, LOSSES  # noqa: E402
from fastmlp.datasets import load_mnist  # noqa: E402
from fastmlp.init import initialise  # noqa: E402
from fastmlp.layout import activation_size, make_layout  # noqa: E402
from fastmlp.kernels import train_epoch  # noqa: E402
from fastmlp.kernels.sgd import train_epoch_batches  # noqa: E402
from machine_info import llvm_cpu_name, lscpu_model  # noqa: E402


def main(argv):
    rounds = int(argv[0]) if argv else 7
    n = int(argv[1]) if len(argv) > 1 else 20_000
    X, y = load_mnist()[:2]
    Y = np.eye(10, dtype=np.float32)[y]
    layout, n_params, _ = make_layout((784, 200, 200, 10))
    p0 = np.zeros(n_params, np.float32)
    initialise(p0, layout, "he", np.random.default_rng(0))
    acts_codes = np.array([ACTIVATIONS["relu"]] * 2 + [ACTIVATIONS["softmax"]], np.int64)
    loss = LOSSES["cross_entropy"]
    f = np.float32
    A = activation_size(layout)

    def run(variant, order):
        params = p0.copy()
        grads, acts, dacts = np.zeros_like(params), np.zeros(A, f), np.zeros(A, f)
        fn = train_epoch_batches if variant == "general" else train_epoch
        clip = f(0) if variant == "plain" else f(1.0)
        tic = time.perf_counter()
        fn(params, grads, acts, dacts, X, Y, order, layout, acts_codes, loss, f(0.01), f(0),
           f(0), f(0), clip, 1)
        return time.perf_counter() - tic, params

    variants = ("plain", "clip_norm", "general")
    warm = np.arange(300, dtype=np.int64)
    results = {v: run(v, warm)[1] for v in variants}  # compile, and the same numbers check
    diff = float(np.max(np.abs(results["clip_norm"] - results["general"])))
    rng = np.random.default_rng(1)
    rates = {v: [] for v in variants}
    ratios = {v: [] for v in variants}
    for r in range(rounds):
        order = rng.permutation(X.shape[0])[:n].astype(np.int64)
        k = r % len(variants)
        seconds = {v: run(v, order)[0] for v in variants[k:] + variants[:k]}
        for v in variants:
            rates[v].append(n / seconds[v])
            ratios[v].append(seconds["plain"] / seconds[v])
    print(f"CPU: {lscpu_model()} (LLVM: {llvm_cpu_name()}); {rounds} rounds of {n} samples, "
          f"float32, batch size 1; clip_norm vs general after 300 samples: max |dW| {diff:.2e}")
    for v in variants:
        print(f"{v:10s} {statistics.median(rates[v]):10,.0f} samples/s  "
              f"({statistics.median(ratios[v]):.3f}x plain)")


if __name__ == "__main__":
    main(sys.argv[1:])
