"""save/load of fitted models as .npz files, read with allow_pickle=False (never runs code)."""

import json
import os
import tempfile
import zipfile

import numpy as np

from .layout import layer_sizes

FORMAT_VERSION = 1


def _json_default(value):
    """JSON for the NumPy values a hyperparameter may legitimately hold (np.float32(0.1),
    np.int64(3), dtype=np.float32); anything else cannot be saved without pickle."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (np.dtype, type)):
        return np.dtype(value).name
    raise TypeError(f"hyperparameter value {value!r} of type {type(value).__name__} cannot be "
                    f"saved (only numbers, strings, None and tuples of them)")


def save(model, path):
    """Write model to ``path`` (a .npz). Written to a temporary file in the same folder and
    renamed over ``path``, so a crash mid-save never destroys an existing file."""
    model._check_fitted()
    model._sync_params()
    try:  # a file load() would refuse must not replace a good one
        current = model._resolve()
    except ValueError as exc:
        raise ValueError(f"cannot save this model: {exc} (set a valid value, or refit)") from None
    params = model.get_params()
    if model._functions_changed(current):
        # changed by set_params since the fit: the file describes the network that was trained
        params["activation"], params["output_activation"], params["loss"] = \
            model._fitted_functions()
    if not isinstance(params.get("random_state"), (int, type(None))):
        params["random_state"] = None  # a Generator is not data; the weights are what matter
    # the fitted architecture and dtype (not hyperparameters changed since the fit), as JSON
    params["hidden_layer_sizes"] = list(layer_sizes(model.layout_)[1:-1])
    if not (isinstance(params["dtype"], str) and params["dtype"] == model.params_.dtype.name):
        params["dtype"] = model.params_.dtype.name
    try:
        hyperparameters = json.dumps(params, default=_json_default)
    except TypeError as exc:
        raise ValueError(f"cannot save this model: {exc}") from None
    arrays = dict(
        format_version=np.array(FORMAT_VERSION),
        estimator=np.array(type(model).__name__),
        hyperparameters=np.array(hyperparameters),
        layout=model.layout_,
        params=model.params_,
        n_iter=np.array(model.n_iter_),
        t=np.array(model.t_),
        loss_curve=np.asarray(model.loss_curve_, dtype=np.float64),
        accuracy_curve=np.asarray(model.accuracy_curve_, dtype=np.float64),
        validation_scores=np.asarray(model.validation_scores_, dtype=np.float64),
    )
    if hasattr(model, "classes_"):
        classes = np.asarray(model.classes_)
        if classes.dtype.kind == "O":
            raise ValueError("classes_ of mixed or object type cannot be saved without pickle; "
                             "use int or str labels")
        arrays["classes"] = classes
    if hasattr(model, "_y_ndim"):
        arrays["y_ndim"] = np.array(model._y_ndim)
    path = os.fsdecode(os.fspath(path))
    if not path.endswith(".npz"):
        path += ".npz"
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot save to {path!r}: the folder {folder!r} does not exist")
    if os.path.isdir(path):
        raise IsADirectoryError(f"cannot save to {path!r}: it is a folder")
    fd, tmp = tempfile.mkstemp(prefix=".fastmlp-", suffix=".npz.tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp makes the file private (0600); give it the mode a plain open() would
        os.chmod(tmp, os.stat(path).st_mode & 0o777 if os.path.exists(path) else 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def load(path):
    """A fitted model from a file written by ``save``. Raises FileNotFoundError for a missing
    file and ValueError for anything that is not an intact model file of this format version.
    The file is read with allow_pickle=False, so no code in it ever runs. Like ``save``, a path
    without the .npz suffix also finds ``path + ".npz"``."""
    path = os.fsdecode(os.fspath(path))
    if not os.path.exists(path) and not path.endswith(".npz") and os.path.exists(path + ".npz"):
        path += ".npz"
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such model file: {path!r}")
    try:
        f = np.load(path, allow_pickle=False)
        if not isinstance(f, np.lib.npyio.NpzFile):  # a .npy file gives a plain array
            raise ValueError(f"a single {type(f).__name__}, not a .npz archive")
        with f:
            data = {k: f[k] for k in f.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as exc:
        raise ValueError(f"{path!r} is not a readable fastmlp model file "
                         f"({type(exc).__name__}: {exc})") from None
    if "format_version" not in data or "params" not in data:
        raise ValueError(f"{path!r} is not a fastmlp model file (no format_version/params)")
    try:
        version = int(data["format_version"])
    except (TypeError, ValueError):
        raise ValueError(f"{path!r} has an unreadable format_version "
                         f"{data['format_version']!r}") from None
    if version != FORMAT_VERSION:
        raise ValueError(f"{path!r} has model format version {version}; this fastmlp reads "
                         f"version {FORMAT_VERSION}")
    try:
        return _from_arrays(data, path)
    except (KeyError, TypeError, ValueError, IndexError, OverflowError) as exc:
        if isinstance(exc, ValueError) and str(exc).startswith(repr(path)):
            raise
        raise ValueError(f"{path!r} is corrupt: {type(exc).__name__}: {exc}") from None


def _from_arrays(data, path):
    from .estimators import MLPClassifier, MLPRegressor
    from .layout import coef_views, make_layout

    kinds = {"MLPClassifier": MLPClassifier, "MLPRegressor": MLPRegressor}
    kind = str(data["estimator"])
    if kind not in kinds:
        raise ValueError(f"{path!r} holds an unknown estimator {kind!r}")
    hyperparameters = json.loads(str(data["hyperparameters"]))
    if not isinstance(hyperparameters, dict):
        raise ValueError(f"{path!r} is corrupt: hyperparameters are not a JSON object")
    model = kinds[kind](**hyperparameters)
    model.hidden_layer_sizes = tuple(model.hidden_layer_sizes)
    cfg = model._resolve()
    layout = np.ascontiguousarray(data["layout"], dtype=np.int64)
    params = np.ascontiguousarray(data["params"])
    if params.dtype.kind == "f" and not params.dtype.isnative:  # e.g. written on big-endian
        params = params.astype(params.dtype.newbyteorder("="))
    sizes = (int(layout[0, 0]),) + tuple(int(v) for v in layout[:, 1]) if layout.ndim == 2 and len(layout) else ()
    valid_sizes = len(sizes) >= 2 and all(s >= 1 for s in sizes)
    expected_layout, n_params, _ = make_layout(sizes) if valid_sizes else (None, -1, 0)
    if (expected_layout is None or not np.array_equal(layout, expected_layout) or
            params.shape != (n_params,) or params.dtype != cfg["dtype"] or
            sizes[1:-1] != cfg["hidden"]):
        raise ValueError(f"{path!r} is corrupt: its layout, parameters and hyperparameters "
                         f"do not agree")
    if not np.isfinite(params).all():
        raise ValueError(f"{path!r} holds non-finite weights")
    model.layout_, model.params_ = layout, params.copy()
    model.coefs_, model.intercepts_ = coef_views(model.params_, layout)
    model.n_features_in_ = sizes[0]
    for key in ("n_iter", "t"):
        value = data.get(key, np.array(0))
        if value.ndim != 0 or value.dtype.kind not in "iu" or value < 0:
            raise ValueError(f"{path!r} is corrupt: {key} must be an integer >= 0")
    model.n_iter_ = int(data.get("n_iter", 0))
    model.t_ = int(data.get("t", 0))
    model.loss_curve_, model.accuracy_curve_, model.validation_scores_ = (
        [float(v) for v in np.asarray(data.get(key, []), np.float64).ravel()]
        for key in ("loss_curve", "accuracy_curve", "validation_scores"))
    model._cfg = cfg
    if "classes" in data:
        if kind != "MLPClassifier":
            raise ValueError(f"{path!r} is corrupt: a {kind} has no classes")
        if data["classes"].ndim != 1:
            raise ValueError(f"{path!r} is corrupt: classes must be 1-D")
        # fit stores np.unique(y): sorted, distinct; anything else would relabel predictions
        if not np.array_equal(np.unique(data["classes"]), data["classes"]):
            raise ValueError(f"{path!r} is corrupt: classes must be sorted and distinct")
        model.classes_ = data["classes"]
        if len(model.classes_) != sizes[-1]:
            raise ValueError(f"{path!r} is corrupt: {len(model.classes_)} classes for "
                             f"{sizes[-1]} outputs")
    elif kind == "MLPClassifier":
        raise ValueError(f"{path!r} is corrupt: a classifier without classes")
    if "y_ndim" in data:
        if data["y_ndim"].ndim != 0 or int(data["y_ndim"]) not in (1, 2):
            raise ValueError(f"{path!r} is corrupt: y_ndim must be 1 or 2")
        model._y_ndim = int(data["y_ndim"])
    return model
