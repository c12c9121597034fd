"""The first run's compile, timed on its own: the command line compiles the kernels a command
will use before the command starts, so their compile time is reported on its own line and never
counted in an epoch's time or a samples/s figure.

Numba compiles a kernel once per type signature (the dtypes and kinds of its arguments, not
their shapes) the first time it runs, and caches the machine code on disk; every later process
loads it from there in well under a second. So running the command's kernels on a tiny problem
of the same types -- a one-epoch fit of a copy of the model (same hyperparameters, hence the
same compiled epoch) on a few rows of the data, and a prediction -- compiles exactly what the
real run needs. The notice that a compile has started comes from Numba's own compile event
(a kernel loaded from the cache raises none), so it shows exactly when a compile happens.

The notice quotes the compile time measured for the command on this project's machine, by
``python bench/compile_notice.py`` (each command in fresh processes with an empty cache).
"""

import time
import warnings
from dataclasses import dataclass

import numpy as np

from . import backends

# seconds of a cold compile, by command: the CPU time it took (Numba compiles on one thread, so
# this is the wait on a machine with a core to spare; longer while other work runs), median of
# 3 fresh processes each with an empty cache, interleaved: `python bench/compile_notice.py`
# (bench/results/compile_notice.md; a float64 train measured 22 s like float32)
MEASURED_SECONDS = {"train": 22.0, "train-batch": 33.0, "xor": 29.0, "predict": 10.0}
MEASURED_ON = "a 2-core AMD EPYC (Zen 1)"
TINY_ROWS = 64


@dataclass
class Compiled:
    """What ``compile_kernels`` did: ``seconds`` it took (compiling, or loading from the cache),
    whether anything was ``compiled``, the ``cache`` folder, and the CPU seconds this process
    spent (``cpu_seconds``: the wall time of a machine with a core to spare; Numba compiles on
    one thread)."""

    seconds: float
    compiled: bool
    cache: str = None
    cpu_seconds: float = 0.0

    def line(self):
        """The report line of a run that compiled: 'compiled the kernels in 9.8 s, cached in
        DIR'."""
        where = f", cached in {self.cache}" if self.cache else ""
        return f"compiled the kernels in {self.seconds:.1f} s{where}"


def notice_text(command):
    """The line printed when a compile starts: how long it takes here, measured."""
    seconds = MEASURED_SECONDS.get(command, max(MEASURED_SECONDS.values()))
    return (f"compiling the kernels for this machine, once: ~{seconds:.0f} s on {MEASURED_ON} "
            f"with a free core (later runs load them from the cache)")


def compile_kernels(run, backend, command, notice=None):
    """Run ``run()`` -- the command's kernels on a tiny problem -- timed; returns Compiled.

    ``notice``: a stream for the notice, printed when the first compile starts (None: silent).
    Warnings and errors of the tiny problem are ignored (the real run meets them and reports
    them); a Ctrl-C is not."""
    def first():
        if notice is not None:
            print(notice_text(command), file=notice, flush=True)

    if not backends.compiles(backend):
        return Compiled(0.0, False)  # the reference: nothing to compile
    tic, cpu = time.perf_counter(), time.process_time()
    with backends.watching_compiles(backend, first) as compiles:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                run()
            except Exception:  # noqa: BLE001 -- the real run reports it
                pass
    return Compiled(time.perf_counter() - tic, bool(compiles), backends.cache_dir(backend),
                    time.process_time() - cpu)


def tiny_rows(y, n):
    """Indices of at most n rows of y holding every class once first (so class weights and
    label checks see what the real fit sees), then the first rows."""
    first = np.unique(np.asarray(y), return_index=True)[1]
    rest = np.setdiff1d(np.arange(min(n, len(y))), first)
    return np.sort(np.concatenate([first, rest])[:max(n, len(first))])


def tiny_fit(model, X, y):
    """A function that fits a copy of ``model`` (same hyperparameters: the same compiled epoch
    and dtype) for one epoch on a few rows of (X, y) and predicts them twice (the general path,
    then a small call's fast path, as validation scoring each epoch does): the kernels
    ``model.fit(X, y)`` and scoring will run, on a tiny problem."""
    def run():
        params = dict(model.get_params(), epochs=1, verbose=False, validation_fraction=0.0,
                      n_iter_no_change=None)
        n = X.shape[0]
        batch = n if params["batch_size"] == "full" else min(int(params["batch_size"]), n)
        limit = backends.max_compiled_batch(params["backend"])
        if batch > 1:  # mini-batches: stay on the same side of the compiled epoch's limit
            batch = min(batch, TINY_ROWS) if batch <= limit else limit + 1
        rows = tiny_rows(y, max(TINY_ROWS, batch))
        params["batch_size"] = batch
        copy = type(model)(**params)
        X_tiny, y_tiny = X[rows], np.asarray(y)[rows]
        copy.fit(X_tiny, y_tiny)
        copy.predict(X_tiny)
        copy.predict(X_tiny[:1])  # a second small call takes the fast path (online.py)
    return run


def tiny_predict(model, X):
    """A function that runs ``model``'s prediction on the first row of X."""
    return lambda: model.predict(X[:1])
