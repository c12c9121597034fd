"""The same random_state gives bit-identical weights: across runs, threads and processes, and
whether the kernels were just compiled (empty Numba cache), loaded from the on-disk cache, or
already in memory."""

import hashlib
import json
import os
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

from fastmlp import MLPClassifier, MLPRegressor

# One script, run here (in-process) and in subprocesses. It prints one JSON line: a SHA-256 of
# the trained weights' bytes per configuration, and Numba's compile statistics.
SCRIPT = textwrap.dedent("""
    import hashlib, json
    import numpy as np
    from fastmlp import MLPClassifier, MLPRegressor, kernels

    def problem():
        rng = np.random.default_rng(42)
        X = rng.standard_normal((60, 7))
        X[::5] = 0  # all-zero rows take the kernels' skip paths
        return X, (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 0.7)

    CONFIGS = {
        "clf-f32-b1": (MLPClassifier, dict(dtype="float32", batch_size=1)),
        "clf-f64-b1": (MLPClassifier, dict(dtype="float64", batch_size=1)),
        "clf-f32-b4-l2-clip": (MLPClassifier, dict(dtype="float32", batch_size=4, alpha=1e-3,
                                                   clip_norm=1.0, lr_schedule="inverse_time")),
        "clf-f64-full-tanh": (MLPClassifier, dict(dtype="float64", batch_size="full",
                                                  activation="tanh")),
        "reg-f32-b1-sigmoid": (MLPRegressor, dict(dtype="float32", activation="sigmoid",
                                                  clip_value=0.5)),
        "clf-f32-valfrac-chunk": (MLPClassifier, dict(validation_fraction=0.2, chunk_size=7,
                                                      n_iter_no_change=100)),
    }

    def digests(dtypes=("float32", "float64")):
        X, y = problem()
        out = {}
        for name, (cls, kw) in CONFIGS.items():
            if kw.get("dtype", "float32") not in dtypes:
                continue
            m = cls(hidden_layer_sizes=(9, 5), epochs=3, learning_rate=0.05, random_state=7,
                    **kw)
            m.fit(X, y)
            h = hashlib.sha256(m.params_.tobytes())
            h.update(np.ascontiguousarray(m.predict(X)).tobytes())
            out[name] = h.hexdigest()
        return out

    def stats():
        hits = misses = 0
        # train_epoch and predict are Python switches around these compiled functions
        for f in (kernels.epochs._epoch_per_sample, kernels.sgd.train_epoch_batches,
                  kernels.batches._batches_on_work, kernels.epochs._predict_work):
            hits += sum(f.stats.cache_hits.values())
            misses += sum(f.stats.cache_misses.values())
        return dict(hits=hits, misses=misses)

    if __name__ == "__main__":
        import sys
        dtypes = tuple(sys.argv[1:])
        first = digests(dtypes)  # the first call: compiles or loads from the disk cache
        later = digests(dtypes)  # later calls: kernels already in memory
        print(json.dumps(dict(first=first, later=later, stats=stats())))
""")


def _namespace():
    ns = {"__name__": "determinism_script"}
    exec(compile(SCRIPT, "determinism_script", "exec"), ns)
    return ns


def _run(tmp_path, cache_dir, hash_seed):
    script = tmp_path / "determinism_script.py"
    script.write_text(SCRIPT)
    # the rest of the environment (e.g. NUMBA_BOUNDSCHECK) as in this process, so all three
    # runs compile the same code
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir), PYTHONHASHSEED=str(hash_seed))
    # float32 (the default) only: compiling train_epoch takes ~20 s per dtype
    done = subprocess.run([sys.executable, str(script), "float32"], capture_output=True, text=True,
                          env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_bit_identical_across_processes_and_compiled_vs_cached_kernels(tmp_path):
    cache = tmp_path / "numba-cache"
    cache.mkdir()
    compiled = _run(tmp_path, cache, hash_seed=1)  # empty cache: compiles
    cached = _run(tmp_path, cache, hash_seed=2)  # same cache: loads the compiled code
    assert compiled["stats"]["misses"] > 0 and compiled["stats"]["hits"] == 0
    assert cached["stats"]["hits"] > 0 and cached["stats"]["misses"] == 0
    here = _namespace()["digests"](("float32",))  # this process, with whatever cache it uses
    assert len(here) == 4 and len(set(here.values())) == 4  # the configurations differ
    for run in (compiled["first"], compiled["later"], cached["first"], cached["later"]):
        assert run == here


def test_same_random_state_same_weights_in_process():
    digests = _namespace()["digests"]
    first = digests()
    assert len(first) == 6 and len(set(first.values())) == 6
    assert digests() == first


def test_different_random_state_different_weights():
    X, y = _namespace()["problem"]()
    a = MLPClassifier(hidden_layer_sizes=(9,), epochs=2, random_state=1).fit(X, y)
    b = MLPClassifier(hidden_layer_sizes=(9,), epochs=2, random_state=2).fit(X, y)
    assert not np.array_equal(a.params_, b.params_)


def test_bit_identical_in_concurrent_threads():
    """The kernels release the GIL; threads training side by side do not disturb each other."""
    X, y = _namespace()["problem"]()

    def fit():
        return MLPClassifier(hidden_layer_sizes=(16, 8), epochs=3, random_state=3,
                             chunk_size=5).fit(X, y).params_

    serial = fit()
    results = [None] * 4

    def work(i):
        results[i] = fit()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        np.testing.assert_array_equal(r, serial)


@pytest.mark.parametrize("seed", [np.random.RandomState(5), "generator"])
def test_generator_random_states_are_used_not_copied(seed):
    """A Generator/RandomState is a stream: two fits drawing from one differ (as in
    scikit-learn), but the same seed state gives the same result."""
    X, y = _namespace()["problem"]()
    make = ((lambda: np.random.default_rng(5)) if seed == "generator"
            else (lambda: np.random.RandomState(5)))
    shared = make()
    a = MLPRegressor(hidden_layer_sizes=(4,), epochs=1, random_state=shared).fit(X, y).params_
    b = MLPRegressor(hidden_layer_sizes=(4,), epochs=1, random_state=shared).fit(X, y).params_
    c = MLPRegressor(hidden_layer_sizes=(4,), epochs=1, random_state=make()).fit(X, y).params_
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(a, c)


def test_digest_changes_when_a_weight_changes():
    """Guard: the digest really covers the weights' bytes."""
    X, y = _namespace()["problem"]()
    m = MLPClassifier(hidden_layer_sizes=(3,), epochs=1, random_state=0).fit(X, y)
    before = hashlib.sha256(m.params_.tobytes()).hexdigest()
    m.params_[5] = np.nextafter(m.params_[5], np.float32(np.inf))
    assert hashlib.sha256(m.params_.tobytes()).hexdigest() != before
