"""Input standardisation kept with the model: the rule of ``scale_inputs='auto'``, the
statistics, and the one transform from a checked X to what the kernels see.

Per-sample SGD at the default rates trains on inputs of about unit scale and fails on raw
tabular data (features in the hundreds or thousands: raw wine reaches 0.40 test accuracy,
breast_cancer 0.63; bench/results/bundled.md). The estimators can standardise X themselves,
with the training rows' statistics kept as fitted state (``_x_mean``, ``_x_scale``: arrays of
the parameters' dtype, or None) and applied in predict, partial_fit and saved files:

- ``scale_inputs='auto'`` (the default) standardises when X is far from unit scale: some
  feature's root mean square (over up to ``RULE_ROWS`` evenly spaced training rows) above
  ``RMS_LIMIT``. Data in [-1, 1] (images scaled to [0, 1], MNIST) or already standardised
  (every feature's root mean square is 1) is never touched -- its zeros stay zeros, which
  per-sample SGD skips, and the fit is bit for bit the one without the rule. A first
  ``partial_fit`` call of fewer than ``MIN_ROWS`` rows never standardises under 'auto' (its
  statistics would be noise; standardise a stream yourself, or pass scale_inputs=True with a
  first batch big enough).
- ``True``: always; ``False``: never.

Dense X is centred and scaled: ``(X - mean) / scale``, scale the standard deviation (1 for a
constant feature), as scikit-learn's StandardScaler. A scipy.sparse X is only scaled
(``mean`` = 0, StandardScaler(with_mean=False)), so it stays sparse; a sparse X given to a
model that centres is made dense first.
"""

import sys

import numpy as np

from . import sparse

RMS_LIMIT = 2.0
RULE_ROWS = 4096
MIN_ROWS = 20
CHOICES = ("auto", True, False)


def _rows(n, limit):
    return slice(None) if n <= limit else np.linspace(0, n - 1, limit).astype(np.int64)


def column_rms(X, rows=None):
    """The root mean square of each column of X (dense or CSR) over ``rows`` (float64)."""
    X = X if rows is None else X[rows]
    if sparse.is_sparse(X):
        sq = X.multiply(X).sum(axis=0)
        return np.sqrt(np.asarray(sq, np.float64).ravel() / X.shape[0])
    X = np.asarray(X)
    return np.sqrt(np.einsum("ij,ij->j", X, X, dtype=np.float64) / X.shape[0])


def column_max_abs(X):
    """The largest |value| of each column of X (dense or CSR), float64."""
    if sparse.is_sparse(X):
        return np.asarray(abs(X).max(axis=0).toarray(), np.float64).ravel()
    return np.abs(np.asarray(X)).max(axis=0).astype(np.float64)


def largest_rms(X):
    """The largest root mean square of a feature of X over up to RULE_ROWS evenly spaced rows
    (0 for None)."""
    if X is None:
        return 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        return float(np.max(column_rms(X, _rows(X.shape[0], RULE_ROWS))))


def wanted(choice, X):
    """Whether ``scale_inputs=choice`` standardises a training set X (checked, dense or CSR)."""
    if choice == "auto":
        return X.shape[0] >= MIN_ROWS and largest_rms(X) > RMS_LIMIT
    return bool(choice)


def check_first_rows(owner, choice, X):
    """The first fit/partial_fit's rows decide the scaling for good: ``scale_inputs=True`` on
    a single row (no spread to divide by, centred on that row) is refused; under 'auto', an X
    far from unit scale in too few rows to standardise on trains raw, and says so."""
    n = X.shape[0]
    if choice is True and n < 2:
        raise ValueError(f"scale_inputs=True takes each feature's mean and standard deviation "
                         f"from the first fit/partial_fit call's rows, and this call has {n}; "
                         f"start with at least {MIN_ROWS} rows, or standardise X yourself "
                         f"(scale_inputs=False)")
    if choice == "auto" and n < MIN_ROWS:
        rms = largest_rms(X)
        if rms > RMS_LIMIT:
            import warnings
            warnings.warn(f"{owner}: X looks unscaled (a feature's root mean square is "
                          f"{rms:.3g}), but this first call has {n} row{'s' if n != 1 else ''},"
                          f" too few to standardise on (scale_inputs='auto' needs {MIN_ROWS}):"
                          f" the model trains on X as given, and per-sample SGD usually fails "
                          f"on unscaled features. Standardise X yourself, or give fit (or the "
                          f"first partial_fit) {MIN_ROWS} rows or more.", UserWarning,
                          stacklevel=6)


def statistics(X, sample_weight=None):
    """(mean, scale) float64 (n_features,) of the rows of X of weight > 0 (weighted with
    ``sample_weight``, checked, or unweighted): the mean (0 for a sparse X) and the standard
    deviation (1 where it is 0 or not finite)."""
    w = None if sample_weight is None else np.asarray(sample_weight, np.float64)
    if w is not None and (w > 0).all() and (w == w[0]).all():
        w = None
    if w is not None:
        keep = np.flatnonzero(w > 0)
        X, w = sparse.take_rows(X, keep), w[keep] / w[keep].max()
    # per feature, computed on X / max|x| (then scaled back), so that values near the dtype's
    # limit give finite statistics
    big = column_max_abs(X)
    big = np.where(big > 0, big, 1.0)
    if sparse.is_sparse(X):
        Xn = X.astype(np.float64) @ sys.modules["scipy.sparse"].diags(1 / big)
        Xw = Xn if w is None else sys.modules["scipy.sparse"].diags(w) @ Xn
        total = X.shape[0] if w is None else w.sum()
        sq = np.asarray(Xw.multiply(Xn).sum(axis=0), np.float64).ravel() / total
        m = np.asarray(Xw.sum(axis=0), np.float64).ravel() / total
        mean, std = np.zeros(X.shape[1]), np.sqrt(np.maximum(sq - m * m, 0.0)) * big
    else:
        A = np.asarray(X, np.float64) / big
        mean = np.average(A, axis=0, weights=w)
        std = np.sqrt(np.average((A - mean) ** 2, axis=0, weights=w)) * big
        mean = mean * big
    return mean, np.where(np.isfinite(std) & (std > 0), std, 1.0)


def transform(X, mean, scale):
    """(X - mean) / scale in X's dtype, as a new array (X is never modified): what the kernels
    see. mean, scale: arrays of X's dtype. A CSR X keeps its zeros when mean is 0 (only its
    stored values are divided); with a non-zero mean it is made dense."""
    if sparse.is_sparse(X):
        if not mean.any():
            out = X.copy()
            out.data /= scale[out.indices]
            return out
        X = np.ascontiguousarray(X.toarray(), dtype=mean.dtype)
    out = X - mean
    out /= scale
    return out
