"""Ctrl-C during training: the model keeps the weights of the last completed chunk, stays
usable (predict, save, partial_fit), its counters and curves agree with those weights, and fit
re-raises the KeyboardInterrupt.

A Ctrl-C that arrives while a nogil kernel runs is delivered when the kernel returns; fastmlp
holds it until the chunk is booked (deferred SIGINT). A KeyboardInterrupt raised inside the
chunk some other way (a second Ctrl-C, a non-default handler, another thread) undoes the
unfinished chunk instead. Both paths are tested, plus a real SIGINT to a subprocess.
"""

import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fastmlp
from fastmlp import MLPClassifier
from fastmlp.backends import NAMES, get_backend

N, CHUNK = 50, 8  # 7 chunks per epoch: 6 of 8 samples and one of 2
PER_EPOCH = -(-N // CHUNK)
BACKENDS = {name: get_backend(name) for name in NAMES}


def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, 5))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)
    return X, y


def model(backend="numba", **kw):
    params = dict(hidden_layer_sizes=(7,), epochs=3, learning_rate=0.05, chunk_size=CHUNK,
                  random_state=0, backend=backend)
    params.update(kw)
    return MLPClassifier(**params)


def samples_in(chunks):
    """t_ after this many completed chunks."""
    full, part = divmod(chunks, PER_EPOCH)
    return full * N + part * CHUNK


@pytest.fixture(scope="module")
def history():
    """Weights after every chunk of an uninterrupted fit, per backend."""
    out = {}
    for name, backend in BACKENDS.items():
        real = backend.train_epoch
        after = []

        def spy(params, *args):
            result = real(params, *args)
            after.append(params.copy())
            return result
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(backend, "train_epoch", spy)
            m = model(name).fit(*data())
        out[name] = dict(after=after, loss_curve=list(m.loss_curve_), params=m.params_.copy())
    return out


@pytest.fixture
def default_sigint():
    """Python's own SIGINT handler, as in a plain script (restored afterwards)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def interrupt_on(monkeypatch, backend, call, how):
    """Make the backend's train_epoch misbehave on its ``call``-th call (1-based)."""
    real = BACKENDS[backend].train_epoch
    calls = []

    def wrapper(*args):
        calls.append(1)
        if len(calls) == call:
            if how == "before":  # e.g. KeyboardInterrupt while the reference computes
                raise KeyboardInterrupt
            result = real(*args)
            if how == "after":  # delivered right after the kernel returned, un-booked
                raise KeyboardInterrupt
            if how == "signal":  # a real Ctrl-C while the kernel ran
                signal.raise_signal(signal.SIGINT)
            if how == "signal_twice":  # the user insists: second Ctrl-C stops at once
                signal.raise_signal(signal.SIGINT)
                signal.raise_signal(signal.SIGINT)
            return result
        return real(*args)
    monkeypatch.setattr(BACKENDS[backend], "train_epoch", wrapper)
    return calls


def check_consistent(m, history, backend, kept_chunks):
    """The model holds the weights after ``kept_chunks`` chunks, with matching bookkeeping."""
    X, y = data()
    np.testing.assert_array_equal(m.params_, history[backend]["after"][kept_chunks - 1])
    epochs_done = kept_chunks // PER_EPOCH
    assert m.n_iter_ == epochs_done
    assert m.t_ == samples_in(kept_chunks)
    assert m.loss_curve_ == history[backend]["loss_curve"][:epochs_done]
    assert len(m.accuracy_curve_) == epochs_done
    # usable: predicts, coefs_ are still views of the weights, trains on
    proba = m.predict_proba(X)
    assert np.isfinite(proba).all() and proba.shape == (N, 3)
    assert all(np.shares_memory(W, m.params_) for W in m.coefs_)
    m.partial_fit(X, y)
    assert m.n_iter_ == epochs_done + 1 and m.t_ == samples_in(kept_chunks) + N


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("how", ["before", "after"])
@pytest.mark.parametrize("call", [1, 3, PER_EPOCH, PER_EPOCH + 1, 2 * PER_EPOCH + 4])
def test_keyboard_interrupt_inside_a_chunk_undoes_that_chunk(monkeypatch, history, backend,
                                                             how, call):
    calls = interrupt_on(monkeypatch, backend, call, how)
    m = model(backend)
    with pytest.raises(KeyboardInterrupt) as info:
        m.fit(*data())
    assert len(calls) == call
    monkeypatch.undo()
    if call == 1:  # nothing completed: the freshly initialised weights
        assert m.n_iter_ == 0 and m.t_ == 0 and m.loss_curve_ == []
        fresh = model(backend)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(BACKENDS[backend], "train_epoch", lambda *a: (_ for _ in ()).throw(
                KeyboardInterrupt))
            with pytest.raises(KeyboardInterrupt):
                fresh.fit(*data())
        np.testing.assert_array_equal(m.params_, fresh.params_)
        assert np.isfinite(m.predict_proba(data()[0])).all()
    else:
        check_consistent(m, history, backend, call - 1)
    if hasattr(info.value, "__notes__"):
        assert "keeps the weights of the last completed chunk" in info.value.__notes__[-1]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("call", [2, PER_EPOCH, 2 * PER_EPOCH + 4])
def test_ctrl_c_during_a_kernel_is_held_until_the_chunk_is_booked(monkeypatch, history,
                                                                  default_sigint, backend, call):
    calls = interrupt_on(monkeypatch, backend, call, "signal")
    m = model(backend)
    with pytest.raises(KeyboardInterrupt) as info:
        m.fit(*data())
    assert len(calls) == call  # stopped at the next boundary: no further chunk ran
    monkeypatch.undo()
    check_consistent(m, history, backend, call)  # this time the chunk is kept
    if hasattr(info.value, "__notes__"):
        assert "fastmlp: training stopped by KeyboardInterrupt" in info.value.__notes__[-1]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_second_ctrl_c_stops_at_once_and_undoes_the_chunk(monkeypatch, history,
                                                           default_sigint, backend):
    call = PER_EPOCH + 3
    interrupt_on(monkeypatch, backend, call, "signal_twice")
    m = model(backend)
    with pytest.raises(KeyboardInterrupt):
        m.fit(*data())
    monkeypatch.undo()
    check_consistent(m, history, backend, call - 1)


def test_ctrl_c_in_an_epoch_callback_keeps_the_whole_epoch(history, default_sigint):
    seen = []

    def callback(m, info):
        seen.append(info["epoch"])
        if info["epoch"] == 2:
            signal.raise_signal(signal.SIGINT)

    m = model()
    with pytest.raises(KeyboardInterrupt):
        m.fit(*data(), epoch_callback=callback)
    assert seen == [1, 2]
    check_consistent(m, history, "numba", 2 * PER_EPOCH)


def test_partial_fit_interrupted_keeps_earlier_epochs(monkeypatch, history):
    X, y = data()
    m = model()
    m.partial_fit(X, y, classes=[0, 1, 2])
    interrupt_on(monkeypatch, "numba", 3, "after")
    with pytest.raises(KeyboardInterrupt):
        m.partial_fit(X, y)
    monkeypatch.undo()
    check_consistent(m, history, "numba", PER_EPOCH + 2)


def test_an_interrupted_model_saves_and_loads(monkeypatch, tmp_path):
    interrupt_on(monkeypatch, "numba", 4, "after")
    m = model()
    with pytest.raises(KeyboardInterrupt):
        m.fit(*data())
    monkeypatch.undo()
    loaded = fastmlp.load(m.save(tmp_path / "m.npz"))
    np.testing.assert_array_equal(loaded.params_, m.params_)
    np.testing.assert_array_equal(loaded.predict(data()[0]), m.predict(data()[0]))


CHILD = textwrap.dedent("""
    import json, signal, sys
    import numpy as np
    from fastmlp import MLPClassifier, kernels

    # as in an interactive session, even if this process inherited SIGINT ignored (a
    # background job of a non-interactive shell, some CI runners)
    signal.signal(signal.SIGINT, signal.default_int_handler)

    n, chunk = 3000, 64
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, 20)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)
    kw = dict(hidden_layer_sizes=(32,), epochs=20000, learning_rate=0.01, chunk_size=chunk,
              random_state=0)

    def callback(m, info):
        if info["epoch"] == 1:
            print("training", flush=True)  # the parent sends SIGINT now

    m = MLPClassifier(**kw)
    try:
        m.fit(X, y, epoch_callback=callback)
        print(json.dumps({"finished": True}))
        sys.exit(0)
    except KeyboardInterrupt:
        pass
    per_epoch = -(-n // chunk)
    within = m.t_ - m.n_iter_ * n
    chunks = m.n_iter_ * per_epoch + within // chunk
    # replay exactly that many chunks in a fresh model, without any signal
    real, calls = kernels.train_epoch, []
    def stop_after(*args):
        if len(calls) == chunks:
            raise KeyboardInterrupt
        calls.append(1)
        return real(*args)
    kernels.train_epoch = stop_after
    replay = MLPClassifier(**kw)
    try:
        replay.fit(X, y)
    except KeyboardInterrupt:
        pass
    kernels.train_epoch = real
    proba = m.predict_proba(X[:100])
    print(json.dumps(dict(
        finished=False, n_iter=m.n_iter_, t=m.t_, within=within,
        curves=[len(m.loss_curve_), len(m.accuracy_curve_)],
        finite=bool(np.isfinite(m.params_).all() and np.isfinite(proba).all()),
        same_as_replay=bool(np.array_equal(m.params_, replay.params_)),
        replay_state=[replay.n_iter_, replay.t_])))
""")


def test_real_sigint_to_a_training_process(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    child = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "training"
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, err
    r = json.loads(out.strip().splitlines()[-1])
    assert r["finished"] is False
    assert r["n_iter"] >= 1
    assert r["curves"] == [r["n_iter"], r["n_iter"]]
    assert r["within"] % 64 == 0 and 0 <= r["within"] < 3000  # a chunk boundary
    assert r["finite"]
    assert r["same_as_replay"], r  # exactly the weights of the last completed chunk
    assert r["replay_state"] == [r["n_iter"], r["t"]]


def test_a_second_ctrl_c_while_validation_is_scored_undoes_that_epoch(default_sigint):
    """The epoch's chunks are all booked, then the user insists while the held-out rows are
    scored: the model goes back to the end of the previous epoch, weights, counters and
    curves alike (n_iter_ and the curves used to stay one epoch behind the weights)."""
    X, y = data()
    kw = dict(validation_fraction=0.2, epochs=3)
    scored = []

    class Insisting(MLPClassifier):
        def score(self, X, y, sample_weight=None):
            scored.append(1)
            if len(scored) == 2:  # epoch 2's validation score
                signal.raise_signal(signal.SIGINT)
                signal.raise_signal(signal.SIGINT)
            return super().score(X, y, sample_weight)

    m = Insisting(**model(**kw).get_params())
    with pytest.raises(KeyboardInterrupt):
        m.fit(X, y)
    one = model(**dict(kw, epochs=1)).fit(X, y)
    np.testing.assert_array_equal(m.params_, one.params_)
    assert m.n_iter_ == 1 and m.t_ == one.t_
    assert m.loss_curve_ == one.loss_curve_ and m.validation_scores_ == one.validation_scores_
    assert len(m.accuracy_curve_) == 1
    m.partial_fit(X, y)
    assert m.n_iter_ == 2
