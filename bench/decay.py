"""Per-sample (batch size 1) weight decay and momentum against plain SGD on MNIST (784-200-200-10
ReLU, softmax + cross-entropy, He init): the lazy forms of the per-sample epoch
(kernels/lazy.py) and the paths they replace, side by side in one process, interleaved.

    taskset -c 1 python bench/decay.py [--rounds 7] [--dtypes float32,float64] [--samples 4096]
                                       [--epochs 2] [--configs ...] [--clock wall|cpu]
                                       [--out bench/results/decay.md]

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
--floor: layer 0's row pass alone (the deferred step and the forward over W0, the largest
matrix), plain vs momentum's q and u, interleaved: what a momentum epoch costs at least while it
moves two numbers per weight of every touched row where plain SGD moves one.
Time to accuracy (--epochs > 0): the full training set, --epochs epochs in 4096-sample calls
(as ``fit``), the same shuffles for everyone, MNIST test accuracy and the cumulative training
time after each epoch; the configurations interleaved epoch by epoch.
"""

import argparse
import os
import statistics
import sys
import time

import numba
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from machine_info import llvm_cpu_name, lscpu_model  # noqa: E402

from fastmlp import kernels  # noqa: E402
from fastmlp.codes import CROSS_ENTROPY, RELU, SGD, SOFTMAX  # noqa: E402
from fastmlp.datasets import load_mnist  # noqa: E402
from fastmlp.init import initialise  # noqa: E402
from fastmlp.kernels import epochs, sgd  # noqa: E402
from fastmlp.kernels.epochs import _forward_pending  # noqa: E402
from fastmlp.kernels.rows import _nonzero_rows, _nonzero_union  # noqa: E402
from fastmlp.kernels.vforward import _vforward_union  # noqa: E402
from fastmlp.kernels.vmomentum import _vforward2_union  # noqa: E402
from fastmlp.kernels.workspace import new_work, padded_layout  # noqa: E402
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
CLOCK = [time.perf_counter]  # --clock cpu: time.process_time (this process's CPU time)
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


def speed(prob, rounds, n, rng, names):
    for k in names:  # compile / load outside the measurement
        prob.train(k, prob.state(), np.arange(8, dtype=np.int64))
    rates = {k: [] for k in names}
    for r in range(rounds):
        order = rng.permutation(len(prob.X))[:n].astype(np.int64)
        for k in names[r % len(names):] + names[:r % len(names)]:
            st = prob.state()
            tic = CLOCK[0]()
            done = prob.train(k, st, order)
            rates[k].append(n / (CLOCK[0]() - tic))
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


@numba.njit(cache=True)
def _layer0_plain(W, X, order, dz, lr, union):
    # layer 0's pass of the per-sample epoch alone, as plain SGD runs it: the previous
    # sample's deferred step and this sample's forward (epochs._epoch_per_sample)
    idx = np.empty(X.shape[1], np.int64)
    pidx = np.empty(X.shape[1], np.int64)
    out = np.zeros(W.shape[1], W.dtype)
    for s in range(1, order.shape[0]):
        x, prev = X[order[s]], X[order[s - 1]]
        if union:
            n = _nonzero_union(idx, x, prev)
            _vforward_union(out, x, prev, idx, n, W, dz, lr)
        else:
            pnnz = _nonzero_rows(pidx, prev)
            n = _nonzero_rows(idx, x)
            _forward_pending(out, x, idx, n, W, prev, pidx, pnnz, dz, lr, lr - lr, None, lr, lr)
    return out


@numba.njit(cache=True)
def _layer0_momentum(Q, U, X, order, dz, lrq, lru, k, union):
    # the same pass in momentum's (q, u) form: both rows of every pending and active input
    idx = np.empty(X.shape[1], np.int64)
    pidx = np.empty(X.shape[1], np.int64)
    out = np.zeros(Q.shape[1], Q.dtype)
    for s in range(1, order.shape[0]):
        x, prev = X[order[s]], X[order[s - 1]]
        if union:
            n = _nonzero_union(idx, x, prev)
            _vforward2_union(out, x, prev, idx, n, Q, U, dz, lrq, lru, k)
        else:
            pnnz = _nonzero_rows(pidx, prev)
            n = _nonzero_rows(idx, x)
            _forward_pending(out, x, idx, n, Q, prev, pidx, pnnz, dz, lrq, lrq - lrq, U, lru, k)
    return out


def floor(prob, rounds, n, rng):
    """Layer 0's pass alone (W0: 784 x 200, the largest matrix; the union of two consecutive
    samples' pixels stepped and the active ones read), plain vs momentum's two buffers, as the
    epochs run it (float32: the union pass; float64: the blocked pending pass): the bound a
    momentum epoch cannot beat while it has to move q and u for every touched row."""
    t = prob.dtype.type
    work = new_work(prob.p0, prob.layout)[0]
    playout = padded_layout(prob.layout, prob.dtype)[0]
    fan_in, stride, w_off = int(playout[0, 0]), int(playout[0, 2]), int(playout[0, 3])
    W = work[w_off:w_off + fan_in * stride].reshape(fan_in, stride)
    uwork = new_work(np.full(prob.P, 1e-4, prob.dtype), prob.layout)[0]
    U = uwork[w_off:w_off + fan_in * stride].reshape(fan_in, stride)
    dz = np.zeros(stride, prob.dtype)
    dz[:200] = np.random.default_rng(0).standard_normal(200) * 1e-3
    union = prob.dtype == np.float32  # as epochs._epoch_per_sample
    lr = t(1e-6)  # the weights hardly move: the same rows, the same work, round after round
    rates = {"plain": [], "momentum": []}
    for r in range(rounds):
        order = rng.permutation(len(prob.X))[:n].astype(np.int64)
        for k in (["plain", "momentum"] if r % 2 == 0 else ["momentum", "plain"]):
            tic = CLOCK[0]()
            if k == "plain":
                _layer0_plain(W, prob.X, order, dz, lr, union)
            else:
                _layer0_momentum(W, U, prob.X, order, dz, lr, lr, t(8.1), union)
            rates[k].append(n / (CLOCK[0]() - tic))
    ratio = statistics.median(a / b for a, b in zip(rates["momentum"], rates["plain"]))
    return [f"| {prob.dtype.name} | layer 0's pass alone: plain | "
            f"{statistics.median(rates['plain']):,.0f} | 1.00x | |",
            f"| {prob.dtype.name} | layer 0's pass alone: momentum's q and u | "
            f"{statistics.median(rates['momentum']):,.0f} | {ratio:.2f}x | |"]


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
    ap.add_argument("--configs", default=",".join(CONFIGS),
                    help="comma-separated configurations to time (plain SGD always)")
    ap.add_argument("--floor", action="store_true",
                    help="also time layer 0's pass alone, plain vs momentum's two buffers")
    ap.add_argument("--clock", default="wall", choices=("wall", "cpu"),
                    help="time the speed rounds by the wall clock or by this process's CPU time "
                         "(less sensitive to other processes taking turns on the core)")
    ap.add_argument("--out", help="also write the tables (markdown) to this file")
    args = ap.parse_args(argv)
    if args.clock == "cpu":
        CLOCK[0] = time.process_time
    names = ["sgd"] + [k for k in args.configs.split(",") if k != "sgd"]
    for k in names:
        if k not in CONFIGS:
            ap.error(f"unknown configuration {k!r}; expected some of {', '.join(CONFIGS)}")
    lines = [f"CPU: {lscpu_model()}; LLVM CPU name: {llvm_cpu_name()}; one core "
             f"(taskset); 784-200-200-10 ReLU, batch size 1; {args.rounds} rounds of "
             f"{args.samples} samples, {args.clock} clock", "",
             "| dtype | configuration | samples/s median (min-max) | vs sgd | new / old |",
             "|---|---|---|---|---|"]
    print("\n".join(lines), flush=True)
    probs = {d: Problem(d) for d in args.dtypes.split(",")}
    for d, prob in probs.items():
        rows = speed(prob, args.rounds, args.samples, np.random.default_rng(1), names)
        if args.floor:
            rows += floor(prob, args.rounds, args.samples, np.random.default_rng(1))
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
