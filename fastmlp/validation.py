"""Input and hyperparameter validation: the only guard in front of kernels that never check bounds.

Every array that reaches a kernel passes through here first: right rank and shape, a supported
float dtype, C-contiguous, writeable (one compiled specialisation), finite, non-empty.
"""

import numbers

import numpy as np

from . import sparse
from .features import numeric_values

DTYPES = {"float32": np.float32, "float64": np.float64}


def check_dtype(dtype):
    """np.dtype for the ``dtype`` hyperparameter ('float32' or 'float64')."""
    try:
        key = None if dtype is None else np.dtype(dtype).name  # np.dtype(None) would be float64
    except (TypeError, ValueError):
        key = None
    if key not in DTYPES:
        raise ValueError(f"dtype={dtype!r} is not supported; expected 'float32' or 'float64'")
    return np.dtype(DTYPES[key])


def check_array(X, dtype, name="X", n_features=None, owner="the model"):
    """X as a finite, C-contiguous, writeable 2-D array of ``dtype``, or for scipy.sparse input
    a checked CSR matrix of ``dtype`` (sparse.check_csr). X itself is never modified."""
    if sparse.is_sparse(X):
        return sparse.check_csr(X, dtype, name, n_features, owner)
    if hasattr(X, "toarray") and not isinstance(X, np.ndarray):
        raise ValueError(f"{name}: sparse input other than scipy.sparse is not supported; pass "
                         f"a scipy.sparse matrix or a dense array (e.g. {name}.toarray())")
    arr = numeric_values(X, name)  # frames with nullable dtypes, object arrays of numbers
    # Where scikit-learn has a standard wording for an error, the message contains it too, so
    # code (and scikit-learn's check_estimator) matching on it works with fastmlp.
    if arr.dtype.kind == "c":
        raise ValueError(f"Complex data not supported: {name} must be numeric (bool, int or "
                         f"float), got dtype {arr.dtype}")
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be numeric (bool, int or float), got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got {arr.ndim}-D "
                         f"with shape {arr.shape}. Reshape your data: {name}.reshape(1, -1) "
                         f"for a single sample, {name}.reshape(-1, 1) for a single feature")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty: 0 samples (shape {arr.shape}); need at least 1")
    if arr.shape[1] == 0:
        raise ValueError(f"{name} has 0 feature(s) (shape={arr.shape}) while a minimum of 1 is "
                         f"required.")
    if n_features is not None and arr.shape[1] != n_features:
        raise ValueError(f"{name} has {arr.shape[1]} features, but {owner} is expecting "
                         f"{n_features} features as input (it was fitted with {n_features})")
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported just below
        out = np.ascontiguousarray(arr, dtype=dtype)
    if not out.flags.writeable:  # a read-only view would need its own compiled specialisation
        out = out.copy()
    # one pass without a temporary array first (NaN or inf make the sum non-finite; a sum that
    # merely overflows goes on to the exact check): half the time of isfinite(out).all() on
    # MNIST, where this scan is most of what partial_fit does besides training
    with np.errstate(over="ignore", invalid="ignore"):
        quick = np.isfinite(out.sum())
    if not quick and not np.isfinite(out).all():
        bad = tuple(np.argwhere(~np.isfinite(out))[0])
        if np.isfinite(arr[bad]):
            raise ValueError(f"{name} has a value too large for dtype {np.dtype(dtype).name} "
                             f"(first at row {bad[0]}, column {bad[1]}: {arr[bad].item()!r}); scale the "
                             f"data or use dtype='float64'")
        raise ValueError(f"{name} contains NaN or infinity (first at row {bad[0]}, column "
                         f"{bad[1]}); clean or impute the data first")
    return out


def check_positive(name, value, integer=False, allow_zero=False):
    """A finite positive (or non-negative) number, with a message naming the parameter."""
    kind = numbers.Integral if integer else numbers.Real
    ok = isinstance(value, kind) and not isinstance(value, bool)
    if ok:
        ok = np.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        what = "an integer" if integer else "a finite number"
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name}={value!r} is not valid; expected {what} {bound}")
    return value


def check_choice(name, value, allowed):
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name}={value!r} is not supported; expected one of {tuple(allowed)}")
    return value


def check_hidden_layer_sizes(sizes):
    """A tuple of positive ints from an int or a sequence (an empty tuple means no hidden layer)."""
    if isinstance(sizes, numbers.Integral) and not isinstance(sizes, bool):
        sizes = (sizes,)
    if hasattr(sizes, "__next__"):
        # an iterator/generator would be used up by the first of several validations
        raise ValueError(f"hidden_layer_sizes={sizes!r} is not valid; expected a sequence "
                         f"(tuple or list) of positive integers such as (200, 200), not an "
                         f"iterator")
    try:
        sizes = tuple(sizes)
    except TypeError:
        raise ValueError(f"hidden_layer_sizes={sizes!r} is not valid; expected a sequence of "
                         f"positive integers such as (200, 200)") from None
    for s in sizes:
        if not (isinstance(s, numbers.Integral) and not isinstance(s, bool) and s > 0):
            raise ValueError(f"hidden_layer_sizes={sizes!r} is not valid: every layer size must "
                             f"be a positive integer, got {s!r}")
    return tuple(int(s) for s in sizes)


def check_seed(seed):
    """Validate a random_state without drawing from it."""
    ok = (seed is None or isinstance(seed, (np.random.Generator, np.random.RandomState,
                                            np.random.SeedSequence)) or
          (isinstance(seed, numbers.Integral) and not isinstance(seed, bool) and seed >= 0))
    if not ok:
        raise ValueError(f"random_state={seed!r} is not valid; expected None, an int >= 0 or a "
                         f"numpy Generator/RandomState")
    return seed


def check_random_state(seed):
    """A numpy Generator from None, an int, a Generator or a legacy RandomState."""
    check_seed(seed)
    if seed is None or isinstance(seed, (numbers.Integral, np.random.SeedSequence)):
        return np.random.default_rng(seed)
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, np.random.RandomState):
        return np.random.default_rng(seed.randint(0, 2**31 - 1))
    raise ValueError(f"random_state={seed!r} is not valid; expected None, an int >= 0 or a "
                     f"numpy Generator/RandomState")
