"""fastmlp: per-sample SGD for small MLPs with Numba kernels proven equal to a NumPy reference."""

from .errors import ConvergenceWarning, DivergenceError, NotFittedError
from .estimators import MLPClassifier, MLPRegressor, load
from .gradcheck import check_gradients

__version__ = "0.1.0"
__all__ = ["MLPClassifier", "MLPRegressor", "load", "ConvergenceWarning", "DivergenceError", "NotFittedError",
           "check_gradients"]
