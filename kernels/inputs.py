"""The input row of one sample in a compiled epoch: a row of a dense X, or a CSR row.

The general epoch (sgd.train_epoch_batches) and the CSR predict (csr.py) take X as either

- a dense (n, n_in) array: row i is X[i]; its non-zero columns are found by a scan
  (rows._nonzero_rows, O(n_in)), or
- a CSR tuple (data, indices, indptr, xs, seen): row i's stored entries are
  data[indptr[i]:indptr[i + 1]] at columns indices[...]; xs: (n_in,) zeros and seen: (n_in,)
  uint8 zeros are scratch. The row is scattered into xs and its columns listed, O(stored
  entries): a row of a 100,000-feature matrix is never scanned.

Either way ``_list_input`` returns the row as a dense (n_in,) vector and lists its non-zero
columns in idx[:nnz[0]], which is all the layer code (network.py, dense.py) reads: it only ever
touches x[i] for listed i, or, with a weight penalty, every x[i] (zeros in xs). Which of the two
is compiled is decided by X's type (a Numba overload), so the epoch body is the same code.

CSR rows need not be canonical: duplicate columns are summed in stored order and columns are
listed in order of first appearance (the forward then adds rows in that order). Sorted indices
without duplicates or explicit zeros list exactly the columns the dense scan finds, in the same
order, so the numbers are bit-identical to the dense X. ``_clear_input`` puts xs/seen back to
zero after the sample (O(stored entries)).
"""

from numba import types
from numba.extending import overload

from .prefetch import prefetch_row
from .rows import _nonzero_rows


def _list_input(idx, nnz, X, i):
    """Compiled only (overloaded below by X's type)."""
    raise NotImplementedError("compiled only")


def _clear_input(X, idx, nnz):
    """Compiled only (overloaded below by X's type)."""
    raise NotImplementedError("compiled only")


def _prefetch_input(X, i):
    """Compiled only (overloaded below by X's type)."""
    raise NotImplementedError("compiled only")


def _is_csr(X):
    return isinstance(X, types.BaseTuple) and len(X) == 5


@overload(_list_input, jit_options=dict(nogil=True))
def _list_input_overload(idx, nnz, X, i):
    # returns x: (n_in,), with nnz[0] = its non-zero count and idx[:nnz[0]] their columns
    if isinstance(X, types.Array) and X.ndim == 2:
        def dense(idx, nnz, X, i):
            x = X[i]
            nnz[0] = _nonzero_rows(idx, x)
            return x
        return dense
    if _is_csr(X):
        def csr(idx, nnz, X, i):
            data, indices, indptr, xs, seen = X
            n = 0
            for k in range(indptr[i], indptr[i + 1]):
                c = indices[k]
                if seen[c] == 0:
                    seen[c] = 1
                    idx[n] = c
                    n += 1
                    xs[c] = data[k]
                else:  # a duplicate column: summed, as scipy's sum_duplicates does
                    xs[c] += data[k]
            nnz[0] = n
            return xs
        return csr
    return None


@overload(_clear_input, jit_options=dict(nogil=True))
def _clear_input_overload(X, idx, nnz):
    # after a sample: the CSR scratch back to zeros (idx[:nnz[0]] still lists layer 0's columns)
    if isinstance(X, types.Array):
        return lambda X, idx, nnz: None
    if _is_csr(X):
        def csr(X, idx, nnz):
            xs, seen = X[3], X[4]
            for k in range(nnz[0]):
                xs[idx[k]] = 0
                seen[idx[k]] = 0
        return csr
    return None


@overload(_prefetch_input, jit_options=dict(nogil=True))
def _prefetch_input_overload(X, i):
    # a hint only: the next sample's input row (dense) or its stored entries (CSR)
    if isinstance(X, types.Array):
        return lambda X, i: prefetch_row(X[i])
    if _is_csr(X):
        def csr(X, i):
            data, indices, indptr = X[0], X[1], X[2]
            prefetch_row(data[indptr[i]:indptr[i + 1]])
            prefetch_row(indices[indptr[i]:indptr[i + 1]])
        return csr
    return None
