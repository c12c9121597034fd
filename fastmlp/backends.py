"""The two interchangeable implementations of the math, by name: the only name -> module table.

``numba`` is the compiled kernels (``fastmlp.kernels``), ``reference`` the pure-NumPy twin
(``fastmlp.reference``); both export the same functions with the same signatures. A backend's
module is imported the first time it is asked for, so ``import fastmlp`` (and any use of the
reference alone) never loads numba.
"""

import importlib

BACKENDS = {"numba": "fastmlp.kernels", "reference": "fastmlp.reference"}
NAMES = tuple(BACKENDS)


def get_backend(name):
    """The module implementing train_epoch/predict/... for ``name``."""
    if not isinstance(name, str) or name not in BACKENDS:
        raise ValueError(f"backend={name!r} is not supported; expected one of "
                         f"{tuple(BACKENDS)}")
    return importlib.import_module(BACKENDS[name])


def compiled_before(name, dtype, per_sample):
    """False when backend ``name`` has yet to compile its kernels for this machine, dtype and
    epoch kind (per-sample or mini-batch): the first run then spends ~10 s compiling."""
    if name != "numba":
        return True
    return importlib.import_module("fastmlp.kernels.compiled").compiled_before(dtype, per_sample)


def mark_compiled(name, dtype, per_sample):
    """Record that a run of backend ``name`` compiled (and cached) its kernels."""
    if name == "numba":
        importlib.import_module("fastmlp.kernels.compiled").mark_compiled(dtype, per_sample)
