"""Per-sample (batch size 1) weight decay and momentum against plain SGD on MNIST (784-200-200-10
ReLU, softmax + cross-entropy, He init): the lazy forms of the per-sample epoch
(kernels/lazy.py) and the paths they replace, side by side in one process, interleaved.

    taskset -c 1 python bench/decay.py [--rounds 7] [--dtypes float32,float64] [--samples 4096]
                                       [--epochs 2] [--out bench/results/decay.md]

Speed: each round trains every configuration on the same fresh random subset of the training
set (one ``train_epoch`` call of --samples samples, the chunk size ``fit`` uses), starting from
the same weights, the starting configuration rotating; samples/s is the median over the rounds
(min-max), "vs sgd" the median of the per-round ratios to plain SGD, "new / old" the median of
the per-round ratios of the lazy form to the path it replaces:
- L2 (``alpha``, with and without ``clip_value``): ``train_epoch`` (the scaled form) vs the
  same epoch stepping every row every sample (``epochs._train_per_sample(lazy_decay=False)``,
  the route before);
- momentum / Nesterov: ``train_epoch`` (the (q, u) form on the padded work buffer) vs
  ``sgd._epoch_momentum_lazy`` (the route before: layer 0's zero-input rows caught up lazily,
  everything else stepped densely on the public buffer).
Time to accuracy (--epochs > 0): the full training set, --epochs epochs in 4096-sample calls
(as ``fit``), the same shuffles for everyone, MNIST test accuracy and the cumulative training
time after each epoch; the configurations interleaved epoch by epoch.
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
from fastmlp.codes import CROSS_ENTROPY, RELU, SGD, SOFTMAX  # noqa: E402
from fastmlp.datasets import load_mnist  # noqa: E402
from fastmlp.init import initialise  # noqa: E402
from fastmlp.kernels import epochs, sgd  # noqa: E402
from fastmlp.layout import make_layout  # noqa: E402

# name: (lr, alpha, clip_value, momentum, nesterov, path) with path "new" (train_epoch) or "old"
CONFIGS = {
    "sgd": (0.01, 0.0, 0.0, 0.0, False, "new"),
    "sgd + clip 1": (0.01, 0.0, 1.0, 0.0, False, "new"),
    "L2 1e-4": (0.01, 1e-4, 0.0, 0.0, False, "new"),
    "L2 1e-4 old": (0.01, 1e-4, 0.0, 0.0, False, "old"),
    "L2 0.03 + clip 1": (0.01, 0.03, 1.0, 0.0, False, "new"),
    "L2 0.03 + clip 1 old": (0.01, 0.03, 1.0, 0.0, False, "old"),
    "momentum 0.9": (0.001, 0.0, 0.0, 0.9, False, "new"),
    "momentum 0.9 old": (0.001, 0.0, 0.0, 0.9, False, "old"),
    "nesterov 0.9": (0.001, 0.0, 0.0, 0.9, True, "new"),
    "nesterov 0.9 old": (0.001, 0.0, 0.0, 0.9, True, "old"),
}
ACCURACY = ["sgd", "L2 1e-4", "L2 1e-4 old", "nesterov 0.9", "nesterov 0.9 old"]
CHUNK = 4096


class Problem:
    def __init__(self, dtype):
        self.dtype = dtype = np.dtype(dtype)
        X, y, Xt, yt = load_mnist()
        self.X = np.ascontiguousarray(X, dtype)
        self.Y = np.zeros((len(y), 10), dtype)
        self.Y[np.arange(len(y)), y] = 1
        self.Xt, self.yt = np.ascontiguousarray(Xt, dtype), yt
        self.layout, self.P, self.A = make_layout((784, 200, 200, 10))
        p0 = np.zeros(self.P)
        initialise(p0, self.layout, "he", np.random.default_rng(0))
        self.p0 = p0.astype(dtype)
        self.codes = np.array([RELU, RELU, SOFTMAX], np.int64)

    def state(self):
        d = self.dtype
        return dict(params=self.p0.copy(), velocity=np.zeros(self.P, d),
                    grads=np.zeros(self.P, d), acts=np.zeros(self.A, d),
                    dacts=np.zeros(self.A, d))

    def train(self, name, st, order):
        """One call of config `name` on X[order]; returns n_done."""
        lr, alpha, clip_value, mu, nesterov, path = CONFIGS[name]
        t, d = self.dtype.type, self.dtype
        none = np.zeros(0, d)
        if path == "new":
            res = kernels.train_epoch(
                st["params"], st["grads"], st["acts"], st["dacts"], self.X, self.Y, order,
                self.layout, self.codes, CROSS_ENTROPY, t(lr), t(alpha), t(0), t(clip_value),
                t(0), 1, none, SGD, t(mu), nesterov, t(0.9), t(0.999), t(1e-8),
                st["velocity"], none, np.zeros(1, np.int64))
        elif mu > 0:  # the route before: the lazy momentum epoch on the public buffer
            res = sgd._epoch_momentum_lazy(
                st["params"], st["grads"], st["acts"], st["dacts"], self.X, self.Y, order,
                self.layout, self.codes, CROSS_ENTROPY, t(lr), t(clip_value), none, t(mu),
                nesterov, st["velocity"], np.zeros(784, np.int64))
        else:  # the route before: the penalty steps every row every sample
            res = epochs._train_per_sample(
                st["params"], st["acts"], st["dacts"], self.X, self.Y, order, self.layout,
                self.codes, CROSS_ENTROPY, t(lr), t(alpha), t(0), t(clip_value), none,
                lazy_decay=False)
        return res[2]

    def accuracy(self, st):
        out = np.zeros((len(self.Xt), 10), self.dtype)
        kernels.predict(out, self.Xt, st["params"], st["acts"].copy(), self.layout, self.codes)
        return float(np.mean(out.argmax(1) == self.yt))


def speed(prob, rounds, n, rng):
    names = list(CONFIGS)
    for k in names:  # compile / load outside the measurement
        prob.train(k, prob.state(), np.arange(8, dtype=np.int64))
    rates = {k: [] for k in names}
    for r in range(rounds):
        order = rng.permutation(len(prob.X))[:n].astype(np.int64)
        for k in names[r % len(names):] + names[:r % len(names)]:
            st = prob.state()
            tic = time.perf_counter()
            done = prob.train(k, st, order)
            rates[k].append(n / (time.perf_counter() - tic))
            assert done == n, f"{k} diverged"
    rows = []
    for k in names:
        vs = statistics.median(a / b for a, b in zip(rates[k], rates["sgd"]))
        old = k + " old"
        new_old = (f"{statistics.median(a / b for a, b in zip(rates[k], rates[old])):.2f}x"
                   if old in rates else "")
        rows.append(f"| {prob.dtype.name} | {k} | {statistics.median(rates[k]):,.0f} "
                    f"({min(rates[k]):,.0f}-{max(rates[k]):,.0f}) | {vs:.2f}x | {new_old} |")
    return rows


def time_to_accuracy(prob, epochs_, rng):
    names = ACCURACY
    states = {k: prob.state() for k in names}
    seconds = {k: 0.0 for k in names}
    rows = []
    for e in range(epochs_):
        perm = rng.permutation(len(prob.X)).astype(np.int64)
        for k in names[e % len(names):] + names[:e % len(names)]:
            tic = time.perf_counter()
            for start in range(0, len(perm), CHUNK):
                order = perm[start:start + CHUNK]
                assert prob.train(k, states[k], order) == len(order), f"{k} diverged"
            seconds[k] += time.perf_counter() - tic
        for k in names:
            rows.append(f"| {prob.dtype.name} | {k} | {e + 1} | {prob.accuracy(states[k]):.4f} "
                        f"| {seconds[k]:.1f} |")
    return rows


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--dtypes", default="float32,float64")
    ap.add_argument("--samples", type=int, default=CHUNK, help="samples per timed call")
    ap.add_argument("--epochs", type=int, default=2, help="time-to-accuracy epochs (0: none)")
    ap.add_argument("--out", help="also write the tables (markdown) to this file")
    args = ap.parse_args(argv)
    lines = [f"CPU: {lscpu_model()}; LLVM CPU name: {llvm_cpu_name()}; one core "
             f"(taskset); 784-200-200-10 ReLU, batch size 1; {args.rounds} rounds of "
             f"{args.samples} samples", "",
             "| dtype | configuration | samples/s median (min-max) | vs sgd | new / old |",
             "|---|---|---|---|---|"]
    print("\n".join(lines), flush=True)
    probs = {d: Problem(d) for d in args.dtypes.split(",")}
    for d, prob in probs.items():
        rows = speed(prob, args.rounds, args.samples, np.random.default_rng(1))
        print("\n".join(rows), flush=True)
        lines += rows
    if args.epochs > 0:
        head = ["", f"Time to accuracy: {args.epochs} epochs of the 60,000 training samples, "
                    "MNIST test accuracy and cumulative training seconds",
                "", "| dtype | configuration | epoch | test accuracy | seconds |",
                "|---|---|---|---|---|"]
        print("\n".join(head), flush=True)
        lines += head
        for d, prob in probs.items():
            rows = time_to_accuracy(prob, args.epochs, np.random.default_rng(2))
            print("\n".join(rows), flush=True)
            lines += rows
    if args.out:
        with open(args.out, "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
