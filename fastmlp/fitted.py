"""The fitted state of an estimator, in one place: what ``fit`` creates, what ``partial_fit``
and ``predict`` check before a kernel sees it, and what a model file holds.

Fitted attributes (public ones end in ``_``): ``layout_`` (int64, one row per layer, see
layout.py), ``params_`` (the flat weight buffer), ``coefs_``/``intercepts_`` (views into it),
``n_features_in_``, ``n_iter_`` (epochs trained), ``t_`` (samples trained), ``loss_curve_``,
``accuracy_curve_``, ``validation_scores_``, ``diagnostics_`` (per-epoch lists, filled with
``diagnostics=True``); ``classes_`` (classifier) or ``_y_ndim`` and ``_y_mean``/``_y_scale``
(regressor: the target standardisation, None for raw targets); private: ``_settings`` (the Settings of the last fit/partial_fit) and ``_rng``
(the shuffling generator). A new fitted attribute is added here: ``initialise`` and, if it
must survive ``save``/``load``, ``to_arrays`` and ``from_arrays``.
"""

import numpy as np

from .init import initialise as initialise_weights
from .layout import check_state, coef_views, layer_sizes, make_layout, take_in_weights
from .validation import check_random_state

NON_FINITE_WEIGHTS = ("the model's weights contain NaN or infinity (coefs_ or intercepts_ "
                      "edited in place?); set finite weights or refit")


def initialise(model, n_in, n_out, settings):
    """A fresh network for ``settings``: new weights, counters and curves."""
    model._rng = check_random_state(settings.random_state)
    model.layout_, n_params, _ = make_layout((n_in,) + settings.hidden_layer_sizes + (n_out,))
    model.params_ = np.zeros(n_params, dtype=settings.dtype)
    initialise_weights(model.params_, model.layout_, settings.init, model._rng)
    model.coefs_, model.intercepts_ = coef_views(model.params_, model.layout_)
    model.n_features_in_ = n_in
    model.n_iter_ = 0
    model.t_ = 0
    model.loss_curve_ = []
    model.accuracy_curve_ = []
    model.validation_scores_ = []
    model.diagnostics_ = {}
    model._settings = settings


def sync(model):
    """Check layout_/params_, take in coefs_/intercepts_ the user replaced, and re-point the
    public lists at views of params_ so the kernels train what the user sees."""
    check_state(model.layout_, model.params_)
    views_c, views_i, replaced = take_in_weights(model.params_, model.layout_, model.coefs_,
                                                 model.intercepts_)
    if replaced:
        # re-point only when needed: predict must not change the estimator's __dict__
        model.coefs_, model.intercepts_ = views_c, views_i


def fitted_functions(model):
    """(hidden activation, output activation, loss) names of the fitted network;
    hyperparameters changed by set_params since do not count until a refit."""
    f = getattr(model, "_settings", None) or model._resolve()
    return (f.activation if f.hidden_layer_sizes else model.activation, f.output_activation,
            f.loss)


def check_continuation(model, settings, n_in):
    """partial_fit on a fitted model: ``settings`` must describe the fitted network."""
    sync(model)
    if model.params_.dtype != settings.dtype:
        raise ValueError(f"dtype={model.dtype!r} differs from the fitted parameters' "
                         f"{model.params_.dtype}; refit to change the dtype")
    sizes = layer_sizes(model.layout_)
    if sizes[1:-1] != settings.hidden_layer_sizes:
        raise ValueError(f"hidden_layer_sizes={model.hidden_layer_sizes!r} differs from "
                         f"the fitted network {sizes}; refit to change the architecture")
    fitted = getattr(model, "_settings", None)
    if fitted is not None and not fitted.same_functions(settings):
        h, o, l = fitted_functions(model)
        raise ValueError(f"activation={model.activation!r}, output_activation="
                         f"{model.output_activation!r}, loss={model.loss!r} differ from the "
                         f"fitted network's ({h!r}, {o!r}, {l!r}); refit to change them")
    if sizes[0] != n_in:
        raise ValueError(f"X has {n_in} features, but {type(model).__name__} is expecting "
                         f"{sizes[0]} features as input (it was fitted with {sizes[0]})")
    if not np.isfinite(model.params_).all():
        raise ValueError(NON_FINITE_WEIGHTS)
    if not hasattr(model, "_rng"):
        model._rng = check_random_state(settings.random_state)
    model._settings = settings


def file_hyperparameters(model, current):
    """The hyperparameters a file records: those of the trained network (architecture, dtype,
    activations and loss as fitted, not as changed since), JSON-able. ``current``: the
    model's Settings now, already validated."""
    values = model.get_params()
    fitted = getattr(model, "_settings", None)
    if fitted is not None and not fitted.same_functions(current):
        # changed by set_params since the fit: the file describes the network that was trained
        values["activation"], values["output_activation"], values["loss"] = \
            fitted_functions(model)
    if not isinstance(values.get("random_state"), (int, type(None))):
        values["random_state"] = None  # a Generator is not data; the weights are what matter
    values["hidden_layer_sizes"] = list(layer_sizes(model.layout_)[1:-1])
    if not (isinstance(values["dtype"], str) and values["dtype"] == model.params_.dtype.name):
        values["dtype"] = model.params_.dtype.name
    return values


def to_arrays(model, hyperparameters):
    """The arrays of a model file (besides its format version); hyperparameters: JSON text."""
    arrays = dict(
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
    if getattr(model, "_y_mean", None) is not None:
        arrays["y_mean"], arrays["y_scale"] = model._y_mean, model._y_scale
    return arrays


def from_arrays(model, data, path, settings):
    """Set the fitted state of ``model`` (built from the file's hyperparameters, resolved to
    ``settings``) from a file's arrays, checking each; ValueErrors name ``path``."""
    layout = np.ascontiguousarray(data["layout"], dtype=np.int64)
    params = np.ascontiguousarray(data["params"])
    if params.dtype.kind == "f" and not params.dtype.isnative:  # e.g. written on big-endian
        params = params.astype(params.dtype.newbyteorder("="))
    params = params.copy()
    try:
        check_state(layout, params)
    except ValueError:
        ok = False
    else:
        ok = (params.dtype == settings.dtype and
              layer_sizes(layout)[1:-1] == settings.hidden_layer_sizes)
    if not ok:
        raise ValueError(f"{path!r} is corrupt: its layout, parameters and hyperparameters "
                         f"do not agree")
    if not np.isfinite(params).all():
        raise ValueError(f"{path!r} holds non-finite weights")
    model.layout_, model.params_ = layout, params
    model.coefs_, model.intercepts_ = coef_views(params, layout)
    model.n_features_in_ = layer_sizes(layout)[0]
    for key in ("n_iter", "t"):
        value = data.get(key, np.array(0))
        if value.ndim != 0 or value.dtype.kind not in "iu" or value < 0:
            raise ValueError(f"{path!r} is corrupt: {key} must be an integer >= 0")
    model.n_iter_ = int(data.get("n_iter", 0))
    model.t_ = int(data.get("t", 0))
    model.loss_curve_, model.accuracy_curve_, model.validation_scores_ = (
        [float(v) for v in np.asarray(data.get(key, []), np.float64).ravel()]
        for key in ("loss_curve", "accuracy_curve", "validation_scores"))
    model.diagnostics_ = {}  # not saved: recomputed by training with diagnostics=True
    model._settings = settings
    kind = type(model).__name__
    if "classes" in data:
        if model._estimator_type != "classifier":
            raise ValueError(f"{path!r} is corrupt: a {kind} has no classes")
        if data["classes"].ndim != 1:
            raise ValueError(f"{path!r} is corrupt: classes must be 1-D")
        # fit stores np.unique(y): sorted, distinct; anything else would relabel predictions
        if not np.array_equal(np.unique(data["classes"]), data["classes"]):
            raise ValueError(f"{path!r} is corrupt: classes must be sorted and distinct")
        model.classes_ = data["classes"]
        if len(model.classes_) != layer_sizes(layout)[-1]:
            raise ValueError(f"{path!r} is corrupt: {len(model.classes_)} classes for "
                             f"{layer_sizes(layout)[-1]} outputs")
    elif model._estimator_type == "classifier":
        raise ValueError(f"{path!r} is corrupt: a classifier without classes")
    if "y_ndim" in data:
        if data["y_ndim"].ndim != 0 or int(data["y_ndim"]) not in (1, 2):
            raise ValueError(f"{path!r} is corrupt: y_ndim must be 1 or 2")
        model._y_ndim = int(data["y_ndim"])
    _targets_scaling_from(model, data, path, layer_sizes(layout)[-1])
    return model


def _targets_scaling_from(model, data, path, n_out):
    # a regressor's target standardisation (files written before it have none: raw targets)
    if ("y_mean" in data) != ("y_scale" in data):
        raise ValueError(f"{path!r} is corrupt: y_mean and y_scale come together")
    if "y_mean" not in data:
        if model._estimator_type == "regressor":
            model._y_mean = model._y_scale = None
        return
    mean, scale = (np.asarray(data[k]) for k in ("y_mean", "y_scale"))
    if model._estimator_type != "regressor":
        raise ValueError(f"{path!r} is corrupt: a {type(model).__name__} has no target scaling")
    ok = all(a.shape == (n_out,) and a.dtype.kind == "f" and np.isfinite(a).all()
             for a in (mean, scale))
    if not ok or not (scale > 0).all():
        raise ValueError(f"{path!r} is corrupt: y_mean and y_scale must be {n_out} finite "
                         f"numbers each, the scales > 0")
    model._y_mean, model._y_scale = mean.astype(np.float64), scale.astype(np.float64)
