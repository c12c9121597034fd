"""fastmlp/training.py: the epoch/chunk driver -- the full-batch step, schedules, clipping,
divergence, batch modes, validation and early stopping, shuffling, the recorded loss."""


import numpy as np
import pytest

from fastmlp import DivergenceError, MLPClassifier, MLPRegressor, training
from fastmlp.gradcheck import analytic_gradient
from fastmlp.init import initialise
from fastmlp.layout import coef_views, make_layout
from helpers import X, Y, balanced_blobs, blobs6, clf, clf64, reg, regression, small, tol


# ==================================================================== one full-batch epoch


@pytest.mark.parametrize("backend", ["numba", "reference"])
def test_one_full_batch_epoch_is_one_gradient_step_on_the_penalised_loss(backend):
    """W1 = W0 - lr * (mean gradient + alpha * W0); biases get no alpha."""
    X, y = balanced_blobs(n=30)
    lr, alpha = 0.3, 0.2
    m = clf64(batch_size="full", epochs=1, learning_rate=lr, alpha=alpha, shuffle=False,
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


# ==================================================================== learning-rate schedules


class _Spy:
    """Records the learning rate of every train_epoch call of either backend, then delegates
    (on the modules themselves: the general path and the small calls' fast path both call
    them)."""

    def __init__(self, monkeypatch):
        self.lrs = []
        for name in ("numba", "reference"):
            mod = training.get_backend(name)
            real = mod.train_epoch

            def train_epoch(*args, real=real):
                self.lrs.append(float(args[10]))
                return real(*args)
            monkeypatch.setattr(mod, "train_epoch", train_epoch)


@pytest.mark.parametrize("schedule,decay,step,expected", [
    ("constant", 0.5, 1, [1, 1, 1, 1, 1]),
    ("step", 0.5, 2, [1, 1, 0.5, 0.5, 0.25]),
    ("exponential", 0.5, 1, [1, 0.5, 0.25, 0.125, 0.0625]),
    ("inverse_time", 1.0, 1, [1, 1 / 2, 1 / 3, 1 / 4, 1 / 5]),
    ("linear", 0.5, 1, [1, 0.8, 0.6, 0.4, 0.2]),
])
def test_fit_follows_the_schedule_epoch_by_epoch(monkeypatch, schedule, decay, step, expected):
    spy = _Spy(monkeypatch)
    X, y = balanced_blobs(n=20)
    clf64(batch_size="full", epochs=5, learning_rate=1.0, lr_schedule=schedule, lr_decay=decay,
        lr_step=step).fit(X, y)
    np.testing.assert_allclose(spy.lrs, expected, rtol=1e-12)


def test_schedule_decays_within_an_epoch_between_chunks(monkeypatch):
    spy = _Spy(monkeypatch)
    X, y = balanced_blobs(n=40)
    clf64(epochs=2, learning_rate=1.0, lr_schedule="linear", chunk_size=10).fit(X, y)
    np.testing.assert_allclose(spy.lrs, 1 - np.arange(8) / 8)


def test_schedule_continues_across_partial_fit(monkeypatch):
    spy = _Spy(monkeypatch)
    X, y = balanced_blobs(n=20)
    m = clf64(batch_size="full", learning_rate=1.0, lr_schedule="exponential", lr_decay=0.5)
    m.partial_fit(X, y, classes=[0, 1, 2])
    m.partial_fit(X, y)
    m.partial_fit(X, y)
    np.testing.assert_allclose(spy.lrs, [1, 0.5, 0.25])
    m.fit(X, y)  # a fresh fit starts the schedule again
    np.testing.assert_allclose(spy.lrs[3:], [1, 0.5])


def test_partial_fit_past_the_end_of_a_linear_schedule_warns_that_nothing_changes():
    X, y = balanced_blobs()
    m = clf64(lr_schedule="linear", epochs=2)
    m.partial_fit(X, y, classes=np.unique(y))
    m.partial_fit(X, y)
    before = m.params_.copy()
    with pytest.warns(UserWarning, match="learning rate is 0 from epoch 3"):
        m.partial_fit(X, y)
    np.testing.assert_array_equal(m.params_, before)


# ==================================================================== clipping


@pytest.mark.parametrize("backend", ["numba", "reference"])
def test_clip_value_bounds_every_update(backend):
    X, y = balanced_blobs(n=30)
    lr, c = 0.5, 1e-3
    m0 = clf64(batch_size="full", epochs=1, learning_rate=1e-300, shuffle=False).fit(X, y)
    m = clf64(batch_size="full", epochs=1, learning_rate=lr, clip_value=c, shuffle=False,
            backend=backend).fit(X, y)
    step = np.abs(m.params_ - m0.params_)
    assert step.max() <= lr * c * (1 + 1e-12)
    assert np.isclose(step.max(), lr * c)  # some gradient entries really were clipped


@pytest.mark.parametrize("backend", ["numba", "reference"])
def test_clip_norm_bounds_the_update_norm(backend):
    X, y = balanced_blobs(n=30)
    lr, c = 0.5, 1e-3
    m0 = clf64(batch_size="full", epochs=1, learning_rate=1e-300, shuffle=False).fit(X, y)
    m = clf64(batch_size="full", epochs=1, learning_rate=lr, clip_norm=c, shuffle=False,
            backend=backend).fit(X, y)
    assert np.linalg.norm(m.params_ - m0.params_) == pytest.approx(lr * c, rel=1e-9)


@pytest.mark.parametrize("batch_size", [1, 5])
@pytest.mark.parametrize("clip", [dict(clip_value=0.05), dict(clip_norm=0.1)])
def test_clipping_kernels_equal_reference(batch_size, clip):
    X, y = balanced_blobs(n=30)
    kw = dict(batch_size=batch_size, learning_rate=0.5, **clip)
    a = clf64(backend="numba", **kw).fit(X, y)
    b = clf64(backend="reference", **kw).fit(X, y)
    np.testing.assert_allclose(a.params_, b.params_, **tol(np.float64, "epoch"))


def test_clipping_tames_exploding_gradients():
    X, y = regression()
    kw = dict(hidden_layer_sizes=(8,), activation="identity", learning_rate=0.01, epochs=5,
              random_state=0, on_divergence="raise", scale_inputs=False)
    with pytest.raises(DivergenceError):
        MLPRegressor(clip_value=0.0, **kw).fit(X, y)
    for clip in (dict(clip_value=0.0, clip_norm=1.0), {}):  # the regressor's default clip_value
        m = MLPRegressor(**clip, **kw).fit(X, y)
        assert np.all(np.isfinite(m.params_)) and np.all(np.isfinite(m.loss_curve_))


# ==================================================================== divergence


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # the reference's
@pytest.mark.parametrize("backend", ["numba", "reference"])
@pytest.mark.parametrize("batch_size", [1, 4])
def test_divergence_names_epoch_and_sample_and_keeps_last_good_weights(backend, batch_size):
    X, y = regression(scale=1.0)
    kept = {}

    def blow_up_after_epoch_2(m, info):
        if info["epoch"] == 2:
            # the next epoch explodes (the fit's learning rate is frozen: scale the weights)
            m.coefs_[0][...] *= 1e12
        kept[info["epoch"]] = m.params_.copy()

    m = MLPRegressor(clip_value=0.0, on_divergence="raise", scale_inputs=False,
                     hidden_layer_sizes=(8,), activation="identity", learning_rate=1e-4,
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
    X, y = regression(scale=1.0)
    m = MLPRegressor(clip_value=0.0, on_divergence="raise", scale_inputs=False,
                     hidden_layer_sizes=(8,), activation="identity", learning_rate=1e-4,
                     random_state=0)
    m.partial_fit(X, y)
    before = m.params_.copy()
    m.set_params(learning_rate=1e6)
    with pytest.raises(DivergenceError, match="epoch 2"):
        m.partial_fit(X, y)
    np.testing.assert_array_equal(m.params_, before)
    m.set_params(learning_rate=1e-4).partial_fit(X, y)  # and training can go on
    assert np.all(np.isfinite(m.params_))


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # the reference's
@pytest.mark.parametrize("backend", ["numba", "reference"])
@pytest.mark.parametrize("batch_size", [1, 4])
def test_divergence_is_an_error_and_keeps_the_last_good_weights(backend, batch_size):
    rng = np.random.default_rng(0)
    Xd = rng.standard_normal((40, 6)) * 50
    yd = Xd.sum(axis=1)
    m = MLPRegressor(clip_value=0.0, on_divergence="raise", scale_inputs=False,
                     hidden_layer_sizes=(16,), activation="identity", learning_rate=1e-7,
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

    m = MLPRegressor(clip_value=0.0, on_divergence="raise", scale_inputs=False,
                     hidden_layer_sizes=(16,), activation="identity", learning_rate=1e-7,
                     epochs=3, chunk_size=8, random_state=0)
    with pytest.raises(DivergenceError) as info:
        m.fit(Xd, yd, epoch_callback=explode)
    assert isinstance(info.value, FloatingPointError)
    assert info.value.epoch == 2 and 0 <= info.value.sample < 50
    np.testing.assert_array_equal(m.params_, after_epoch_1["params"])
    assert m.n_iter_ == 1 and m.t_ == 50 and len(m.loss_curve_) == 1
    assert np.isfinite(m.params_).all()


def test_divergence_seen_on_validation_rows_is_a_divergence_error_and_rolls_back():
    """Weights that stay finite but make the outputs overflow: the validation score finds it.
    It must be reported as divergence (not blamed on the input's scale) and undone."""
    X = np.random.default_rng(0).random((200, 3))
    r = MLPRegressor((50, 50), clip_value=0.0, on_divergence="raise", scale_inputs=False,
                     learning_rate=1e3, random_state=0, epochs=5, batch_size="full",
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
            MLPRegressor((4,), clip_value=0.0, on_divergence="raise", scale_inputs=False,
                         random_state=1, shuffle=False,
                         validation_fraction=fraction).fit(X, y)
        assert exc.value.sample == 90


def test_huge_weights_without_weight_decay_give_a_finite_loss_curve():
    """0 * inf would make the L2 penalty NaN: with alpha=0 there is no penalty to compute."""
    X = np.random.default_rng(0).random((50, 3))
    y = (X[:, 0] > 0.5).astype(int)
    m = MLPClassifier((4,), random_state=0, dtype="float64", scale_inputs=False).fit(X * 1e200,
                                                                                    y)
    assert np.isfinite(m.loss_curve_).all() and np.isfinite(m.params_).all()
    assert np.abs(m.params_).max() > 1e154  # squares overflow: the old penalty was NaN


# ==================================================================== batch modes


def test_batch_modes_share_one_api():
    X, y = balanced_blobs(n=45)
    for bs in (1, 7, "full"):
        m = clf64(batch_size=bs, epochs=3, learning_rate=0.2).fit(X, y)
        assert m.n_iter_ == 3 and len(m.loss_curve_) == 3
        assert m.predict(X).shape == (45,) and m.score(X, y) > 0.6
        m.partial_fit(X, y)
        assert m.n_iter_ == 4
    full = clf64(batch_size="full").fit(X, y).params_
    np.testing.assert_array_equal(clf64(batch_size=45).fit(X, y).params_, full)
    np.testing.assert_array_equal(clf64(batch_size=1000).fit(X, y).params_, full)
    assert not np.array_equal(clf64(batch_size=44).fit(X, y).params_, full)
    with pytest.raises(ValueError, match="batch_size"):
        clf64(batch_size=0).fit(X, y)
    with pytest.raises(ValueError, match="batch_size"):
        clf64(batch_size="half").fit(X, y)


# ==================================================================== validation and early stopping


def test_validation_fraction_records_a_score_per_epoch():
    X, y = balanced_blobs(n=100)
    m = clf64(epochs=4, validation_fraction=0.2).fit(X, y)
    assert len(m.validation_scores_) == 4
    assert all(0 <= s <= 1 for s in m.validation_scores_)
    assert m.validation_scores_[-1] > 0.8


def test_validation_data_is_scored_after_every_epoch():
    X, y = balanced_blobs(n=100)
    Xv, yv = balanced_blobs(n=30, seed=1)
    scores = []
    m = clf64(epochs=3).fit(X, y, validation_data=(Xv, yv),
                          epoch_callback=lambda mm, info: scores.append(mm.score(Xv, yv)))
    assert m.validation_scores_ == scores
    assert len(scores) == 3


def test_early_stopping_by_patience_keeps_the_best_validated_weights():
    X, y = balanced_blobs(n=100)
    # tol=1: after the first epoch nothing counts as an improvement, so it stops after 1 + 2
    m = clf64(epochs=20, validation_fraction=0.2, n_iter_no_change=2, tol=1.0).fit(X, y)
    assert m.n_iter_ == 3 and len(m.validation_scores_) == 3
    first = clf64(epochs=1, validation_fraction=0.2).fit(X, y)
    np.testing.assert_array_equal(m.params_, first.params_)


def test_early_stopping_on_training_loss_without_validation():
    X, y = balanced_blobs(n=60)
    m = clf64(epochs=50, n_iter_no_change=3, tol=10.0).fit(X, y)
    assert m.n_iter_ == 4 and m.validation_scores_ is None  # as scikit-learn: no validation
    long = clf64(epochs=50, n_iter_no_change=3, tol=0.0, learning_rate=0.05).fit(X, y)
    assert long.n_iter_ > 4


def test_bad_validation_settings():
    X, y = balanced_blobs(n=10)
    with pytest.raises(ValueError, match="validation_fraction"):
        clf64(validation_fraction=1.5).fit(X, y)
    with pytest.raises(ValueError, match="validation_fraction"):
        clf64(validation_fraction=0.01).fit(X, y)
    with pytest.raises(ValueError, match="n_iter_no_change"):
        clf64(n_iter_no_change=0).fit(X, y)


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


# ==================================================================== sample order and the recorded loss


class _OrderSpy:
    """Stands in for a backend: records the sample order of every train_epoch call."""

    def __init__(self, real):
        self.real, self.orders = real, []

    def __getattr__(self, name):
        return getattr(self.real, name)

    def train_epoch(self, *args):
        self.orders.append(np.array(args[6]))
        return self.real.train_epoch(*args)


@pytest.mark.parametrize("shuffle", [True, False])
def test_shuffle_visits_a_new_permutation_every_epoch_and_no_shuffle_visits_in_order(
        shuffle, monkeypatch):
    from fastmlp import kernels, training
    spy = _OrderSpy(kernels)
    monkeypatch.setattr(training, "get_backend", lambda name: spy)
    X, y = blobs6(n=50)
    small(epochs=3, shuffle=shuffle, chunk_size=10**6).fit(X, y)
    assert len(spy.orders) == 3
    for order in spy.orders:
        assert sorted(order.tolist()) == list(range(50))  # every sample once per epoch
    if shuffle:
        assert all(not np.array_equal(o, np.arange(50)) for o in spy.orders)
        assert not np.array_equal(spy.orders[0], spy.orders[1])
        assert not np.array_equal(spy.orders[1], spy.orders[2])
    else:
        assert all(np.array_equal(o, np.arange(50)) for o in spy.orders)


@pytest.mark.parametrize("backend", ["numba", "reference"])
def test_loss_curve_is_the_mean_loss_plus_the_l2_penalty(backend):
    """With a learning rate too small to move the weights, one full-batch epoch records exactly
    the penalised objective of the starting weights."""
    from fastmlp.gradcheck import objective
    X, y = blobs6(n=40)
    alpha = 0.5
    m0 = small(epochs=1, learning_rate=1e-300, dtype="float64", backend=backend,
               batch_size="full", shuffle=False, alpha=alpha).fit(X, y)
    Y = np.zeros((len(y), 3))
    Y[np.arange(len(y)), np.searchsorted(m0.classes_, y)] = 1
    expected = objective(m0.params_, m0.layout_, X, Y, m0._settings.activation_codes, m0._settings.loss_code,
                         alpha)
    plain = objective(m0.params_, m0.layout_, X, Y, m0._settings.activation_codes, m0._settings.loss_code, 0)
    assert expected - plain > 0.1  # the penalty is a visible part of it
    assert m0.loss_curve_[0] == pytest.approx(expected, rel=1e-12)


# ==================================================================== memory


def test_hidden_layers_too_big_for_the_machine_are_refused_with_the_number(no_kernel_calls):
    X, y = balanced_blobs(n=30)
    with pytest.raises(ValueError, match=r"hidden_layer_sizes=\(1000000, 1000000\) makes a "
                                         r"network of 1,000,00\d,\d+,\d+ parameters "
                                         r"\(4-1000000-1000000-3\), which needs about [\d,.]+ "
                                         r"GiB to train \(float32\); this machine has [\d,.]+ "
                                         r"GiB available"):
        MLPClassifier(hidden_layer_sizes=(1000000, 1000000)).fit(X, y)


def test_a_fit_refused_for_memory_leaves_the_fitted_model_as_it_was():
    X, y = balanced_blobs(n=30)
    m = MLPClassifier(hidden_layer_sizes=(8,), epochs=1, random_state=0).fit(X, y)
    before = m.params_.copy()
    with pytest.raises(ValueError, match="needs about"):
        m.set_params(hidden_layer_sizes=(1000000, 1000000)).fit(X, y)
    np.testing.assert_array_equal(m.params_, before)  # a failed fit leaves the model as it was


def test_the_memory_estimate_counts_the_optimizer_state():
    from fastmlp.resources import check_memory, needed_bytes
    s = MLPClassifier(hidden_layer_sizes=(100,))._resolve()
    a = MLPClassifier(hidden_layer_sizes=(100,), solver="adam")._resolve()
    plain, n = needed_bytes((10, 100, 3), s)
    assert n == 11 * 100 + 101 * 3 and needed_bytes((10, 100, 3), a)[0] > plain
    check_memory((10, 100, 3), s, available=plain)
    with pytest.raises(ValueError, match="needs about"):
        check_memory((10, 100, 3), s, available=plain - 1)
