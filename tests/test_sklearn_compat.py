"""scikit-learn compatibility: check_estimator, clone, Pipeline, GridSearchCV (threaded).

scikit-learn is an optional test dependency (the ``test`` extra installs it); without it this
module is skipped. fastmlp itself never imports scikit-learn.
"""

import pickle
import subprocess
import sys

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn", reason="scikit-learn not installed (pip install -e '.[test]')")

from sklearn.base import clone, is_classifier, is_regressor  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from fastmlp import MLPClassifier, MLPRegressor  # noqa: E402
from helpers import plain_sgd  # noqa: E402


# The one check per-sample SGD cannot pass by construction: a row of weight 2 is one step of
# twice the size, the same row repeated is two steps (at other points of a shuffled epoch), so
# the fitted networks differ. scikit-learn's own MLP runs it only with solver="lbfgs".
# tests/test_weights.py runs it with batch_size="full" (gradient descent), where it holds.
BY_CONSTRUCTION = {
    "check_sample_weight_equivalence_on_dense_data":
        "per-sample SGD: weight w is one step w times as large, not w steps; holds for "
        "batch_size='full' (tests/test_weights.py)",
    "check_sample_weight_equivalence_on_sparse_data":
        "the same check with scipy.sparse X: the same reason",
}


@parametrize_with_checks([MLPClassifier(), MLPRegressor()],
                         expected_failed_checks=lambda estimator: BY_CONSTRUCTION,
                         xfail_strict=True)
def test_sklearn_check_estimator(estimator, check):
    # the default constructor arguments; the only expected failure is the one above
    check(estimator)


def test_no_sklearn_import_at_runtime():
    code = ("import sys, numpy as np, fastmlp; "
            "m = fastmlp.MLPClassifier(hidden_layer_sizes=(4,), epochs=1, random_state=0); "
            "m.fit(np.random.rand(20, 3), np.arange(20) % 2); m.predict(np.random.rand(2, 3)); "
            "assert 'sklearn' not in sys.modules, 'fastmlp imported sklearn'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_tags_and_clone():
    assert is_classifier(MLPClassifier()) and not is_regressor(MLPClassifier())
    assert is_regressor(MLPRegressor()) and not is_classifier(MLPRegressor())
    m = MLPClassifier(hidden_layer_sizes=(7, 3), learning_rate=0.3, lr_schedule="step", alpha=1e-3)
    c = clone(m)
    assert c is not m and c.get_params() == m.get_params()
    c.set_params(learning_rate=0.1, epochs=9)
    assert (c.learning_rate, c.epochs, m.learning_rate) == (0.1, 9, 0.3)
    with pytest.raises(ValueError, match="Invalid parameter"):
        c.set_params(not_a_param=1)


def _blobs(n=150, seed=0):
    rng = np.random.default_rng(seed)
    centers = np.array([[0, 0, 0, 0], [6, 6, 0, 0], [0, 6, 6, 0]], float)
    y = np.arange(n) % 3
    return 10 * (centers[y] + rng.standard_normal((n, 4))) + 100, y  # badly scaled on purpose


def test_pipeline_with_scaler():
    X, y = _blobs()
    pipe = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(16,), epochs=20,
                                                         learning_rate=0.05, random_state=0))
    pipe.fit(X, y)
    assert pipe.score(X, y) > 0.95
    assert pipe.predict_proba(X[:3]).shape == (3, 3)


def test_pickle_round_trip_keeps_views():
    X, y = _blobs()
    m = MLPClassifier(hidden_layer_sizes=(8,), epochs=2, random_state=0).fit(X / 100, y)
    m2 = pickle.loads(pickle.dumps(m))
    np.testing.assert_array_equal(m2.predict_proba(X / 100), m.predict_proba(X / 100))
    assert all(np.shares_memory(W, m2.params_) for W in m2.coefs_ + m2.intercepts_)
    m2.partial_fit(X / 100, y)
    assert m2.n_iter_ == 3


@pytest.mark.parametrize("backend", ["threading", "sequential"])
def test_grid_search_over_learning_rates(backend):
    # threading: the kernels release the GIL, so threads train in parallel (process-based
    # backends work too -- models pickle -- but spawning workers is slow for a unit test)
    from joblib import parallel_backend
    X, y = _blobs()
    X = (X - X.mean(0)) / X.std(0)
    grid = GridSearchCV(MLPClassifier(hidden_layer_sizes=(16,), epochs=5, random_state=0),
                        {"learning_rate": [1e-5, 0.05]}, cv=3, n_jobs=2)
    with parallel_backend(backend):
        grid.fit(X, y)
    assert grid.best_params_ == {"learning_rate": 0.05}
    scores = grid.cv_results_["mean_test_score"]
    assert scores[1] > 0.9 and scores[0] < scores[1]
    assert grid.best_estimator_.score(X, y) > 0.9


def _grid(n_jobs=None):
    return GridSearchCV(MLPClassifier(hidden_layer_sizes=(8,), epochs=3, random_state=0),
                        {"learning_rate": [1e-3, 0.05], "alpha": [0.0, 1e-2]}, cv=3,
                        n_jobs=n_jobs)


def test_grid_search_on_a_dask_cluster_matches_the_single_machine_run():
    """joblib's Dask backend sends the fits to a cluster's worker processes (here a local
    cluster of 2); the models are pickled there and back, and the scores are the same."""
    distributed = pytest.importorskip("dask.distributed",
                                      reason="dask not installed (pip install -e '.[test]')")
    from joblib import parallel_backend
    X, y = _blobs()
    X = (X - X.mean(0)) / X.std(0)
    local = _grid().fit(X, y)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        with parallel_backend("dask"):
            remote = _grid(n_jobs=-1).fit(X, y)
        # the fits ran in the workers: each unpickled (so imported) the estimators
        workers = client.run(lambda: "fastmlp.estimators" in __import__("sys").modules)
    assert any(workers.values()), workers
    assert remote.best_params_ == local.best_params_ == {"alpha": 0.0, "learning_rate": 0.05}
    for key in ["mean_test_score"] + [f"split{i}_test_score" for i in range(3)]:
        np.testing.assert_array_equal(remote.cv_results_[key], local.cv_results_[key])
    np.testing.assert_array_equal(remote.predict_proba(X), local.predict_proba(X))


def test_grid_search_regressor():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (150, 2))
    y = X[:, 0] - 2 * X[:, 1]
    grid = GridSearchCV(MLPRegressor(hidden_layer_sizes=(8,), epochs=10, random_state=0),
                        {"alpha": [0.0, 10.0]}, cv=3)
    grid.fit(X, y)
    assert grid.best_params_ == {"alpha": 0.0}
    assert grid.best_score_ > 0.9


def test_a_running_epoch_lets_other_python_threads_run():
    """Behaviour, not just the flag: while one thread is inside the compiled epoch, this
    thread keeps executing Python. A kernel holding the GIL would freeze it until the epoch
    returned (native code never hands the GIL over)."""
    import threading
    import time

    from fastmlp.codes import ACTIVATIONS, CROSS_ENTROPY, SOFTMAX
    from fastmlp.layout import make_layout
    from fastmlp import kernels
    rng = np.random.default_rng(0)
    layout, n_params, n_acts = make_layout((200, 256, 10))
    params = (rng.standard_normal(n_params) * 0.05).astype(np.float32)
    X = rng.random((4000, 200)).astype(np.float32)
    Y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 4000)]
    acts = np.array([ACTIVATIONS["relu"], SOFTMAX], np.int64)
    t = np.float32

    def epoch(order):
        return kernels.train_epoch(params, np.zeros_like(params), np.zeros(n_acts, t),
                                   np.zeros(n_acts, t), X, Y, order, layout, acts, CROSS_ENTROPY,
                                   t(0.001), t(0), t(0), t(0), t(0), 1, *plain_sgd(t))

    epoch(np.arange(10, dtype=np.int64))  # compile / load outside the measurement
    order = np.tile(np.arange(4000, dtype=np.int64), 20)  # ~0.5-1 s of training
    span = {}

    def worker():
        span["start"] = time.perf_counter()
        epoch(order)
        span["end"] = time.perf_counter()

    thread = threading.Thread(target=worker)
    ticks = []
    thread.start()
    while thread.is_alive():
        ticks.append(time.perf_counter())
    thread.join()
    duration = span["end"] - span["start"]
    inside = np.array([span["start"]] + [x for x in ticks if span["start"] < x < span["end"]]
                      + [span["end"]])
    longest_pause = float(np.diff(inside).max())
    assert duration > 0.2, duration
    # with the GIL held, this thread would stand still for the whole epoch (pause ~ duration)
    assert longest_pause < 0.25 * duration, (longest_pause, duration)


def test_training_and_prediction_kernels_release_the_gil():
    """What lets a threaded GridSearchCV(n_jobs=2) use both cores: the compiled epoch and
    predict run without the GIL."""
    from fastmlp import kernels
    for kernel in (kernels.epochs._epoch_per_sample, kernels.sgd.train_epoch_batches,
                   kernels.batches._batches_on_work, kernels.epochs._predict_work):
        assert kernel.targetoptions.get("nogil") is True, kernel
