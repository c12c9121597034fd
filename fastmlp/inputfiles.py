"""Rows to predict, read from a file: what ``fastmlp predict MODEL DATA`` accepts as DATA.

- ``.npy``: a 2-D array, one row per sample (a 1-D array is one sample);
- ``.npz``: the array named ``X``, or the archive's only array (never pickled objects);
- ``.csv``, ``.tsv``, ``.txt`` or ``-`` (standard input): numbers separated by commas, tabs or
  spaces, one sample per line; a first line that is not all numbers is a header and skipped;
- an IDX image file, gzipped or not (recognised by its content, e.g. MNIST's
  ``t10k-images-idx3-ubyte.gz``): one row per image, pixels scaled to [0, 1] by 255 for bytes,
  exactly as ``fastmlp train`` reads its data sets.
"""

import gzip
import io
import os
import sys
import zlib

import numpy as np

from .datasets import IDXError, parse_idx

FORMATS = ".npy, .npz, .csv/.tsv/.txt (or - for standard input) or an IDX image file"
_TEXT = (".csv", ".tsv", ".txt")


def _text_rows(text, name):
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise ValueError(f"{name}: no rows (an empty file)")
    delimiter = "," if "," in lines[0] else ("\t" if "\t" in lines[0] else None)

    def numbers(line):
        try:
            return [float(v) for v in line.split(delimiter) if delimiter or v]
        except ValueError:
            return None

    header = numbers(lines[0]) is None
    rows = []
    for k, line in enumerate(lines[1:] if header else lines, start=2 if header else 1):
        values = numbers(line)
        if values is None:
            raise ValueError(f"{name}: row {k} (not counting blank lines) is not all numbers: "
                             f"{line[:60]!r}")
        if rows and len(values) != len(rows[0]):
            raise ValueError(f"{name}: a row has {len(values)} values, the first has "
                             f"{len(rows[0])}")
        rows.append(values)
    if not rows:
        raise ValueError(f"{name}: no rows after the header")
    return np.array(rows, dtype=np.float64)


def _idx_rows(raw, name):
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"{name}: corrupt gzip data ({exc})") from None
    images = parse_idx(raw, name)
    if images.ndim < 2:
        raise ValueError(f"{name}: an IDX file of shape {images.shape} holds labels, not "
                         f"images; pass the images file")
    X = images.reshape(images.shape[0], -1).astype(np.float32)
    if images.dtype == np.uint8:
        X /= np.float32(255.0)
    return X


def _npz_rows(path):
    with np.load(path, allow_pickle=False) as f:
        names = list(f.files)
        if "X" in names:
            return f["X"]
        if len(names) == 1:
            return f[names[0]]
    if "params" in names:
        raise ValueError(f"{path}: this is a fastmlp model file, not data (the model comes "
                         f"first: fastmlp predict MODEL DATA)")
    raise ValueError(f"{path}: an .npz with the arrays {names}; expected one array, or one "
                     f"named X")


def read_rows(path):
    """The samples in ``path`` as a 2-D float array (see the module's formats); ValueError
    (or FileNotFoundError) with the file's name otherwise."""
    if path == "-":
        return _as_rows(_text_rows(sys.stdin.read(), "standard input"), "standard input")
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such data file: {path!r}")
    if os.path.isdir(path):
        raise ValueError(f"{path!r} is a folder; expected a file: {FORMATS}")
    with open(path, "rb") as f:
        raw = f.read()
    lower = path.lower()
    try:
        if raw[:6] == b"\x93NUMPY":
            X = np.load(io.BytesIO(raw), allow_pickle=False)
        elif raw[:4] == b"PK\x03\x04":
            X = _npz_rows(path)
        elif raw[:2] == b"\x1f\x8b" or raw[:2] == b"\x00\x00":
            X = _idx_rows(raw, path)
        elif lower.endswith(_TEXT) or not lower.endswith((".npy", ".npz")):
            X = _text_rows(raw.decode("utf-8", errors="replace"), path)
        else:
            raise ValueError(f"the file is not what its name says ({os.path.basename(path)})")
    except IDXError as exc:
        raise ValueError(str(exc)) from None
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"{path}: unreadable ({exc})") from None
    except ValueError as exc:
        if path in str(exc):
            raise
        raise ValueError(f"{path}: {exc}; expected {FORMATS}") from None
    return _as_rows(X, path)


def _as_rows(X, name):
    X = np.asarray(X)
    if X.dtype.kind not in "biuf":
        raise ValueError(f"{name}: holds {X.dtype} values; expected numbers")
    if X.ndim == 1:
        X = X[None, :]
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"{name}: an array of shape {X.shape}; expected rows of numbers, "
                         f"shape (n_samples, n_features)")
    return X
