"""fastmlp/validation.py: every input array is checked before a (bounds-unchecked) kernel
runs -- a clear error naming the argument, the value and what was expected; odd-but-valid
inputs work and give the same result as clean float input; inputs are never modified."""

import numpy as np
import pytest

from helpers import X, Y, clf, reg


# ==================================================================== bad input arrays


BAD_X = [
    (np.zeros(30), r"X must be 2-D \(n_samples, n_features\), got 1-D with shape \(30,\)"),
    (np.zeros((30, 2, 2)), r"X must be 2-D .*got 3-D with shape \(30, 2, 2\)"),
    (np.zeros((0, 4)), r"X is empty: 0 samples \(shape \(0, 4\)\)"),
    (np.zeros((30, 0)), r"X has 0 feature\(s\) \(shape=\(30, 0\)\) while a minimum of 1 is required"),
    (np.where(np.arange(120).reshape(30, 4) == 14, np.nan, 1.0),
     r"X contains NaN or infinity \(first at row 3, column 2\)"),
    (np.where(np.arange(120).reshape(30, 4) == 5, -np.inf, 1.0),
     r"X contains NaN or infinity \(first at row 1, column 1\)"),
    (np.full((30, 4), 1e300), r"X has a value too large for dtype float32 \(first at row 0, "
                              r"column 0: 1e\+300\)"),
    (np.full((30, 4), "1.0", dtype=object),
     r"X must be numeric \(bool, int or float\), got dtype object holding strings"),
    (np.full((30, 4), "1.0"), r"X must be numeric .*got dtype <U3"),
    ([["a", "b", "c", "d"]] * 30, r"X must be numeric .*got dtype <U1"),
    (np.ones((30, 4), dtype=complex), r"Complex data not supported: X must be numeric .*got dtype complex128"),
    ([[1.0, 2.0]] * 29 + [[1.0]], r"X must be a 2-D numeric array"),  # ragged
]


@pytest.mark.parametrize("bad, match", BAD_X, ids=range(len(BAD_X)))
@pytest.mark.parametrize("make", [clf, reg])
def test_bad_X_in_fit(bad, match, make, no_kernel_calls):
    with pytest.raises(ValueError, match=match):
        make().fit(bad, Y[:30])


def test_sparse_X_other_than_scipy_is_refused_with_a_hint():
    class FakeSparse:
        shape = (30, 4)

        def toarray(self):
            return X

    with pytest.raises(ValueError, match=r"other than scipy.sparse is not supported.*X\.toarray\(\)"):
        clf().fit(FakeSparse(), Y)


@pytest.mark.parametrize("bad, match", BAD_X, ids=range(len(BAD_X)))
def test_bad_X_in_predict(bad, match):
    m = clf().fit(X, Y)
    r = reg().fit(X, Y.astype(float))
    for call in (m.predict, m.predict_proba, r.predict):
        with pytest.raises(ValueError, match=match.replace("30", r"\d+")):
            call(bad)


def test_wrong_number_of_features_at_predict_and_partial_fit():
    m = clf().fit(X, Y)
    for n_features in (3, 5):
        Xw = np.zeros((7, n_features))
        msg = (f"X has {n_features} features, but MLPClassifier is expecting 4 features as "
               r"input \(it was fitted with 4\)")
        for call in (m.predict, m.predict_proba, lambda A: m.score(A, Y[:7]),
                     lambda A: m.partial_fit(A, Y[:7])):
            with pytest.raises(ValueError, match=msg):
                call(Xw)


# ==================================================================== odd but valid inputs


def _variants(Xc):
    """The same values as Xc (small non-negative integers) in every odd-but-valid container."""
    big = np.zeros((Xc.shape[0] * 2, Xc.shape[1] * 3))
    big[::2, ::3] = Xc
    ro = Xc.copy()
    ro.flags.writeable = False
    return {
        "float64": Xc.astype(np.float64),
        "uint8": Xc.astype(np.uint8),
        "int64": Xc.astype(np.int64),
        "int16": Xc.astype(np.int16),
        "bool": (Xc > 0) if set(np.unique(Xc)) <= {0, 1} else Xc.astype(np.int32),
        "list_of_lists": Xc.astype(int).tolist(),
        "tuple_of_tuples": tuple(tuple(r) for r in Xc.astype(float).tolist()),
        "fortran": np.asfortranarray(Xc.astype(np.float32)),
        "strided": big[::2, ::3],
        "read_only": ro,
        "big_endian": Xc.astype(">f8"),
        "readonly_buffer_f32": np.frombuffer(Xc.astype(np.float32).tobytes(),
                                                  np.float32).reshape(Xc.shape),
    }


X_INT = np.random.default_rng(3).integers(0, 4, (30, 4)).astype(np.float32)


VARIANTS = list(_variants(X_INT))


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("batch_size", [1, 4])
def test_odd_X_works_and_equals_clean_float_input(variant, batch_size):
    """uint8/int/list/Fortran/strided/read-only/... X: same weights, bit for bit, as float32."""
    clean = clf(batch_size=batch_size).fit(X_INT, Y)
    odd_X = _variants(X_INT)[variant]
    m = clf(batch_size=batch_size).fit(odd_X, Y)
    np.testing.assert_array_equal(m.params_, clean.params_)
    np.testing.assert_array_equal(m.predict_proba(odd_X), clean.predict_proba(X_INT))
    r_clean = reg(batch_size=batch_size).fit(X_INT, Y / 2)
    r = reg(batch_size=batch_size).fit(odd_X, Y / 2)
    np.testing.assert_array_equal(r.params_, r_clean.params_)


def _snapshot(a):
    arr = np.asarray(a)
    is_array = isinstance(a, np.ndarray)
    return (arr.copy(), arr.dtype, arr.shape, a.strides if is_array else None,
            a.flags.writeable if is_array else None)


def _assert_unchanged(a, snap):
    copy, dtype, shape, strides, writeable = snap
    arr = np.asarray(a)
    assert arr.dtype == dtype and arr.shape == shape
    np.testing.assert_array_equal(arr, copy, strict=True)
    if isinstance(a, np.ndarray):
        assert a.strides == strides and a.flags.writeable == writeable


@pytest.mark.parametrize("variant", VARIANTS + ["float32_c"])
def test_inputs_are_never_modified(variant):
    """float32_c is the case where X reaches the kernels without a copy."""
    Xv = X_INT.copy() if variant == "float32_c" else _variants(X_INT)[variant]
    targets = {"int": Y.copy(), "str": np.array(["a", "b", "c"])[Y], "list": Y.tolist()}
    yr = (Y / 3).astype(np.float32)
    Xv_snap = _snapshot(Xv)
    y_snaps = {k: _snapshot(v) for k, v in targets.items()}
    yr_snap = _snapshot(yr)
    for y in targets.values():
        m = clf(batch_size=3, validation_fraction=0.2).fit(Xv, y, validation_data=(Xv, y))
        m.partial_fit(Xv, y)
        m.predict(Xv), m.predict_proba(Xv), m.score(Xv, y)
    for yy in (yr, yr.reshape(-1, 1)):
        r = reg().fit(Xv, yy)
        r.partial_fit(Xv, yy)
        r.predict(Xv), r.score(Xv, yy)
    _assert_unchanged(Xv, Xv_snap)
    for k, v in targets.items():
        _assert_unchanged(v, y_snaps[k])
    _assert_unchanged(yr, yr_snap)


def test_predict_does_not_modify_a_float32_input_even_though_it_is_passed_through():
    m = clf().fit(X, Y)
    Xf = np.ascontiguousarray(X, np.float32)
    before = Xf.copy()
    m.predict_proba(Xf)
    m.partial_fit(Xf, Y)
    np.testing.assert_array_equal(Xf, before, strict=True)
