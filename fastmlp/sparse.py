"""scipy.sparse input: recognised without importing scipy, checked once, handed to the kernels
as CSR arrays (``train_epoch_csr``/``predict_csr``) and never made dense.

scipy stays optional: ``is_sparse`` looks at the object's type, and scipy is only used when a
sparse object (which scipy made) arrives. ``check_csr`` returns a ``scipy.sparse.csr_matrix``
ready for the kernels: CSC/COO/LIL/... and sparse arrays converted to CSR, data cast to the
model's dtype, indices sorted and duplicates summed, explicit zeros dropped (the last three
on a copy, only when needed: the user's matrix is never modified), indices and indptr int32
where they fit. NaN/inf data, values too large for the dtype, out-of-range indices and the
wrong number of columns are ValueErrors, and so are repeated entries whose sum overflows the
dtype.
"""

import sys

import numpy as np

INT32_MAX = np.iinfo(np.int32).max


def is_sparse(X):
    """True if X is a scipy.sparse matrix or array (scipy is never imported here)."""
    if not type(X).__module__.startswith("scipy.sparse"):
        return False
    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and sparse.issparse(X)


def _first_bad(X, bad):
    k = int(np.flatnonzero(bad)[0])
    row = int(np.searchsorted(X.indptr, k, side="right") - 1)
    return k, row, int(X.indices[k])


def check_csr(X, dtype, name="X", n_features=None, owner="the model"):
    """X (any scipy.sparse format) as a checked canonical CSR matrix of ``dtype``."""
    sparse = sys.modules["scipy.sparse"]
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got a sparse "
                         f"{X.ndim}-D {type(X).__name__}")
    if X.dtype.kind == "c":
        raise ValueError(f"Complex data not supported: {name} must be numeric (bool, int or "
                         f"float), got dtype {X.dtype}")
    if X.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be numeric (bool, int or float), got dtype {X.dtype}")
    n, d = X.shape
    if n == 0:
        raise ValueError(f"{name} is empty: 0 samples (shape {X.shape}); need at least 1")
    if d == 0:
        raise ValueError(f"{name} has 0 feature(s) (shape={X.shape}) while a minimum of 1 is "
                         f"required.")
    if n_features is not None and d != n_features:
        raise ValueError(f"{name} has {d} features, but {owner} is expecting {n_features} "
                         f"features as input (it was fitted with {n_features})")
    X = X.tocsr()  # the same object if it is CSR already; a new one otherwise
    indptr, indices = X.indptr, X.indices
    if (indptr.shape != (n + 1,) or indptr[0] != 0 or indptr[-1] != indices.shape[0] or
            indices.shape != X.data.shape or (n > 0 and np.any(np.diff(indptr) < 0))):
        raise ValueError(f"{name} is a malformed CSR matrix (indptr does not describe its "
                         f"{indices.shape[0]} stored entries)")
    if indices.size and (indices.min() < 0 or indices.max() >= d):
        raise ValueError(f"{name} has a column index outside 0..{d - 1}")
    with np.errstate(over="ignore", invalid="ignore"):
        data = X.data.astype(dtype, copy=False)
    finite = np.isfinite(data)
    if not finite.all():
        k, row, col = _first_bad(X, ~finite)
        if np.isfinite(X.data[k]):
            raise ValueError(f"{name} has a value too large for dtype {np.dtype(dtype).name} "
                             f"(first at row {row}, column {col}: {X.data[k].item()!r}); scale "
                             f"the data or use dtype='float64'")
        raise ValueError(f"{name} contains NaN or infinity (first at row {row}, column {col}); "
                         f"clean or impute the data first")
    index = np.int32 if max(d, indices.shape[0]) <= INT32_MAX else np.int64
    out = sparse.csr_matrix((data, indices.astype(index, copy=False),
                             indptr.astype(index, copy=False)), shape=(n, d), copy=False)
    if out.data is X.data or out.indices is X.indices or out.indptr is X.indptr:
        # shares the user's arrays: anything below that changes them works on a copy
        if not out.has_canonical_format or not data.all():
            out = out.copy()
    if not out.has_canonical_format:
        out.sum_duplicates()  # sorts the indices, sums repeated columns
        summed = np.isfinite(out.data)
        if not summed.all():  # finite entries whose sum overflows the dtype, as dense X would
            k, row, col = _first_bad(out, ~summed)
            raise ValueError(f"{name} has a value too large for dtype {np.dtype(dtype).name} "
                             f"(first at row {row}, column {col}: the sum of its repeated "
                             f"entries); scale the data or use dtype='float64'")
    if not out.data.all():
        out.eliminate_zeros()  # an explicit 0 adds exactly nothing; dropped, as dense X skips it
    return out


class CSRRows:
    """The rows of CSR arrays, each made dense when asked for (the reference's CSR twins):
    X[i] has the values X_data[s] at the columns X_indices[s], s = X_indptr[i]:X_indptr[i + 1],
    zeros elsewhere; a repeated column is summed, as scipy's sum_duplicates does."""

    def __init__(self, X_data, X_indices, X_indptr, n_in, n_rows):
        self.data, self.indices, self.indptr = X_data, X_indices, X_indptr
        self.n_in, self.shape = n_in, (n_rows, n_in)

    def __getitem__(self, i):
        s = slice(self.indptr[i], self.indptr[i + 1])
        x = np.zeros(self.n_in, self.data.dtype)
        np.add.at(x, self.indices[s], self.data[s])
        return x


def take_rows(X, rows):
    """Rows of a dense (C-contiguous copy) or CSR X."""
    return X[rows] if is_sparse(X) else np.ascontiguousarray(X[rows])


def train_epoch(backend, params, grads, acts, dacts, X, *rest):
    """backend.train_epoch, or train_epoch_csr for a CSR X from check_csr (same arguments)."""
    if is_sparse(X):
        return backend.train_epoch_csr(params, grads, acts, dacts, X.data, X.indices, X.indptr,
                                       *rest)
    return backend.train_epoch(params, grads, acts, dacts, X, *rest)


def predict(backend, out, X, params, acts, layout, activations):
    """backend.predict, or predict_csr for a CSR X from check_csr."""
    if is_sparse(X):
        backend.predict_csr(out, X.data, X.indices, X.indptr, params, acts, layout, activations)
    else:
        backend.predict(out, X, params, acts, layout, activations)
