"""The two interchangeable implementations of the math, by name: the only name -> module table.

``numba`` is the compiled kernels (``fastmlp.kernels``), ``reference`` the pure-NumPy twin
(``fastmlp.reference``); both export the same functions with the same signatures. A backend's
module is imported the first time it is asked for, so ``import fastmlp`` (and any use of the
reference alone) never loads numba.
"""

import contextlib
import importlib

BACKENDS = {"numba": "fastmlp.kernels", "reference": "fastmlp.reference"}
NAMES = tuple(BACKENDS)


def get_backend(name):
    """The module implementing train_epoch/predict/... for ``name``."""
    if not isinstance(name, str) or name not in BACKENDS:
        raise ValueError(f"backend={name!r} is not supported; expected one of "
                         f"{tuple(BACKENDS)}")
    return importlib.import_module(BACKENDS[name])


# ------------------------------------------------------------------ compiling (the first run)

def cache_dir(name):
    """The folder where backend ``name`` keeps its compiled kernels (Numba's disk cache), or
    None (the reference compiles nothing; or Numba's cache object is not where expected)."""
    if not compiles(name):
        return None
    # any compiled kernel's: they share one folder (Numba's cache object is internal: without
    # it the folder just goes unnamed)
    for value in vars(importlib.import_module(BACKENDS[name])).values():
        path = getattr(getattr(value, "_cache", None), "_cache_path", None)
        if isinstance(path, str):
            return path
    return None  # pragma: no cover


def compiles(name):
    """True if backend ``name`` compiles its kernels (numba), False for the reference."""
    return name == "numba"


def max_compiled_batch(name):
    """The largest batch the compiled mini-batch epoch takes (a larger one takes the general
    epoch): a warm-up must stay on the same side of it to compile the same code."""
    if not compiles(name):
        return None
    return importlib.import_module(BACKENDS[name] + ".batches").MAX_BATCH


@contextlib.contextmanager
def watching_compiles(name, on_first=None):
    """Within the block, count the kernels backend ``name`` compiles (a kernel loaded from the
    disk cache is not compiled); yields a list that gets one entry per compile, and calls
    ``on_first()`` once, when the first compile starts (before it runs)."""
    started = []
    if not compiles(name):
        yield started
        return
    event = importlib.import_module("numba.core.event")

    class Listener(event.Listener):
        def on_start(self, ev):
            if not started and on_first is not None:
                on_first()
            started.append(ev.data["dispatcher"].py_func.__name__)

        def on_end(self, ev):
            pass

    with event.install_listener("numba:compile", Listener()):
        yield started
