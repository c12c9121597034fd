"""scikit-learn's MLP parameters and behaviours a user reaches for: the solver's default rate,
scikit-learn's names (max_iter, learning_rate_init, learning_rate=<schedule>), early_stopping,
warm_start, invscaling/adaptive with power_t, n_iter_no_change=np.inf, activation='logistic',
multilabel y, its verbose lines, best_loss_/validation_scores_ and its ConvergenceWarning."""

import sys
import types
import warnings

import numpy as np
import pytest

from fastmlp import ConvergenceWarning, MLPClassifier, MLPRegressor, training
from fastmlp.params import DEFAULTS
from helpers import balanced_blobs


def _data(n=90, seed=0):
    return balanced_blobs(n=n, seed=seed)


def _spy_rates(monkeypatch):
    """The learning rate of every compiled call."""
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


# ==================================================================== the solver's default rate


def test_the_default_learning_rate_follows_the_solver():
    assert DEFAULTS["learning_rate"] is None
    assert MLPClassifier()._resolve().learning_rate == 0.01
    assert MLPClassifier(solver="adam")._resolve().learning_rate == 0.001
    assert MLPClassifier(solver="adam", learning_rate=0.05)._resolve().learning_rate == 0.05
    assert MLPClassifier(solver="sgd", momentum=0.9)._resolve().learning_rate == 0.01


def test_adam_at_its_default_rate_learns_mnist():
    # at sgd's 0.01, per-sample Adam got worse every epoch (fastmlp train --solver adam: 70%,
    # 44%, 32% test accuracy; on these 3000 rows: 0.70 with the loss stuck near 0.75)
    from fastmlp.datasets import load_mnist
    X, y, Xt, yt = load_mnist()
    m = MLPClassifier(solver="adam", epochs=2, random_state=0).fit(X[:3000], y[:3000])
    assert m.loss_curve_[-1] < 0.4 and m.score(Xt[:1000], yt[:1000]) > 0.85


# ==================================================================== scikit-learn's names


def test_max_iter_and_learning_rate_init_are_epochs_and_learning_rate():
    m = MLPClassifier(max_iter=7, learning_rate_init=0.05)
    assert (m.epochs, m.learning_rate) == (7, 0.05)
    params = m.get_params()
    assert "max_iter" not in params and "learning_rate_init" not in params
    assert not hasattr(m, "max_iter")
    m.set_params(max_iter=3, learning_rate_init=0.2)
    assert (m.epochs, m.learning_rate) == (3, 0.2)
    X, y = _data()
    assert MLPClassifier(max_iter=2, hidden_layer_sizes=(4,)).fit(X, y).n_iter_ == 2


def test_learning_rate_names_the_schedule_as_in_scikit_learn():
    both = MLPClassifier(learning_rate="adaptive", learning_rate_init=0.05)
    assert (both.lr_schedule, both.learning_rate) == ("adaptive", 0.05)
    alone = MLPClassifier(learning_rate="invscaling")  # stored as given; resolves to both
    s = alone._resolve()
    assert (s.lr_schedule, s.learning_rate) == ("invscaling", 0.01)
    m = MLPClassifier(learning_rate=0.3).set_params(learning_rate="adaptive")
    assert (m.lr_schedule, m.learning_rate) == ("adaptive", 0.3)  # the rate stays, as in sklearn
    alone.set_params(learning_rate="adaptive")  # a schedule name replaces a schedule name
    assert alone._resolve().lr_schedule == "adaptive"


@pytest.mark.parametrize("kw", [dict(epochs=3, max_iter=5), dict(learning_rate=0.1,
                                                                   learning_rate_init=0.2),
                                dict(lr_schedule="step", learning_rate="adaptive",
                                     learning_rate_init=0.1)])
def test_conflicting_names_are_a_type_error(kw):
    with pytest.raises(TypeError, match="pass one of them"):
        MLPClassifier(**kw)


def test_clone_and_grid_search_with_scikit_learns_names():
    sklearn = pytest.importorskip("sklearn")  # noqa: F841
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV
    for m in (MLPClassifier(max_iter=4, learning_rate="adaptive", learning_rate_init=0.02),
              MLPClassifier(learning_rate="invscaling"), MLPClassifier(activation="logistic")):
        c = clone(m)
        assert c.get_params() == m.get_params()
    X, y = _data()
    grid = GridSearchCV(MLPClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0),
                        {"learning_rate_init": [0.001, 0.05],
                         "learning_rate": ["constant", "adaptive"]}, cv=3, error_score="raise")
    grid.fit(X, y)
    assert grid.best_estimator_.learning_rate in (0.001, 0.05)
    assert grid.best_estimator_.lr_schedule in ("constant", "adaptive")


def test_logistic_is_scikit_learns_sigmoid():
    X, y = _data()
    a = MLPClassifier(activation="logistic", hidden_layer_sizes=(6,), epochs=2,
                      random_state=0).fit(X, y)
    b = MLPClassifier(activation="sigmoid", hidden_layer_sizes=(6,), epochs=2,
                      random_state=0).fit(X, y)
    np.testing.assert_array_equal(a.params_, b.params_)
    assert a.activation == "logistic" and a._settings.activation == "sigmoid"


# ==================================================================== schedules


def test_invscaling_divides_the_rate_by_samples_seen_to_the_power_t(monkeypatch):
    rates = _spy_rates(monkeypatch)
    X, y = _data(n=60)
    MLPClassifier(hidden_layer_sizes=(4,), learning_rate="invscaling", learning_rate_init=0.1,
                  power_t=0.25, epochs=3, batch_size="full", random_state=0).fit(X, y)
    assert rates == pytest.approx([0.1, 0.1 / 61 ** 0.25, 0.1 / 121 ** 0.25])


def test_adaptive_divides_the_rate_by_5_when_the_loss_stalls(monkeypatch, capsys):
    rates = _spy_rates(monkeypatch)
    X, y = _data(n=60)
    # tol=10: no epoch counts as an improvement, so every 2 epochs the rate is divided by 5
    m = MLPClassifier(hidden_layer_sizes=(4,), learning_rate="adaptive", learning_rate_init=0.1,
                      n_iter_no_change=2, tol=10.0, epochs=7, batch_size="full",
                      random_state=0, verbose=True).fit(X, y)
    assert rates == pytest.approx([0.1, 0.1, 0.1, 0.02, 0.02, 0.004, 0.004])
    assert m._lr_scale == pytest.approx(0.008)
    assert "Setting learning rate to 0.02" in capsys.readouterr().err
    m.partial_fit(X, y)  # goes on at the rate the fit ended with
    assert rates[-1] == pytest.approx(0.0008)


def test_adaptive_stops_once_the_rate_is_below_1e_6():
    X, y = _data(n=60)
    m = MLPClassifier(hidden_layer_sizes=(4,), learning_rate="adaptive", learning_rate_init=1e-5,
                      n_iter_no_change=1, tol=10.0, epochs=50, random_state=0).fit(X, y)
    # 1e-5 -> 2e-6 -> 4e-7 (below 1e-6: the next stall stops)
    assert m.n_iter_ == 4


# ==================================================================== stopping


def test_early_stopping_holds_out_a_tenth_and_keeps_the_best_weights():
    X, y = _data(n=200)
    m = MLPClassifier(hidden_layer_sizes=(8,), early_stopping=True, epochs=60,
                      random_state=0).fit(X, y)
    s = m._settings
    assert (s.validation_fraction, s.n_iter_no_change) == (0.1, 10)
    assert m.t_ % 180 == 0  # 180 of the 200 rows trained
    assert len(m.validation_scores_) == m.n_iter_
    assert m.best_validation_score_ == max(m.validation_scores_)
    assert m.best_loss_ is None  # as scikit-learn: with early stopping, no best_loss_
    # the weights kept are those of the best-scoring epoch: they score it on the held-out rows
    rows = np.random.default_rng(0).permutation(200)[:20]
    assert m.score(X[rows], y[rows]) == m.best_validation_score_


def test_without_validation_scikit_learns_attributes_are_none():
    X, y = _data()
    m = MLPClassifier(hidden_layer_sizes=(4,), epochs=3, random_state=0).fit(X, y)
    assert m.validation_scores_ is None and m.best_validation_score_ is None
    assert m.best_loss_ == min(m.loss_curve_)


def test_n_iter_no_change_inf_never_stops():
    X, y = _data(n=60)
    m = MLPClassifier(hidden_layer_sizes=(4,), n_iter_no_change=np.inf, tol=10.0, epochs=15,
                      random_state=0).fit(X, y)
    assert m.n_iter_ == 15
    auto = MLPClassifier(hidden_layer_sizes=(4,), n_iter_no_change=np.inf, tol=10.0,
                         random_state=0).fit(X, y)
    assert auto.n_iter_ == auto._settings.n_epochs(60)  # epochs='auto' without its patience


# ==================================================================== warm_start


def test_warm_start_continues_where_the_last_fit_ended():
    X, y = _data()
    kw = dict(hidden_layer_sizes=(6,), epochs=2, random_state=0, shuffle=False)
    warm = MLPClassifier(warm_start=True, **kw).fit(X, y)
    warm.fit(X, y)
    assert warm.n_iter_ == 4 and len(warm.loss_curve_) == 4
    straight = MLPClassifier(**dict(kw, epochs=4)).fit(X, y)
    np.testing.assert_array_equal(warm.params_, straight.params_)
    cold = MLPClassifier(**kw).fit(X, y)
    cold.fit(X, y)
    assert cold.n_iter_ == 2  # without warm_start every fit starts afresh


def test_warm_start_needs_the_same_classes():
    X, y = _data()
    m = MLPClassifier(hidden_layer_sizes=(4,), epochs=1, warm_start=True).fit(X, y)
    keep = y < 2
    with pytest.raises(ValueError, match="warm_start can only be used where y has the same "
                                         "classes"):
        m.fit(X[keep], y[keep])
    assert m.n_iter_ == 1


# ==================================================================== multilabel


def _multilabel(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 5))
    Y = np.stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0, X[:, 3] > 0.5], axis=1).astype(int)
    return X, Y


def test_a_multilabel_indicator_y_trains_sigmoid_outputs():
    X, Y = _multilabel()
    m = MLPClassifier(hidden_layer_sizes=(16,), random_state=0).fit(X, Y)
    assert m._settings.output_activation == "sigmoid" and m._settings.loss == "cross_entropy"
    assert m.classes_.tolist() == [0, 1, 2]
    assert m.predict(X).shape == (200, 3) and set(np.unique(m.predict(X))) <= {0, 1}
    proba = m.predict_proba(X)
    assert proba.shape == (200, 3) and not np.allclose(proba.sum(axis=1), 1)
    assert m.score(X, Y) > 0.85  # every label of a row right
    for same in (Y.tolist(), list(Y)):  # lists of rows are indicator matrices too
        np.testing.assert_array_equal(
            MLPClassifier(hidden_layer_sizes=(16,), random_state=0).fit(X, same).predict(X),
            m.predict(X))
    np.testing.assert_array_equal(m.predict(X), (proba > 0.5).astype(int))
    # the loss is the binary cross-entropy of each output
    out = np.clip(proba.astype(np.float64), 1e-300, 1 - 1e-16)
    bce = -np.mean(np.sum(Y * np.log(out) + (1 - Y) * np.log(1 - out), axis=1))
    assert m.data_loss(X, Y) == pytest.approx(bce, rel=1e-4)
    assert 0 < m.accuracy_curve_[-1] <= 1


def test_multilabel_partial_fit_save_and_load(tmp_path):
    import fastmlp
    X, Y = _multilabel()
    m = MLPClassifier(hidden_layer_sizes=(8,), random_state=0)
    m.partial_fit(X, Y)
    m.partial_fit(X, Y)
    loaded = fastmlp.load(m.save(tmp_path / "m"))
    np.testing.assert_array_equal(loaded.predict_proba(X), m.predict_proba(X))
    with pytest.raises(ValueError, match="fitted on single labels"):
        MLPClassifier(hidden_layer_sizes=(4,), epochs=1).fit(X, Y[:, 0]).partial_fit(X, Y)
    with pytest.raises(ValueError, match="indicator matrix"):
        m.partial_fit(X, Y[:, 0])


def test_multilabel_against_scikit_learn():
    sklearn = pytest.importorskip("sklearn")  # noqa: F841
    from sklearn.datasets import make_multilabel_classification
    from sklearn.neural_network import MLPClassifier as Sk
    X, Y = make_multilabel_classification(n_samples=300, n_classes=4, random_state=0)
    X = (X - X.mean(0)) / X.std(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = MLPClassifier(random_state=0).fit(X[:200], Y[:200]).score(X[200:], Y[200:])
        theirs = Sk(random_state=0).fit(X[:200], Y[:200]).score(X[200:], Y[200:])
    assert ours >= theirs - 0.1, (ours, theirs)


# ==================================================================== what the user sees


def test_verbose_lines_say_iteration_and_loss_as_scikit_learn(capsys):
    X, y = _data(n=60)
    m = MLPClassifier(hidden_layer_sizes=(4,), epochs=2, verbose=True, random_state=0).fit(X, y)
    lines = [line.split("\r")[-1] for line in capsys.readouterr().err.splitlines()]
    found = [line for line in lines if line.startswith("Iteration ")]
    assert len(found) == 2
    assert found[1].startswith(f"Iteration 2, loss = {m.loss_curve_[1]:.8f}")


def test_convergence_warning_is_scikit_learns_when_it_is_loaded():
    sklearn = pytest.importorskip("sklearn")  # noqa: F841
    import sklearn.exceptions
    from sklearn.utils._testing import ignore_warnings
    X, y = _data(n=60)

    def unfinished():
        MLPClassifier(hidden_layer_sizes=(4,), epochs=2, random_state=0).fit(X, y)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        unfinished()
    found = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert found and issubclass(found[0].category, sklearn.exceptions.ConvergenceWarning)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=sklearn.exceptions.ConvergenceWarning)
        unfinished()
    assert not [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ignore_warnings(category=sklearn.exceptions.ConvergenceWarning)(unfinished)()
    assert not [w for w in caught if issubclass(w.category, ConvergenceWarning)]


def test_import_fastmlp_does_not_import_scikit_learn():
    import subprocess
    code = ("import sys, fastmlp; fastmlp.ConvergenceWarning; "
            "assert 'sklearn' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_regressor_takes_scikit_learns_names_too():
    X = np.random.default_rng(0).normal(size=(60, 3))
    m = MLPRegressor(hidden_layer_sizes=(4,), max_iter=3, learning_rate_init=0.02,
                     random_state=0).fit(X, X[:, 0])
    assert m.n_iter_ == 3 and m._settings.learning_rate == 0.02
