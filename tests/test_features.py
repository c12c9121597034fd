"""Issue 4's feature list, each from the estimator API (and the CLI where there is one):
activations/losses, initialisers, L2, schedules, clipping, divergence, batch modes, validation
and early stopping, the regressor, Fashion-MNIST. Kernel vs reference wherever math is touched.
"""

import json
import types

import numpy as np
import pytest

from fastmlp import DivergenceError, MLPClassifier, MLPRegressor, cli, datasets, training
from fastmlp.gradcheck import analytic_gradient
from fastmlp.init import initialise
from fastmlp.layout import coef_views, make_layout
from fastmlp.schedules import learning_rate_at
from helpers import VALID_OUTPUTS, tol


def blobs(n=60, n_features=4, n_classes=3, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((n_classes, n_features)) * 3
    y = np.arange(n) % n_classes
    return centers[y] + rng.standard_normal((n, n_features)), y


def clf(**kw):
    params = dict(hidden_layer_sizes=(8,), epochs=2, learning_rate=0.05, random_state=0,
                  dtype="float64")
    params.update(kw)
    return MLPClassifier(**params)


# --------------------------------------------------------------------- activations and losses

@pytest.mark.parametrize("output,loss", VALID_OUTPUTS)
@pytest.mark.parametrize("hidden", ["identity", "relu", "sigmoid", "tanh"])
def test_every_supported_pair_trains_the_same_through_kernels_and_reference(hidden, output, loss):
    X, y = blobs(n=24)
    X = X / 4  # identity-identity networks diverge on the raw blobs
    kw = dict(activation=hidden, output_activation=output, loss=loss, batch_size=4,
              learning_rate=0.02)
    a = clf(backend="numba", **kw).fit(X, y)
    b = clf(backend="reference", **kw).fit(X, y)
    np.testing.assert_allclose(a.params_, b.params_, **tol(np.float64, "epoch"))
    np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, **tol(np.float64, "epoch"))
    assert a.predict_proba(X).shape == (24, 3)


@pytest.mark.parametrize("output", ["sigmoid", "identity", "tanh", "relu"])
def test_cross_entropy_needs_softmax(output):
    X, y = blobs()
    with pytest.raises(ValueError, match=r"cross_entropy.*softmax.*" + output):
        clf(output_activation=output, loss="cross_entropy").fit(X, y)
    with pytest.raises(ValueError, match="cross_entropy"):
        MLPRegressor(loss="cross_entropy", output_activation=output).fit(X, y.astype(float))


@pytest.mark.parametrize("kw,name", [(dict(activation="softmax"), "activation"),
                                     (dict(activation="gelu"), "activation"),
                                     (dict(output_activation="gelu"), "output_activation"),
                                     (dict(loss="hinge"), "loss")])
def test_unsupported_names_are_clear_errors(kw, name):
    X, y = blobs()
    with pytest.raises(ValueError, match=rf"{name}=.*not supported; expected one of"):
        clf(**kw).fit(X, y)


def test_defaults_pick_the_matching_loss():
    X, y = blobs()
    assert clf().fit(X, y)._settings.loss_code == 0  # softmax -> cross-entropy
    m = clf(output_activation="sigmoid").fit(X, y)  # sigmoid -> squared error
    assert m._settings.loss_code == 1
    r = MLPRegressor(hidden_layer_sizes=(4,), epochs=1, random_state=0).fit(X, X[:, 0])
    assert r._settings.loss_code == 1 and r._settings.activation_codes[-1] == 0  # identity, squared error


# --------------------------------------------------------------------- initialisers

def _init(scheme, fan_in=400, fan_out=300, seed=0):
    layout, n_params, _ = make_layout((fan_in, fan_out))
    params = np.full(n_params, np.nan)
    initialise(params, layout, scheme, np.random.default_rng(seed))
    W, b = coef_views(params, layout)
    return W[0], b[0]


@pytest.mark.parametrize("scheme,std", [("he", np.sqrt(2 / 400)),
                                        ("xavier", np.sqrt(6 / 700) / np.sqrt(3)),
                                        ("glorot", np.sqrt(6 / 700) / np.sqrt(3)),
                                        ("normal", np.sqrt(1 / 400))])
def test_initialisers_have_their_scale_and_zero_biases(scheme, std):
    W, b = _init(scheme)
    assert abs(W.std() / std - 1) < 0.02
    assert abs(W.mean()) < 0.05 * std
    np.testing.assert_array_equal(b, 0)
    if scheme in ("xavier", "glorot"):
        assert np.abs(W).max() <= np.sqrt(6 / 700)


def test_init_by_name_on_the_estimator():
    X, y = blobs()
    np.testing.assert_array_equal(_init("xavier")[0], _init("glorot")[0])
    fits = {s: clf(init=s, epochs=1, learning_rate=1e-300).fit(X, y) for s in
            ("he", "xavier", "glorot", "normal")}
    np.testing.assert_array_equal(fits["xavier"].params_, fits["glorot"].params_)
    assert not np.array_equal(fits["he"].params_, fits["normal"].params_)
    assert clf(activation="relu").init is None  # resolved at fit: he for relu, xavier else
    with pytest.raises(ValueError, match="init="):
        clf(init="orthogonal").fit(X, y)


# --------------------------------------------------------------------- L2, full batch

@pytest.mark.parametrize("backend", ["numba", "reference"])
def test_one_full_batch_epoch_is_one_gradient_step_on_the_penalised_loss(backend):
    """W1 = W0 - lr * (mean gradient + alpha * W0); biases get no alpha."""
    X, y = blobs(n=30)
    lr, alpha = 0.3, 0.2
    m = clf(batch_size="full", epochs=1, learning_rate=lr, alpha=alpha, shuffle=False,
            activation="tanh", backend=backend).fit(X, y)
    layout, n_params, _ = make_layout((4, 8, 3))
    p0 = np.zeros(n_params)
    initialise(p0, layout, "xavier", np.random.default_rng(0))
    g = analytic_gradient(p0, layout, X, np.eye(3)[y], m._settings.activation_codes, m._settings.loss_code,
                          alpha)
    np.testing.assert_allclose(m.params_, p0 - lr * g, rtol=1e-12, atol=1e-14)
    g0 = analytic_gradient(p0, layout, X, np.eye(3)[y], m._settings.activation_codes, m._settings.loss_code,
                           0.0)
    _, db = coef_views(g - g0, layout)
    assert all(np.all(d == 0) for d in db)


# --------------------------------------------------------------------- schedules

def test_schedule_values():
    assert [learning_rate_at("constant", 0.1, t, 10) for t in (0, 3, 9.5)] == [0.1] * 3
    assert [learning_rate_at("step", 1.0, t, 10, 0.5, 2) for t in (0, 1.9, 2, 4.5)] == \
        [1, 1, 0.5, 0.25]
    assert learning_rate_at("exponential", 2.0, 3, 10, 0.5) == pytest.approx(0.25)
    assert learning_rate_at("exponential", 2.0, 0.5, 10, 0.25) == pytest.approx(1.0)
    assert learning_rate_at("inverse_time", 1.0, 4, 10, 0.5) == pytest.approx(1 / 3)
    assert [learning_rate_at("linear", 1.0, t, 4) for t in (0, 1, 2, 3, 4, 5)] == \
        [1, 0.75, 0.5, 0.25, 0, 0]
    with pytest.raises(ValueError, match="lr_schedule"):
        learning_rate_at("cosine", 1.0, 0, 1)


class _Spy:
    """A backend that records the learning rate of every train_epoch call, then delegates."""

    def __init__(self, monkeypatch):
        self.lrs = []
        real = training.get_backend

        def get_backend(name):
            mod = real(name)
            spy = types.SimpleNamespace(predict=mod.predict)

            def train_epoch(*args):
                self.lrs.append(float(args[10]))
                return mod.train_epoch(*args)
            spy.train_epoch = train_epoch
            return spy
        monkeypatch.setattr(training, "get_backend", get_backend)


@pytest.mark.parametrize("schedule,decay,step,expected", [
    ("constant", 0.5, 1, [1, 1, 1, 1, 1]),
    ("step", 0.5, 2, [1, 1, 0.5, 0.5, 0.25]),
    ("exponential", 0.5, 1, [1, 0.5, 0.25, 0.125, 0.0625]),
    ("inverse_time", 1.0, 1, [1, 1 / 2, 1 / 3, 1 / 4, 1 / 5]),
    ("linear", 0.5, 1, [1, 0.8, 0.6, 0.4, 0.2]),
])
def test_fit_follows_the_schedule_epoch_by_epoch(monkeypatch, schedule, decay, step, expected):
    spy = _Spy(monkeypatch)
    X, y = blobs(n=20)
    clf(batch_size="full", epochs=5, learning_rate=1.0, lr_schedule=schedule, lr_decay=decay,
        lr_step=step).fit(X, y)
    np.testing.assert_allclose(spy.lrs, expected, rtol=1e-12)


def test_schedule_decays_within_an_epoch_between_chunks(monkeypatch):
    spy = _Spy(monkeypatch)
    X, y = blobs(n=40)
    clf(epochs=2, learning_rate=1.0, lr_schedule="linear", chunk_size=10).fit(X, y)
    np.testing.assert_allclose(spy.lrs, 1 - np.arange(8) / 8)


def test_schedule_continues_across_partial_fit(monkeypatch):
    spy = _Spy(monkeypatch)
    X, y = blobs(n=20)
    m = clf(batch_size="full", learning_rate=1.0, lr_schedule="exponential", lr_decay=0.5)
    m.partial_fit(X, y, classes=[0, 1, 2])
    m.partial_fit(X, y)
    m.partial_fit(X, y)
    np.testing.assert_allclose(spy.lrs, [1, 0.5, 0.25])
    m.fit(X, y)  # a fresh fit starts the schedule again
    np.testing.assert_allclose(spy.lrs[3:], [1, 0.5])


# --------------------------------------------------------------------- clipping

def _regression(n=40, scale=100.0, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (n, 3)) * 10
    return X, scale * (X @ np.array([1.0, -2.0, 0.5]))


@pytest.mark.parametrize("backend", ["numba", "reference"])
def test_clip_value_bounds_every_update(backend):
    X, y = blobs(n=30)
    lr, c = 0.5, 1e-3
    m0 = clf(batch_size="full", epochs=1, learning_rate=1e-300, shuffle=False).fit(X, y)
    m = clf(batch_size="full", epochs=1, learning_rate=lr, clip_value=c, shuffle=False,
            backend=backend).fit(X, y)
    step = np.abs(m.params_ - m0.params_)
    assert step.max() <= lr * c * (1 + 1e-12)
    assert np.isclose(step.max(), lr * c)  # some gradient entries really were clipped


@pytest.mark.parametrize("backend", ["numba", "reference"])
def test_clip_norm_bounds_the_update_norm(backend):
    X, y = blobs(n=30)
    lr, c = 0.5, 1e-3
    m0 = clf(batch_size="full", epochs=1, learning_rate=1e-300, shuffle=False).fit(X, y)
    m = clf(batch_size="full", epochs=1, learning_rate=lr, clip_norm=c, shuffle=False,
            backend=backend).fit(X, y)
    assert np.linalg.norm(m.params_ - m0.params_) == pytest.approx(lr * c, rel=1e-9)


@pytest.mark.parametrize("batch_size", [1, 5])
@pytest.mark.parametrize("clip", [dict(clip_value=0.05), dict(clip_norm=0.1)])
def test_clipping_kernels_equal_reference(batch_size, clip):
    X, y = blobs(n=30)
    kw = dict(batch_size=batch_size, learning_rate=0.5, **clip)
    a = clf(backend="numba", **kw).fit(X, y)
    b = clf(backend="reference", **kw).fit(X, y)
    np.testing.assert_allclose(a.params_, b.params_, **tol(np.float64, "epoch"))


def test_clipping_tames_exploding_gradients():
    X, y = _regression()
    kw = dict(hidden_layer_sizes=(8,), activation="identity", learning_rate=0.01, epochs=5,
              random_state=0)
    with pytest.raises(DivergenceError):
        MLPRegressor(**kw).fit(X, y)
    m = MLPRegressor(clip_norm=1.0, **kw).fit(X, y)
    assert np.all(np.isfinite(m.params_)) and np.all(np.isfinite(m.loss_curve_))


# --------------------------------------------------------------------- divergence

@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # the reference's
@pytest.mark.parametrize("backend", ["numba", "reference"])
@pytest.mark.parametrize("batch_size", [1, 4])
def test_divergence_names_epoch_and_sample_and_keeps_last_good_weights(backend, batch_size):
    X, y = _regression(scale=1.0)
    kept = {}

    def blow_up_after_epoch_2(m, info):
        if info["epoch"] == 2:
            # the next epoch explodes (the fit's learning rate is frozen: scale the weights)
            m.coefs_[0][...] *= 1e12
        kept[info["epoch"]] = m.params_.copy()

    m = MLPRegressor(hidden_layer_sizes=(8,), activation="identity", learning_rate=1e-4,
                     epochs=6, batch_size=batch_size, random_state=0, backend=backend,
                     dtype="float64")
    with pytest.raises(DivergenceError) as info:
        m.fit(X, y, epoch_callback=blow_up_after_epoch_2)
    err = info.value
    msg = str(err)
    assert err.epoch == 3 and "epoch 3" in msg
    assert isinstance(err.sample, int) and 0 <= err.sample < len(X)
    assert f"row {err.sample} of X" in msg and "sample" in msg
    assert "learning_rate" in msg and "clip_value" in msg and "clip_norm" in msg
    np.testing.assert_array_equal(m.params_, kept[2])  # the weights at the start of epoch 3
    assert np.all(np.isfinite(m.predict(X)))
    assert all(np.shares_memory(W, m.params_) for W in m.coefs_)


def test_divergence_in_partial_fit_keeps_previous_weights():
    X, y = _regression(scale=1.0)
    m = MLPRegressor(hidden_layer_sizes=(8,), activation="identity", learning_rate=1e-4,
                     random_state=0)
    m.partial_fit(X, y)
    before = m.params_.copy()
    m.set_params(learning_rate=1e6)
    with pytest.raises(DivergenceError, match="epoch 2"):
        m.partial_fit(X, y)
    np.testing.assert_array_equal(m.params_, before)
    m.set_params(learning_rate=1e-4).partial_fit(X, y)  # and training can go on
    assert np.all(np.isfinite(m.params_))


# --------------------------------------------------------------------- batch modes

def test_batch_modes_share_one_api():
    X, y = blobs(n=45)
    for bs in (1, 7, "full"):
        m = clf(batch_size=bs, epochs=3, learning_rate=0.2).fit(X, y)
        assert m.n_iter_ == 3 and len(m.loss_curve_) == 3
        assert m.predict(X).shape == (45,) and m.score(X, y) > 0.6
        m.partial_fit(X, y)
        assert m.n_iter_ == 4
    full = clf(batch_size="full").fit(X, y).params_
    np.testing.assert_array_equal(clf(batch_size=45).fit(X, y).params_, full)
    np.testing.assert_array_equal(clf(batch_size=1000).fit(X, y).params_, full)
    assert not np.array_equal(clf(batch_size=44).fit(X, y).params_, full)
    with pytest.raises(ValueError, match="batch_size"):
        clf(batch_size=0).fit(X, y)
    with pytest.raises(ValueError, match="batch_size"):
        clf(batch_size="half").fit(X, y)


# --------------------------------------------------------------------- validation, early stop

def test_validation_fraction_records_a_score_per_epoch():
    X, y = blobs(n=100)
    m = clf(epochs=4, validation_fraction=0.2).fit(X, y)
    assert len(m.validation_scores_) == 4
    assert all(0 <= s <= 1 for s in m.validation_scores_)
    assert m.validation_scores_[-1] > 0.8


def test_validation_data_is_scored_after_every_epoch():
    X, y = blobs(n=100)
    Xv, yv = blobs(n=30, seed=1)
    scores = []
    m = clf(epochs=3).fit(X, y, validation_data=(Xv, yv),
                          epoch_callback=lambda mm, info: scores.append(mm.score(Xv, yv)))
    assert m.validation_scores_ == scores
    assert len(scores) == 3


def test_early_stopping_by_patience_keeps_the_best_validated_weights():
    X, y = blobs(n=100)
    # tol=1: after the first epoch nothing counts as an improvement, so it stops after 1 + 2
    m = clf(epochs=20, validation_fraction=0.2, n_iter_no_change=2, tol=1.0).fit(X, y)
    assert m.n_iter_ == 3 and len(m.validation_scores_) == 3
    first = clf(epochs=1, validation_fraction=0.2).fit(X, y)
    np.testing.assert_array_equal(m.params_, first.params_)


def test_early_stopping_on_training_loss_without_validation():
    X, y = blobs(n=60)
    m = clf(epochs=50, n_iter_no_change=3, tol=10.0).fit(X, y)
    assert m.n_iter_ == 4 and m.validation_scores_ == []
    long = clf(epochs=50, n_iter_no_change=3, tol=0.0, learning_rate=0.05).fit(X, y)
    assert long.n_iter_ > 4


def test_bad_validation_settings():
    X, y = blobs(n=10)
    with pytest.raises(ValueError, match="validation_fraction"):
        clf(validation_fraction=1.5).fit(X, y)
    with pytest.raises(ValueError, match="validation_fraction"):
        clf(validation_fraction=0.01).fit(X, y)
    with pytest.raises(ValueError, match="n_iter_no_change"):
        clf(n_iter_no_change=0).fit(X, y)


# --------------------------------------------------------------------- regressor

@pytest.mark.parametrize("backend", ["numba", "reference"])
def test_regressor_fits_real_targets(backend):
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (120, 3))
    y = np.column_stack([X @ [1.0, -2.0, 0.5], X[:, 0] - X[:, 2] + 0.3])
    m = MLPRegressor(hidden_layer_sizes=(16,), activation="tanh", epochs=20, learning_rate=0.02,
                     random_state=0, backend=backend, dtype="float64").fit(X, y)
    assert m.predict(X).shape == (120, 2) and m.score(X, y) > 0.95
    m1 = MLPRegressor(hidden_layer_sizes=(16,), activation="tanh", epochs=20,
                      learning_rate=0.02, random_state=0, backend=backend).fit(X, y[:, 0])
    assert m1.predict(X).shape == (120,) and m1.score(X, y[:, 0]) > 0.95


def test_regressor_kernels_equal_reference():
    X, y = _regression(scale=0.1)
    kw = dict(hidden_layer_sizes=(6,), activation="sigmoid", epochs=3, learning_rate=0.01,
              alpha=1e-3, batch_size=3, random_state=0, dtype="float64")
    a = MLPRegressor(backend="numba", **kw).fit(X, y)
    b = MLPRegressor(backend="reference", **kw).fit(X, y)
    np.testing.assert_allclose(a.params_, b.params_, **tol(np.float64, "epoch"))
    np.testing.assert_allclose(a.predict(X), b.predict(X), **tol(np.float64, "epoch"))


# --------------------------------------------------------------------- Fashion-MNIST

def test_fashion_mnist_missing_says_how_to_get_it(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("FASTMLP_DATA", raising=False)
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        datasets.load_fashion_mnist(tmp_path)
    assert cli.main(["train", "--dataset", "fashion-mnist", "--data", str(tmp_path),
                     "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "dataset-fashion-mnist" in err and "--data" in err
    assert str(datasets.FASHION_MNIST_DEFAULT) == "/usr/share/datasets/fashion-mnist"


@pytest.mark.skipif(not all(datasets._find(datasets.FASHION_MNIST_DEFAULT, s)
                            for s in datasets.FILES.values()),
                    reason="Fashion-MNIST not installed in /usr/share/datasets/fashion-mnist "
                           "(apt-get install dataset-fashion-mnist)")
def test_fashion_mnist_trains_from_the_default_folder(capsys, monkeypatch):
    monkeypatch.delenv("FASTMLP_DATA", raising=False)
    assert cli.main(["train", "--dataset", "fashion-mnist", "--train-samples", "2000",
                     "--epochs", "1", "--hidden", "64", "--quiet", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["config"]["dataset"] == "fashion-mnist"
    assert result["config"]["test_samples"] == 10000
    assert 0.5 < result["test_accuracy"] < 1


# --------------------------------------------------------------------- the train CLI's options

def test_train_json_with_the_reference_backend_in_float32(capsys):
    """The reference sums the epoch loss in float64 like the kernels: loss_curve_ holds Python
    floats for both backends, so --json can serialise it."""
    assert cli.main(["train", "--backend", "reference", "--train-samples", "200", "--epochs",
                     "1", "--hidden", "16", "--quiet", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert 0 < result["test_accuracy"] <= 1
    X, y = blobs(n=30)
    for backend in ("numba", "reference"):
        m = clf(backend=backend, dtype="float32").fit(X, y)
        assert all(type(v) is float for v in m.loss_curve_), backend


def test_train_reports_the_accuracy_of_the_model_it_saves_after_early_stopping(tmp_path,
                                                                              capsys):
    """Early stopping restores the best epoch's weights after the last epoch ran: the final
    test_accuracy is the returned model's, which is the one saved."""
    path = tmp_path / "es.npz"
    assert cli.main(["train", "--train-samples", "1000", "--epochs", "15", "--quiet", "--json",
                     "--validation-fraction", "0.3", "--n-iter-no-change", "1", "--lr", "0.05",
                     "--hidden", "32", "--save", str(path)]) == 0
    result = json.loads(capsys.readouterr().out)
    X_test, y_test = datasets.load_mnist()[2:]
    import fastmlp
    assert result["test_accuracy"] == fastmlp.load(path).score(X_test, y_test)


@pytest.mark.parametrize("args,message", [
    (["--save", "/nonexistent-folder/m.npz"], "does not exist"),
    (["--save", ""], "--save needs a file path"),
    (["--plot", __file__], "it is a file, not a folder"),
])
def test_train_refuses_unwritable_outputs_before_training(args, message, capsys, monkeypatch):
    monkeypatch.setattr(datasets, "DATASETS", {"mnist": lambda path: pytest.fail("trained")})
    if "--plot" in args:
        pytest.importorskip("matplotlib")
    assert cli.main(["train", "--quiet"] + args) == 2
    assert message in capsys.readouterr().err


def test_xor_refuses_a_file_as_output_folder(capsys):
    pytest.importorskip("matplotlib")
    assert cli.main(["xor", "--out", __file__]) == 2
    assert "not a folder" in capsys.readouterr().err


@pytest.mark.parametrize("args,message", [
    (["--hidden", ""], "comma-separated integers"),
    (["--hidden", "10,,10"], "comma-separated integers"),
    (["--batch-size", "1.5"], "a positive integer or 'full', got '1.5'"),
])
def test_train_option_typos_are_refused(args, message, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["train"] + args)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_train_hidden_none_is_a_network_without_hidden_layers(capsys):
    assert cli.main(["train", "--hidden", "none", "--train-samples", "300", "--epochs", "1",
                     "--quiet", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["config"]["hidden"] == []


@pytest.mark.parametrize("bad", ["0", "-1", "ten"])
def test_train_samples_must_be_positive(bad, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["train", "--train-samples", bad])
    assert exc.value.code == 2
    assert "positive integer" in capsys.readouterr().err


def test_train_cli_passes_the_feature_options(capsys):
    code = cli.main(["train", "--train-samples", "500", "--epochs", "4", "--hidden", "16",
                     "--init", "normal", "--lr", "0.05", "--lr-schedule", "step", "--lr-decay",
                     "0.5", "--lr-step", "2", "--clip-norm", "5", "--clip-value", "1",
                     "--alpha", "1e-4", "--validation-fraction", "0.2",
                     "--n-iter-no-change", "10", "--quiet", "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    cfg = result["config"]
    assert (cfg["init"], cfg["lr_decay"], cfg["lr_step"], cfg["clip_norm"], cfg["clip_value"],
            cfg["validation_fraction"], cfg["n_iter_no_change"]) == \
        ("normal", 0.5, 2, 5, 1, 0.2, 10)
    assert len(result["history"]) == 4
    assert all(0 <= h["validation_score"] <= 1 for h in result["history"])


def test_train_cli_reports_divergence_cleanly(capsys):
    code = cli.main(["train", "--train-samples", "200", "--epochs", "1", "--hidden", "8",
                     "--lr", "1e30", "--quiet"])
    assert code == 2
    err = capsys.readouterr().err
    assert "diverged in epoch 1" in err and "learning_rate" in err and "Traceback" not in err


def test_partial_fit_past_the_end_of_a_linear_schedule_warns_that_nothing_changes():
    X, y = blobs()
    m = clf(lr_schedule="linear", epochs=2)
    m.partial_fit(X, y, classes=np.unique(y))
    m.partial_fit(X, y)
    before = m.params_.copy()
    with pytest.warns(UserWarning, match="learning rate is 0 from epoch 3"):
        m.partial_fit(X, y)
    np.testing.assert_array_equal(m.params_, before)
