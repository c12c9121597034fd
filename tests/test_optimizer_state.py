"""The solvers through the estimators: hyperparameters (scikit-learn's names and defaults), the
optimizer state as fitted state (velocity_, sq_avg_, adam_steps_), continued by partial_fit,
started afresh by a change of solver, saved and loaded, rolled back with the weights on
divergence and Ctrl-C; the command line's options.
"""

import copy

import numpy as np
import pytest

import fastmlp
from fastmlp import DivergenceError, MLPClassifier, MLPRegressor, cli
from fastmlp.backends import get_backend
from helpers import blobs, tol

X, y = blobs(n=40)
SOLVERS = {"adam": dict(solver="adam", learning_rate=0.01),
           "nesterov": dict(momentum=0.9, learning_rate=0.02),
           "momentum": dict(momentum=0.9, nesterovs_momentum=False, learning_rate=0.02)}


def model(**kw):
    params = dict(hidden_layer_sizes=(6,), epochs=2, random_state=0, dtype="float64")
    params.update(kw)
    return MLPClassifier(**params)


def test_defaults_and_names_are_scikit_learns():
    from sklearn.neural_network import MLPClassifier as SK
    ours, theirs = MLPClassifier().get_params(), SK().get_params()
    for name in ("nesterovs_momentum", "beta_1", "beta_2", "epsilon"):
        assert ours[name] == theirs[name]
    # plain per-sample SGD stays the default (scikit-learn defaults to adam, momentum 0.9)
    assert (ours["solver"], ours["momentum"]) == ("sgd", 0.0)


@pytest.mark.parametrize("kw,message", [
    (dict(solver="lbfgs"), r"solver='lbfgs' is not supported; expected one of \('sgd', 'adam'\)"),
    (dict(momentum=1.0), r"momentum=1.0 is not valid; expected a number in \[0, 1\)"),
    (dict(momentum=-0.1), r"momentum=-0.1 is not valid"),
    (dict(momentum=float("nan")), r"momentum=nan is not valid"),
    (dict(momentum=True), r"momentum=True is not valid"),
    (dict(nesterovs_momentum="yes"), r"nesterovs_momentum='yes' is not valid; expected True"),
    (dict(beta_1=1), r"beta_1=1 is not valid; expected a number in \[0, 1\)"),
    (dict(beta_2=-0.5), r"beta_2=-0.5 is not valid"),
    (dict(epsilon=0.0), r"epsilon=0.0 is not valid; expected a finite number > 0"),
    (dict(epsilon=float("inf")), r"epsilon=inf is not valid"),
    (dict(epsilon=1e-50, dtype="float32"), r"epsilon=1e-50 is not representable in float32"),
    (dict(beta_2=0.99999999, dtype="float32"), r"beta_2=0.99999999 rounds to 1 in float32"),
])
def test_bad_solver_hyperparameters_are_clear_errors(kw, message):
    with pytest.raises(ValueError, match=message):
        model(**kw).fit(X, y)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("batch_size", [1, 8])
def test_the_backends_agree(solver, batch_size):
    kw = dict(SOLVERS[solver], batch_size=batch_size)
    a = model(backend="numba", **kw).fit(X, y)
    b = model(backend="reference", **kw).fit(X, y)
    np.testing.assert_allclose(a.params_, b.params_, **tol(np.float64, "epoch"))
    np.testing.assert_allclose(a.velocity_, b.velocity_, **tol(np.float64, "epoch"))
    assert a.adam_steps_ == b.adam_steps_


@pytest.mark.parametrize("solver", SOLVERS)
def test_solvers_learn(solver):
    m = model(epochs=20, **SOLVERS[solver]).fit(X, y)
    assert m.score(X, y) >= 0.9
    r = MLPRegressor(hidden_layer_sizes=(6,), epochs=5, random_state=0,
                     **dict(SOLVERS[solver], learning_rate=0.001))
    r.fit(X, X[:, 0] - X[:, 1])
    assert r.loss_curve_[-1] < r.loss_curve_[0]


def test_fit_creates_the_state_of_its_solver():
    n_params = model().fit(X, y).params_.shape[0]
    plain = model().fit(X, y)
    assert plain.velocity_.shape == plain.sq_avg_.shape == (0,) and plain.adam_steps_ == 0
    mom = model(**SOLVERS["nesterov"]).fit(X, y)
    assert mom.velocity_.shape == (n_params,) and mom.sq_avg_.shape == (0,)
    assert np.abs(mom.velocity_).max() > 0
    adam = model(batch_size=16, **SOLVERS["adam"]).fit(X, y)
    assert adam.velocity_.shape == adam.sq_avg_.shape == (n_params,)
    assert adam.adam_steps_ == 2 * 3  # 2 epochs of 3 batches (16, 16, 8)
    assert adam.velocity_.dtype == adam.params_.dtype


@pytest.mark.parametrize("solver", SOLVERS)
def test_partial_fit_continues_the_optimizer_state(solver):
    kw = dict(SOLVERS[solver], shuffle=False, batch_size=4)
    whole = model(epochs=3, **kw).fit(X, y)
    parts = model(epochs=1, **kw).fit(X, y)
    parts.partial_fit(X, y)
    parts.partial_fit(X, y)
    np.testing.assert_array_equal(parts.params_, whole.params_)
    np.testing.assert_array_equal(parts.velocity_, whole.velocity_)
    assert parts.adam_steps_ == whole.adam_steps_
    # and the state matters: starting it afresh gives other weights
    fresh = model(epochs=1, **kw).fit(X, y)
    fresh.partial_fit(X, y)
    fresh.velocity_[:] = 0
    fresh.sq_avg_[:] = 0
    fresh.adam_steps_ = 0
    fresh.partial_fit(X, y)
    assert not np.array_equal(fresh.params_, whole.params_)


@pytest.mark.parametrize("first,then", [("adam", "nesterov"), ("nesterov", "adam"),
                                        ("momentum", "plain"), ("plain", "adam")])
def test_a_change_of_solver_in_partial_fit_starts_the_new_one_from_zero(first, then):
    kw = SOLVERS.get(first, {})
    m = model(**kw).fit(X, y)
    # the same weights with no optimizer state at all
    ref = copy.deepcopy(m)
    ref.velocity_ = ref.sq_avg_ = np.zeros(0)
    ref.adam_steps_ = 0
    new = {"solver": "sgd", "momentum": 0.0, **SOLVERS.get(then, {})}
    for est in (m, ref):
        est.set_params(**new)
        est.partial_fit(X, y)
    np.testing.assert_array_equal(m.params_, ref.params_)
    np.testing.assert_array_equal(m.velocity_, ref.velocity_)
    np.testing.assert_array_equal(m.sq_avg_, ref.sq_avg_)
    assert m.adam_steps_ == ref.adam_steps_


def test_a_new_momentum_or_betas_continue_the_state():
    m = model(**SOLVERS["adam"]).fit(X, y)
    steps = m.adam_steps_
    m.set_params(beta_1=0.8, learning_rate=0.001).partial_fit(X, y)
    assert m.adam_steps_ == steps + 40


@pytest.mark.parametrize("solver", SOLVERS)
def test_save_and_load_keep_the_optimizer_state(tmp_path, solver):
    m = model(**SOLVERS[solver]).fit(X, y)  # (the shuffling generator's state is saved too)
    path = m.save(tmp_path / "m.npz")
    loaded = fastmlp.load(path)
    for name in ("velocity_", "sq_avg_"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(m, name))
    assert loaded.adam_steps_ == m.adam_steps_
    m.partial_fit(X, y)
    loaded.partial_fit(X, y)
    np.testing.assert_array_equal(loaded.params_, m.params_)


def test_a_file_without_optimizer_state_loads_and_starts_it_afresh(tmp_path):
    # a format-version-1 file written before the solvers existed (newer files always hold it)
    m = model(**SOLVERS["adam"]).fit(X, y)
    path = m.save(tmp_path / "m.npz")
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files if k not in ("velocity", "sq_avg", "adam_steps")}
    arrays["format_version"] = np.array(1)
    np.savez(tmp_path / "old.npz", **arrays)
    old = fastmlp.load(tmp_path / "old.npz")
    assert old.velocity_.shape == (0,) and old.adam_steps_ == 0
    np.testing.assert_array_equal(old.params_, m.params_)
    old.partial_fit(X, y)
    assert old.adam_steps_ == 40 and old.sq_avg_.shape == m.sq_avg_.shape


@pytest.mark.parametrize("change,value", [("velocity", np.zeros(3)),
                                          ("sq_avg", None), ("adam_steps", np.array(-1))])
def test_a_corrupt_optimizer_state_in_a_file_is_refused(tmp_path, change, value):
    m = model(**SOLVERS["adam"]).fit(X, y)
    path = m.save(tmp_path / "m.npz")
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    arrays[change] = -np.ones_like(arrays["sq_avg"]) if value is None else value
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match="is corrupt"):
        fastmlp.load(path)


def test_partial_fit_refuses_a_tampered_state():
    m = model(**SOLVERS["nesterov"]).fit(X, y)
    m.velocity_ = np.zeros(5)
    with pytest.raises(ValueError, match="optimizer state"):
        m.partial_fit(X, y)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize("backend", ["numba", "reference"])
def test_divergence_rolls_the_optimizer_state_back_with_the_weights(backend):
    m = model(backend=backend, on_divergence="raise", **SOLVERS["nesterov"]).fit(X, y)
    before = (m.params_.copy(), m.velocity_.copy(), m.adam_steps_)
    m.set_params(learning_rate=1e200)
    with pytest.raises(DivergenceError):
        m.partial_fit(X, y)
    np.testing.assert_array_equal(m.params_, before[0])
    np.testing.assert_array_equal(m.velocity_, before[1])
    a = model(backend=backend, on_divergence="raise", **SOLVERS["adam"]).fit(X, y)
    state = (a.params_.copy(), a.velocity_.copy(), a.sq_avg_.copy(), a.adam_steps_)
    a.set_params(learning_rate=1e300, epsilon=1e-300)
    with pytest.raises(DivergenceError):
        a.partial_fit(X * 1e150, y)
    np.testing.assert_array_equal(a.params_, state[0])
    np.testing.assert_array_equal(a.velocity_, state[1])
    np.testing.assert_array_equal(a.sq_avg_, state[2])
    assert a.adam_steps_ == state[3]


def test_ctrl_c_inside_a_chunk_rolls_the_optimizer_state_back(monkeypatch):
    backend = get_backend("numba")
    real, calls, after_first = backend.train_epoch, [], {}
    m = model(chunk_size=8, batch_size=4, **SOLVERS["adam"])

    def interrupted(*args):
        result = real(*args)
        calls.append(1)
        if len(calls) == 1:
            after_first.update(params=m.params_.copy(), m=m.velocity_.copy(),
                               s=m.sq_avg_.copy(), t=int(args[-1][0]))
        if len(calls) == 2:
            raise KeyboardInterrupt  # raised inside the chunk: the chunk is undone
        return result

    monkeypatch.setattr(backend, "train_epoch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        m.fit(X, y)
    np.testing.assert_array_equal(m.params_, after_first["params"])
    np.testing.assert_array_equal(m.velocity_, after_first["m"])
    np.testing.assert_array_equal(m.sq_avg_, after_first["s"])
    assert m.adam_steps_ == after_first["t"] == 2 and m.t_ == 8


def test_grid_search_over_the_solver_works():
    from sklearn.model_selection import GridSearchCV
    grid = GridSearchCV(model(momentum=0.9, epochs=3),
                        {"solver": ["sgd", "adam"], "learning_rate": [0.01]}, cv=2)
    grid.fit(X, y)
    assert set(grid.cv_results_["param_solver"]) == {"sgd", "adam"}


@pytest.mark.parametrize("argv,message", [
    (["--solver", "adam", "--momentum", "0.9"], "--momentum has no effect with --solver adam"),
    (["--solver", "adam", "--no-nesterov"], "--no-nesterov has no effect with --solver adam"),
    (["--beta1", "0.8"], "--beta1 has no effect with --solver sgd"),
    (["--epsilon", "1e-6"], "--epsilon has no effect with --solver sgd"),
    (["--nesterov"], "--nesterov has no effect with --momentum 0"),
])
def test_the_command_line_refuses_options_the_solver_ignores(argv, message, capsys):
    assert cli.main(["train", *argv]) == 2
    assert message in capsys.readouterr().err


def test_a_model_without_optimizer_state_saves_and_continues(tmp_path):
    """A model unpickled from before the solvers existed has no velocity_/sq_avg_/adam_steps_:
    save writes an empty state, partial_fit creates the one its solver needs."""
    m = model(**SOLVERS["adam"]).fit(X, y)
    for name in ("velocity_", "sq_avg_", "adam_steps_"):
        delattr(m, name)
    loaded = fastmlp.load(m.save(tmp_path / "m.npz"))
    assert loaded.velocity_.shape == (0,) and loaded.adam_steps_ == 0
    m.partial_fit(X, y)
    assert m.adam_steps_ == 40 and m.sq_avg_.shape == m.params_.shape
