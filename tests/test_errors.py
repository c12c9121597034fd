"""A user who makes every mistake: each bad input gets a clear error naming the argument, the
value and what was expected, before any (bounds-unchecked) kernel runs; odd-but-valid inputs
work and give the same result as clean float input; inputs are never modified."""

import gzip
import re
import zlib

import numpy as np
import pytest

import fastmlp
from fastmlp import DivergenceError, MLPClassifier, MLPRegressor, NotFittedError, kernels, reference
from fastmlp.datasets import IDXError, parse_idx, read_idx


def blobs(n=30, n_features=4, n_classes=3, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((n_classes, n_features)) * 2
    y = rng.integers(0, n_classes, n)
    y[:n_classes] = np.arange(n_classes)  # every class present
    return centers[y] + rng.standard_normal((n, n_features)), y


X, Y = blobs()


def clf(**kw):
    params = dict(hidden_layer_sizes=(5,), epochs=2, learning_rate=0.05, random_state=0)
    params.update(kw)
    return MLPClassifier(**params)


def reg(**kw):
    params = dict(hidden_layer_sizes=(5,), epochs=2, learning_rate=0.01, random_state=0)
    params.update(kw)
    return MLPRegressor(**params)


@pytest.fixture
def no_kernel_calls(monkeypatch):
    """Fail if any kernel entry point runs: errors must come first."""
    calls = []
    for backend in (kernels, reference):
        for name in ("train_epoch", "predict"):
            monkeypatch.setattr(backend, name,
                                lambda *a, _n=name, **k: calls.append(_n) or 1 / 0)
    yield calls
    assert calls == [], f"a kernel ran before the error: {calls}"


# ==================================================================== input arrays


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
    (np.ones((30, 4), dtype=object), r"X must be numeric \(bool, int or float\), got dtype object"),
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


def test_sparse_X_is_refused_with_a_hint():
    class FakeSparse:
        shape = (30, 4)

        def toarray(self):
            return X

    with pytest.raises(ValueError, match=r"sparse input is not supported.*X\.toarray\(\)"):
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


@pytest.mark.parametrize("n_y", [29, 31])
def test_len_X_differs_from_len_y(n_y, no_kernel_calls):
    y = np.resize(Y, n_y)
    for model in (clf(), reg()):
        with pytest.raises(ValueError, match=f"X and y have different numbers of samples: "
                                             f"30 and {n_y}"):
            model.fit(X, y)


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


# ==================================================================== labels


@pytest.mark.parametrize("y, match", [
    (Y.reshape(-1, 1), r"y must be 1-D \(n_samples,\), got shape \(30, 1\); use y\.ravel\(\)"),
    (np.stack([Y, Y], axis=1), r"y must be 1-D \(n_samples,\), got 2-D with shape \(30, 2\)"),
    (Y + 0.5, r"y has non-integer .*float values: a classifier needs class labels; use "
              r"MLPRegressor"),
    (np.where(Y == 1, np.nan, Y), r"y contains NaN or infinity"),
    (np.array([1, "a"] * 15, dtype=object), r"y mixes label types \['int', 'str'\]"),
    (np.array([None, 1] * 15, dtype=object), r"y mixes label types \['NoneType', 'int'\]"),
    ([0, "a"] * 15, r"y mixes label types \['int', 'str'\]"),  # not silently ['0', 'a']
    ([2.5, "a"] * 15, r"y mixes label types \['float', 'str'\]"),
    (np.zeros(30), r"y has 1 class; a classifier needs at least 2"),
])
def test_bad_labels(y, match, no_kernel_calls):
    with pytest.raises(ValueError, match=match):
        clf().fit(X, y)


def test_partial_fit_label_errors():
    with pytest.raises(ValueError, match=r"classes must be passed on the first call to "
                                         r"partial_fit.*classes=np\.arange\(10\)"):
        clf().partial_fit(X, Y)
    with pytest.raises(ValueError, match=r"y contains labels not in classes_ \[0, 1\]: \[2\]$"):
        clf().partial_fit(X, Y, classes=[0, 1])
    m = clf()
    m.partial_fit(X, Y, classes=[0, 1, 2, 3])
    before = m.params_.copy()
    for y, match in [(np.where(Y == 2, 7, Y), r"labels not in classes_ \[0, 1, 2, 3\]: \[7\]$"),
                     (np.array(["x"] * 30), r"labels not in classes_ \[0, 1, 2, 3\]: \['x'\] "
                                            r"\(y holds <U1 labels, classes_ holds int64\)"),
                     (Y.astype(str), r"labels not in classes_ \[0, 1, 2, 3\]: \['0', '1', '2'\] "
                                     r"\(y holds <U\d+ labels")]:
        with pytest.raises(ValueError, match=match):
            m.partial_fit(X, y)
    with pytest.raises(ValueError, match=r"classes=\[0, 1\] differs from classes_ \[0, 1, 2, 3\]"):
        m.partial_fit(X, Y, classes=[0, 1])
    np.testing.assert_array_equal(m.params_, before)  # nothing trained by the failed calls
    m.partial_fit(X, Y, classes=[3, 2, 1, 0])  # same set, any order: fine
    assert m.n_iter_ == 2
    for classes in ([0, 1, None], [0, "a"]):
        with pytest.raises(ValueError, match=r"classes mixes label types \[.*\]; labels must "
                                             r"all be numbers or all be strings"):
            clf().partial_fit(X, Y, classes=classes)
        with pytest.raises(ValueError, match=r"classes mixes label types"):
            m.partial_fit(X, Y, classes=classes)


def test_string_labels_work_and_equal_integer_labels():
    names = np.array(["ant", "bee", "cat"])  # sorted like 0, 1, 2
    a = clf().fit(X, Y)
    b = clf().fit(X, names[Y])
    c = clf().fit(X, names[Y].astype(object))
    np.testing.assert_array_equal(b.params_, a.params_)
    np.testing.assert_array_equal(c.params_, a.params_)
    np.testing.assert_array_equal(b.predict(X), names[a.predict(X)])
    assert b.score(X, names[Y]) == a.score(X, Y)
    p = clf()
    p.partial_fit(X, names[Y], classes=["cat", "bee", "ant"])
    p.partial_fit(X, list(names[Y]))
    np.testing.assert_array_equal(p.params_, a.params_)


@pytest.mark.parametrize("y, match", [
    (np.array(["a"] * 30), r"y must be numeric for a regressor, got dtype <U1"),
    (np.zeros((30, 1, 1)), r"y must be 1-D or 2-D, got 3-D"),
    (np.where(Y == 1, np.inf, Y), r"y contains NaN or infinity"),
])
def test_bad_regression_targets(y, match, no_kernel_calls):
    with pytest.raises(ValueError, match=match):
        reg().fit(X, y)


def test_regressor_partial_fit_with_another_number_of_targets():
    r = reg().fit(X, np.stack([Y, Y], axis=1).astype(float))
    with pytest.raises(ValueError, match="y has 1 targets, but the model was fitted with 2"):
        r.partial_fit(X, Y.astype(float))


def test_score_with_mismatched_y():
    with pytest.raises(ValueError, match=r"one label per row of X \(30\), got shape \(5,\)"):
        clf().fit(X, Y).score(X, Y[:5])
    with pytest.raises(ValueError, match=r"y has shape \(5,\), but the predictions for X have "
                                         r"shape \(30,\)"):
        reg().fit(X, Y.astype(float)).score(X, Y[:5])


def test_validation_data_is_checked_before_training(no_kernel_calls):
    with pytest.raises(ValueError, match="validation_data X_val has 3 features, but the model "
                                         "is expecting 4 features as input"):
        clf().fit(X, Y, validation_data=(X[:, :3], Y))
    with pytest.raises(ValueError, match="validation_data: X_val and y_val have different "
                                         "numbers of samples: 30 and 10"):
        clf().fit(X, Y, validation_data=(X, Y[:10]))
    with pytest.raises(ValueError, match=r"validation_data must be a pair \(X_val, y_val\)"):
        clf().fit(X, Y, validation_data=X)
    with pytest.raises(ValueError, match=r"X_val and y_val have different numbers of samples: "
                                         r"30 and a scalar"):
        clf().fit(X, Y, validation_data=(X, None))
    with pytest.raises(ValueError, match=r"validation_data y_val has 3 targets, but y has 1"):
        reg().fit(X, Y.astype(float), validation_data=(X, np.zeros((30, 3))))
    with pytest.raises(ValueError, match=r"validation_data y_val contains NaN"):
        reg().fit(X, Y.astype(float), validation_data=(X, np.full(30, np.nan)))
    with pytest.raises(TypeError, match=r"epoch_callback must be a function f\(model, info\), "
                                        r"got int"):
        clf().fit(X, Y, epoch_callback=3)
    with pytest.raises(ValueError, match=r"validation_fraction=0\.01 leaves 0 validation "
                                         r"samples of 30"):
        clf(validation_fraction=0.01).fit(X, Y)


# ==================================================================== hyperparameters


def _choice(name, value, allowed):
    return dict(name=name, value=value, match=re.escape(f"{name}={value!r} is not supported; "
                                                        f"expected one of {allowed}"))


def _number(name, value, what):
    return dict(name=name, value=value,
                match=re.escape(f"{name}={value!r} is not valid; expected {what}"))


HIDDEN_ACTS = "('identity', 'relu', 'sigmoid', 'tanh')"
OUT_ACTS = "('softmax', 'sigmoid', 'identity', 'tanh', 'relu')"
BAD_HYPERPARAMETERS = [
    _number("learning_rate", 0, "a finite number > 0"),
    _number("learning_rate", -0.1, "a finite number > 0"),
    _number("learning_rate", float("nan"), "a finite number > 0"),
    _number("learning_rate", float("inf"), "a finite number > 0"),
    _number("learning_rate", "0.1", "a finite number > 0"),
    _number("learning_rate", None, "a finite number > 0"),
    _number("learning_rate", True, "a finite number > 0"),
    dict(name="hidden_layer_sizes", value=0, match=re.escape(
        "hidden_layer_sizes=(0,) is not valid: every layer size must be a positive integer, got 0")),
    dict(name="hidden_layer_sizes", value=(10, -3), match=re.escape(
        "hidden_layer_sizes=(10, -3) is not valid: every layer size must be a positive integer, "
        "got -3")),
    dict(name="hidden_layer_sizes", value=(10, 0), match=r"hidden_layer_sizes=\(10, 0\).*got 0"),
    dict(name="hidden_layer_sizes", value=(2.5,), match=r"hidden_layer_sizes=\(2\.5,\).*got 2\.5"),
    dict(name="hidden_layer_sizes", value="64", match=r"hidden_layer_sizes=\('6', '4'\).*"
                                                      r"positive integer, got '6'"),
    dict(name="hidden_layer_sizes", value=None, match=r"hidden_layer_sizes=None is not valid; "
                                                      r"expected a sequence of positive integers"),
    _number("epochs", 0, "an integer > 0"),
    _number("epochs", -2, "an integer > 0"),
    _number("epochs", 2.5, "an integer > 0"),
    _number("batch_size", 0, "an integer > 0 or 'full'"),
    _number("batch_size", -8, "an integer > 0 or 'full'"),
    _number("batch_size", 1.5, "an integer > 0 or 'full'"),
    _number("batch_size", "half", "an integer > 0 or 'full'"),
    _number("batch_size", None, "an integer > 0 or 'full'"),
    dict(name="dtype", value="float16", match=re.escape(
        "dtype='float16' is not supported; expected 'float32' or 'float64'")),
    dict(name="dtype", value="int32", match=r"dtype='int32' is not supported; expected "
                                            r"'float32' or 'float64'"),
    dict(name="dtype", value=np.int64, match=r"dtype=<class 'numpy\.int64'> is not supported; "
                                             r"expected 'float32' or 'float64'"),
    dict(name="dtype", value=None, match=r"dtype=None is not supported; expected 'float32'"),
    dict(name="dtype", value="banana", match=r"dtype='banana' is not supported; expected"),
    _choice("activation", "swish", HIDDEN_ACTS),
    _choice("activation", "softmax", HIDDEN_ACTS),
    _choice("activation", None, HIDDEN_ACTS),
    _choice("output_activation", "swish", OUT_ACTS),
    _choice("loss", "hinge", "('cross_entropy', 'squared_error')"),
    dict(name="loss", value="cross_entropy", extra=dict(output_activation="sigmoid"),
         match=r"loss='cross_entropy' needs output_activation='softmax', got "
               r"output_activation='sigmoid'; use loss='squared_error'"),
    _choice("init", "zeros", "('he', 'xavier', 'glorot', 'normal')"),
    _choice("lr_schedule", "cosine", "('constant', 'step', 'exponential', 'inverse_time', "
                                     "'linear')"),
    _choice("backend", "cuda", "('numba', 'reference')"),
    _number("alpha", -1e-4, "a finite number >= 0"),
    _number("clip_value", -1, "a finite number >= 0"),
    _number("clip_norm", float("nan"), "a finite number >= 0"),
    _number("lr_decay", 0, "a finite number > 0"),
    _number("tol", -1.0, "a finite number >= 0"),
    _number("chunk_size", 0, "an integer > 0"),
    _number("n_iter_no_change", 0, "an integer > 0"),
    dict(name="validation_fraction", value=1.0, match=r"validation_fraction=1\.0 is not valid; "
                                                      r"expected a number in \[0, 1\)"),
    dict(name="validation_fraction", value=-0.1, match=r"validation_fraction=-0\.1 is not valid"),
    dict(name="random_state", value=-1, match=r"random_state=-1 is not valid; expected None, "
                                              r"an int >= 0 or a numpy Generator"),
    dict(name="random_state", value="seed", match=r"random_state='seed' is not valid"),
    dict(name="hidden_layer_sizes", value=(s for s in [4]),
         match=r"hidden_layer_sizes=.* not an iterator"),
    dict(name="learning_rate", value=1e-50,
         match=r"learning_rate=1e-50 is not representable in float32 \(it becomes 0\.0\)"),
    dict(name="clip_value", value=1e40,
         match=r"clip_value=1e\+40 is not representable in float32 \(it becomes inf\)"),
]


@pytest.mark.parametrize("case", BAD_HYPERPARAMETERS,
                         ids=[f"{c['name']}={c['value']!r}" for c in BAD_HYPERPARAMETERS])
def test_bad_hyperparameter_names_parameter_value_and_what_is_allowed(case, no_kernel_calls):
    kw = {case["name"]: case["value"], **case.get("extra", {})}
    for make in (clf, reg):
        if make is reg and case["name"] == "loss" and case["value"] == "cross_entropy":
            continue
        with pytest.raises(ValueError, match=case["match"]):
            make(**kw).fit(X, Y)


@pytest.mark.parametrize("case", BAD_HYPERPARAMETERS[::4],
                         ids=[f"{c['name']}={c['value']!r}" for c in BAD_HYPERPARAMETERS[::4]])
def test_a_failed_refit_leaves_the_fitted_model_intact(case):
    m = clf().fit(X, Y)
    params, classes = m.params_.copy(), m.classes_.copy()
    m.set_params(**{case["name"]: case["value"], **case.get("extra", {})})
    with pytest.raises(ValueError, match=case["match"]):
        m.fit(X, np.where(Y == 2, 5, Y))  # other labels: classes_ must not change either
    np.testing.assert_array_equal(m.params_, params)
    np.testing.assert_array_equal(m.classes_, classes)


@pytest.mark.parametrize("bad_fit", [
    lambda m: m.fit(X, np.where(Y == 2, 5, Y), validation_data=(X[:, :2], Y)),
    lambda m: m.fit(X, np.where(Y == 2, 5, Y), validation_data=(X, Y[:3])),
    lambda m: m.fit(X, np.where(Y == 2, 5, Y) + 0.5),
    lambda m: m.fit(X[:, :3], np.where(Y == 2, 5, Y), epoch_callback="print"),
    lambda m: m.set_params(validation_fraction=0.001).fit(X[:, :3], np.where(Y == 2, 5, Y)),
])
def test_a_refit_with_bad_data_leaves_the_fitted_model_intact(bad_fit):
    m = clf().fit(X, Y)
    before = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in vars(m).items()}
    with pytest.raises((ValueError, TypeError)):
        bad_fit(m)
    m.set_params(validation_fraction=0.0)
    assert set(vars(m)) == set(before)
    np.testing.assert_array_equal(m.params_, before["params_"])
    np.testing.assert_array_equal(m.classes_, before["classes_"])  # not [0, 1, 5]
    assert m.n_features_in_ == 4 and m.n_iter_ == before["n_iter_"]
    assert np.shares_memory(m.coefs_[0], m.params_)
    assert m.predict(X).shape == (30,)


def test_valid_hyperparameter_spellings_are_accepted():
    for kw in (dict(dtype=np.float64), dict(dtype="float32"), dict(hidden_layer_sizes=3),
               dict(hidden_layer_sizes=np.array([3, 2])), dict(hidden_layer_sizes=()),
               dict(learning_rate=np.float32(0.01)), dict(epochs=np.int64(1)),
               dict(batch_size="full"), dict(batch_size=10**6), dict(batch_size=np.int32(3)),
               dict(validation_fraction=np.float32(0.2)),
               dict(learning_rate=1e-50, dtype="float64")):
        m = clf(**kw).fit(X, Y)
        assert np.isfinite(m.predict_proba(X)).all()


# ==================================================================== state


@pytest.mark.parametrize("make", [clf, reg])
def test_use_before_fit_is_a_clear_error(make, tmp_path, no_kernel_calls):
    m = make()
    calls = [lambda: m.predict(X), lambda: m.score(X, Y), lambda: m.save(tmp_path / "m")]
    if make is clf:
        calls.append(lambda: m.predict_proba(X))
    for call in calls:
        with pytest.raises(NotFittedError, match=f"This {type(m).__name__} is not fitted yet; "
                                                 f"call fit or partial_fit first"):
            call()
    assert issubclass(NotFittedError, ValueError) and issubclass(NotFittedError, AttributeError)
    assert not (tmp_path / "m.npz").exists()


def _replace(m, attr, l, value):
    arrays = list(getattr(m, attr))
    arrays[l] = value
    setattr(m, attr, arrays)


BAD_STATE = [
    ("coefs_", 0, lambda W: W.T.copy(), r"coefs_\[0\] has shape \(5, 4\), expected \(4, 5\)"),
    ("coefs_", 1, lambda W: W[:, :2].copy(), r"coefs_\[1\] has shape \(5, 2\), expected \(5, 3\)"),
    ("coefs_", 0, lambda W: W.ravel().copy(), r"coefs_\[0\] has shape \(20,\), expected \(4, 5\)"),
    ("intercepts_", 1, lambda b: np.zeros(4), r"intercepts_\[1\] has shape \(4,\), expected \(3,\)"),
    ("coefs_", 0, lambda W: W.astype(str), r"coefs_\[0\] must be a real numeric array, got "
                                            r"dtype <U"),
    ("coefs_", 1, lambda W: W.astype(complex), r"coefs_\[1\] must be a real numeric array, got "
                                                r"dtype complex128"),
    ("coefs_", 0, lambda W: W.astype(object), r"coefs_\[0\] must be a real numeric array, got "
                                               r"dtype object"),
    ("intercepts_", 0, lambda b: np.full_like(b, np.nan), r"intercepts_\[0\] contains NaN or "
                                                          r"infinity"),
    ("coefs_", 0, lambda W: np.full(W.shape, 1e300), r"coefs_\[0\] contains NaN or infinity, or "
                                                     r"values too large for float32"),
]


@pytest.mark.parametrize("attr, l, change, match", BAD_STATE)
def test_replaced_weights_of_wrong_shape_or_dtype(attr, l, change, match, tmp_path):
    m = clf().fit(X, Y)
    good = m.params_.copy()
    _replace(m, attr, l, change(getattr(m, attr)[l]))
    with pytest.MonkeyPatch.context() as mp:
        for backend in (kernels, reference):
            mp.setattr(backend, "train_epoch", lambda *a: 1 / 0)
            mp.setattr(backend, "predict", lambda *a: 1 / 0)
        for call in (lambda: m.predict(X), lambda: m.predict_proba(X),
                     lambda: m.partial_fit(X, Y), lambda: m.save(tmp_path / "m.npz")):
            with pytest.raises(ValueError, match=match):
                call()
    np.testing.assert_array_equal(m.params_, good)  # nothing half-copied into params_
    assert not (tmp_path / "m.npz").exists()
    m.fit(X, Y)  # a refit repairs the model
    assert np.isfinite(m.predict_proba(X)).all()


def test_replaced_coefs_list_is_checked():
    m = clf().fit(X, Y)
    for value, match in [
            (None, r"coefs_ must be a list of 2 arrays \(one per layer\), got NoneType"),
            (np.zeros((4, 5)), r"coefs_ must be a list of 2 arrays.*got ndarray"),
            ([np.zeros((4, 5))], r"coefs_ has 1 arrays but the network has 2 layers")]:
        m.coefs_ = value
        for call in (lambda: m.predict(X), lambda: m.partial_fit(X, Y)):
            with pytest.raises(ValueError, match=match):
                call()


def test_replaced_weights_of_another_float_dtype_are_taken_in():
    m = clf().fit(X, Y)
    W64 = [W.astype(np.float64) * 0.5 for W in m.coefs_]
    m.coefs_ = W64
    proba = m.predict_proba(X)
    assert m.params_.dtype == np.float32
    np.testing.assert_array_equal(m.coefs_[0], W64[0].astype(np.float32))
    assert np.shares_memory(m.coefs_[0], m.params_) and np.isfinite(proba).all()


def test_nan_written_into_the_weight_views_is_caught():
    m = clf().fit(X, Y)
    m.coefs_[1][2, 1] = np.nan  # in place: the view check cannot see it
    for call in (lambda: m.predict(X), lambda: m.predict_proba(X), lambda: m.partial_fit(X, Y)):
        with pytest.raises(ValueError, match="the model's weights contain NaN or infinity"):
            call()


def test_overflowing_outputs_are_an_error_not_nan():
    r = reg(hidden_layer_sizes=(), dtype="float32").fit(X, Y.astype(float))
    r.coefs_[0][...] = 3e38  # finite weights ...
    with pytest.raises(ValueError, match="the network's outputs overflowed float32"):
        r.predict(np.full((2, 4), 10.0))  # ... whose outputs are not


@pytest.mark.parametrize("attr, value, match", [
    ("params_", lambda p: p[:-1].copy(), r"params_ must be .*shape \(43,\) for this network, "
                                         r"got float32 array of shape \(42,\)"),
    ("params_", lambda p: p.astype(np.float16), r"params_ must be .*got float16 array"),
    ("params_", lambda p: p.astype(np.int64), r"params_ must be .*got int64 array"),
    ("params_", lambda p: np.repeat(p, 2)[::2], r"params_ must be a writeable C-contiguous"),
    ("params_", lambda p: list(p), r"params_ must be .*got list"),
    ("layout_", lambda L: L[:, :4].copy(), r"layout_ was modified"),
    ("layout_", lambda L: L.astype(np.int32), r"layout_ was modified"),
    ("layout_", lambda L: L + np.array([0, 0, 1, 1, 0]), r"layout_ was modified"),
    ("layout_", lambda L: L * np.array([2, 1, 1, 1, 1]), r"layout_ was modified"),
])
def test_tampered_internal_state_never_reaches_a_kernel(attr, value, match, tmp_path):
    m = clf().fit(X, Y)
    setattr(m, attr, value(getattr(m, attr)))
    with pytest.MonkeyPatch.context() as mp:
        for backend in (kernels, reference):
            mp.setattr(backend, "train_epoch", lambda *a: 1 / 0)
            mp.setattr(backend, "predict", lambda *a: 1 / 0)
        for call in (lambda: m.predict(X), lambda: m.partial_fit(X, Y),
                     lambda: m.save(tmp_path / "m.npz")):
            with pytest.raises(ValueError, match=match):
                call()


# ==================================================================== divergence


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # the reference's
@pytest.mark.parametrize("backend", ["numba", "reference"])
@pytest.mark.parametrize("batch_size", [1, 4])
def test_divergence_is_an_error_and_keeps_the_last_good_weights(backend, batch_size):
    rng = np.random.default_rng(0)
    Xd = rng.standard_normal((40, 6)) * 50
    yd = Xd.sum(axis=1)
    m = MLPRegressor(hidden_layer_sizes=(16,), activation="identity", learning_rate=1e-7,
                     batch_size=batch_size, epochs=1, random_state=0, backend=backend)
    m.fit(Xd, yd)  # one harmless epoch
    good, t, curve = m.params_.copy(), m.t_, list(m.loss_curve_)
    m.set_params(learning_rate=10.0)
    with pytest.raises(DivergenceError, match=r"Training diverged in epoch 2 at sample \d+ .*"
                                              r"keeps the weights it had at the start of epoch 2"
                                              r".*lower learning_rate \(it was 10\)"):
        m.partial_fit(Xd, yd)
    np.testing.assert_array_equal(m.params_, good)
    assert (m.n_iter_, m.t_, m.loss_curve_) == (1, t, curve)
    assert np.isfinite(m.predict(Xd)).all()
    m.set_params(learning_rate=1e-7)
    m.partial_fit(Xd, yd)  # and training goes on
    assert m.n_iter_ == 2 and m.t_ == 80


def test_divergence_in_a_later_epoch_of_fit_restores_that_epochs_start():
    rng = np.random.default_rng(0)
    Xd = rng.standard_normal((50, 6)) * 50
    yd = Xd.sum(axis=1)
    after_epoch_1 = {}

    def explode(model, info):  # after epoch 1, make epoch 2 explode
        if info["epoch"] == 1:
            # hyperparameters are frozen for the fit (learning_rate= here would not count), so
            # blow the weights up instead: epoch 2 starts from (and rolls back to) these
            model.coefs_[0][...] *= 1e12
            after_epoch_1["params"] = model.params_.copy()

    m = MLPRegressor(hidden_layer_sizes=(16,), activation="identity", learning_rate=1e-7,
                     epochs=3, chunk_size=8, random_state=0)
    with pytest.raises(DivergenceError) as info:
        m.fit(Xd, yd, epoch_callback=explode)
    assert isinstance(info.value, FloatingPointError)
    assert info.value.epoch == 2 and 0 <= info.value.sample < 50
    np.testing.assert_array_equal(m.params_, after_epoch_1["params"])
    assert m.n_iter_ == 1 and m.t_ == 50 and len(m.loss_curve_) == 1
    assert np.isfinite(m.params_).all()


# ==================================================================== IDX data files


def test_corrupt_gzip_body_is_an_idx_error(tmp_path):
    good = gzip.compress(b"\0\0\x08\x01\0\0\x01\x00" + b"abcde" * 50 + bytes(range(6)))
    for i in range(10, len(good) - 8):  # damage the deflate stream itself until zlib objects
        raw = bytearray(good)
        raw[i] ^= 0xFF
        try:
            gzip.decompress(bytes(raw))
        except zlib.error:
            break
        except (OSError, EOFError):
            continue
    else:
        pytest.fail("no single-byte damage gives a zlib.error")
    path = tmp_path / "x-idx1-ubyte.gz"
    path.write_bytes(bytes(raw))
    with pytest.raises(IDXError, match="corrupt gzip data"):
        read_idx(path)


@pytest.mark.parametrize("seed", range(4))
def test_random_bytes_are_an_idx_error(tmp_path, seed):
    raw = np.random.default_rng(seed).bytes(300)
    path = tmp_path / "random"
    path.write_bytes(raw)
    with pytest.raises(IDXError):
        read_idx(path)
    path.write_bytes(gzip.compress(raw))
    with pytest.raises(IDXError):
        read_idx(path)


def test_huge_declared_shape_is_an_error_not_an_allocation():
    raw = b"\0\0\x08\x03" + (0xFFFFFFFF).to_bytes(4, "big") * 3 + b"\0" * 10
    with pytest.raises(IDXError, match="declares shape"):
        parse_idx(raw)


def test_fastmlp_load_is_exported():
    assert fastmlp.load is fastmlp.estimators.load


def test_predict_without_cached_config_checks_the_architecture():
    m = clf().fit(X, Y)
    del m._settings  # e.g. state from an older pickle: the codes come from the hyperparameters
    m.set_params(hidden_layer_sizes=(5, 5))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(kernels, "predict", lambda *a: 1 / 0)
        with pytest.raises(ValueError, match=r"hidden_layer_sizes=\(5, 5\) does not match the "
                                             r"fitted network \(4, 5, 3\); refit"):
            m.predict(X)
    m.set_params(hidden_layer_sizes=(5,))
    assert m.predict(X).shape == (30,)


# ==================================================================== bounds-checked kernels

BOUNDS_SCRIPT = """
import numpy as np
from fastmlp import kernels
out = np.zeros(10)
out[9] = 1.0
target = np.zeros(9)  # one short: like a label 10 in a 10-class network
try:
    kernels.argmax_equal(out, target)  # a small kernel: compiles in about a second
except IndexError as exc:
    print("IndexError:", exc)
else:
    print("no error")
"""


def test_numba_boundscheck_turns_an_out_of_bounds_kernel_access_into_an_index_error(tmp_path):
    """Why CI runs the kernel tests once with NUMBA_BOUNDSCHECK=1: then a kernel that reads
    past an array raises IndexError (here: a target row shorter than the output) instead of
    reading whatever memory follows."""
    import os
    import subprocess
    import sys
    env = dict(os.environ, NUMBA_BOUNDSCHECK="1", NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    done = subprocess.run([sys.executable, "-c", BOUNDS_SCRIPT], capture_output=True,
                          text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("IndexError"), done.stdout


# ------------------------------------------------------------- divergence, seen at the epoch's end

def test_divergence_seen_on_validation_rows_is_a_divergence_error_and_rolls_back():
    """Weights that stay finite but make the outputs overflow: the validation score finds it.
    It must be reported as divergence (not blamed on the input's scale) and undone."""
    X = np.random.default_rng(0).random((200, 3))
    r = MLPRegressor((50, 50), learning_rate=1e3, random_state=0, epochs=5, batch_size="full",
                     validation_fraction=0.2)
    with pytest.raises(DivergenceError, match="outputs became NaN or infinite") as exc:
        r.fit(X, X[:, 0] * 1e3)
    epoch = exc.value.epoch
    assert r.n_iter_ == epoch - 1 == len(r.loss_curve_) == len(r.validation_scores_)
    assert np.isfinite(r.predict(X)).all()  # the weights of the start of that epoch


def test_divergence_names_the_users_row_when_a_validation_split_trains_on_a_subset():
    X = np.random.default_rng(0).random((100, 3))
    y = X[:, 0].copy()
    X[90] = 1e25
    for fraction in (0.0, 0.5):
        with pytest.raises(DivergenceError, match=r"\(row 90 of X\)") as exc:
            MLPRegressor((4,), random_state=1, shuffle=False,
                         validation_fraction=fraction).fit(X, y)
        assert exc.value.sample == 90


def test_huge_weights_without_weight_decay_give_a_finite_loss_curve():
    """0 * inf would make the L2 penalty NaN: with alpha=0 there is no penalty to compute."""
    X = np.random.default_rng(0).random((50, 3))
    y = (X[:, 0] > 0.5).astype(int)
    m = MLPClassifier((4,), random_state=0, dtype="float64").fit(X * 1e200, y)
    assert np.isfinite(m.loss_curve_).all() and np.isfinite(m.params_).all()
    assert np.abs(m.params_).max() > 1e154  # squares overflow: the old penalty was NaN


@pytest.mark.parametrize("classes", [2, [0], ["a"]])
def test_partial_fit_names_classes_when_it_holds_fewer_than_two_labels(classes):
    with pytest.raises(ValueError, match=r"classes=.* has 1 label\(s\); pass every label"):
        clf().partial_fit(X, Y, classes=classes)
