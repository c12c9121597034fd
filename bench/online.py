"""Online learning, one event at a time: fastmlp's small calls beside PyTorch, deep-river and
scikit-learn, interleaved in one process.

    taskset -c 1 python bench/online.py [--dtype float32] [--rounds 5] [--events 2000]
                                        [--out bench/results/online.json]

Network: MNIST's 784-200-200-10 ReLU, softmax + cross-entropy, plain SGD at learning rate 0.01,
one thread. Every contestant starts from a model already trained on 1,000 rows (warm: compiled,
caches loaded), then:

1. **Latency** of the calls a stream makes, in microseconds per call: many calls per round
   (each on the next row of MNIST), the median over rounds; in every round each contestant runs
   in turn, the starting one rotating, so load from other processes falls on all of them.
   fastmlp: ``partial_fit`` of 1 row, ``predict`` and ``predict_proba`` of 1 row, and
   ``partial_fit`` of 100-row chunks per sample beside ``fit``'s per-sample rate on the same
   rows (fit trains in 4,096-sample chunks); the same calls through the general path (the
   small calls' record dropped before every call: what every call cost before the fast path);
   the kernel alone (``train_epoch`` of one row, ``predict`` of one row), and under it the
   floor of any compiled call: a compiled function taking the same arguments and doing
   nothing.
   PyTorch: a hand-written SGD step (zero_grad, forward, cross-entropy, backward, step) and a
   no-grad forward + argmax. deep-river: ``learn_one``/``predict_one`` (a dict per row, its
   API). scikit-learn: ``MLPClassifier.partial_fit``/``predict`` of 1 row.
2. **Prequential stream**: ``--events`` rows of MNIST's training set after the first 1,000, in
   a fixed random order. Each contestant predicts a row, then learns from it; reported are the
   microseconds per event (predict + learn) and the prequential accuracy (rows predicted right
   before they were learned). The contestants take turns in blocks of 100 events.

Peers that are not installed are skipped and listed (``pip install torch==2.13.0 deep-river
scikit-learn``; the pinned torch is the CPU wheel). The machine (lscpu's model, LLVM's CPU name,
caches, cores) is printed and saved with the results.
"""

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from machine_info import machine  # noqa: E402

import fastmlp  # noqa: E402
from fastmlp import online  # noqa: E402
from fastmlp.datasets import load_mnist  # noqa: E402

WARM = 1000  # rows every contestant is trained on before anything is timed
LR = 0.01
HIDDEN = (200, 200)


# ---------------------------------------------------------------------------------- peers


class Fastmlp:
    name = "fastmlp"

    def __init__(self, X, y, dtype, general=False):
        self.general = general
        self.m = fastmlp.MLPClassifier(hidden_layer_sizes=HIDDEN, learning_rate=LR,
                                       random_state=0, dtype=dtype)
        self.m.partial_fit(X[:WARM], y[:WARM], classes=np.arange(10))
        self.m.predict(X[:1])

    def learn(self, x, y):
        if self.general:
            online.forget(self.m)
        self.m.partial_fit(x, y)

    def predict(self, x):
        if self.general:
            online.forget(self.m)
        return self.m.predict(x)

    def proba(self, x):
        if self.general:
            online.forget(self.m)
        return self.m.predict_proba(x)


class Kernel:
    """fastmlp's compiled calls alone: the floor under the small calls."""

    name = "fastmlp kernel alone"

    def __init__(self, X, y, dtype):
        from fastmlp.codes import SGD
        m = Fastmlp(X, y, dtype).m
        self.kernels, self.m = fastmlp.kernels, m
        s, t = m._settings, np.dtype(dtype).type
        n_acts = int(m.layout_[:, 1].sum())
        self.acts, self.dacts = np.zeros(n_acts, dtype), np.zeros(n_acts, dtype)
        self.Y = np.eye(10, dtype=dtype)
        self.out = np.empty((1, 10), dtype)
        self.order = np.zeros(1, np.int64)
        z = np.zeros(0, dtype)
        self.head = (m.params_, np.zeros(0, dtype), self.acts, self.dacts)
        self.net = (m.layout_, s.activation_codes, s.loss_code, t(LR), t(0), t(0), t(0), t(0),
                    1, z, SGD, t(0), False, t(0.9), t(0.999), t(1e-8), z, z,
                    np.zeros(1, np.int64))
        self.codes = s.activation_codes

    def learn(self, x, y):
        self.kernels.train_epoch(*self.head, x, self.Y[y], self.order, *self.net)

    def predict(self, x):
        self.kernels.predict(self.out, x, self.m.params_, self.acts, self.m.layout_, self.codes)
        return self.out.argmax(axis=1)

    proba = predict


class Floor:
    """Compiled functions that take the kernels' arguments and do nothing: what reaching a
    compiled call from Python costs at minimum (Numba's dispatch: each argument's type looked
    up, each array unboxed)."""

    name = "a compiled call doing nothing (floor)"

    def __init__(self, X, y, dtype):
        import numba
        k = Kernel(X, y, dtype)
        self.k = k
        self.epoch_args = (k.m.params_, k.m.layout_, k.acts, k.dacts, X, k.Y, k.order,
                           k.codes, 2, np.dtype(dtype).type(LR), np.dtype(dtype).type(0),
                           np.dtype(dtype).type(0), np.dtype(dtype).type(0), np.zeros(0, dtype))
        self.nothing14 = numba.njit(lambda a, b, c, d, e, f, g, h, i, j, k_, l, m, n: 0)
        self.nothing6 = numba.njit(lambda a, b, c, d, e, f: 0)
        self.nothing14(*self.epoch_args)
        self.nothing6(k.out, X[:1], k.m.params_, k.m.layout_, k.acts, k.codes)

    def learn(self, x, y):  # the per-sample epoch's 14 arguments
        a = self.epoch_args
        self.nothing14(a[0], a[1], a[2], a[3], x, a[5], a[6], a[7], a[8], a[9], a[10], a[11],
                       a[12], a[13])

    def predict(self, x):  # predict's 6 arguments
        k = self.k
        self.nothing6(k.out, x, k.m.params_, k.m.layout_, k.acts, k.codes)

    proba = predict


class Torch:
    name = "PyTorch (hand-written SGD step, 1 thread)"

    def __init__(self, X, y, dtype):
        import torch
        from torch import nn
        torch.set_num_threads(1)
        torch.manual_seed(0)
        self.torch = torch
        self.tdtype = torch.float32 if np.dtype(dtype) == np.float32 else torch.float64
        sizes = (784,) + HIDDEN + (10,)
        layers = []
        for k in range(len(sizes) - 1):
            layers.append(nn.Linear(sizes[k], sizes[k + 1]).to(self.tdtype))
            if k < len(sizes) - 2:
                layers.append(nn.ReLU())
        self.model = nn.Sequential(*layers)
        self.loss = nn.CrossEntropyLoss()
        self.opt = torch.optim.SGD(self.model.parameters(), lr=LR)
        for i in range(WARM):
            self.learn(X[i:i + 1], y[i:i + 1])

    def learn(self, x, y):
        torch = self.torch
        self.opt.zero_grad()
        loss = self.loss(self.model(torch.from_numpy(x).to(self.tdtype)),
                         torch.from_numpy(np.asarray(y, np.int64)))
        loss.backward()
        self.opt.step()

    def predict(self, x):
        with self.torch.no_grad():
            return self.model(self.torch.from_numpy(x).to(self.tdtype)).argmax(1).numpy()

    def proba(self, x):
        with self.torch.no_grad():
            return self.torch.softmax(self.model(self.torch.from_numpy(x).to(self.tdtype)),
                                      1).numpy()


class DeepRiver:
    name = "deep-river (learn_one/predict_one)"

    def __init__(self, X, y, dtype):
        import torch
        from deep_river import classification
        from torch import nn
        torch.set_num_threads(1)
        torch.manual_seed(0)

        class Net(nn.Module):
            def __init__(self, n_features=784):
                super().__init__()
                self.layers = nn.Sequential(nn.Linear(n_features, 200), nn.ReLU(),
                                            nn.Linear(200, 200), nn.ReLU(), nn.Linear(200, 10))

            def forward(self, x, **kwargs):
                return self.layers(x)

        self.keys = [f"x{j}" for j in range(784)]
        self.m = _deep_river_classifier(classification, Net)
        for i in range(WARM):
            self.learn(X[i:i + 1], y[i:i + 1])

    def _row(self, x):
        return dict(zip(self.keys, x[0].tolist()))

    def learn(self, x, y):
        self.m.learn_one(self._row(x), int(y[0]))

    def predict(self, x):
        return self.m.predict_one(self._row(x))

    def proba(self, x):
        return self.m.predict_proba_one(self._row(x))


def _deep_river_classifier(classification, Net):
    # deep-river's signature changed across releases: a module instance (0.3) or class (0.2)
    kw = dict(loss_fn="cross_entropy", optimizer_fn="sgd", lr=LR, is_class_incremental=False)
    try:
        return classification.Classifier(module=Net(), **kw, output_is_logit=True)
    except TypeError:
        return classification.Classifier(module=Net, **kw, output_is_logit=True)


class Sklearn:
    name = "scikit-learn MLPClassifier (partial_fit)"

    def __init__(self, X, y, dtype):
        import warnings
        from sklearn.neural_network import MLPClassifier
        warnings.filterwarnings("ignore", module="sklearn")
        self.m = MLPClassifier(hidden_layer_sizes=HIDDEN, solver="sgd", momentum=0.0,
                               learning_rate_init=LR, batch_size=1, random_state=0)
        self.m.partial_fit(X[:WARM], y[:WARM], classes=np.arange(10))

    def learn(self, x, y):
        self.m.partial_fit(x, y)

    def predict(self, x):
        return self.m.predict(x)

    def proba(self, x):
        return self.m.predict_proba(x)


PEERS = {"torch": (Torch, "pip install torch==2.13.0 (the CPU wheel)"),
         "deep-river": (DeepRiver, "pip install deep-river"),
         "scikit-learn": (Sklearn, "pip install scikit-learn")}


def make_contestants(X, y, dtype, skipped):
    out = {"fastmlp": Fastmlp(X, y, dtype),
           "fastmlp, general path (before)": Fastmlp(X, y, dtype, general=True),
           "fastmlp kernel alone": Kernel(X, y, dtype),
           Floor.name: Floor(X, y, dtype)}
    for key, (cls, how) in PEERS.items():
        try:
            out[cls.name] = cls(X, y, dtype)
        except ImportError as exc:
            skipped[cls.name] = f"not installed ({exc.name}): {how}"
    return out


# ---------------------------------------------------------------------------------- timing


def per_call(f, rows, calls):
    t = time.perf_counter()
    for k in range(calls):
        f(rows[k])
    return (time.perf_counter() - t) / calls * 1e6


def latency(contestants, X, y, rounds, calls):
    """{contestant: {call: median us}} over interleaved rounds."""
    names = list(contestants)
    raw = {n: {} for n in names}
    start = WARM
    for r in range(rounds):
        for k in range(len(names)):
            name = names[(r + k) % len(names)]
            c = contestants[name]
            xs = [X[i:i + 1] for i in range(start, start + calls)]
            ys = [y[i:i + 1] for i in range(start, start + calls)]
            pairs = list(zip(xs, ys))
            raw[name].setdefault("learn 1 row", []).append(
                per_call(lambda p: c.learn(*p), pairs, calls))
            raw[name].setdefault("predict 1 row", []).append(per_call(c.predict, xs, calls))
            raw[name].setdefault("predict_proba 1 row", []).append(per_call(c.proba, xs, calls))
            if isinstance(c, Fastmlp):
                chunks = [(X[i:i + 100], y[i:i + 100]) for i in range(start, start + 10 * 100, 100)]
                us = per_call(lambda p: c.learn(*p), chunks, len(chunks)) / 100
                raw[name].setdefault("learn 100-row chunks, per row", []).append(us)
                if not c.general:
                    fit = fastmlp.MLPClassifier(hidden_layer_sizes=HIDDEN, learning_rate=LR,
                                                random_state=0, epochs=1, shuffle=False,
                                                dtype=c.m.dtype)
                    Xf, yf = X[start:start + 4096], y[start:start + 4096]
                    fit.partial_fit(Xf[:10], yf[:10], classes=np.arange(10))
                    online.forget(fit)
                    tic = time.perf_counter()
                    fit.partial_fit(Xf, yf)  # one epoch in one 4,096-sample chunk, as fit
                    raw[name].setdefault("fit, per row (4,096-row chunks)", []).append(
                        (time.perf_counter() - tic) / len(Xf) * 1e6)
        start += calls
    return {n: {call: statistics.median(v) for call, v in calls_.items()}
            for n, calls_ in raw.items()}


def prequential(contestants, X, y, events, block=100):
    """{contestant: (us per event, prequential accuracy)}: predict each row, then learn it."""
    rng = np.random.default_rng(1)
    order = WARM + rng.permutation(len(X) - WARM)[:events]
    names = [n for n in contestants if n not in ("fastmlp kernel alone", Floor.name)]
    seconds = {n: 0.0 for n in names}
    right = {n: 0 for n in names}
    for b, s in enumerate(range(0, events, block)):
        rows = order[s:s + block]
        for k in range(len(names)):
            name = names[(b + k) % len(names)]
            c = contestants[name]
            tic = time.perf_counter()
            hits = 0
            for i in rows:
                x, t = X[i:i + 1], y[i:i + 1]
                p = c.predict(x)
                hits += int(np.asarray(p).ravel()[0] == t[0])
                c.learn(x, t)
            seconds[name] += time.perf_counter() - tic
            right[name] += hits
    return {n: (seconds[n] / events * 1e6, right[n] / events) for n in names}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--calls", type=int, default=300, help="calls per round and contestant")
    ap.add_argument("--events", type=int, default=2000)
    ap.add_argument("--out", default=None, help="write the results as JSON here")
    args = ap.parse_args(argv)
    X, y = load_mnist()[:2]
    X = np.ascontiguousarray(X, args.dtype)
    info = machine()
    print(f"CPU: {info['cpu']} (LLVM: {info['llvm_cpu']}), {info['cpus']} cores, caches "
          f"{info.get('caches')}, {args.dtype}", flush=True)
    skipped = {}
    contestants = make_contestants(X, y, args.dtype, skipped)
    for name, why in skipped.items():
        print(f"skipped: {name}: {why}")
    lat = latency(contestants, X, y, args.rounds, args.calls)
    calls = ["learn 1 row", "predict 1 row", "predict_proba 1 row",
             "learn 100-row chunks, per row", "fit, per row (4,096-row chunks)"]
    print(f"\nLatency, us per call (median of {args.rounds} interleaved rounds of "
          f"{args.calls} calls)\n")
    print("| contestant | " + " | ".join(calls) + " |")
    print("|---|" + "---|" * len(calls))
    for name, v in lat.items():
        print(f"| {name} | " + " | ".join(f"{v[c]:,.1f}" if c in v else "–" for c in calls) +
              " |")
    f, g, k = lat["fastmlp"], lat["fastmlp, general path (before)"], lat["fastmlp kernel alone"]
    print(f"\nfastmlp learn 1 row: {g['learn 1 row'] / f['learn 1 row']:.1f}x faster than the "
          f"general path, {f['learn 1 row'] / k['learn 1 row']:.2f}x the kernel alone; predict "
          f"1 row: {g['predict 1 row'] / f['predict 1 row']:.1f}x faster, "
          f"{f['predict 1 row'] / k['predict 1 row']:.2f}x the kernel; 100-row chunks at "
          f"{f['fit, per row (4,096-row chunks)'] / f['learn 100-row chunks, per row']:.2f}x "
          f"fit's per-row rate")
    for name, v in lat.items():
        if name.startswith("PyTorch"):
            print(f"PyTorch's step / fastmlp's learn 1 row: "
                  f"{v['learn 1 row'] / f['learn 1 row']:.1f}x")
    preq = prequential(contestants, X, y, args.events)
    print(f"\nPrequential stream of {args.events:,} MNIST rows (predict, then learn; after "
          f"{WARM:,} warm-up rows)\n")
    print("| contestant | us per event | prequential accuracy |")
    print("|---|---|---|")
    for name, (us, acc) in preq.items():
        print(f"| {name} | {us:,.1f} | {acc:.4f} |")
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(dict(machine=info, dtype=args.dtype, rounds=args.rounds,
                           calls=args.calls, events=args.events, skipped=skipped,
                           latency_us=lat,
                           prequential={n: dict(us_per_event=u, accuracy=a)
                                        for n, (u, a) in preq.items()}), fh, indent=1)
        print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
