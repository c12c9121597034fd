"""Targets: class labels for the classifier (checks, classes, one-hot rows) and real-valued
targets for the regressor, turned into the float matrix Y that the kernels train on."""

import numpy as np

from .features import numeric_values
from .validation import check_array


def require_y(owner, y):
    """scikit-learn's wording for a missing y, so its checks (and users' code) recognise it."""
    if y is None:
        raise ValueError(f"{owner} requires y to be passed, but the target y is None")


def mixed_labels(name, values):
    kinds = sorted({type(v).__name__ for v in np.asarray(values, dtype=object).ravel()})
    return ValueError(f"{name} mixes label types {kinds}; labels must all be numbers or all be "
                      f"strings")


def label_array(values, name):
    """np.asarray(values), but a list mixing numbers and strings is an error rather than
    silently becoming strings (np.asarray([0, 'a']) is ['0', 'a'])."""
    arr = np.asarray(values)
    if arr.dtype.kind in "US" and not isinstance(values, np.ndarray):
        try:
            obj = np.asarray(values, dtype=object)
        except ValueError:
            obj = None
        if obj is not None and obj.shape == arr.shape and not all(
                isinstance(v, (str, bytes, np.str_, np.bytes_)) for v in obj.ravel()):
            raise mixed_labels(name, obj)
    return arr


def check_labels(y, n):
    """y as a 1-D array of n class labels (numbers or strings, not continuous floats)."""
    y = label_array(y, "y")
    if y.ndim == 2 and y.shape[1] == 1:
        raise ValueError(f"y must be 1-D (n_samples,), got shape {y.shape}; use y.ravel()")
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D (n_samples,), got {y.ndim}-D with shape {y.shape}")
    if y.shape[0] != n:
        raise ValueError(f"X and y have different numbers of samples: {n} and {y.shape[0]}")
    if y.dtype.kind == "f":
        if not np.isfinite(y).all():
            raise ValueError("y contains NaN or infinity")
        if not np.all(y == np.round(y)):
            raise ValueError("y has non-integer (continuous) float values: a classifier needs "
                             "class labels; use MLPRegressor for real-valued targets")
    if y.dtype.kind == "O":
        y = y.astype(str) if all(isinstance(v, str) for v in y) else y
    if y.dtype.kind == "O":
        try:
            np.unique(y)
        except TypeError:
            raise mixed_labels("y", y) from None
    return y


def check_classes(classes):
    """The sorted unique labels of ``classes`` (all numbers or all strings, at least 2)."""
    arr = label_array(classes, "classes").ravel()
    if arr.dtype.kind == "O" and all(isinstance(v, str) for v in arr):
        arr = arr.astype(str)
    try:
        unique = np.unique(arr)
    except TypeError:
        raise mixed_labels("classes", arr) from None
    if len(unique) != len(arr):
        values, counts = np.unique(arr, return_counts=True)
        raise ValueError(f"classes={arr.tolist()!r} repeats label(s) "
                         f"{values[counts > 1].tolist()!r}; pass each label once")
    if len(unique) < 2:
        raise ValueError(f"classes={np.asarray(classes).tolist()!r} has {len(unique)} "
                         f"label(s); pass every label the model will see (at least 2), "
                         f"e.g. classes=np.arange(10)")
    return unique


def classes_of(y, classes=None):
    """classes_ for a fresh fit: the given ``classes`` (checked) or the labels of y."""
    classes = np.unique(y) if classes is None else check_classes(classes)
    if len(classes) < 2:
        raise ValueError(f"y has {len(classes)} class; a classifier needs at least 2")
    return classes


def one_hot(y, classes, dtype):
    """Y (n, n_classes) of ``dtype`` with a 1 in the column of each label's class."""
    try:
        idx = np.searchsorted(classes, y)
        idx = np.clip(idx, 0, len(classes) - 1)
        unknown = np.asarray(classes[idx] != y, dtype=bool)
    except TypeError:  # e.g. str labels against int classes_: none can match
        idx, unknown = None, np.ones(len(y), dtype=bool)
    if np.any(unknown):
        bad = np.unique(np.asarray(y)[unknown])[:5]  # y holds labels of one type
        hint = ("" if classes.dtype.kind == bad.dtype.kind or
                {classes.dtype.kind, bad.dtype.kind} <= set("biuf") else
                f" (y holds {bad.dtype} labels, classes_ holds {classes.dtype})")
        raise ValueError(f"y contains labels not in classes_ {classes.tolist()}: "
                         f"{bad.tolist()}{hint}")
    Y = np.zeros((len(y), len(classes)), dtype=dtype)
    Y[np.arange(len(y)), idx] = 1
    return Y


def regression_targets(y, n, dtype):
    """(Y, y_arr): y as a finite (n, n_targets) matrix of ``dtype``, and as given."""
    y_arr = numeric_values(y, "y")  # object arrays of numbers, nullable pandas dtypes
    if y_arr.dtype.kind not in "biuf":
        raise ValueError(f"y must be numeric for a regressor, got dtype {y_arr.dtype}")
    if y_arr.ndim not in (1, 2):
        raise ValueError(f"y must be 1-D or 2-D, got {y_arr.ndim}-D")
    if y_arr.shape[0] != n:
        raise ValueError(f"X and y have different numbers of samples: {n} and {y_arr.shape[0]}")
    return check_array(y_arr.reshape(len(y_arr), -1), dtype, name="y"), y_arr


def validation_targets(y_val, dtype, n_targets):
    """Check a regressor's validation targets against the training targets' width."""
    Y_val = check_array(y_val.reshape(len(y_val), -1) if y_val.dtype.kind in "biuf" else y_val,
                        dtype, name="validation_data y_val")
    if Y_val.shape[1] != n_targets:
        raise ValueError(f"validation_data y_val has {Y_val.shape[1]} targets, but y has "
                         f"{n_targets}")


def target_statistics(y_arr, weights=None):
    """(mean, scale): float64 (n_targets,) of a regressor's targets y (as given, checked by
    regression_targets); scale is the standard deviation, 1 for a constant target. With
    ``weights`` (one per row, >= 0): the weighted statistics of the rows of non-zero weight
    (equal weights give exactly the unweighted statistics of those rows)."""
    Y = np.asarray(y_arr, np.float64).reshape(len(y_arr), -1)
    if weights is not None:
        keep = np.asarray(weights) > 0
        Y, weights = Y[keep], np.asarray(weights, np.float64)[keep]
    if weights is None or np.all(weights == weights[0]):
        mean, scale = Y.mean(axis=0), Y.std(axis=0)
    else:
        mean = np.average(Y, axis=0, weights=weights)
        scale = np.sqrt(np.average((Y - mean) ** 2, axis=0, weights=weights))
    return mean, np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)


def standardise_targets(y_arr, mean, scale, dtype):
    """(y - mean) / scale as a C-contiguous (n, n_targets) matrix of ``dtype``, computed in
    float64 from the targets as given."""
    Y = (np.asarray(y_arr, np.float64).reshape(len(y_arr), -1) - mean) / scale
    return np.ascontiguousarray(Y, dtype=dtype)


# ------------------------------------------------------------------ multilabel (indicator) y


def is_multilabel(y):
    """True for a multilabel y: a 2-D indicator matrix (n_samples, n_labels > 1) of 0/1 (numbers
    or bools), scikit-learn's 'multilabel-indicator'. Anything else (1-D labels, a column
    vector, lists of label sets) is not."""
    if y is None or isinstance(y, str):
        return False
    shape = getattr(y, "shape", None)
    if shape is None:
        if not isinstance(y, (list, tuple)) or not y or not isinstance(y[0], (list, tuple,
                                                                           np.ndarray)):
            return False
        try:
            y = np.asarray(y)
        except ValueError:  # ragged
            return False
    elif hasattr(y, "toarray") and not isinstance(y, np.ndarray):  # a sparse indicator matrix
        y = y.toarray()
    elif not isinstance(y, np.ndarray):
        y = np.asarray(y)
    if y.ndim != 2 or y.shape[1] < 2 or y.dtype.kind not in "biuf":
        return False
    return bool(np.isin(y, (0, 1)).all())


def multilabel_targets(y, n, dtype, fitted_classes=None, classes=None):
    """(Y, y): a multilabel y (an indicator matrix: is_multilabel) as the float (n, n_labels)
    matrix Y of ``dtype``, and as an int array. fitted_classes: the model's classes_ (the
    number of labels y must have), None at a fresh fit; classes: partial_fit's, if given."""
    if not is_multilabel(y):
        raise ValueError(f"y must be a 2-D 0/1 indicator matrix (n_samples, n_labels) for this "
                         f"multilabel model, got shape {np.shape(y)}; refit to train on "
                         f"single labels")
    y = np.asarray(y.toarray() if hasattr(y, "toarray") and not isinstance(y, np.ndarray)
                   else y).astype(np.int64)
    if y.shape[0] != n:
        raise ValueError(f"X and y have different numbers of samples: {n} and {y.shape[0]}")
    n_labels = y.shape[1] if fitted_classes is None else len(fitted_classes)
    if y.shape[1] != n_labels:
        raise ValueError(f"y has {y.shape[1]} labels (columns), but the model was fitted with "
                         f"{n_labels}")
    if classes is not None and len(check_classes(classes)) != n_labels:
        raise ValueError(f"classes has {len(classes)} labels, but the multilabel y has "
                         f"{n_labels} columns")
    return np.ascontiguousarray(y, dtype=dtype), y


def refuse_multilabel(y):
    """ValueError for an indicator matrix given to a model fitted on single labels."""
    if is_multilabel(y):
        raise ValueError("y is a multilabel indicator matrix, but this model was fitted on "
                         "single labels; refit to train a multilabel model")
