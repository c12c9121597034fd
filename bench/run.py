"""fastmlp's benchmark: per-sample SGD on MNIST 784-200-200-10 (ReLU, softmax + CE, lr 0.01).

    python bench/run.py [--quick] [--rounds N] [--out bench/results/latest.json] [--torch-compile]

In ONE process, interleaved round by round (the machine is shared and noisy, so contestants are
timed side by side and every ratio is taken within a round): fastmlp's JIT kernels, fastmlp's
NumPy reference, the original blog's NumPy code, tuned NumPy (in-place BLAS), scikit-learn,
PyTorch eager (and torch.compile with --torch-compile) and JAX lax.scan, each skipped with a
note when not installed, and fastmlp's public API (MLPClassifier.partial_fit) beside the direct
train_epoch call. Before timing, every contestant trains the same 300 samples from the
same weights and must match fastmlp's reference (llm.c's habit). Then: batch sizes 1..256 (with
JAX mini-batch SGD at 32 and 128 beside them), cold and cache-warm compile times, peak RSS,
allocations per sample, the cost of per-chunk progress, a Hogwild (2 threads) trial and the
memory-traffic bound from a bandwidth probe (bandwidth.py). Everything lands in one JSON file.
"""

import argparse
import contextlib
import datetime
import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

# one core per contestant: BLAS/XLA thread pools would otherwise fight over the 2 cores
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from baselines import (blog_numpy, jax_batches, jax_scan, sklearn_mlp, torch_eager,  # noqa: E402
                       tuned_numpy)
import bandwidth  # noqa: E402
from machine_info import machine as machine_info  # noqa: E402

import fastmlp  # noqa: E402
from fastmlp import kernels, reference  # noqa: E402
from fastmlp.datasets import load_mnist  # noqa: E402
from fastmlp.init import initialise  # noqa: E402
from fastmlp.layout import coef_views, make_layout  # noqa: E402

SIZES = (784, 200, 200, 10)
LR = 0.01
ACTS = np.array([1, 1, 4], np.int64)  # relu, relu, softmax
CE = 0


# ------------------------------------------------------------------------------- contestants


def plain_sgd(dtype):
    """train_epoch's arguments after batch_size for plain SGD without sample weights."""
    t = np.dtype(dtype).type
    empty = np.zeros(0, dtype)
    return (empty, 0, t(0), True, t(0.9), t(0.999), t(1e-8), empty, empty,
            np.zeros(1, np.int64))


class FastMLP:
    """fastmlp's train_epoch (JIT kernels or the NumPy reference) behind the baselines' API."""

    def __init__(self, backend, Ws, bs, dtype, batch_size=1):
        self.backend, self.dtype, self.B = backend, np.dtype(dtype), batch_size
        self.layout, P, A = make_layout(SIZES)
        self.params = np.zeros(P, self.dtype)
        cW, cb = coef_views(self.params, self.layout)
        for v, W in zip(cW + cb, list(Ws) + list(bs)):
            v[...] = W
        self.grads = np.zeros(P, self.dtype)
        self.acts, self.dacts = np.zeros(A, self.dtype), np.zeros(A, self.dtype)

    def train(self, X, Y, y, order, lr):
        t = self.dtype.type
        res = self.backend.train_epoch(self.params, self.grads, self.acts, self.dacts, X, Y,
                                       np.ascontiguousarray(order, np.int64), self.layout, ACTS,
                                       CE, t(lr), t(0), t(0), t(0), t(0), self.B,
                                       *plain_sgd(self.dtype))
        assert res[2] == len(order), "diverged"

    def weights(self):
        cW, cb = coef_views(self.params, self.layout)
        return [np.array(W, np.float64) for W in cW], [np.array(b, np.float64) for b in cb]


class FastMLPPublicAPI:
    """fastmlp as a user calls it: MLPClassifier(batch_size=1, lr 0.01, same network) and
    partial_fit, started from the same weights (set through coefs_/intercepts_).

    The agreement check passes the samples in the given order (shuffle=False): the same training
    as train_epoch on that order. Timed runs pass the run's samples (gathered before the clock
    starts, as a user's array would already be) with shuffle=True, so the kernel reads rows in a
    random order as train_epoch does; the time includes everything partial_fit does around the
    kernel (validation, label encoding, one-hot, the permutation, chunking, divergence checks)."""

    def __init__(self, Ws, bs, dtype):
        self.dtype = np.dtype(dtype)
        self.model = fastmlp.MLPClassifier(hidden_layer_sizes=SIZES[1:-1], activation="relu",
                                           batch_size=1, learning_rate=LR, alpha=0.0,
                                           lr_schedule="constant", dtype=self.dtype.name,
                                           random_state=0, shuffle=False)
        self.start = (Ws, bs)

    def _initialise(self, X, y):
        if hasattr(self.model, "coefs_"):
            return
        # the first call initialises (and trains one sample); then the shared starting weights
        self.model.partial_fit(X[:1], y[:1], classes=np.arange(SIZES[-1]))
        Ws, bs = self.start
        self.model.coefs_ = [np.array(W, self.dtype) for W in Ws]
        self.model.intercepts_ = [np.array(b, self.dtype) for b in bs]

    def train(self, X, Y, y, order, lr):
        self._initialise(X, y)
        self.model.set_params(shuffle=False, learning_rate=lr)
        self.model.partial_fit(X[order], y[order])

    def prepare(self, X, Y, y, order, lr):
        self._initialise(X, y)
        self.model.set_params(shuffle=True, learning_rate=lr)
        Xs, ys = np.ascontiguousarray(X[order]), y[order]
        return functools.partial(self.model.partial_fit, Xs, ys)

    def weights(self):
        return ([np.array(W, np.float64) for W in self.model.coefs_],
                [np.array(b, np.float64) for b in self.model.intercepts_])


def contestants(dtype, args):
    """(name, module-or-None, factory, samples per timed run, note) for this dtype."""
    f64 = np.dtype(dtype) == np.float64
    n_jit = 20000 if args.quick else 60000
    out = [
        ("fastmlp numba", None, lambda W, b: FastMLP(kernels, W, b, dtype), n_jit, ""),
        ("fastmlp public API (partial_fit)", None, lambda W, b: FastMLPPublicAPI(W, b, dtype),
         n_jit, ""),
        ("fastmlp reference (NumPy)", None, lambda W, b: FastMLP(reference, W, b, dtype), 1000, ""),
        ("blog NumPy (float64)", blog_numpy, lambda W, b: blog_numpy.make(W, b, dtype), 2000,
         "always float64"),
        ("tuned NumPy (BLAS ger/gemv)", tuned_numpy, lambda W, b: tuned_numpy.make(W, b, dtype),
         4000, ""),
        ("scikit-learn MLPClassifier (float64)", sklearn_mlp,
         lambda W, b: sklearn_mlp.make(W, b, dtype), 1000, "always float64"),
        ("PyTorch eager", torch_eager, lambda W, b: torch_eager.make(W, b, dtype), 2000, ""),
        ("JAX jit(lax.scan)", jax_scan, lambda W, b: jax_scan.make(W, b, dtype), 10000, ""),
    ]
    if args.torch_compile:
        out.append(("PyTorch torch.compile", torch_eager,
                    lambda W, b: torch_eager.make_compiled(W, b, dtype), 2000, ""))
    if not f64:  # float64-only baselines are timed once, in the float64 table
        out = [c for c in out if c[4] != "always float64"]
    return out


# ------------------------------------------------------------------------------- helpers


def machine():
    # lscpu's model name, LLVM's CPU name (what Numba compiles for), cache sizes, versions
    return machine_info()


def stats(values):
    return dict(median=statistics.median(values), min=min(values), max=max(values), n=len(values))


def initial_weights(seed=0):
    layout, P, _ = make_layout(SIZES)
    params = np.zeros(P)
    initialise(params, layout, "he", np.random.default_rng(seed))
    cW, cb = coef_views(params, layout)
    return [W.copy() for W in cW], [b.copy() for b in cb]


def data(dtype):
    X, y = load_mnist()[:2]
    X = np.ascontiguousarray(X, dtype)
    Y = np.zeros((len(y), 10), dtype)
    Y[np.arange(len(y)), y] = 1
    return X, Y, np.asarray(y, np.int64)


def max_rel_diff(a, b):
    Wa, ba = a
    Wb, bb = b
    worst = 0.0
    for u, v in zip(Wa + ba, Wb + bb):
        worst = max(worst, float(np.max(np.abs(u - v)) / (np.max(np.abs(v)) + 1e-30)))
    return worst


# ------------------------------------------------------------------------------- sections


def check_and_time(dtype, args, log):
    """Agreement with the reference on 300 samples, then interleaved timed rounds."""
    X, Y, y = data(dtype)
    Ws, bs = initial_weights()
    check_order = np.arange(300)
    ref = FastMLP(reference, Ws, bs, np.float64)  # the truth: reference in float64
    ref.train(X.astype(np.float64), Y.astype(np.float64), y, check_order, LR)
    truth = ref.weights()
    tol = 1e-9 if np.dtype(dtype) == np.float64 else 2e-3
    results, live = {}, []
    for name, module, factory, n, note in contestants(dtype, args):
        if module is not None:
            ok, why = module.available()
            if not ok:
                results[name] = dict(skipped=why)
                log(f"  {name}: skipped ({why})")
                continue
        c = factory(Ws, bs)
        tic = time.perf_counter()
        c.train(X, Y, y, check_order, LR)  # also compiles / warms up
        first = time.perf_counter() - tic
        d = max_rel_diff(c.weights(), truth)
        # the blog and sklearn are float64 whatever dtype says
        t = 1e-9 if note == "always float64" else tol
        agrees = d <= t
        results[name] = dict(samples_per_run=n, agreement_max_rel_diff=d, agreement_tol=t,
                             agrees=agrees, first_300_samples_seconds=first, note=note, runs=[])
        log(f"  {name}: agrees with reference: {agrees} (max rel diff {d:.2e}, tol {t:g})")
        if name.startswith("JAX"):  # compile once for the timed length (scan length is static)
            c.train(X, Y, y, np.arange(n), LR)
        live.append((name, c, n))
    rng = np.random.default_rng(1)
    for r in range(args.rounds):
        rot = live[r % len(live):] + live[:r % len(live)]  # rotate who goes first
        for name, c, n in rot:
            order = rng.permutation(len(X))[:n]
            if hasattr(c, "prepare"):  # untimed preparation (the public API's input array)
                go = c.prepare(X, Y, y, order, LR)
            else:
                go = functools.partial(c.train, X, Y, y, order, LR)
            tic = time.perf_counter()
            go()
            results[name]["runs"].append(n / (time.perf_counter() - tic))
        log(f"  round {r + 1}/{args.rounds}: " + ", ".join(
            f"{name} {results[name]['runs'][-1]:,.0f}/s" for name, _, _ in live))
    jit = results["fastmlp numba"]["runs"]
    for name, _, _ in live:
        res = results[name]
        res["samples_per_s"] = stats(res["runs"])
        ratios = [a / b for a, b in zip(jit, res["runs"])]  # paired within a round
        res["numba_speedup"] = stats(ratios)
    return results


JAX_BATCHES = (32, 128)


def batch_sweep(dtype, args, log):
    """fastmlp's JIT at batch sizes 1..256 (reference at 1/16/128) and JAX (jit of a lax.scan
    over the mini-batches) at 32 and 128, interleaved; each first checked against fastmlp's
    float64 reference at its batch size on the same 256 samples."""
    X, Y, y = data(dtype)
    Ws, bs = initial_weights()
    sizes = [1, 16, 32, 128] if args.quick else [1, 2, 4, 8, 16, 32, 64, 128, 256]
    n = 20480  # a multiple of every batch size: no shorter last batch (JAX's scan needs that)
    tol = 1e-9 if np.dtype(dtype) == np.float64 else 2e-3
    check_order = np.arange(256)
    truth = {}

    def agreement(net, B):
        if B not in truth:
            ref = FastMLP(reference, Ws, bs, np.float64, B)
            ref.train(X.astype(np.float64), Y.astype(np.float64), y, check_order, LR)
            truth[B] = ref.weights()
        net.train(X, Y, y, check_order, LR)  # also compiles / warms up
        d = max_rel_diff(net.weights(), truth[B])
        return dict(max_rel_diff=d, tol=tol, agrees=bool(d <= tol))

    checks = {}
    nets = {}
    for B in sizes:
        nets[("numba", B)] = FastMLP(kernels, Ws, bs, dtype, B)
        checks[f"numba batch {B}"] = agreement(nets[("numba", B)], B)
    for B in (1, 16, 128):
        nets[("reference", B)] = FastMLP(reference, Ws, bs, dtype, B)
        nets[("reference", B)].train(X, Y, y, np.arange(256), LR)  # warm up
    ok, why = jax_batches.available()
    jax_note = None
    if ok:
        for B in JAX_BATCHES:
            net = jax_batches.make(Ws, bs, dtype, B)
            checks[f"JAX batch {B}"] = agreement(net, B)
            net.train(X, Y, y, np.arange(n), LR)  # compile for the timed length (static)
            nets[("JAX", B)] = net
    else:
        jax_note = why
        log(f"  JAX mini-batches: skipped ({why})")
    for k, c in checks.items():
        log(f"  {k}: agrees with the reference at its batch size: {c['agrees']} "
            f"(max rel diff {c['max_rel_diff']:.2e}, tol {tol:g})")
    runs = {key: [] for key in nets}
    keys = list(nets)
    rng = np.random.default_rng(2)
    for r in range(args.rounds):
        rot = keys[r % len(keys):] + keys[:r % len(keys)]  # rotate who goes first
        for key in rot:
            kind, B = key
            m = 1024 if kind == "reference" else n
            order = rng.permutation(len(X))[:m]
            tic = time.perf_counter()
            nets[key].train(X, Y, y, order, LR)
            runs[key].append(m / (time.perf_counter() - tic))
    out = {f"{kind} batch {B}": stats(v) for (kind, B), v in runs.items()}
    for k, v in out.items():
        log(f"  {k}: median {v['median']:,.0f} samples/s")
    vs_jax = dict(agreement=checks, samples=n)
    if jax_note:
        vs_jax["skipped"] = jax_note
    for B in JAX_BATCHES:
        if ("JAX", B) in runs and ("numba", B) in runs:
            ratios = [a / b for a, b in zip(runs[("numba", B)], runs[("JAX", B)])]  # paired
            vs_jax[f"fastmlp/JAX batch {B}"] = stats(ratios)
            log(f"  fastmlp / JAX at batch {B}: {statistics.median(ratios):.2f} "
                f"(median of paired rounds; {min(ratios):.2f}–{max(ratios):.2f})")
    return out, vs_jax


COMPILE_SNIPPET = r"""
import time, json, numpy as np
t0 = time.perf_counter()
import fastmlp
t1 = time.perf_counter()
rng = np.random.default_rng(0)
X = rng.random((64, 784)).astype(np.float32); y = np.arange(64) % 10
m = fastmlp.MLPClassifier(hidden_layer_sizes=(200, 200), epochs=1, random_state=0)
m.fit(X, y); m.predict(X)
t2 = time.perf_counter()
m.fit(X, y); m.predict(X)
t3 = time.perf_counter()
print(json.dumps(dict(import_s=t1 - t0, first_fit_s=t2 - t1, second_fit_s=t3 - t2)))
"""


def compile_times(args, log):
    """Fresh processes: a truly cold compile (empty cache dir), then cache-warm (same dir)."""
    out = {}
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        for label in ("cold (empty Numba cache)", "warm cache, fresh process",
                      "warm cache, fresh process (again)"):
            tic = time.perf_counter()
            p = subprocess.run([sys.executable, "-c", COMPILE_SNIPPET], env=env,
                               capture_output=True, text=True)
            wall = time.perf_counter() - tic
            if p.returncode != 0:
                out[label] = dict(error=p.stderr[-2000:])
                continue
            r = json.loads(p.stdout.strip().splitlines()[-1])
            r["compile_or_load_s"] = r["first_fit_s"] - r["second_fit_s"]
            r["process_wall_s"] = wall
            out[label] = r
            log(f"  {label}: import {r['import_s']:.2f} s, first fit {r['first_fit_s']:.2f} s, "
                f"second fit {r['second_fit_s']:.3f} s -> compile/load {r['compile_or_load_s']:.2f} s")
    return out


# Peak RSS is VmHWM, the high-water mark of THIS process's memory map. Not getrusage's
# ru_maxrss: Linux carries it over from the forking parent across exec, so a child of the full
# benchmark (torch, JAX and the data loaded, ~1.5 GB) reported the parent's peak, not its own.
MEMORY_SNIPPET = r"""
import json, numpy as np
import fastmlp
from fastmlp.datasets import load_mnist
def rss_mb(field="VmRSS"):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
base = rss_mb()
X, y = load_mnist()[:2]
X = np.ascontiguousarray(X, np.float32)
loaded = rss_mb()
m = fastmlp.MLPClassifier(hidden_layer_sizes=(200, 200), epochs=1, random_state=0)
m.fit(X, y)
peak = rss_mb("VmHWM")
print(json.dumps(dict(rss_after_imports_mb=base, rss_after_loading_mb=loaded, peak_rss_mb=peak,
                      X_float32_mb=X.nbytes / 2**20)))
"""


ALLOC_SNIPPET = r"""
import json, numpy as np
from numba.core.runtime import rtsys
from run import FastMLP, data, initial_weights, kernels, LR
X, Y, y = data(np.float32)
Ws, bs = initial_weights()
net = FastMLP(kernels, Ws, bs, np.float32)
net.train(X, Y, y, np.arange(10), LR)
counts = {}
for n in (1000, 20000):
    before = rtsys.get_allocation_stats().alloc
    net.train(X, Y, y, np.arange(n), LR)
    counts[n] = rtsys.get_allocation_stats().alloc - before
print(json.dumps(counts))
"""


def memory(args, log):
    p = subprocess.run([sys.executable, "-c", MEMORY_SNIPPET], capture_output=True, text=True)
    if p.returncode != 0:
        return dict(error=p.stderr[-2000:])
    r = json.loads(p.stdout.strip().splitlines()[-1])
    r["peak_minus_imports_mb"] = r["peak_rss_mb"] - r["rss_after_imports_mb"]
    r["peak_minus_imports_minus_X_mb"] = r["peak_minus_imports_mb"] - r["X_float32_mb"]
    # NRT allocations during train_epoch: must not grow with the number of samples
    p = subprocess.run([sys.executable, "-c", ALLOC_SNIPPET], capture_output=True, text=True,
                       env=dict(os.environ, NUMBA_NRT_STATS="1"), cwd=HERE)
    counts = json.loads(p.stdout.strip().splitlines()[-1]) if p.returncode == 0 else {}
    r["nrt_allocations_per_train_epoch_call"] = counts or dict(error=p.stderr[-2000:])
    log(f"  peak RSS {r['peak_rss_mb']:.0f} MB; after imports {r['rss_after_imports_mb']:.0f} MB; "
        f"X float32 {r['X_float32_mb']:.0f} MB; peak - imports - X = "
        f"{r['peak_minus_imports_minus_X_mb']:.0f} MB; NRT allocations per train_epoch call "
        f"by samples: {counts}")
    return r


def progress_cost(args, log):
    """fit() with a progress bar updated every 4096-sample chunk vs one chunk, no bar."""
    X, Y, y = data(np.float32)
    n = 20000 if args.quick else 60000
    X, y = X[:n], y[:n]
    runs = {"one chunk, silent": [], "4096-sample chunks, silent": [],
            "4096-sample chunks, progress bar": []}
    configs = {"one chunk, silent": dict(chunk_size=n, verbose=False),
               "4096-sample chunks, silent": dict(chunk_size=4096, verbose=False),
               "4096-sample chunks, progress bar": dict(chunk_size=4096, verbose=True)}
    fastmlp.MLPClassifier(epochs=1).fit(X[:100], y[:100])  # compile
    with open(os.devnull, "w") as devnull, contextlib.redirect_stderr(devnull):
        for r in range(args.rounds):
            for name, cfg in configs.items():
                m = fastmlp.MLPClassifier(epochs=1, random_state=r, **cfg)
                tic = time.perf_counter()
                m.fit(X, y)
                runs[name].append(n / (time.perf_counter() - tic))
    base = runs["one chunk, silent"]
    out = {}
    for name, v in runs.items():
        out[name] = dict(samples_per_s=stats(v),
                         cost_vs_one_chunk=stats([1 - a / b for a, b in zip(v, base)]))
        log(f"  {name}: {statistics.median(v):,.0f}/s, cost vs one chunk "
            f"{100 * out[name]['cost_vs_one_chunk']['median']:+.1f}% (median of paired rounds)")
    return out


def hogwild(args, log):
    """Two threads run train_epoch on the two halves of the epoch over the SAME params
    (lock-free, Hogwild!). Kernels release the GIL (nogil=True)."""
    X, Y, y = data(np.float32)
    Xt, yt = load_mnist()[2:4]
    Xt = np.ascontiguousarray(Xt, np.float32)
    Ws, bs = initial_weights()
    n = 20000 if args.quick else 60000

    def accuracy(net):
        out = np.zeros((len(Xt), 10), np.float32)
        kernels.predict(out, Xt, net.params, np.zeros_like(net.acts), net.layout, ACTS)
        return float(np.mean(out.argmax(1) == yt))

    runs = {"1 thread": [], "2 threads (Hogwild)": []}
    acc = {"1 thread": [], "2 threads (Hogwild)": []}
    for r in range(args.rounds):
        order = np.random.default_rng(r).permutation(len(X))[:n]
        net = FastMLP(kernels, Ws, bs, np.float32)
        tic = time.perf_counter()
        net.train(X, Y, y, order, LR)
        runs["1 thread"].append(n / (time.perf_counter() - tic))
        acc["1 thread"].append(accuracy(net))

        net = FastMLP(kernels, Ws, bs, np.float32)
        half = n // 2
        views = []
        for part in (order[:half], order[half:]):
            w = FastMLP(kernels, Ws, bs, np.float32)
            w.params = net.params  # shared, racing updates
            views.append((w, part))
        threads = [threading.Thread(target=w.train, args=(X, Y, y, part, LR)) for w, part in views]
        tic = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        runs["2 threads (Hogwild)"].append(n / (time.perf_counter() - tic))
        acc["2 threads (Hogwild)"].append(accuracy(net))
    out = {k: dict(samples_per_s=stats(v), test_accuracy_after_one_epoch=stats(acc[k]))
           for k, v in runs.items()}
    out["speedup"] = stats([a / b for a, b in zip(runs["2 threads (Hogwild)"], runs["1 thread"])])
    for k in runs:
        log(f"  {k}: {statistics.median(runs[k]):,.0f}/s, test accuracy "
            f"{statistics.median(acc[k]):.4f}")
    log(f"  Hogwild speed-up {out['speedup']['median']:.2f}x")
    return out


# ------------------------------------------------------------------------------- main


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer samples and batch sizes")
    ap.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 5, quick 3)")
    ap.add_argument("--out", default=os.path.join(HERE, "results", "latest.json"))
    ap.add_argument("--torch-compile", action="store_true", help="also time torch.compile")
    ap.add_argument("--only", default="speed,batch,compile,memory,progress,hogwild,bound",
                    help="comma-separated sections to run (speed, batch, compile, memory, "
                         "progress, hogwild, bound)")
    ap.add_argument("--merge", action="store_true",
                    help="keep the sections of --out that this run does not redo")
    args = ap.parse_args(argv)
    args.rounds = args.rounds or (3 if args.quick else 5)
    sections = set(args.only.split(","))
    known = {"speed", "batch", "compile", "memory", "progress", "hogwild", "bound"}
    if sections - known:
        ap.error(f"unknown section(s) {sorted(sections - known)}; choose from {sorted(known)}")

    def log(msg):
        print(msg, flush=True)

    report = dict(command="python bench/run.py " + " ".join(argv if argv is not None else sys.argv[1:]),
                  date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                  machine=machine(), workload=dict(sizes=SIZES, activation="relu",
                                                   output="softmax+cross-entropy", lr=LR,
                                                   data="MNIST train (60000 x 784, [0, 1])"),
                  rounds=args.rounds)
    log(f"machine: {report['machine']['cpu']} (LLVM: {report['machine']['llvm_cpu']}), "
        f"{report['machine']['cpus']} CPUs")
    if "speed" in sections:
        for dt in ("float32", "float64"):
            log(f"[speed {dt}] batch size 1, interleaved rounds")
            report[f"speed_{dt}"] = check_and_time(dt, args, log)
    if "batch" in sections:
        for dt in ("float32", "float64"):
            log(f"[batch sizes {dt}]")
            report[f"batch_sizes_{dt}"], report[f"batch_vs_jax_{dt}"] = batch_sweep(dt, args, log)
    if "compile" in sections:
        log("[compile]")
        report["compile"] = compile_times(args, log)
    if "memory" in sections:
        log("[memory]")
        report["memory"] = memory(args, log)
    if "progress" in sections:
        log("[progress]")
        report["progress"] = progress_cost(args, log)
    if "hogwild" in sections:
        log("[hogwild]")
        report["hogwild"] = hogwild(args, log)
    if "bound" in sections:
        log("[bound] bandwidth probe and per-sample traffic (bench/bandwidth.py)")
        report["bound"] = bandwidth.run(quick=args.quick, log=log)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    if args.merge and os.path.exists(args.out):
        # a partial run (--only) replaces its own sections and keeps the others; section_runs
        # says which run each section came from
        meta = ("command", "date", "machine", "workload", "rounds", "section_runs")
        with open(args.out) as f:
            old = json.load(f)
        origin = old.get("section_runs", {})
        for key in old:
            if key not in meta and key not in report:
                report[key] = old[key]
                origin.setdefault(key, dict(command=old.get("command"), date=old.get("date")))
        for key in report:
            if key not in meta and key not in old or key not in meta and report[key] is not old[key]:
                origin[key] = dict(command=report["command"], date=report["date"])
        report["section_runs"] = origin
    with open(args.out, "w") as f:
        json.dump(report, f, indent=1, default=str)
    log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
