"""fastmlp/params.py: one table of hyperparameters, resolved once per fit into frozen Settings."""

import dataclasses
import inspect
import types

import numpy as np
import pytest

from fastmlp import MLPClassifier, MLPRegressor, estimators, params, training
from fastmlp.params import DEFAULTS, PARAMS, Settings, resolve


def blobs(n=60, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    X = rng.standard_normal((n, 4)) + y[:, None]
    return X, y


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_the_estimators_signature_is_the_table(cls):
    sig = inspect.signature(cls.__init__).parameters
    names = [n for n in sig if n != "self"]
    assert names == [p.name for p in PARAMS]
    for p in PARAMS:
        assert sig[p.name].default == p.default, p.name


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
    X, y = blobs()
    calls = _count_resolves(monkeypatch)
    m = MLPClassifier(hidden_layer_sizes=(5,), epochs=3, validation_fraction=0.2,
                      n_iter_no_change=5, random_state=0).fit(X, y)
    assert len(calls) == 1
    m.partial_fit(X, y)
    assert len(calls) == 2
    r = MLPRegressor(hidden_layer_sizes=(5,), random_state=0)
    r.partial_fit(X, y.astype(float))
    r.partial_fit(X, y.astype(float))
    assert len(calls) == 4


def _spy_learning_rates(monkeypatch):
    rates = []
    real = training.get_backend

    def get_backend(name):
        mod = real(name)
        spy = types.SimpleNamespace(predict=mod.predict)

        def train_epoch(*args):
            rates.append(float(args[10]))
            return mod.train_epoch(*args)
        spy.train_epoch = train_epoch
        return spy
    monkeypatch.setattr(training, "get_backend", get_backend)
    return rates


def test_changing_a_hyperparameter_during_fit_does_not_affect_that_fit(monkeypatch):
    """Documented choice: the training loop reads only the Settings resolved when fit started,
    so a change made from the epoch_callback takes effect at the next fit/partial_fit."""
    X, y = blobs()
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
