"""What diagnostics=True costs, and that diagnostics=False costs nothing.

Paired, interleaved rounds on the reference workload (MNIST 784-200-200-10, ReLU, per-sample
SGD, float32, lr 0.01): each round fits the same training rows three ways, the order rotating
every round:

- ``off``: ``MLPClassifier()`` (the default: diagnostics=False);
- ``off, patched``: the same, with fastmlp.diagnostics.record replaced by a function that fails,
  so the run proves no diagnostic code ran at all;
- ``on``: ``diagnostics=True``.

Prints the median seconds per epoch of each, the median of the paired ratios, and the cost of
one epoch's diagnostics alone (fastmlp.diagnostics.record, median of repeats).

    taskset -c 1 python bench/diagnostics_cost.py [--rounds 5] [--samples 20000] [--epochs 2]
"""

import argparse
import statistics
import time

import numpy as np

from fastmlp import MLPClassifier, diagnostics, training
from fastmlp.datasets import load_mnist


def _fit(X, y, epochs, on):
    model = MLPClassifier(epochs=epochs, random_state=0, diagnostics=on)
    tic = time.perf_counter()
    model.fit(X, y)
    return (time.perf_counter() - tic) / epochs, model


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    ap.add_argument("--samples", type=int, default=20000, help="training rows (default 20000)")
    ap.add_argument("--epochs", type=int, default=2, help="epochs per fit (default 2)")
    args = ap.parse_args(argv)
    X, y = load_mnist()[:2]
    X, y = X[:args.samples], y[:args.samples]
    _fit(X[:500], y[:500], 1, True)  # load the compiled kernels before timing

    real = diagnostics.record

    def failing(*a):
        raise AssertionError("diagnostics computed although diagnostics=False")

    def patched(X, y, epochs, on):
        training.diagnostics.record = failing
        try:
            return _fit(X, y, epochs, on)
        finally:
            training.diagnostics.record = real

    runs = {"off": lambda: _fit(X, y, args.epochs, False)[0],
            "off, patched": lambda: patched(X, y, args.epochs, False)[0],
            "on": lambda: _fit(X, y, args.epochs, True)[0]}
    names = list(runs)
    times = {k: [] for k in names}
    for r in range(args.rounds):
        for k in names[r % 3:] + names[:r % 3]:
            times[k].append(runs[k]())
    model = _fit(X, y, 1, True)[1]
    before = model.params_.copy()
    one = []
    for _ in range(20):
        tic = time.perf_counter()
        real({}, before, model.params_, model.layout_, X, np.eye(10, dtype=X.dtype)[y],
             model._settings.activation_codes, model._settings.loss_code)
        one.append(time.perf_counter() - tic)
    print(f"{args.samples} samples x {args.epochs} epochs, {args.rounds} interleaved rounds")
    for k in names:
        print(f"  {k:13s} median {statistics.median(times[k]):.3f} s/epoch "
              f"(min {min(times[k]):.3f}, max {max(times[k]):.3f})")
    for a, b in (("off, patched", "off"), ("on", "off")):
        ratio = statistics.median(x / y for x, y in zip(times[a], times[b]))
        print(f"  {a} / {b}: {ratio:.3f} (median of paired ratios)")
    print(f"  one epoch's diagnostics alone: {statistics.median(one) * 1e3:.1f} ms "
          f"(median of 20)")


if __name__ == "__main__":
    main()
