"""How far the lazy forms of per-sample L2 and momentum (kernels/lazy.py) are from the
step-by-step reference on MNIST, next to how far the routes they replace are, and how far the
float32 reference itself is from the float64 one.

    python bench/decay_numerics.py [--samples 1000] [--epochs 3] [--hidden 200,200]

Trains the first --samples MNIST training images (784-...-10 ReLU, softmax + cross-entropy, He
init, batch size 1) for --epochs calls of train_epoch (a new shuffle each, every path carrying
on from its own weights) with the reference (fastmlp/reference.py), train_epoch (the lazy form)
and the route before (the dense L2 step / the lazy momentum epoch, see bench/decay.py), in
float64 and float32; prints after each epoch the largest absolute weight (and velocity)
difference to the reference of the same dtype, and for float32 also each path's (the float32
reference's included) weight difference to the float64 reference: how close to the exact
training each is. In long float32 runs a ReLU unit whose pre-activation is within rounding of 0
can switch on in one run and off in the other: then the weights differ by a step (~1e-4), not
by rounding, between any two of the runs (the float32 and float64 references included).
The tolerance the tests hold every path to is tests/helpers.py TOL["epoch"]: rtol 1e-10, atol
1e-12 (float64); rtol 1e-4, atol 1e-5 (float32); "within" says whether this run meets it.
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from decay import CONFIGS  # noqa: E402

from fastmlp import kernels, reference  # noqa: E402
from fastmlp.codes import CROSS_ENTROPY, RELU, SGD, SOFTMAX  # noqa: E402
from fastmlp.datasets import load_mnist  # noqa: E402
from fastmlp.init import initialise  # noqa: E402
from fastmlp.kernels import epochs, sgd  # noqa: E402
from fastmlp.layout import make_layout  # noqa: E402

TOL = {"float64": dict(rtol=1e-10, atol=1e-12), "float32": dict(rtol=1e-4, atol=1e-5)}
NAMES = ["L2 1e-4", "L2 0.03 + clip 1", "momentum 0.9", "nesterov 0.9"]


def run(path, dtype, st, X, Y, order, layout, codes, cfg):
    lr, alpha, clip_value, mu, nesterov, _ = cfg
    t = np.dtype(dtype).type
    none = np.zeros(0, dtype)
    args = (st["params"], st["grads"], st["acts"], st["dacts"], X, Y, order, layout, codes,
            CROSS_ENTROPY)
    if path == "old" and mu > 0:
        return sgd._epoch_momentum_lazy(*args, t(lr), t(clip_value), none, t(mu), nesterov,
                                        st["velocity"], np.zeros(layout[0, 0], np.int64))
    if path == "old":
        return epochs._train_per_sample(st["params"], st["acts"], st["dacts"], X, Y, order,
                                        layout, codes, CROSS_ENTROPY, t(lr), t(alpha), t(0),
                                        t(clip_value), none, lazy_decay=False)
    backend = reference if path == "reference" else kernels
    return backend.train_epoch(*args, t(lr), t(alpha), t(0), t(clip_value), t(0), 1, none, SGD,
                               t(mu), nesterov, t(0.9), t(0.999), t(1e-8), st["velocity"], none,
                               np.zeros(1, np.int64))


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--hidden", default="200,200")
    args = ap.parse_args(argv)
    Xall, y = load_mnist()[:2]
    sizes = (784,) + tuple(int(h) for h in args.hidden.split(",")) + (10,)
    layout, P, A = make_layout(sizes)
    p0 = np.zeros(P)
    initialise(p0, layout, "he", np.random.default_rng(0))
    codes = np.array([RELU] * (len(sizes) - 2) + [SOFTMAX], np.int64)
    n = args.samples
    print(f"{'-'.join(map(str, sizes))}, {n} MNIST samples, {args.epochs} epochs; max |w - "
          "w_ref| (velocity: max |v - v_ref|); float32 also vs the float64 reference")
    for name in NAMES:
        cfg = CONFIGS[name]
        states = {}
        ref64 = {}  # the float64 reference's weights after each epoch
        for dtype in ("float64", "float32"):
            X = np.ascontiguousarray(Xall[:n], dtype)
            Y = np.zeros((n, 10), dtype)
            Y[np.arange(n), y[:n]] = 1
            for path in ("reference", "new", "old"):
                states[dtype, path] = dict(params=p0.astype(dtype), grads=np.zeros(P, dtype),
                                           acts=np.zeros(A, dtype), dacts=np.zeros(A, dtype),
                                           velocity=np.zeros(P, dtype))
            rng = np.random.default_rng(3)
            for e in range(args.epochs):
                order = rng.permutation(n).astype(np.int64)
                for path in ("reference", "new", "old"):
                    res = run(path, dtype, states[dtype, path], X, Y, order, layout, codes, cfg)
                    assert res[2] == n, f"{name} {path} {dtype} diverged"
                ref = states[dtype, "reference"]
                line = f"{name:18s} {dtype} epoch {e + 1}:"
                for path in ("new", "old"):
                    st = states[dtype, path]
                    dw = float(np.max(np.abs(st["params"] - ref["params"])))
                    within = np.allclose(st["params"], ref["params"], **TOL[dtype])
                    line += f"  {path} {dw:.2e}"
                    if cfg[3] > 0:
                        dv = float(np.max(np.abs(st["velocity"] - ref["velocity"])))
                        within &= np.allclose(st["velocity"], ref["velocity"], **TOL[dtype])
                        line += f" (v {dv:.2e})"
                    line += f" {'within' if within else 'OUTSIDE'}"
                if dtype == "float64":
                    ref64[e] = ref["params"].copy()
                else:
                    line += "  | vs the float64 reference:"
                    for path in ("reference", "new", "old"):
                        d = float(np.max(np.abs(states[dtype, path]["params"] - ref64[e])))
                        line += f" {path} {d:.2e}"
                line += f"  (max |w| {float(np.max(np.abs(ref['params']))):.2f})"
                print(line, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
