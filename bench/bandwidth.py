"""Bandwidth probe and the per-sample traffic bound for MNIST 784-200-200-10.

    python bench/bandwidth.py [--quick] [--repeats N] [--out FILE.json]

Per-sample SGD on MNIST moves weight rows between L2 and L1; its speed is bounded by how fast
one core moves them. This script measures, on THIS machine and one core, the rates of the access
patterns the kernels use (float32 and float64), with working sets chosen from the cache sizes
the OS reports (/sys/devices/system/cpu/cpu0/cache):

- stream: the rows of a W0-sized matrix added into an L1-resident vector, four rows per pass,
  in row order (the forward's ``out += x_i * W[i]``, blocked as fastmlp's; bytes = rows read),
- update L2, aligned / unaligned: ``W[r] -= s * v`` on random rows of a W0-sized matrix (bytes =
  row read + row written); aligned = row stride padded to a multiple of 64 bytes and a 64-byte
  aligned base, unaligned = plain 200-element rows starting 32 bytes past a cache line (float32:
  every other row straddles cache lines, as in fastmlp's flat parameter buffer; float64: all do),
- update L1: the same on a set of rows filling half the L1d,
- update, 64 rows: the same on 64 rows of a W1-sized matrix (hidden layer 1's typical active
  rows; 51 KB in float32, more than a 32 KiB L1d).

The patterns of both dtypes and fastmlp's own batch-1 epoch (train_epoch, float32 and
float64) are timed round-robin, several rounds, the starting one rotating: every round sees the
same machine (it is shared and noisy), and each rate is the median (min–max) over the rounds.
Then the bytes the exact per-sample
algorithm must move, measured on MNIST with a network trained for one epoch
(``MLPClassifier()`` defaults), averaged over 10,000 consecutive samples of a shuffled epoch:

- W0: the rows of this sample's non-zero pixels are read (forward) and the rows of the previous
  sample's non-zero pixels are written (layer 0's update is deferred into the next forward), so
  |prev| rows are updated (read + write) and |this \\ prev| rows only read;
- W1: the active hidden-1 units' rows are read in the forward, and read + written in the
  backward;
- W2 (10-element rows, in L1): the active hidden-2 units' rows read, then read + written.

Charging each at its measured rate gives microseconds per sample and the bound in samples/s:
"bound" with aligned W0 rows and W1's backward at the L1 rate (what a kernel could reach with
padded rows and W1's rows kept in L1), "bound, unpadded rows" with plain (unaligned) W0 rows and
W1's backward at the 64-row rate. Not charged: the input row (3 KB, prefetched from memory),
biases and activations (in L1), arithmetic. Both are bounds from memory traffic only. The bound
and fastmlp's fraction of it are computed per round (paired) and summarised as medians.
"""

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
from numba import njit

from fastmlp.kernels.vector import _vforward_rows, _vupdate

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from machine_info import cache_sizes, machine  # noqa: E402

N_IN, N_H1, N_H2, N_OUT = 784, 200, 200, 10
LINE = 64


# ------------------------------------------------------------------------------- kernels


def make_kernels(ncols):
    """The two probe kernels for rows of `ncols` elements. ncols is a compile-time constant (a
    closure variable): LLVM then knows the trip count and vectorises the whole row, tail
    included, as fastmlp's kernels would with their sizes known."""

    @njit(nogil=True)
    def stream_rows(W, rows, acc, reps):
        # acc[:ncols] += four rows per pass (the forward's out += x_i * W[i], blocked by 4):
        # every row is read once, acc stays in L1
        m = rows.shape[0] - rows.shape[0] % 4
        for _ in range(reps):
            for k in range(0, m, 4):
                r0 = W[rows[k]]
                r1 = W[rows[k + 1]]
                r2 = W[rows[k + 2]]
                r3 = W[rows[k + 3]]
                for j in range(ncols):
                    acc[j] = acc[j] + r0[j] + r1[j] + r2[j] + r3[j]
        return acc[0]

    @njit(nogil=True)
    def update_rows(W, rows, scales, v, reps):
        # W[r, :ncols] -= s * v for every (r, s), reps times: each row read and written once
        for _ in range(reps):
            for k in range(rows.shape[0]):
                row = W[rows[k]]
                s = scales[k]
                for j in range(ncols):
                    row[j] -= s * v[j]

    return stream_rows, update_rows


@njit(nogil=True)
def stream_rows_vector(W, rows, acc, ones, reps):
    # acc += 1 * W[i] for every listed row, with fastmlp's register-blocked vector forward
    # (whole 64-byte vectors, acc held in registers): every row is read once per rep
    for _ in range(reps):
        _vforward_rows(acc, ones, rows, rows.shape[0], W)
    return acc[0]


@njit(nogil=True)
def update_rows_vector(W, rows, scales, v, reps):
    # W[r] -= s * v for every (r, s), with fastmlp's vector row update: read and written once
    for _ in range(reps):
        for k in range(rows.shape[0]):
            _vupdate(W, rows[k], scales[k], v)


# ------------------------------------------------------------------------------- helpers


def matrix(n_rows, ncols, dtype, aligned, offset=32):
    """(n_rows, stride) array: aligned = stride padded to whole cache lines and a 64-byte aligned
    base; else stride = ncols and the base `offset` bytes past a cache line."""
    dtype = np.dtype(dtype)
    if aligned:
        per_line = LINE // dtype.itemsize
        stride, off = -(-ncols // per_line) * per_line, 0
    else:
        stride, off = ncols, offset
    nbytes = n_rows * stride * dtype.itemsize
    buf = np.zeros(nbytes + 2 * LINE + off, np.uint8)
    start = (-buf.ctypes.data) % LINE + off
    W = buf[start:start + nbytes].view(dtype).reshape(n_rows, stride)
    W[...] = np.random.default_rng(0).standard_normal(W.shape) * 0.01
    return W


def random_groups(n_rows, group, n_groups, rng):
    """n_groups groups of `group` distinct random rows, each sorted (the kernels walk a sample's
    non-zero rows in index order), concatenated."""
    group = min(group, n_rows)
    return np.concatenate([np.sort(rng.choice(n_rows, group, replace=False))
                           for _ in range(n_groups)]).astype(np.int64)


def calibrate(fn, target_s):
    """reps such that fn(reps) lasts about target_s (after a warm-up / compile call)."""
    fn(1)
    reps = 1
    while True:
        tic = time.perf_counter()
        fn(reps)
        dt = time.perf_counter() - tic
        if dt >= target_s / 4 or reps >= 1 << 24:
            break
        reps *= 4
    return max(1, int(reps * target_s / max(dt, 1e-9)))


def stats(values):
    return dict(median=statistics.median(values), min=min(values), max=max(values), n=len(values))


# ------------------------------------------------------------------------------- probe


def probe(dtype, caches):
    """The patterns for one dtype: a list of dict(name, bytes (per rep), fn(reps), info)."""
    dtype = np.dtype(dtype)
    it = dtype.itemsize
    L1 = caches.get("L1d", 32 * 1024)
    L2 = caches.get("L2", 512 * 1024)
    rng = np.random.default_rng(1)
    row_bytes = N_H1 * it
    padded_row = -(-row_bytes // LINE) * LINE
    # a W0-sized matrix if it fits in 3/4 of L2 (room for the rest), else as many rows as do
    n_l2 = int(min(N_IN, (0.75 * L2) // padded_row))
    n_l1 = max(2, int((0.5 * L1) // padded_row))
    v = (rng.standard_normal(N_H1) * 0.01).astype(dtype)
    acc = np.zeros(N_H1, dtype)
    # aligned rows are padded to whole 64-byte vectors and probed with fastmlp's own vector row
    # operations (no alias checks, no remainder loop): the machine's rate for the pattern, not
    # the rate of a naive loop; unaligned 200-element rows keep the plain loops
    stride = padded_row // it
    v_pad = np.zeros(stride, dtype)
    v_pad[:N_H1] = v
    acc_pad = np.zeros(stride, dtype)
    stream_rows, update_rows = make_kernels(N_H1)
    out = []

    # streaming read from L2: all rows of the W0-sized matrix in order, four per pass
    n_stream = n_l2 - n_l2 % 4
    W = matrix(n_l2, N_H1, dtype, aligned=True)
    rows = np.arange(n_stream, dtype=np.int64)
    out.append(dict(name="stream L2", bytes=n_stream * row_bytes,
                    fn=lambda reps, W=W: stream_rows_vector(W, rows, acc_pad,
                                                            np.ones(n_l2, dtype), reps),
                    info=dict(working_set_bytes=W.nbytes, rows=n_stream, row_bytes=row_bytes)))

    # row updates on random rows (sorted groups of 150) of the W0-sized matrix, aligned and not
    seq = random_groups(n_l2, 150, 64, rng)
    scales = (rng.choice([-1.0, 1.0], seq.shape[0]) * 1e-3).astype(dtype)
    for aligned in (True, False):
        W = matrix(n_l2, N_H1, dtype, aligned=aligned)
        out.append(dict(name="update L2, aligned rows" if aligned else "update L2, unaligned rows",
                        bytes=2 * seq.shape[0] * row_bytes,
                        fn=(lambda reps, W=W: update_rows_vector(W, seq, scales, v_pad, reps))
                        if aligned else (lambda reps, W=W: update_rows(W, seq, scales, v, reps)),
                        info=dict(working_set_bytes=W.nbytes, rows=n_l2, row_bytes=row_bytes,
                                  row_stride_bytes=W.strides[0],
                                  base_mod_64=W.ctypes.data % LINE)))

    # row updates in L1: rows filling half the L1d
    W = matrix(n_l1, N_H1, dtype, aligned=True)
    seq1 = rng.integers(0, n_l1, 4096).astype(np.int64)
    scales1 = (rng.choice([-1.0, 1.0], seq1.shape[0]) * 1e-3).astype(dtype)
    out.append(dict(name="update L1", bytes=2 * seq1.shape[0] * row_bytes,
                    fn=lambda reps, W=W: update_rows_vector(W, seq1, scales1, v_pad, reps),
                    info=dict(working_set_bytes=W.nbytes, rows=n_l1, row_bytes=row_bytes)))

    # row updates on 64 rows of a W1-sized matrix (layer 1's active rows)
    W = matrix(N_H1, N_H1, dtype, aligned=True)
    active = np.sort(rng.choice(N_H1, 64, replace=False)).astype(np.int64)
    seq64 = np.concatenate([active[rng.permutation(64)] for _ in range(64)])
    scales64 = (rng.choice([-1.0, 1.0], seq64.shape[0]) * 1e-3).astype(dtype)
    out.append(dict(name="update 64 rows (W1 active)", bytes=2 * seq64.shape[0] * row_bytes,
                    fn=lambda reps, W=W: update_rows_vector(W, seq64, scales64, v_pad, reps),
                    info=dict(working_set_bytes=64 * W.strides[0], rows=64,
                              row_bytes=row_bytes)))
    return out


# ------------------------------------------------------------------------------- traffic


def traffic(n_samples=10000, log=print):
    """Average per-sample counts on MNIST after one epoch of MLPClassifier() defaults."""
    import fastmlp
    from fastmlp.datasets import load_mnist
    X, y = load_mnist()[:2]
    X = np.ascontiguousarray(X, np.float32)
    tic = time.perf_counter()
    model = fastmlp.MLPClassifier(epochs=1, random_state=0).fit(X, y)
    log(f"  trained MLPClassifier() for 1 epoch in {time.perf_counter() - tic:.1f} s "
        f"(including compile or cache load)")
    W0, W1, W2 = (np.asarray(W, np.float64) for W in model.coefs_)
    b0, b1, _ = (np.asarray(b, np.float64) for b in model.intercepts_)
    if W0.shape != (N_IN, N_H1) or W1.shape != (N_H1, N_H2) or W2.shape != (N_H2, N_OUT):
        raise RuntimeError(f"unexpected default network {[W.shape for W in model.coefs_]}")
    order = np.random.default_rng(3).permutation(len(X))[:n_samples + 1]
    Xo = X[order].astype(np.float64)
    nz = Xo != 0
    h1 = np.maximum(Xo @ W0 + b0, 0)
    h2 = np.maximum(h1 @ W1 + b1, 0)
    union = (nz[1:] | nz[:-1]).sum(1)  # sample k and k-1
    return dict(samples=n_samples,
                nonzero_pixels=float(nz[1:].sum(1).mean()),
                nonzero_pixels_previous=float(nz[:-1].sum(1).mean()),
                union_with_previous=float(union.mean()),
                active_hidden1=float((h1[1:] > 0).sum(1).mean()),
                active_hidden2=float((h2[1:] > 0).sum(1).mean()),
                network="MLPClassifier() defaults (784-200-200-10, lr 0.01), 1 epoch, seed 0")


TRAFFIC_KEYS = ("W0 rows updated (deferred; read + write)", "W0 rows only read",
                "W1 rows read in the forward", "W1 rows read + written in the backward",
                "W2 rows (read, then read + write)")

VARIANTS = {
    # padded (64-byte aligned) W0 rows; W1's active rows kept in L1 between forward and backward
    "bound": ("update L2, aligned rows", "stream L2", "stream L2", "update L1", "update L1"),
    # plain 200-element rows (the public layout, before the padded work copy); W1's 64 active
    # rows do not fit the L1d
    "bound, unpadded rows": ("update L2, unaligned rows", "stream L2", "stream L2",
                              "update 64 rows (W1 active)", "update L1"),
}


def bytes_per_sample(counts, dtype):
    it = np.dtype(dtype).itemsize
    rb, rb2 = N_H1 * it, N_OUT * it
    c = counts
    return dict(zip(TRAFFIC_KEYS, (
        2 * c["nonzero_pixels_previous"] * rb,
        (c["union_with_previous"] - c["nonzero_pixels_previous"]) * rb,
        c["active_hidden1"] * rb,
        2 * c["active_hidden1"] * rb,
        3 * c["active_hidden2"] * rb2)))


def us_per_sample(gbs, traffic_bytes, variant):
    """Microseconds per sample with every pattern at its rate (gbs: pattern -> GB/s)."""
    return sum(traffic_bytes[k] / gbs[p] / 1e3 for k, p in zip(TRAFFIC_KEYS, VARIANTS[variant]))


def run(quick=False, repeats=None, log=print):
    """The `bound` section of bench/run.py: rates, traffic, bound and fastmlp's share of it.

    All patterns of both dtypes and fastmlp's batch-1 train_epoch (float32 and float64) are
    timed round-robin, `repeats` rounds, the starting one rotating, so every round sees the same
    machine; the bound and fastmlp/bound are computed per round and summarised (median, min–max).
    """
    from run import LR, FastMLP, data, initial_weights, kernels
    repeats = repeats or (5 if quick else 15)
    target_s = 0.01 if quick else 0.03
    n_fast = 10000 if quick else 20000
    caches = cache_sizes()
    log(f"  caches per core: {caches or 'unknown (assuming L1d 32 KiB, L2 512 KiB)'}")
    counts = traffic(2000 if quick else 10000, log)
    log("  per sample: {nonzero_pixels:.0f} non-zero pixels, union with the previous sample "
        "{union_with_previous:.0f}, active hidden-1 {active_hidden1:.0f}, hidden-2 "
        "{active_hidden2:.0f}".format(**counts))
    items = []  # (dtype, name, bytes per rep or None for fastmlp, fn())
    Ws, bs = initial_weights()
    rng = np.random.default_rng(4)
    for dt in ("float32", "float64"):
        for p in probe(dt, caches):
            reps = calibrate(p["fn"], target_s)
            items.append(dict(dtype=dt, name=p["name"], bytes=p["bytes"] * reps,
                              fn=lambda f=p["fn"], r=reps: f(r), info=dict(p["info"], reps=reps)))
        X, Y, y = data(dt)
        net = FastMLP(kernels, Ws, bs, dt)
        net.train(X, Y, y, np.arange(1000), LR)  # compile / warm up

        def fast(net=net, X=X, Y=Y, y=y):
            net.train(X, Y, y, rng.permutation(len(X))[:n_fast], LR)
        items.append(dict(dtype=dt, name="fastmlp", bytes=None, fn=fast, info={}))
    runs = {(it["dtype"], it["name"]): [] for it in items}
    for r in range(repeats):
        for it in items[r % len(items):] + items[:r % len(items)]:
            tic = time.perf_counter()
            it["fn"]()
            dt_s = time.perf_counter() - tic
            key = (it["dtype"], it["name"])
            runs[key].append(n_fast / dt_s if it["bytes"] is None else it["bytes"] / dt_s / 1e9)
    out = dict(caches=caches, traffic=counts, repeats=repeats, fastmlp_samples_per_run=n_fast)
    for dt in ("float32", "float64"):
        names = [it["name"] for it in items if it["dtype"] == dt and it["bytes"] is not None]
        rates = {n: dict(stats(runs[(dt, n)]), **next(it["info"] for it in items
                                                     if it["dtype"] == dt and it["name"] == n))
                 for n in names}
        for n in names:
            s = rates[n]
            log(f"  {dt} {n}: {s['median']:.0f} GB/s ({s['min']:.0f}–{s['max']:.0f})")
        tb = bytes_per_sample(counts, dt)
        d = dict(rates_gb_s=rates, bytes_per_sample=tb, total_bytes_per_sample=sum(tb.values()))
        fast = runs[(dt, "fastmlp")]
        d["fastmlp_samples_per_s"] = stats(fast)
        for v in VARIANTS:
            per_round = [us_per_sample({n: runs[(dt, n)][r] for n in names}, tb, v)
                         for r in range(repeats)]
            sps = [1e6 / u for u in per_round]
            at_median = us_per_sample({n: rates[n]["median"] for n in names}, tb, v)
            d[v] = dict(charged_at=dict(zip(TRAFFIC_KEYS, VARIANTS[v])),
                        us_per_sample=stats(per_round), samples_per_s=stats(sps),
                        us_per_sample_at_median_rates=at_median,
                        samples_per_s_at_median_rates=1e6 / at_median,
                        fastmlp_fraction=stats([f / b for f, b in zip(fast, sps)]))
            q = d[v]
            log(f"  {dt} {v}: {q['us_per_sample']['median']:.2f} µs/sample "
                f"({q['us_per_sample']['min']:.2f}–{q['us_per_sample']['max']:.2f}) -> "
                f"{q['samples_per_s']['median']:,.0f} samples/s; fastmlp "
                f"{d['fastmlp_samples_per_s']['median']:,.0f}/s = "
                f"{100 * q['fastmlp_fraction']['median']:.0f}% of it (median of paired rounds, "
                f"{100 * q['fastmlp_fraction']['min']:.0f}–{100 * q['fastmlp_fraction']['max']:.0f}%)")
        log(f"  {dt}: {d['total_bytes_per_sample'] / 1e3:.0f} KB/sample")
        out[dt] = d
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats, shorter timings")
    ap.add_argument("--repeats", type=int, default=None, help="timed rounds (15; quick 5)")
    ap.add_argument("--out", default=None, help="also write the result as JSON here")
    args = ap.parse_args(argv)
    m = machine()
    print(f"machine: {m['cpu']} (LLVM: {m['llvm_cpu']}), affinity {m.get('affinity')}", flush=True)
    res = dict(command=" ".join(["python bench/bandwidth.py"] +
                                list(argv if argv is not None else sys.argv[1:])),
               machine=m, bound=run(args.quick, args.repeats, lambda s: print(s, flush=True)))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(res, f, indent=1)
        print(f"wrote {args.out}")
    return res


if __name__ == "__main__":
    main()
