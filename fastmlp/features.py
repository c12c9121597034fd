"""Input containers: feature names of data frames, and numeric values out of frames with
nullable (extension) dtypes and of object arrays.

scikit-learn's rules, without importing scikit-learn: a data frame whose column names are all
strings gives ``feature_names_in_`` at ``fit`` (and at the first ``partial_fit``); every later
call with names must pass the same names in the same order (a ValueError naming the unseen and
the missing ones otherwise), and a call with names on a model fitted without them (or the
reverse) warns. Column names mixing strings and other types are a TypeError, as in
scikit-learn; names that are all non-strings (e.g. a frame's default 0, 1, 2, ...) are no names.
"""

import warnings

import numpy as np


def feature_names(X):
    """The column names of a data frame X as an object array of str, or None (no frame, or
    names that are not all strings)."""
    columns = getattr(X, "columns", None)
    if columns is None or not hasattr(X, "shape") or isinstance(X, np.ndarray):
        return None
    try:
        names = np.asarray(list(columns), dtype=object)
    except TypeError:
        return None
    if names.ndim != 1 or len(names) == 0:
        return None
    types = sorted({type(v).__qualname__ for v in names})
    if len(types) > 1 and "str" in types:
        raise TypeError(f"Feature names are only supported if all input features have string "
                        f"names, but your input has {types} as feature name / column name "
                        f"types. Convert them all to strings (X.columns = "
                        f"X.columns.astype(str)) or none of them")
    if types == ["str"] and len(set(names)) < len(names):
        values, counts = np.unique(names.astype(str), return_counts=True)
        raise ValueError(f"X has duplicate column names {values[counts > 1].tolist()}: each "
                         f"feature needs its own name (scikit-learn refuses them too); rename "
                         f"the columns")
    return names if types == ["str"] else None


def _listed(names, limit=5):
    shown = [f"- {name}\n" for name in names[:limit]]
    return "".join(shown) + ("- ...\n" if len(names) > limit else "")


def check_feature_names(model, names, reset):
    """Set (reset=True: fit, first partial_fit) or check ``model.feature_names_in_`` against
    ``names`` (from ``feature_names(X)``). A mismatch raises ValueError before any work."""
    owner = type(model).__name__
    if reset:
        if names is not None:
            model.feature_names_in_ = names
        elif "feature_names_in_" in model.__dict__:
            del model.feature_names_in_
        return
    fitted = getattr(model, "feature_names_in_", None)
    if fitted is None and names is None:
        return
    if fitted is None:
        warnings.warn(f"X has feature names, but {owner} was fitted without feature names",
                      UserWarning, stacklevel=4)
        return
    if names is None:
        warnings.warn(f"X does not have valid feature names, but {owner} was fitted with "
                      f"feature names", UserWarning, stacklevel=4)
        return
    if len(fitted) == len(names) and np.all(fitted == names):
        return
    message = "The feature names should match those that were passed during fit.\n"
    unseen = sorted(set(names) - set(fitted))
    missing = sorted(set(fitted) - set(names))
    if unseen:
        message += "Feature names unseen at fit time:\n" + _listed(unseen)
    if missing:
        message += "Feature names seen at fit time, yet now missing:\n" + _listed(missing)
    if not unseen and not missing:
        message += ("Feature names must be in the same order as they were in fit "
                    f"({owner} would otherwise read each column as another feature).\n")
    raise ValueError(message)


def numeric_values(X, name="X"):
    """X as a NumPy array, numeric where it can be: a data frame with nullable extension
    dtypes (pandas ``Float64``, ``Int64``, ``boolean``) becomes float64 with NaN for missing
    values (refused later as non-finite), and an object array of numbers becomes float64.
    Other inputs are returned as ``np.asarray(X)``; X itself is never modified."""
    dtypes = getattr(X, "dtypes", None)
    if dtypes is not None and hasattr(X, "to_numpy") and not isinstance(X, np.ndarray):
        kinds = [getattr(d, "kind", "O") for d in np.atleast_1d(np.asarray(dtypes, object))]
        extension = [d for d in np.atleast_1d(np.asarray(dtypes, object))
                     if not isinstance(d, np.dtype)]
        if extension and all(k in "biuf" for k in kinds):
            return X.to_numpy(dtype=np.float64, na_value=np.nan)
    try:
        arr = np.asarray(X)
    except Exception as exc:  # ragged lists and the like
        raise ValueError(f"{name} must be a 2-D numeric array: {exc}") from None
    if arr.dtype.kind == "O":
        if any(isinstance(v, (str, bytes)) for v in arr.flat):
            raise ValueError(f"{name} must be numeric (bool, int or float), got dtype object "
                             f"holding strings")
        try:
            return arr.astype(np.float64)
        except TypeError as exc:  # e.g. a dict in a cell; keeps Python's wording
            raise TypeError(f"{name} must be numeric (bool, int or float): {exc}") from None
        except ValueError as exc:  # e.g. a string that is not a number
            raise ValueError(f"{name} must be numeric (bool, int or float), got dtype object "
                             f"({exc})") from None
    return arr
