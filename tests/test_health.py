"""Defaults that train, training health (fastmlp.ConvergenceWarning), the regressor's target
standardisation, the per-epoch lines and the progress bar."""

import io
import json
import warnings

import numpy as np
import pytest

import fastmlp
from fastmlp import ConvergenceWarning, DivergenceError, MLPClassifier, MLPRegressor, cli
from fastmlp.params import MAX_AUTO_EPOCHS, SAMPLE_BUDGET, auto_epochs
from fastmlp.progress import ProgressBar


def _classes(n=200, d=20, k=4, seed=0):
    """Non-negative inputs in [0, 1] (like pixels), k classes from a random linear map."""
    rng = np.random.default_rng(seed)
    X = rng.random((n, d))
    y = np.argmax((X - 0.5) @ rng.normal(size=(d, k)), axis=1)
    return X, y


def _fit_warnings(model, X, y):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(X, y)
    return [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]


def _standardised(X):
    return (X - X.mean(axis=0)) / X.std(axis=0)


# ==================================================================== epochs='auto'


def test_auto_epochs_scale_with_the_data_set():
    assert auto_epochs(60_000) == 3  # MNIST: the reference workload
    assert auto_epochs(6_000) == SAMPLE_BUDGET // 6_000
    assert auto_epochs(100) == MAX_AUTO_EPOCHS and auto_epochs(10**7) == 3


def test_auto_epochs_stop_when_the_training_loss_stalls():
    # one informative feature, a quarter of the labels flipped: the loss has a floor
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    y = (X[:, 0] > 0).astype(int)
    flip = rng.random(200) < 0.25
    y[flip] = 1 - y[flip]
    m = MLPClassifier(hidden_layer_sizes=(4,), random_state=0).fit(X, y)
    assert 10 < m.n_iter_ < MAX_AUTO_EPOCHS  # stopped by tol/n_iter_no_change, not the cap
    best = min(m.loss_curve_[:-10])
    assert all(v > best - m.tol for v in m.loss_curve_[-10:])
    assert m.score(X, y) > 0.7


@pytest.mark.parametrize("epochs", [0, -1, 2.5, "3", "automatic", True, None])
def test_bad_epochs_are_refused(epochs):
    with pytest.raises(ValueError, match=r"epochs=.*expected an integer > 0 or 'auto'"):
        MLPClassifier(epochs=epochs).fit(*_classes(n=20))


# ==================================================================== data sets the user has


def _split(loader, seed, stratify=True):
    sklearn = pytest.importorskip("sklearn")  # noqa: F841
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler
    X, y = loader(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=seed,
                                          stratify=y if stratify else None)
    scaler = StandardScaler().fit(Xtr)
    return scaler.transform(Xtr), scaler.transform(Xte), ytr, yte


@pytest.mark.parametrize("name", ["iris", "wine"])
def test_default_classifier_trains_small_data_sets_well(name):
    datasets = pytest.importorskip("sklearn.datasets")
    scores = []
    for seed in (0, 1):
        Xtr, Xte, ytr, yte = _split(getattr(datasets, f"load_{name}"), seed)
        m = MLPClassifier(random_state=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)  # a healthy default fit
            m.fit(Xtr, ytr)
        scores.append(m.score(Xte, yte))
    assert np.mean(scores) >= 0.94, scores  # scikit-learn's defaults: 0.97 / 0.98 here


def test_default_regressor_fits_raw_diabetes_targets():
    datasets = pytest.importorskip("sklearn.datasets")
    Xtr, Xte, ytr, yte = _split(datasets.load_diabetes, 0, stratify=False)
    assert ytr.min() > 20 and ytr.max() > 300  # raw targets
    m = MLPRegressor(random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        m.fit(Xtr, ytr)
    assert m.score(Xte, yte) >= 0.30  # Ridge: 0.36, scikit-learn's MLPRegressor(): -1.4


# ==================================================================== ConvergenceWarning


def test_convergence_warning_is_a_user_warning():
    assert issubclass(fastmlp.ConvergenceWarning, UserWarning)


def test_no_warning_on_a_healthy_default_fit():
    X, y = _classes(n=150)
    assert _fit_warnings(MLPClassifier(hidden_layer_sizes=(32,), random_state=0), X, y) == []


def test_warns_when_the_epochs_run_out_while_the_loss_still_falls():
    X, y = _classes(n=150)
    found = _fit_warnings(MLPClassifier(hidden_layer_sizes=(32,), epochs=3, random_state=0),
                          X, y)
    assert len(found) == 1 and "still falling" in found[0] and "raise epochs" in found[0]


def test_no_still_falling_warning_after_an_early_stop_or_with_a_full_budget():
    X, y = _classes(n=150)
    m = MLPClassifier(hidden_layer_sizes=(32,), epochs=3, n_iter_no_change=1, tol=10.0,
                      random_state=0)
    assert _fit_warnings(m, X, y) == [] and m.n_iter_ == 2  # stopped early: no complaint
    assert fastmlp.health.still_falling([2.0, 1.0], 1e-4, SAMPLE_BUDGET) is None
    assert "still falling" in fastmlp.health.still_falling([2.0, 1.0], 1e-4, 1000)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_warns_when_every_relu_unit_died():
    X, y = _classes(n=300, d=64, k=10)
    found = _fit_warnings(MLPClassifier(hidden_layer_sizes=(16,), learning_rate=1e12, epochs=2,
                                        random_state=0), X, y)
    assert any("hidden layer 1" in f and "dead" in f for f in found), found


def test_warns_when_training_accuracy_is_at_chance():
    X, y = _classes(n=200)
    m = MLPClassifier(hidden_layer_sizes=(8,), epochs=4, random_state=0)
    m.fit(X, y)
    # a network whose output ignores its input: the majority class, whatever the row
    m.coefs_[-1][...] = 0
    m.intercepts_[-1][...] = np.eye(4)[np.bincount(y).argmax()]
    Y = np.eye(4)[y]
    reason = fastmlp.health.collapsed(m.params_, m.layout_, X, Y, m._settings.activation_codes,
                                      True)
    assert reason is not None and "chance level" in reason
    # as a regressor's outputs, the same network is judged by its R^2 instead
    other = fastmlp.health.collapsed(m.params_, m.layout_, X, Y, m._settings.activation_codes,
                                     False)
    assert "chance level" not in other and "training R^2" in other


def test_warns_when_a_regressor_learns_nothing_from_raw_inputs():
    # inputs in the thousands: the default learning rate kills or saturates the units and the
    # network predicts the mean (scaled inputs train, and do not warn)
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 2000, (300, 4))
    y = np.sin(X[:, 0] / 300) + X[:, 1] / 1000 + 0.05 * rng.normal(size=300)
    found = _fit_warnings(MLPRegressor(hidden_layer_sizes=(32,), random_state=0,
                                       scale_inputs=False), X, y)
    assert any("training R^2" in f and "standardise X (scale_inputs=True" in f
               for f in found), found
    assert _fit_warnings(MLPRegressor(hidden_layer_sizes=(32,), random_state=0),
                         _standardised(X), y) == []
    # the default standardises such inputs itself (scale_inputs='auto'): no warning
    assert _fit_warnings(MLPRegressor(hidden_layer_sizes=(32,), random_state=0), X, y) == []


def test_warns_when_the_loss_explodes():
    # full-batch linear regression with a step just above the stable limit 2 / lambda_max:
    # the loss grows by a constant factor every epoch and stays finite for 30 epochs
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 5))
    y = X @ rng.normal(size=5)
    lam = np.linalg.eigvalsh(X.T @ X / 100).max()
    m = MLPRegressor(hidden_layer_sizes=(), batch_size="full", learning_rate=1.1 * 2 / lam,
                     alpha=0.0, clip_value=0.0, epochs=30, random_state=0, dtype="float64")
    found = _fit_warnings(m, X, y)
    assert np.isfinite(m.loss_curve_).all()
    assert any("times its lowest epoch" in f for f in found), found


def test_partial_fit_does_not_judge_one_epoch():
    X, y = _classes(n=100)
    m = MLPClassifier(hidden_layer_sizes=(8,), random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        m.partial_fit(X, y, classes=np.arange(4))


def test_cli_prints_the_warning(capsys):
    assert cli.main(["train", "--train-samples", "300", "--epochs", "2", "--hidden", "8",
                     "--quiet", "--json"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert result["warnings"] and "still falling" in result["warnings"][0]
    assert "fastmlp: warning: MLPClassifier: the training loss was still falling" in captured.err


def test_divergence_remedies_name_the_targets_for_squared_error():
    X = np.random.default_rng(0).normal(size=(40, 3)) * 100
    with pytest.raises(DivergenceError, match="targets y scaled"):
        MLPRegressor(hidden_layer_sizes=(8,), clip_value=0.0, alpha=0.0, learning_rate=1.0,
                     epochs=2, random_state=0, on_divergence="raise",
                     scale_inputs=False).fit(X, X[:, 0])
    with pytest.raises(DivergenceError) as info:
        MLPClassifier(hidden_layer_sizes=(8,), learning_rate=1e12, epochs=2,
                      random_state=0, on_divergence="raise").fit(X, (X[:, 0] > 0).astype(int))
    assert "targets" not in str(info.value)


# ==================================================================== the regressor's targets


def _regression(n=120, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = 300 + 50 * (X @ rng.normal(size=4)) + rng.normal(size=n)
    return X, y


def test_regressor_standardises_targets_and_predicts_in_their_units(tmp_path):
    X, y = _regression()
    m = MLPRegressor(hidden_layer_sizes=(16,), random_state=0).fit(X, y)
    np.testing.assert_allclose(m._y_mean, [y.mean()])
    np.testing.assert_allclose(m._y_scale, [y.std()])
    pred = m.predict(X)
    assert pred.dtype == np.float64 and pred.shape == y.shape
    assert m.score(X, y) > 0.9
    # data_loss measures what the loss curve measures: half the squared error of the
    # standardised targets
    raw = m._predict_raw(X).astype(np.float64).ravel()
    expected = 0.5 * np.mean((raw - (y - y.mean()) / y.std()) ** 2)
    assert m.data_loss(X, y) == pytest.approx(expected, rel=1e-6)
    same = fastmlp.load(m.save(tmp_path / "r.npz"))
    np.testing.assert_array_equal(same.predict(X), pred)
    np.testing.assert_array_equal(same._y_scale, m._y_scale)


def test_a_regressor_file_without_target_scaling_still_loads(tmp_path):
    X, y = _regression()
    m = MLPRegressor(hidden_layer_sizes=(8,), epochs=2, random_state=0).fit(X, y)
    path = m.save(tmp_path / "r.npz")
    data = dict(np.load(path))
    del data["y_mean"], data["y_scale"]
    np.savez(tmp_path / "old.npz", **data)
    old = fastmlp.load(tmp_path / "old.npz")
    assert old._y_mean is None
    np.testing.assert_allclose(old.predict(X), m._predict_raw(X).ravel())  # raw outputs


def test_partial_fit_keeps_the_first_calls_target_statistics():
    X, y = _regression()
    m = MLPRegressor(hidden_layer_sizes=(8,), random_state=0)
    m.partial_fit(X[:60], y[:60])
    mean, scale = m._y_mean.copy(), m._y_scale.copy()
    m.partial_fit(X[60:], y[60:] + 1000)
    np.testing.assert_array_equal(m._y_mean, mean)
    np.testing.assert_array_equal(m._y_scale, scale)


def test_non_identity_outputs_train_on_raw_targets():
    X, y = _regression()
    t = (y - y.min()) / (y.max() - y.min())
    m = MLPRegressor(hidden_layer_sizes=(8,), output_activation="sigmoid", epochs=2,
                     random_state=0).fit(X, t)
    assert m._y_mean is None
    np.testing.assert_array_equal(m.predict(X), m._predict_raw(X).ravel())


# ==================================================================== what the user sees


def test_verbose_prints_one_line_per_epoch(capsys):
    X, y = _classes(n=60)
    MLPClassifier(hidden_layer_sizes=(8,), epochs=2, verbose=True, random_state=0).fit(
        X, y, validation_data=(X, y))
    err = capsys.readouterr().err
    lines = [line.split("\r")[-1] for line in err.splitlines()]
    epoch_lines = [line for line in lines if line.startswith("Iteration ") and
                   ", loss = " in line]
    assert len(epoch_lines) == 2
    assert "train accuracy" in epoch_lines[0] and "validation accuracy" in epoch_lines[0]
    assert epoch_lines[1].endswith(" s")


def test_verbose_bar_prints_no_epoch_lines(capsys):
    X, y = _classes(n=60)
    MLPClassifier(hidden_layer_sizes=(8,), epochs=2, verbose="bar", random_state=0).fit(X, y)
    err = capsys.readouterr().err
    assert "[" in err and "loss" not in err


@pytest.mark.parametrize("verbose", [-1, "yes", 0.5, None])
def test_bad_verbose_is_refused(verbose):
    with pytest.raises(ValueError, match="verbose="):
        MLPClassifier(verbose=verbose).fit(*_classes(n=20))


def test_progress_bar_covers_a_longer_previous_text():
    stream = io.StringIO()
    bar = ProgressBar(10, "e", stream=stream)
    bar.start -= 1e-6  # a huge rate: many digits
    bar.update(5, force=True)
    first = stream.getvalue().split("\r")[-1]
    bar.start -= 1e6  # a tiny rate: fewer digits
    bar.update(6, force=True)
    second = stream.getvalue().split("\r")[-1]
    assert len(second) >= len(first) and second.rstrip().endswith("samples/s")
