"""Ctrl-C during training: held back to the next chunk boundary (``DeferredInterrupt``), and
the note a KeyboardInterrupt carries about the state the model was left in."""

import contextlib
import signal
import threading


def with_note(exc, note):
    if hasattr(exc, "add_note"):  # Python >= 3.11
        exc.add_note(note)
    return exc


class DeferredInterrupt:
    """Holds back Ctrl-C (SIGINT) during training until the next chunk boundary.

    A KeyboardInterrupt can otherwise surface anywhere in the Python loop, e.g. right after a
    kernel returns but before its chunk is counted, leaving weights, t_, n_iter_ and the curves
    out of step. Only in the main thread and only while Python's default handler is installed;
    a second Ctrl-C raises at once (the loop then undoes the unfinished chunk, or the whole
    epoch while its results are computed), except inside ``held()``: the few statements that
    record a finished epoch, which run all or nothing.
    """

    def __init__(self):
        self.pending = False
        self._previous = None
        self._holding = False

    @contextlib.contextmanager
    def held(self):
        """No KeyboardInterrupt inside: a Ctrl-C waits until the end of the block."""
        self._holding = True
        try:
            yield
        finally:
            self._holding = False

    def __enter__(self):
        if (threading.current_thread() is threading.main_thread() and
                signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            self._previous = signal.signal(signal.SIGINT, self._handler)
        return self

    def _handler(self, signum, frame):
        if self.pending and not self._holding:
            raise KeyboardInterrupt
        self.pending = True

    def check(self, note):
        if self.pending:
            self.pending = False
            raise with_note(KeyboardInterrupt(), note)

    def __exit__(self, exc_type, exc, tb):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        if self.pending and not isinstance(exc, KeyboardInterrupt):
            raise KeyboardInterrupt  # never swallow a Ctrl-C (e.g. one during a DivergenceError)
        return False


def interrupt_note(model, done, n):
    where = (f"after epoch {model.n_iter_}" if done == n else
             f"after {done} of {n} samples of epoch {model.n_iter_ + 1}")
    return (f"fastmlp: training stopped by KeyboardInterrupt {where}. The model keeps the "
            f"weights of the last completed chunk (n_iter_={model.n_iter_}, t_={model.t_}) "
            f"and can predict, be saved, or continue with partial_fit.")
