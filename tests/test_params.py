"""fastmlp/params.py: one table of hyperparameters, resolved once per fit into frozen Settings."""

import dataclasses
import inspect
import re

import numpy as np
import pytest

from fastmlp import MLPClassifier, MLPRegressor, estimators, training
from fastmlp.params import DEFAULTS, PARAMS, Settings, resolve
from fastmlp.sklearn_compat import ALIASES
from helpers import X, Y, balanced_blobs, clf, clf64, reg


def _data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    X = rng.standard_normal((n, 4)) + y[:, None]
    return X, y


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_the_estimators_signature_is_the_table(cls):
    sig = inspect.signature(cls.__init__).parameters
    names = [n for n in sig if n != "self"]
    # then scikit-learn's names fastmlp takes for its own (default None, not in get_params)
    assert names == [p.name for p in PARAMS] + list(ALIASES)
    for p in PARAMS:
        assert sig[p.name].default == p.default, p.name
    assert all(sig[name].default is None for name in ALIASES)
    assert sorted(cls().get_params()) == sorted(p.name for p in PARAMS)


def test_settings_hold_every_hyperparameter_of_the_table():
    fields = [f.name for f in dataclasses.fields(Settings)]
    assert fields[:len(PARAMS)] == [p.name for p in PARAMS]


def test_settings_are_frozen_and_resolved_with_the_estimators_defaults():
    s = resolve(DEFAULTS, "softmax", "cross_entropy")
    assert (s.output_activation, s.loss, s.init) == ("softmax", "cross_entropy", "he")
    assert s.activation_codes.tolist() == [1, 1, 4] and s.loss_code == 0
    assert s.dtype == np.float32 and s.hidden_layer_sizes == (200, 200)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.learning_rate = 1.0
    r = resolve(dict(DEFAULTS, activation="tanh"), "identity", "squared_error")
    assert (r.output_activation, r.loss, r.init) == ("identity", "squared_error", "xavier")


def test_resolve_validates_in_table_order_naming_the_parameter():
    with pytest.raises(ValueError, match=r"learning_rate=-1 is not valid"):
        resolve(dict(DEFAULTS, learning_rate=-1, epochs=0), "softmax", "cross_entropy")


def _count_resolves(monkeypatch):
    calls = []
    real = estimators.resolve

    def counting(*args):
        calls.append(1)
        return real(*args)
    monkeypatch.setattr(estimators, "resolve", counting)
    return calls


def test_settings_are_resolved_once_per_fit_and_partial_fit(monkeypatch):
    X, y = _data()
    calls = _count_resolves(monkeypatch)
    m = MLPClassifier(hidden_layer_sizes=(5,), epochs=3, validation_fraction=0.2,
                      n_iter_no_change=5, random_state=0).fit(X, y)
    assert len(calls) == 1
    m.partial_fit(X, y)
    assert len(calls) == 2
    r = MLPRegressor(hidden_layer_sizes=(5,), random_state=0)
    r.partial_fit(X, y.astype(float))
    r.partial_fit(X, y.astype(float))  # a small call: the settings of the call before it
    assert len(calls) == 3              # (the record of fastmlp/online.py)
    r.alpha = 0.01  # an assignment: the next call resolves again
    r.partial_fit(X, y.astype(float))
    assert len(calls) == 4


def _spy_learning_rates(monkeypatch):
    # on the backends' modules: the general path and the small calls' fast path call them
    rates = []
    for name in ("numba", "reference"):
        mod = training.get_backend(name)

        def train_epoch(*args, real=mod.train_epoch):
            rates.append(float(args[10]))
            return real(*args)
        monkeypatch.setattr(mod, "train_epoch", train_epoch)
    return rates


def test_changing_a_hyperparameter_during_fit_does_not_affect_that_fit(monkeypatch):
    """Documented choice: the training loop reads only the Settings resolved when fit started,
    so a change made from the epoch_callback takes effect at the next fit/partial_fit."""
    X, y = _data()
    rates = _spy_learning_rates(monkeypatch)

    def change(model, info):
        model.learning_rate = 0.5
        model.lr_schedule = "no such schedule"  # not even validated during this fit
        model.epochs = 1                        # nor does it stop the fit early

    m = MLPClassifier(hidden_layer_sizes=(5,), batch_size="full", epochs=3, learning_rate=0.1,
                      random_state=0)
    m.fit(X, y, epoch_callback=change)
    assert m.n_iter_ == 3 and rates == pytest.approx([0.1] * 3)
    with pytest.raises(ValueError, match="lr_schedule='no such schedule'"):
        m.partial_fit(X, y)  # the next call resolves the changed hyperparameters
    m.set_params(lr_schedule="constant").partial_fit(X, y)
    assert rates[-1] == pytest.approx(0.5)


# ==================================================================== bad and valid hyperparameters


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
    dict(name="loss", value="cross_entropy", extra=dict(output_activation="tanh"),
         match=r"loss='cross_entropy' needs output_activation='softmax' \(or 'sigmoid': binary "
               r"cross-entropy per output\), got output_activation='tanh'; use "
               r"loss='squared_error'"),
    _number("learning_rate", "fast", "a finite number > 0, None (the solver's default) or one "
                                     "of scikit-learn's schedule names ('constant', 'invscaling', "
                                     "'adaptive')"),
    dict(name="scale_inputs", value="yes", match=re.escape(
        "scale_inputs='yes' is not valid; expected 'auto', True or False")),
    dict(name="shuffle", value="False", match=re.escape(
        "shuffle='False' is not valid; expected True or False")),
    dict(name="shuffle", value=None, match=re.escape(
        "shuffle=None is not valid; expected True or False")),
    _choice("on_divergence", "ignore", "('warn', 'raise')"),
    _number("power_t", -0.5, "a finite number >= 0"),
    _number("n_iter_no_change", -np.inf, "an integer >= 1, np.inf (never stop) or None"),
    dict(name="lr_schedule", value="step", extra=dict(learning_rate="adaptive"),
         match=re.escape("learning_rate='adaptive' (scikit-learn's name for the schedule) "
                         "conflicts with lr_schedule='step'")),
    _choice("init", "zeros", "('he', 'xavier', 'glorot', 'normal')"),
    _choice("lr_schedule", "cosine", "('constant', 'step', 'exponential', 'inverse_time', "
                                     "'linear', 'invscaling', 'adaptive')"),
    _choice("backend", "cuda", "('numba', 'reference')"),
    _number("alpha", -1e-4, "a finite number >= 0"),
    _number("clip_value", -1, "a finite number >= 0"),
    _number("clip_norm", float("nan"), "a finite number >= 0"),
    _number("lr_decay", 0, "a finite number > 0"),
    _number("tol", -1.0, "a finite number >= 0"),
    _number("chunk_size", 0, "an integer > 0"),
    _number("n_iter_no_change", 0, "an integer >= 1, np.inf (never stop) or None"),
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


def test_valid_hyperparameter_spellings_are_accepted():
    for kw in (dict(dtype=np.float64), dict(dtype="float32"), dict(hidden_layer_sizes=3),
               dict(hidden_layer_sizes=np.array([3, 2])), dict(hidden_layer_sizes=()),
               dict(learning_rate=np.float32(0.01)), dict(epochs=np.int64(1)),
               dict(batch_size="full"), dict(batch_size=10**6), dict(batch_size=np.int32(3)),
               dict(validation_fraction=np.float32(0.2)),
               dict(learning_rate=1e-50, dtype="float64")):
        m = clf(**kw).fit(X, Y)
        assert np.isfinite(m.predict_proba(X)).all()


# ==================================================================== activations and losses


@pytest.mark.parametrize("output", ["identity", "tanh", "relu"])
def test_cross_entropy_needs_softmax(output):
    X, y = balanced_blobs()
    with pytest.raises(ValueError, match=r"cross_entropy.*softmax.*" + output):
        clf64(output_activation=output, loss="cross_entropy").fit(X, y)
    with pytest.raises(ValueError, match="cross_entropy"):
        MLPRegressor(loss="cross_entropy", output_activation=output).fit(X, y.astype(float))


@pytest.mark.parametrize("kw,name", [(dict(activation="softmax"), "activation"),
                                     (dict(activation="gelu"), "activation"),
                                     (dict(output_activation="gelu"), "output_activation"),
                                     (dict(loss="hinge"), "loss")])
def test_unsupported_names_are_clear_errors(kw, name):
    X, y = balanced_blobs()
    with pytest.raises(ValueError, match=rf"{name}=.*not supported; expected one of"):
        clf64(**kw).fit(X, y)


def test_defaults_pick_the_matching_loss():
    X, y = balanced_blobs()
    assert clf64().fit(X, y)._settings.loss_code == 0  # softmax -> cross-entropy
    m = clf64(output_activation="sigmoid").fit(X, y)  # sigmoid -> squared error
    assert m._settings.loss_code == 1
    r = MLPRegressor(hidden_layer_sizes=(4,), epochs=1, random_state=0).fit(X, X[:, 0])
    assert r._settings.loss_code == 1 and r._settings.activation_codes[-1] == 0  # identity, squared error


@pytest.mark.parametrize("penalty,expected", [("l2", (1e-3, 0.0)), ("l1", (0.0, 1e-3)),
                                              ("elasticnet", (1e-3 * 0.75, 1e-3 * 0.25))])
def test_penalty_splits_alpha_like_scikit_learns_sgd(penalty, expected):
    s = MLPClassifier(alpha=1e-3, penalty=penalty, l1_ratio=0.25)._resolve()
    assert (s.l2, s.l1) == pytest.approx(expected)
    assert MLPClassifier().penalty == "l2" and MLPClassifier().l1_ratio == 0.15


@pytest.mark.parametrize("kw,message", [(dict(penalty="l3"), "penalty='l3'"),
                                        (dict(l1_ratio=1.5), "l1_ratio=1.5"),
                                        (dict(diagnostics="yes"), "diagnostics='yes'"),
                                        (dict(lr_schedule="step", lr_decay=2.0), "grow")])
def test_new_hyperparameters_are_checked(kw, message):
    with pytest.raises(ValueError, match=message):
        MLPClassifier(**kw)._resolve()


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_help_documents_every_parameter_numpydoc_style(cls):
    doc = cls.__doc__
    assert "Parameters\n----------" in doc
    for p in PARAMS:
        assert f"\n{p.name} : " in doc, p.name
    assert "diagnostics_ : dict of lists" in doc

