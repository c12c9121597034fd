"""The fast path of small calls (fastmlp/online.py): the same numbers, errors and fitted state
as the general path, the record dropped whenever it could be stale, and rollback to the last
checkpoint after a divergence or Ctrl-C inside a call. Also the kernels' small calls, which
train and predict on the public buffer in place: the same numbers as the padded copy."""

import copy
import pickle
import threading

import numpy as np
import pytest

import fastmlp
from fastmlp import online
from fastmlp.errors import DivergenceError
from fastmlp.kernels import epochs

from helpers import make_problem, plain_sgd, tol

RNG = np.random.default_rng(0)
X = RNG.random((400, 13)).astype(np.float32)
X[RNG.random(X.shape) < 0.4] = 0  # zero inputs, as in pixel data
Y_CLASS = (X[:, 0] + X[:, 1] > 0.6).astype(int) + (X[:, 2] > 0.5)
Y_REG = X @ RNG.standard_normal(13) + 3.0


def _state(m):
    return dict(params=m.params_.copy(), t=m.t_, n_iter=m.n_iter_, loss=list(m.loss_curve_),
                acc=list(m.accuracy_curve_), velocity=m.velocity_.copy(),
                sq_avg=m.sq_avg_.copy(), adam=m.adam_steps_)


def _same(a, b):
    sa, sb = _state(a), _state(b)
    for key in sa:
        if isinstance(sa[key], np.ndarray):
            assert np.array_equal(sa[key], sb[key]), key
        else:
            assert sa[key] == sb[key], key


def _pair(cls, dtype="float32", **kw):
    """Two equal models fitted on a first chunk: one to call fast, one forced general."""
    y = Y_CLASS if cls is fastmlp.MLPClassifier else Y_REG
    models = []
    for _ in range(2):
        m = cls(hidden_layer_sizes=(17, 9), random_state=0, dtype=dtype, **kw)
        extra = {"classes": [0, 1, 2]} if cls is fastmlp.MLPClassifier else {}
        m.partial_fit(X[:40], y[:40], **extra)
        models.append(m)
    return models[0], models[1], y


def _general(m, *args, **kw):
    online.forget(m)
    m.partial_fit(*args, **kw)
    online.forget(m)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("cls", [fastmlp.MLPClassifier, fastmlp.MLPRegressor])
@pytest.mark.parametrize("kw", [
    {},
    {"shuffle": False},
    {"alpha": 1e-3, "clip_value": 0.5},
    {"solver": "sgd", "momentum": 0.9},
    {"solver": "adam", "learning_rate": 0.001},
    {"batch_size": 4, "lr_schedule": "inverse_time"},
    {"penalty": "elasticnet", "alpha": 1e-3},
    {"scale_inputs": True},  # the input scaling kept with the model, applied per call
    {"lr_schedule": "invscaling", "power_t": 0.25},
    {"lr_schedule": "adaptive"},
])
def test_small_calls_train_exactly_as_the_general_path(cls, dtype, kw):
    fast, general, y = _pair(cls, dtype, **kw)
    calls = [(i, i + 1) for i in range(40, 100)] + [(i, i + 7) for i in range(100, 170, 7)]
    for a, b in calls:
        fast.partial_fit(X[a:b], y[a:b])
        _general(general, X[a:b], y[a:b])
        assert online.record(fast) is not None  # the fast path kept its record
    _same(fast, general)
    assert np.array_equal(fast.predict(X[:50]), general.predict(X[:50]))


def test_sample_and_class_weights_take_the_fast_path_with_the_same_numbers():
    fast, general, y = _pair(fastmlp.MLPClassifier, class_weight={0: 1.0, 1: 2.0, 2: 0.5})
    w = RNG.uniform(0, 2, len(y))
    w[::7] = 0
    for i in range(40, 120, 3):
        fast.partial_fit(X[i:i + 3], y[i:i + 3], sample_weight=w[i:i + 3])
        _general(general, X[i:i + 3], y[i:i + 3], sample_weight=w[i:i + 3])
    _same(fast, general)


def test_the_fast_path_really_skips_the_general_path(monkeypatch):
    m, _, y = _pair(fastmlp.MLPClassifier)
    m.partial_fit(X[40:41], y[40:41])  # the record is made by the general call before

    def refuse(*args, **kwargs):
        raise AssertionError("the general training path ran")

    monkeypatch.setattr("fastmlp.estimators.train", refuse)
    monkeypatch.setattr(type(m), "_resolve", refuse)
    for i in range(41, 60):
        m.partial_fit(X[i:i + 1], y[i:i + 1], classes=[0, 1, 2] if i % 2 else None)
        m.predict(X[i:i + 1])
        m.predict_proba(X[i:i + 2])
    assert m.t_ == 40 + 20


@pytest.mark.parametrize("bad, message", [
    (lambda x: np.where(np.arange(13) == 3, np.nan, x), "NaN or infinity"),
    (lambda x: x[:, :12], "features"),
    (lambda x: x[0], "2-D"),
    (lambda x: x.astype(str), "numeric"),
])
def test_bad_rows_get_the_general_paths_errors_and_change_nothing(bad, message):
    m, _, y = _pair(fastmlp.MLPClassifier)
    m.partial_fit(X[40:41], y[40:41])
    before = _state(m)
    with pytest.raises(ValueError, match=message):
        m.partial_fit(bad(X[41:42].copy()), y[41:42])
    with pytest.raises(ValueError, match=message):
        m.predict(bad(X[41:42].copy()))
    m2, _, _ = _pair(fastmlp.MLPClassifier)
    m2.partial_fit(X[40:41], y[40:41])
    _same(m, m2)
    assert _state(m)["t"] == before["t"]


@pytest.mark.parametrize("y_bad, message", [
    ([7], "not in classes_"), (["a"], "not in classes_"), ([0, 1], "different numbers"),
    ([0.5], "non-integer"), ([np.nan], "NaN"),
])
def test_bad_labels_get_the_general_paths_errors(y_bad, message):
    m, _, y = _pair(fastmlp.MLPClassifier)
    m.partial_fit(X[40:41], y[40:41])
    t = m.t_
    with pytest.raises(ValueError, match=message):
        m.partial_fit(X[41:42], y_bad)
    assert m.t_ == t


def test_a_different_classes_argument_is_still_refused():
    m, _, y = _pair(fastmlp.MLPClassifier)
    classes = np.array([0, 1, 2])
    m.partial_fit(X[40:41], y[40:41], classes=classes)
    m.partial_fit(X[41:42], y[41:42], classes=classes)  # the same object: fast
    classes[2] = 5  # changed in place
    with pytest.raises(ValueError, match="differs from classes_"):
        m.partial_fit(X[42:43], y[42:43], classes=classes)


def test_changed_hyperparameters_and_weights_are_seen():
    fast, general, y = _pair(fastmlp.MLPClassifier, class_weight={0: 1.0, 1: 1.0, 2: 1.0})
    for m in (fast, general):
        m.partial_fit(X[40:41], y[40:41])
    for m in (fast, general):
        m.learning_rate = 0.05  # an assignment drops the record
        m.class_weight[1] = 3.0  # a change in place is compared
        m.coefs_[0][:, :2] = 0.0  # live views: the same buffer
        m.intercepts_[1] = np.full(9, 0.1)  # a replaced array is taken in
    assert online.record(fast) is None
    for i in range(41, 60):
        fast.partial_fit(X[i:i + 1], y[i:i + 1])
        _general(general, X[i:i + 1], y[i:i + 1])
    _same(fast, general)


def test_the_record_is_not_pickled_and_copies_train_alike():
    m, _, y = _pair(fastmlp.MLPClassifier)
    m.partial_fit(X[40:41], y[40:41])
    for other in (pickle.loads(pickle.dumps(m)), copy.deepcopy(m)):
        assert online.record(other) is None
        for i in range(41, 50):
            other.partial_fit(X[i:i + 1], y[i:i + 1])
    a, b = pickle.loads(pickle.dumps(m)), m
    for i in range(41, 50):
        a.partial_fit(X[i:i + 1], y[i:i + 1])
        b.partial_fit(X[i:i + 1], y[i:i + 1])
    _same(a, b)


@pytest.mark.parametrize("on_divergence", ["warn", "raise"])
def test_a_divergence_on_the_first_row_of_a_call_changes_nothing(on_divergence):
    m, _, y = _pair(fastmlp.MLPRegressor, clip_value=0.0, alpha=0.0, scale_inputs=False,
                    on_divergence=on_divergence)
    m.partial_fit(X[40:41], y[40:41])
    assert m.diverged_ is False and online.record(m) is not None
    before = _state(m)
    if on_divergence == "raise":
        with pytest.raises(DivergenceError):
            m.partial_fit(X[41:42] * 1e30, np.array([1e30]))
    else:  # the general path's decision: warn, mark, keep the weights
        with pytest.warns(fastmlp.ConvergenceWarning, match="diverged"):
            m.partial_fit(X[41:42] * 1e30, np.array([1e30]))
    assert m.diverged_ is True
    after = _state(m)
    assert np.array_equal(after["params"], before["params"])
    assert after["t"] == before["t"] and after["loss"] == before["loss"]
    m.partial_fit(X[42:43], y[42:43])
    assert m.diverged_ is False


def test_a_divergence_later_in_a_call_returns_to_the_checkpoint():
    m, _, y = _pair(fastmlp.MLPRegressor, clip_value=0.0, alpha=0.0, shuffle=False,
                    scale_inputs=False, on_divergence="raise")
    checkpoint = _state(m)  # taken when the general first call made the record
    for i in range(40, 45):
        m.partial_fit(X[i:i + 1], y[i:i + 1])
    Xb = X[45:48].copy()
    Xb[2] *= 1e30  # the third row overflows the float32 outputs
    with pytest.raises(DivergenceError):
        m.partial_fit(Xb, y[45:48])
    _after = _state(m)
    assert np.array_equal(_after["params"], checkpoint["params"])
    assert (_after["t"], _after["n_iter"]) == (checkpoint["t"], checkpoint["n_iter"])
    assert _after["loss"] == checkpoint["loss"] and _after["acc"] == checkpoint["acc"]
    m.partial_fit(X[48:49], y[48:49])  # and it trains on


def test_ctrl_c_inside_a_small_call_leaves_a_consistent_model(monkeypatch):
    m, ref, y = _pair(fastmlp.MLPClassifier)  # the record and its checkpoint made by then
    o = online.RECORDS[m]
    real = o.kernels.train_epoch

    class Kernels:
        calls = 0

        def train_epoch(self, *args):
            result = real(*args)
            Kernels.calls += 1
            if Kernels.calls == 5:
                raise KeyboardInterrupt  # as if Ctrl-C arrived right after the kernel
            return result

        def __getattr__(self, name):
            return getattr(fastmlp.kernels, name)

    monkeypatch.setattr(o, "kernels", Kernels())
    with pytest.raises(KeyboardInterrupt):
        for i in range(41, 50):
            m.partial_fit(X[i:i + 1], y[i:i + 1])
    _same(m, ref)  # back at the checkpoint, taken when the record was made
    assert online.RECORDS[m] is o
    monkeypatch.undo()
    for model in (m, ref):
        for i in range(41, 50):
            model.partial_fit(X[i:i + 1], y[i:i + 1])
    _same(m, ref)


def test_checkpoints_follow_chunk_size():
    m, _, y = _pair(fastmlp.MLPClassifier, chunk_size=8)
    m.partial_fit(X[40:41], y[40:41])
    o = online.RECORDS[m]
    assert o.checkpoint["t"] == m.t_
    for i in range(41, 61):
        m.partial_fit(X[i:i + 1], y[i:i + 1])
    assert m.t_ - 8 < o.checkpoint["t"] + 1 <= m.t_ and o.since < 8


def test_weights_made_non_finite_by_the_user_are_still_reported():
    m, _, y = _pair(fastmlp.MLPClassifier)
    m.predict(X[:1])
    m.coefs_[1][:] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity"):
        m.predict(X[:1])


@pytest.mark.parametrize("cls", [fastmlp.MLPClassifier, fastmlp.MLPRegressor])
def test_small_predicts_equal_the_general_path_and_are_thread_safe(cls):
    m, _, y = _pair(cls)
    before = dict(m.__dict__)
    m.predict(X[:1])  # makes the record, outside the model's __dict__
    assert online.record(m) is not None and m.__dict__.keys() == before.keys()
    fast = [m.predict(X[i:i + 3]) for i in range(0, 60, 3)]
    online.forget(m)
    general = [m.predict(X[i:i + 3]) for i in range(0, 60, 3)]
    online.forget(m)
    for a, b in zip(fast, general):
        assert np.array_equal(a, b)
    m.predict(X[:1])
    results = [None, None]

    def worker(k):
        results[k] = [m.predict(X[i:i + 1]) for i in range(200)]

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for a, b in zip(*results):
        assert np.array_equal(a, b)


# ------------------------------------------------------------------ the kernels' small calls


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("sizes", [(13, 17, 9, 3), (37, 200, 10), (5, 16, 1), (8, 3)])
@pytest.mark.parametrize("alpha,clip_value", [(0.0, 0.0), (1e-3, 0.0), (0.0, 0.05)])
def test_the_public_buffer_in_place_trains_as_the_padded_copy(dtype, sizes, alpha, clip_value,
                                                              monkeypatch):
    """A small call trains on params in place (rows masked at their partial vector), a large
    one on the padded copy: without penalty or clipping the same numbers bit for bit, with
    them within the tolerance of reordered dot products."""
    p = make_problem(sizes, dtype=dtype, n=64, sparse=True)
    t = np.dtype(dtype).type
    order = np.random.default_rng(1).integers(0, 64, 200).astype(np.int64)
    results = []
    for padded_from in (10 ** 9, 0):
        monkeypatch.setattr(epochs, "PADDED_FROM", padded_from)
        q = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in p.items()}
        res = fastmlp.kernels.train_epoch(
            q["params"], q["grads"], q["acts"], q["dacts"], q["X"], q["Y"], order, q["layout"],
            q["activations"], q["loss"], t(0.05), t(alpha), t(0), t(clip_value), t(0), 1,
            *plain_sgd(dtype))
        out = np.empty((64, sizes[-1]), dtype)
        fastmlp.kernels.predict(out, q["X"], q["params"], q["acts"], q["layout"],
                                q["activations"])
        results.append((res, q["params"], out))
    (r1, p1, o1), (r2, p2, o2) = results
    assert r1[2] == r2[2] == 200
    if alpha == 0 and clip_value == 0:
        assert np.array_equal(p1, p2) and np.array_equal(o1, o2) and r1[0] == r2[0]
    else:
        np.testing.assert_allclose(p1, p2, **tol(dtype, "epoch"))


def test_the_reference_backend_keeps_its_own_calls():
    m = fastmlp.MLPClassifier(hidden_layer_sizes=(7,), backend="reference", random_state=0)
    m.partial_fit(X[:40], Y_CLASS[:40], classes=[0, 1, 2])
    m.partial_fit(X[40:41], Y_CLASS[40:41])
    m.predict(X[:3])
    assert online.record(m) is None
