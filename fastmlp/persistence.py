"""save/load of fitted models as .npz files, read with allow_pickle=False (never runs code)."""

import json
import os
import tempfile
import zipfile

import numpy as np

FORMAT_VERSION = 1


def save(model, path):
    """Write model to ``path`` (a .npz). Written to a temporary file in the same folder and
    renamed over ``path``, so a crash mid-save never destroys an existing file."""
    model._check_fitted()
    model._sync_params()
    params = model.get_params()
    if not isinstance(params.get("random_state"), (int, type(None))):
        params["random_state"] = None  # a Generator is not data; the weights are what matter
    params["hidden_layer_sizes"] = list(np.atleast_1d(params["hidden_layer_sizes"]).tolist())
    arrays = dict(
        format_version=np.array(FORMAT_VERSION),
        estimator=np.array(type(model).__name__),
        hyperparameters=np.array(json.dumps(params)),
        layout=model.layout_,
        params=model.params_,
        n_iter=np.array(model.n_iter_),
        loss_curve=np.asarray(model.loss_curve_, dtype=np.float64),
    )
    if hasattr(model, "classes_"):
        classes = np.asarray(model.classes_)
        if classes.dtype.kind == "O":
            raise ValueError("classes_ of mixed or object type cannot be saved without pickle; "
                             "use int or str labels")
        arrays["classes"] = classes
    if hasattr(model, "_y_ndim"):
        arrays["y_ndim"] = np.array(model._y_ndim)
    path = os.fspath(path)
    if not path.endswith(".npz"):
        path += ".npz"
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".fastmlp-", suffix=".npz.tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def load(path):
    """A fitted model from a file written by ``save``. Raises ValueError on anything else."""
    from .estimators import MLPClassifier, MLPRegressor
    from .layout import coef_views, make_layout

    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such model file: {path!r}")
    try:
        with np.load(path, allow_pickle=False) as f:
            data = {k: f[k] for k in f.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as exc:
        raise ValueError(f"{path!r} is not a readable fastmlp model file "
                         f"({type(exc).__name__}: {exc})") from None
    if "format_version" not in data or "params" not in data:
        raise ValueError(f"{path!r} is not a fastmlp model file (no format_version/params)")
    version = int(data["format_version"])
    if version != FORMAT_VERSION:
        raise ValueError(f"{path!r} has model format version {version}; this fastmlp reads "
                         f"version {FORMAT_VERSION}")
    kinds = {"MLPClassifier": MLPClassifier, "MLPRegressor": MLPRegressor}
    kind = str(data["estimator"])
    if kind not in kinds:
        raise ValueError(f"{path!r} holds an unknown estimator {kind!r}")
    model = kinds[kind](**json.loads(str(data["hyperparameters"])))
    model.hidden_layer_sizes = tuple(model.hidden_layer_sizes)
    cfg = model._resolve()
    layout = np.ascontiguousarray(data["layout"], dtype=np.int64)
    params = np.ascontiguousarray(data["params"])
    sizes = (int(layout[0, 0]),) + tuple(int(v) for v in layout[:, 1]) if layout.ndim == 2 and len(layout) else ()
    expected_layout, n_params, _ = make_layout(sizes) if len(sizes) >= 2 else (None, -1, 0)
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
    model.n_iter_ = int(data.get("n_iter", 0))
    model.t_ = 0
    model.loss_curve_ = [float(v) for v in data.get("loss_curve", [])]
    model.accuracy_curve_ = []
    model.validation_scores_ = []
    model._cfg = cfg
    if "classes" in data:
        model.classes_ = data["classes"]
        if len(model.classes_) != sizes[-1]:
            raise ValueError(f"{path!r} is corrupt: {len(model.classes_)} classes for "
                             f"{sizes[-1]} outputs")
    if "y_ndim" in data:
        model._y_ndim = int(data["y_ndim"])
    return model
