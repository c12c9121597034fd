"""Property-based tests (hypothesis): random architectures, activations, output/loss pairs,
dtypes, batch sizes, clipping and data (with all-zero rows); a whole epoch of the compiled
``train_epoch`` and ``predict`` must equal the NumPy reference within helpers.TOL, and the
estimator must give identical weights for every spelling of the same X.

Settings: derandomize=True (CI reproducible: the same examples every run), no deadline (the
first example of a dtype compiles), no example database written to disk.
"""

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from fastmlp import MLPClassifier, MLPRegressor, kernels, reference
from helpers import VALID_OUTPUTS, make_problem, run_epoch, tol

# FASTMLP_PROPERTY_EXAMPLES=5000 for a deep local run (e.g. with NUMBA_BOUNDSCHECK=1)
EXAMPLES = int(os.environ.get("FASTMLP_PROPERTY_EXAMPLES", "150"))
settings.register_profile("fastmlp", max_examples=EXAMPLES, deadline=None, derandomize=True,
                          database=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow,
                                                 HealthCheck.data_too_large])
PROFILE = settings.get_profile("fastmlp")

HIDDEN = ["identity", "relu", "sigmoid", "tanh"]
SOLVER_OPTIONS = [{}, {}, {}, dict(momentum=0.9, nesterov=False), dict(momentum=0.5),
                  dict(solver="adam"), dict(solver="adam", beta_1=0.5, beta_2=0.9)]


def in_float64(p):
    """Problem p in float64. Adam is compared in float64 only: its step is invariant to the
    gradient's scale, so a gradient at float32's rounding-noise level (a true 0 or a vanishing
    gradient, summed in another order by the two backends) is stepped by about +-lr either way,
    and float32 trajectories can differ by O(lr) in such parameters, which no elementwise
    tolerance bounds (measured: ~0.35% of random float32 problems at lr 0.001-0.01). The
    float32 Adam kernels are checked on well-conditioned problems in tests/test_solvers.py."""
    q = {k: (v.astype(np.float64) if isinstance(v, np.ndarray) and v.dtype.kind == "f" else v)
         for k, v in p.items()}
    q["dtype"] = np.dtype(np.float64)
    return q


@st.composite
def problems(draw):
    n_hidden = draw(st.integers(1, 3))
    sizes = ((draw(st.integers(1, 12)),) + tuple(draw(st.integers(1, 12)) for _ in range(n_hidden))
             + (draw(st.integers(1, 6)),))
    output, loss = draw(st.sampled_from(VALID_OUTPUTS))
    if output == "softmax":
        assume(sizes[-1] >= 2)  # a one-unit softmax is the constant 1
    hidden = draw(st.sampled_from(HIDDEN))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    n = draw(st.integers(1, 20))
    seed = draw(st.integers(0, 2**32 - 1))
    p = make_problem(sizes, hidden=hidden, output=output, loss=loss, dtype=dtype, n=n,
                     seed=seed, sparse=draw(st.booleans()))
    zero_rows = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    p["X"][np.array(zero_rows, dtype=bool)] = 0
    # weighted towards the defaults (batch size 1, no decay, no clipping): the fast paths the
    # kernels specialise for must be drawn often, not only their general fall-backs
    options = dict(
        batch_size=draw(st.one_of(st.just(1), st.just(1), st.integers(1, n))),
        lr=draw(st.sampled_from([0.001, 0.05, 0.3])),
        alpha=draw(st.sampled_from([0.0, 0.0, 1e-3, 0.05])),
        clip_value=draw(st.sampled_from([0.0, 0.0, 0.05, 1.0])),
        clip_norm=draw(st.sampled_from([0.0, 0.0, 0.0, 0.1, 10.0])),
    )
    # the solvers (plain SGD most often: its fast paths), and sample weights (zeros included)
    options.update(draw(st.sampled_from(SOLVER_OPTIONS)))
    if options.get("solver") == "adam":
        p = in_float64(p)  # see in_float64
        dtype = np.float64
    if draw(st.booleans()):
        weights = np.random.default_rng(seed + 2).uniform(0, 2, n)
        weights[np.random.default_rng(seed + 3).random(n) < 0.2] = 0
        options["sample_weight"] = weights
    order = np.random.default_rng(seed).permutation(n)
    if draw(st.booleans()):  # repeats and omissions are allowed in an order
        order = np.random.default_rng(seed + 1).integers(0, n, draw(st.integers(1, 2 * n)))
    return p, order, options, (sizes, hidden, output, loss, np.dtype(dtype).name)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # diverging draws
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@PROFILE
@given(problems())
def test_train_epoch_kernel_equals_reference(problem):
    p, order, opt, desc = problem
    dtype = p["dtype"]
    args = (opt["lr"], opt["alpha"], opt["clip_value"], opt["clip_norm"], opt["batch_size"])
    solver = {k: v for k, v in opt.items() if k not in ("lr", "alpha", "clip_value",
                                                        "clip_norm", "batch_size")}
    (rl, rc, rn), ref = run_epoch(reference, p, order, *args, **solver)
    (cl, cc, cn), comp = run_epoch(kernels, p, order, *args, **solver)
    assert cn == rn, desc
    if rn < len(order):  # diverged: both stop at the same sample, weights are not compared
        return
    assert cc == rc, desc
    np.testing.assert_allclose(cl, rl, **tol(dtype, "epoch"), err_msg=str(desc))
    for name in ("params", "velocity", "sq_avg"):
        np.testing.assert_allclose(comp[name], ref[name], **tol(dtype, "epoch"),
                                   err_msg=f"{name} {desc} {solver}")
    # the inputs are read, never written
    np.testing.assert_array_equal(comp["X"], p["X"])
    np.testing.assert_array_equal(comp["Y"], p["Y"])
    np.testing.assert_array_equal(comp["layout"], p["layout"])


@PROFILE
@given(problems())
def test_predict_kernel_equals_reference(problem):
    p, _, _, desc = problem
    dtype = p["dtype"]
    n_out = int(p["layout"][-1, 1])
    outs = []
    for backend in (reference, kernels):
        out = np.full((p["X"].shape[0], n_out), np.nan, dtype)
        acts = np.zeros_like(p["acts"])
        backend.predict(out, p["X"].copy(), p["params"].copy(), acts, p["layout"],
                        p["activations"])
        outs.append(out)
    assert np.isfinite(outs[1]).all(), desc  # every row written
    np.testing.assert_allclose(outs[1], outs[0], **tol(dtype, "step"), err_msg=str(desc))


SPELLINGS = ["float32", "float64", "uint8", "int64", "list", "fortran", "strided", "read_only",
             "big_endian"]


def spell(X, how):
    if how == "list":
        return X.astype(int).tolist()
    if how == "fortran":
        return np.asfortranarray(X)
    if how == "strided":
        big = np.zeros((X.shape[0], X.shape[1] * 2), X.dtype)
        big[:, ::2] = X
        return big[:, ::2]
    if how == "read_only":
        X = X.copy()
        X.flags.writeable = False
        return X
    if how == "big_endian":
        return X.astype(">f8")
    return X.astype(how)


@settings(PROFILE, max_examples=max(25, EXAMPLES // 6))
@given(n=st.integers(2, 15), n_features=st.integers(1, 6), seed=st.integers(0, 10**6),
       how=st.sampled_from(SPELLINGS), batch_size=st.integers(1, 4),
       dtype=st.sampled_from(["float32", "float64"]), regress=st.booleans())
def test_any_spelling_of_X_gives_identical_weights_and_is_left_alone(n, n_features, seed, how,
                                                                    batch_size, dtype, regress):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 3, (n, n_features)).astype(np.float32)  # exact in every dtype
    y = np.arange(n) % 2 if not regress else rng.standard_normal(n)
    Xs = spell(X, how)
    snapshot = np.array(Xs, copy=True)
    make = MLPRegressor if regress else MLPClassifier
    kw = dict(hidden_layer_sizes=(4,), epochs=2, batch_size=batch_size, dtype=dtype,
              random_state=seed, learning_rate=0.05)
    clean = make(**kw).fit(np.ascontiguousarray(X, dtype), y)
    odd = make(**kw).fit(Xs, y)
    np.testing.assert_array_equal(odd.params_, clean.params_)
    np.testing.assert_array_equal(odd.predict(Xs), clean.predict(X))
    np.testing.assert_array_equal(np.asarray(Xs), snapshot, strict=True)
    if isinstance(Xs, np.ndarray):
        assert Xs.flags.writeable == (how != "read_only")


def test_the_strategy_reaches_every_output_and_batch_mode():
    """Guard: the drawn problems cover what they claim (so a pass means something)."""
    seen = set()
    fused_default = []

    @settings(PROFILE, max_examples=300)  # 7 output/loss pairs since the multilabel one
    @given(problems())
    def collect(problem):
        p, order, opt, (sizes, hidden, output, loss, dt) = problem
        seen.add(("output", output, loss))
        seen.add(("hidden", hidden))
        seen.add(("layers", len(sizes) - 2))
        seen.add(("dtype", dt))
        seen.add(("batch", "1" if opt["batch_size"] == 1 else
                  "full" if opt["batch_size"] >= len(order) else "mini"))
        plain = opt["alpha"] == 0 and opt["clip_norm"] == 0
        if plain and opt["batch_size"] == 1 and opt["clip_value"] == 0:
            fused_default.append(1)  # the default, fastest path
        if plain and 1 < opt["batch_size"] < len(order) and opt["clip_value"] > 0:
            seen.add(("sparse_batches_clipped",))
        if (p["X"] == 0).all(axis=1).any():
            seen.add(("zero_row",))
        seen.add(("solver", opt.get("solver", "sgd"), opt.get("momentum", 0) > 0))
        seen.add(("weighted", "sample_weight" in opt))

    collect()
    for output, loss in VALID_OUTPUTS:
        assert ("output", output, loss) in seen
    for h in HIDDEN:
        assert ("hidden", h) in seen
    assert {("layers", k) for k in (1, 2, 3)} <= seen
    assert {("dtype", "float32"), ("dtype", "float64")} <= seen
    assert {("batch", "1"), ("batch", "mini"), ("batch", "full"), ("zero_row",)} <= seen
    assert ("sparse_batches_clipped",) in seen
    assert {("solver", "sgd", False), ("solver", "sgd", True), ("solver", "adam", False),
            ("weighted", True), ("weighted", False)} <= seen
    assert len(fused_default) >= 10, len(fused_default)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@settings(PROFILE, max_examples=max(30, EXAMPLES // 5))
@given(n_in=st.integers(100, 300), hidden_sizes=st.lists(st.integers(1, 12), max_size=2),
       n_out=st.integers(2, 6), hidden=st.sampled_from(HIDDEN),
       output_loss=st.sampled_from(VALID_OUTPUTS), dtype=st.sampled_from([np.float32, np.float64]),
       n=st.integers(2, 12), batch_size=st.integers(1, 3), seed=st.integers(0, 2**32 - 1),
       solver=st.sampled_from(SOLVER_OPTIONS))
def test_wide_inputs_and_an_epoch_split_over_chunks(n_in, hidden_sizes, n_out, hidden,
                                                    output_loss, dtype, n, batch_size, seed,
                                                    solver):
    """Inputs wider than the kernels' 128-row blocks, and an epoch handed over in two
    train_epoch calls (a chunk boundary; the optimizer state carried over) == one call == the
    reference."""
    sizes = (n_in, *hidden_sizes, n_out)
    p = make_problem(sizes, hidden=hidden, output=output_loss[0], loss=output_loss[1],
                     dtype=dtype, n=n, seed=seed, sparse=True)
    p["X"][::3] = 0
    if solver.get("solver") == "adam":
        p = in_float64(p)  # see in_float64
        dtype = np.float64
    order = np.random.default_rng(seed).permutation(n)
    B = min(batch_size, n)
    lr = 0.005 if solver.get("solver") == "adam" else 0.05
    (_, _, rn), ref = run_epoch(reference, p, order, lr, batch_size=B, **solver)
    (_, _, cn), comp = run_epoch(kernels, p, order, lr, batch_size=B, **solver)
    assert cn == rn
    if rn < n:
        return
    np.testing.assert_allclose(comp["params"], ref["params"], **tol(dtype, "epoch"))
    k = max(B, (n // 2) // B * B)  # split at a batch boundary, as the estimator's chunks do
    _, first = run_epoch(kernels, p, order[:k], lr, batch_size=B, **solver)
    _, second = run_epoch(kernels, first, order[k:], lr, batch_size=B, **solver)
    lazy = B == 1 and solver.get("momentum", 0) > 0 and solver.get("solver") != "adam"
    for name in ("params", "velocity", "sq_avg", "step"):
        if lazy:  # each call ends by catching up the lazy rows: a different rounding
            np.testing.assert_allclose(second[name], comp[name], **tol(dtype, "epoch"))
        else:  # same kernel: exact
            np.testing.assert_array_equal(second[name], comp[name])
