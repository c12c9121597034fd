"""scipy.sparse input through the estimators (fastmlp/sparse.py, kernels/csr.py).

Where the weights are bit-identical to a dense fit of the same data and seed, and why:

- Bit-identical whenever the dense fit runs the general mini-batch epoch
  (sgd.train_epoch_batches) or the lazy per-sample momentum epoch: mini-batches with a weight
  penalty (alpha > 0), any clip_norm, batches over 1024, every fit with momentum or Adam. The
  sparse fit runs those same epochs then, on the same rows in the same order (a canonical CSR
  row lists exactly the dense row's non-zero columns, ascending), so every sum is the same.
- Only within tolerance at batch size 1 without clip_norm, and for mini-batches without a
  penalty or clip_norm: there the dense fit takes its two fast epochs on the padded work copy,
  which compute the hidden layers' dinp dot products (W[i] . dz) in another order than the
  public-buffer code the sparse fit runs (per sample: the fused backward + step of
  network_backward_sgd; mini-batches: the general epoch, whose step is also lr * (x * dz / B)
  rather than the fast epoch's). Rounding differs in the last bits, and compounds over an
  epoch; the two fits agree to float64 rounding (tested in float64 below). Without a hidden
  layer there is no dinp and the per-sample fits are bit-identical (tests/test_csr.py).
- Predictions of one model are bit-identical for sparse and dense X (both forwards add the
  non-zero rows in ascending order, unreordered).
"""

import json
import os
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp

from fastmlp import DivergenceError, MLPClassifier, MLPRegressor, kernels, reference
from helpers import blobs



def sparse_data(n=120, d=40, density=0.2, n_classes=3, seed=0):
    """(dense X with ~80% zeros, y): classes learnable from the stored values."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 1, (n, d)) * (rng.random((n, d)) < density)
    y = np.arange(n) % n_classes
    X[np.arange(n), y] += 1.0  # a column per class
    X[::9] = 0  # rows with no stored entry
    return X, y


X, Y = sparse_data()
XS = sp.csr_matrix(X)

BIT_IDENTICAL = [dict(batch_size=8, alpha=1e-3), dict(batch_size=8, penalty="l1", alpha=1e-3),
                 dict(batch_size=16, clip_norm=0.5),
                 dict(batch_size=1, alpha=1e-3, clip_norm=1.0),
                 dict(batch_size=8, momentum=0.9, nesterovs_momentum=False),
                 dict(batch_size=1, solver="adam", learning_rate=0.001),
                 dict(batch_size=8, solver="adam", learning_rate=0.001, alpha=1e-3)]
# (batch size 1 with clip_norm alone: the dense fit takes the per-sample clip_norm epoch on
# the padded copy, kernels/clipnorm.py; momentum at batch size 1: dense X trains in momentum's
# (q, u) form, kernels/lazy.py, CSR rows in sgd._epoch_momentum_lazy)
CLOSE = [dict(batch_size=1), dict(batch_size=1, alpha=1e-3), dict(batch_size=8),
         dict(batch_size=8, clip_value=0.1), dict(batch_size=1, clip_norm=1.0),
         dict(batch_size=1, momentum=0.9)]


def fit_both(cls, y, **kw):
    params = dict(hidden_layer_sizes=(16, 8), epochs=3, learning_rate=0.05, random_state=0)
    params.update(kw)
    return cls(**params).fit(X, y), cls(**params).fit(XS, y)


@pytest.mark.parametrize("kw", BIT_IDENTICAL, ids=str)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sparse_fit_is_bit_identical_where_the_dense_fit_runs_the_general_epoch(kw, dtype):
    dense, sparse = fit_both(MLPClassifier, Y, dtype=dtype, **kw)
    np.testing.assert_array_equal(sparse.params_, dense.params_)
    assert sparse.loss_curve_ == dense.loss_curve_
    assert sparse.accuracy_curve_ == dense.accuracy_curve_
    reg_dense, reg_sparse = fit_both(MLPRegressor, Y.astype(float), dtype=dtype, **kw)
    np.testing.assert_array_equal(reg_sparse.params_, reg_dense.params_)


@pytest.mark.parametrize("kw", CLOSE, ids=str)
def test_sparse_fit_is_close_where_the_dense_fit_takes_a_fast_epoch(kw):
    dense, sparse = fit_both(MLPClassifier, Y, dtype="float64", **kw)
    np.testing.assert_allclose(sparse.params_, dense.params_, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(sparse.loss_curve_, dense.loss_curve_, rtol=1e-9)


def test_predictions_of_one_model_are_bit_identical_for_sparse_and_dense_X():
    clf = MLPClassifier(hidden_layer_sizes=(16,), epochs=2, random_state=0).fit(X, Y)
    np.testing.assert_array_equal(clf.predict_proba(XS), clf.predict_proba(X))
    np.testing.assert_array_equal(clf.predict(XS), clf.predict(X))
    assert clf.score(XS, Y) == clf.score(X, Y)
    reg = MLPRegressor(hidden_layer_sizes=(16,), epochs=2, random_state=0).fit(XS, Y * 1.0)
    np.testing.assert_array_equal(reg.predict(XS), reg.predict(X))
    assert reg.score(XS, Y * 1.0) == reg.score(X, Y * 1.0)
    # the reference backend takes sparse X too, and agrees
    ref = MLPClassifier(hidden_layer_sizes=(16,), epochs=2, random_state=0, backend="reference")
    ref.fit(XS, Y)
    np.testing.assert_allclose(ref.params_, MLPClassifier(
        hidden_layer_sizes=(16,), epochs=2, random_state=0).fit(XS, Y).params_, rtol=1e-4,
        atol=1e-5)


FORMATS = ["csc", "coo", "lil", "dok", "bsr", "dia"]


@pytest.mark.filterwarnings("ignore::scipy.sparse.SparseEfficiencyWarning")  # dia of random X
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", [sp.csr_matrix, sp.csr_array])
def test_every_sparse_format_and_sparse_arrays_train_as_csr(fmt, kind):
    expected = MLPClassifier(hidden_layer_sizes=(8,), epochs=1, random_state=0).fit(XS, Y)
    Xf = kind(X).asformat(fmt)
    m = MLPClassifier(hidden_layer_sizes=(8,), epochs=1, random_state=0).fit(Xf, Y)
    np.testing.assert_array_equal(m.params_, expected.params_)
    np.testing.assert_array_equal(m.predict_proba(Xf), expected.predict_proba(XS))


def messy(X, seed=0):
    """X as a CSR matrix with unsorted indices, duplicate entries (a value split in two
    exact halves), explicit zeros and int64 index arrays."""
    rng = np.random.default_rng(seed)
    data, indices, indptr = [], [], [0]
    for row in X:
        cols = np.flatnonzero(row)[::-1]
        vals = row[cols]
        dup = cols[: len(cols) // 2]
        data += [vals / np.where(np.isin(cols, dup), 2, 1), row[dup] / 2, [0.0]]
        indices += [cols, dup, [rng.integers(X.shape[1])]]
        indptr.append(indptr[-1] + len(cols) + len(dup) + 1)
    fix = lambda parts, t: np.concatenate([np.asarray(p, t) for p in parts])  # noqa: E731
    M = sp.csr_matrix((fix(data, np.float64), fix(indices, np.int64), np.array(indptr)),
                      shape=X.shape)
    assert M.indices.dtype == np.int64 or M.indices.max() < 2**31
    return M


def test_unsorted_duplicate_and_zero_entries_give_the_canonical_weights_and_stay_untouched():
    M = messy(X)
    assert not M.has_canonical_format
    before = (M.data.copy(), M.indices.copy(), M.indptr.copy())
    for kw in (dict(batch_size=1), dict(batch_size=8, alpha=1e-3)):
        a = MLPClassifier(hidden_layer_sizes=(8,), epochs=2, random_state=0, **kw).fit(M, Y)
        b = MLPClassifier(hidden_layer_sizes=(8,), epochs=2, random_state=0, **kw).fit(XS, Y)
        np.testing.assert_array_equal(a.params_, b.params_)
        np.testing.assert_array_equal(a.predict_proba(M), b.predict_proba(XS))
    for arr, old in zip((M.data, M.indices, M.indptr), before):
        np.testing.assert_array_equal(arr, old)
    # a canonical float32 CSR of the model's dtype is used as it is, not modified either
    C = sp.csr_matrix(X.astype(np.float32))
    data = C.data.copy()
    MLPClassifier(hidden_layer_sizes=(8,), epochs=1, random_state=0).fit(C, Y)
    np.testing.assert_array_equal(C.data, data)


@pytest.mark.parametrize("value, match", [
    (np.nan, r"contains NaN or infinity \(first at row 5, column 7\)"),
    (np.inf, r"contains NaN or infinity \(first at row 5, column 7\)"),
    (1e300, r"too large for dtype float32 \(first at row 5, column 7"),
])
def test_non_finite_sparse_data_is_refused_naming_row_and_column(value, match, no_kernel_calls):
    M = XS.copy().tolil()
    M[5, 7] = value
    M = M.tocsr()
    with pytest.raises(ValueError, match=match):
        MLPClassifier(epochs=1).fit(M, Y)
    m = MLPClassifier(hidden_layer_sizes=(4,), epochs=1, dtype="float64")
    if value != 1e300:
        with pytest.raises(ValueError, match=match):
            m.fit(M, Y)


def test_repeated_entries_whose_sum_overflows_are_refused_like_dense_values(no_kernel_calls):
    # each entry fits float32 (3e38 < 3.4e38), their sum does not: the dense X is refused, so
    # must the sparse one be (scipy sums the duplicates after the cast)
    dup = sp.csr_matrix((np.array([1.0, 3e38, 3e38]), np.array([1, 4, 4]),
                         np.array([0, 1, 1, 3] + [3] * 7)), shape=(10, 40))
    assert not dup.has_canonical_format
    with pytest.raises(ValueError, match=r"too large for dtype float32 \(first at row 2, column "
                                         r"4: the sum of its repeated entries\)"):
        MLPClassifier(epochs=1).fit(dup, Y[:10])
    with pytest.raises(ValueError, match="too large for dtype float32"):
        MLPClassifier(epochs=1).fit(dup.toarray(), Y[:10])
    MLPClassifier(hidden_layer_sizes=(4,), epochs=1, dtype="float64").fit(dup, Y[:10])


def test_wrong_number_of_columns_and_bad_matrices_are_refused():
    m = MLPClassifier(hidden_layer_sizes=(8,), epochs=1, random_state=0).fit(XS, Y)
    narrow = sp.csr_matrix(X[:, :-1])
    for call in (m.predict, m.predict_proba, lambda A: m.score(A, Y),
                 lambda A: m.partial_fit(A, Y)):
        with pytest.raises(ValueError, match=r"X has 39 features, but MLPClassifier is "
                                             r"expecting 40 features"):
            call(narrow)
    with pytest.raises(ValueError, match="validation_data X_val has 39 features"):
        MLPClassifier(epochs=1).fit(XS, Y, validation_data=(narrow, Y))
    bad = sp.csr_matrix(X)
    bad.indices = bad.indices.copy()
    bad.indices[3] = 40  # scipy does not check this unless asked
    with pytest.raises(ValueError, match=r"column index outside 0\.\.39"):
        m.predict(bad)
    with pytest.raises(ValueError, match=r"0 samples"):
        MLPClassifier().fit(sp.csr_matrix((0, 40)), Y[:0])
    with pytest.raises(ValueError, match="Complex data not supported"):
        m.predict(sp.csr_matrix(X.astype(complex)))


def test_partial_fit_and_validation_take_sparse_X_as_the_dense_fit_does():
    kw = dict(hidden_layer_sizes=(8,), batch_size=4, alpha=1e-3, random_state=0)
    a = MLPClassifier(**kw).partial_fit(X, Y, classes=[0, 1, 2]).partial_fit(X[:50], Y[:50])
    b = MLPClassifier(**kw).partial_fit(XS, Y, classes=[0, 1, 2]).partial_fit(XS[:50], Y[:50])
    np.testing.assert_array_equal(a.params_, b.params_)
    kw.update(epochs=3, validation_fraction=0.25, n_iter_no_change=2)
    a, b = MLPClassifier(**kw).fit(X, Y), MLPClassifier(**kw).fit(XS, Y)
    np.testing.assert_array_equal(a.params_, b.params_)
    assert a.validation_scores_ == b.validation_scores_
    kw.pop("validation_fraction")
    a = MLPClassifier(**kw).fit(X[:80], Y[:80], validation_data=(X[80:], Y[80:]))
    b = MLPClassifier(**kw).fit(XS[:80], Y[:80], validation_data=(XS[80:], Y[80:]))
    np.testing.assert_array_equal(a.params_, b.params_)
    assert a.validation_scores_ == b.validation_scores_
    # diagnostics on sparse X: the same numbers, computed without densifying
    kw.update(diagnostics=True)
    a, b = MLPClassifier(**kw).fit(X, Y), MLPClassifier(**kw).fit(XS, Y)
    for key, values in a.diagnostics_.items():
        np.testing.assert_allclose(np.asarray(b.diagnostics_[key], float),
                                   np.asarray(values, float), rtol=1e-6, err_msg=key)


def test_a_sparse_divergence_names_the_row_and_rolls_back():
    Xb, yb = blobs(n=40)
    M = sp.csr_matrix(Xb * 1e3)
    reg = MLPRegressor(hidden_layer_sizes=(8,), activation="identity", learning_rate=0.5,
                       epochs=3, random_state=0, batch_size=2, alpha=1e-3, clip_value=0.0,
                       scale_inputs=False, on_divergence="raise")
    dense = MLPRegressor(**reg.get_params())
    with pytest.raises(DivergenceError) as sparse_err:
        reg.fit(M, yb * 1e3)
    with pytest.raises(DivergenceError) as dense_err:
        dense.fit(Xb * 1e3, yb * 1e3)
    assert (sparse_err.value.epoch, sparse_err.value.sample) == \
        (dense_err.value.epoch, dense_err.value.sample)
    np.testing.assert_array_equal(reg.params_, dense.params_)


def test_a_wide_sparse_fit_never_densifies():
    """20,000 x 200,000 with 50 stored entries per row: a dense float32 copy would be 16 GB.
    The fit and predict stay within a few times the matrix and the weights (NumPy's
    allocations, traced)."""
    rng = np.random.default_rng(0)
    n, d, k = 20_000, 200_000, 50
    indices = rng.integers(0, d, n * k).astype(np.int32)
    M = sp.csr_matrix((rng.random(n * k).astype(np.float32), indices,
                       np.arange(0, n * k + 1, k, dtype=np.int32)), shape=(n, d))
    y = (indices.reshape(n, k) % 2).sum(axis=1) > k // 2  # learnable from the columns
    tracemalloc.start()
    try:
        m = MLPClassifier(hidden_layer_sizes=(16,), epochs=2, random_state=0).fit(M, y)
        acc = m.score(M, y)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 300e6, peak  # weights 12.8 MB (x a few copies), the matrix 8 MB
    assert acc > 0.9


def test_sparse_kernels_have_reference_twins_and_the_tag_says_sparse():
    assert kernels.train_epoch_csr and reference.train_epoch_csr
    assert MLPClassifier().__sklearn_tags__().input_tags.sparse
    assert MLPRegressor().__sklearn_tags__().input_tags.sparse


def test_a_tfidf_pipeline_trains_on_sparse_features():
    pytest.importorskip("sklearn")
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline
    words = {0: "ball goal team match score", 1: "stock market price bank trade",
             2: "cell gene protein virus cure"}
    rng = np.random.default_rng(0)
    y = np.arange(150) % 3
    docs = [" ".join(rng.choice(words[c].split(), 6)) + " the a of" for c in y]
    pipe = make_pipeline(TfidfVectorizer(), MLPClassifier(hidden_layer_sizes=(16,), epochs=5,
                                                          random_state=0))
    assert pipe.fit(docs, y).score(docs, y) == 1.0


def test_dense_use_never_imports_scipy():
    """fastmlp never imports scipy for dense X. (Numba itself imports the scipy package, not
    scipy.sparse, when scipy is installed: so with the compiled backend, scipy.sparse.)"""
    script = ("import sys, numpy as np, fastmlp\n"
              "m = fastmlp.MLPClassifier(hidden_layer_sizes=(4,), epochs=1, backend=sys.argv[1])\n"
              "m.fit(np.eye(4), [0, 1, 0, 1]).predict(np.eye(4))\n"
              "print('scipy' in sys.modules, 'scipy.sparse' in sys.modules)\n")
    for backend, expected in (("reference", "False False"), ("numba", "False")):
        proc = subprocess.run([sys.executable, "-c", script, backend], capture_output=True,
                              text=True, check=True)
        assert proc.stdout.strip().endswith(expected), (backend, proc.stdout)


CACHE_SCRIPT = """
import hashlib, json
import numpy as np, scipy.sparse as sp
from fastmlp import MLPClassifier, kernels
X = sp.random(300, 500, density=0.05, format="csr", random_state=0)
y = np.arange(300) % 3
out = {}
for bs in (1, 8):
    m = MLPClassifier(hidden_layer_sizes=(9, 5), epochs=2, batch_size=bs, random_state=0)
    m.fit(X, y)
    h = hashlib.sha256(m.params_.tobytes())
    h.update(m.predict_proba(X).tobytes())
    out[bs] = h.hexdigest()
fs = (kernels.csr._per_sample, kernels.sgd.train_epoch_batches, kernels.csr._predict_rows)
print(json.dumps(dict(out=out, hits=sum(sum(f.stats.cache_hits.values()) for f in fs),
                      misses=sum(sum(f.stats.cache_misses.values()) for f in fs))))
"""


def test_sparse_kernels_are_cached_release_the_gil_and_are_bit_identical_when_loaded(tmp_path):
    """The CSR epoch and predict take a tuple of arrays (inputs.py): their compiled code is
    stored and loaded like the dense kernels', with the same numbers."""
    fs = (kernels.csr._per_sample, kernels.sgd.train_epoch_batches, kernels.csr._predict_rows)
    for f in fs:
        assert f.targetoptions.get("nogil") is True
        assert type(f._cache).__name__ == "FunctionCache"  # cache=True (else a NullCache)
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    runs = [json.loads(subprocess.run([sys.executable, "-c", CACHE_SCRIPT], env=env,
                                      capture_output=True, text=True, check=True,
                                      timeout=600).stdout) for _ in range(2)]
    assert runs[0]["misses"] > 0 and runs[0]["hits"] == 0  # compiled
    assert runs[1]["hits"] > 0 and runs[1]["misses"] == 0  # loaded
    assert runs[0]["out"] == runs[1]["out"]
