"""fastmlp: per-sample SGD for small MLPs with Numba kernels proven equal to a NumPy reference.

The submodules (``fastmlp.datasets``, ``fastmlp.xor``, ``fastmlp.kernels``, ...) are
attributes of the package without an import of their own; each loads on first use, so
``import fastmlp`` stays quick and never loads numba.
"""

import importlib
import pkgutil

from .errors import ConvergenceWarning, DataConversionWarning, DivergenceError, NotFittedError
from .estimators import MLPClassifier, MLPRegressor, load
from .gradcheck import check_gradients

__version__ = "0.1.0"
__all__ = ["MLPClassifier", "MLPRegressor", "load", "ConvergenceWarning", "DivergenceError", "NotFittedError",
           "DataConversionWarning", "check_gradients"]



def _submodules():
    """The names of the package's public submodules (kernels/ installs as fastmlp.kernels)."""
    found = {m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")}
    return found | {"kernels"}


def __getattr__(name):
    """``fastmlp.<submodule>`` imports that submodule on first use (PEP 562)."""
    if name in _submodules():
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _submodules())
