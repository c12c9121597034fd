"""The fitted state of an estimator, in one place: what ``fit`` creates, what ``partial_fit``
and ``predict`` check before a kernel sees it, and what a model file holds.

Fitted attributes (public ones end in ``_``): ``layout_`` (int64, one row per layer, see
layout.py), ``params_`` (the flat weight buffer), ``coefs_``/``intercepts_`` (views into it),
``n_features_in_``, ``n_iter_`` (epochs trained), ``t_`` (samples trained), ``loss_curve_``,
``accuracy_curve_``, ``validation_scores_`` (None until a fit scores validation rows, as in
scikit-learn), ``diagnostics_`` (per-epoch lists, filled with
``diagnostics=True``); the optimizer's state ``velocity_``, ``sq_avg_`` and ``adam_steps_``
(see ``optimizer_state``); ``classes_`` (classifier) or ``_y_ndim`` and ``_y_mean``/``_y_scale``
(regressor: the target standardisation, None for raw targets); ``feature_names_in_`` (fitted on
a data frame, see features.py); ``diverged_`` (whether the last fit/partial_fit diverged, see
divergence.py); private: ``_settings`` (the Settings of the last fit/partial_fit), ``_rng``
(the shuffling generator, saved with its state), ``_x_mean``/``_x_scale`` (the input
standardisation, None when off: see ``transform_inputs``), ``_lr_scale`` (the adaptive
schedule's factor) and ``_multilabel`` (a classifier fitted on an indicator matrix). A new
fitted attribute is added here: ``initialise`` and, if it must survive ``save``/``load``,
``to_arrays`` and ``from_arrays`` (fastmlp/fittedfile.py).
"""

import numpy as np

from . import scaling
from .codes import ADAM
from .fittedfile import (extra_arrays, rng_from_file, scaling_from_file, state_from_file,
                         targets_kind_from)
from .init import initialise as initialise_weights
from .layout import (aligned_copy, check_state, coef_views, layer_sizes, make_layout,
                     take_in_weights)
from .persistence import FORMAT_VERSION
from .resources import check_memory
from .validation import check_random_state

__all__ = ["initialise", "check_continuation", "sync", "transform_inputs", "fit_input_scaling",
           "targets_kind_from", "to_arrays", "from_arrays"]

OPTIMIZER_KEYS = ("velocity", "sq_avg", "adam_steps")
NON_FINITE_WEIGHTS = ("the model's weights contain NaN or infinity (coefs_ or intercepts_ "
                      "edited in place?); set finite weights or refit")


def initialise(model, n_in, n_out, settings):
    """A fresh network for ``settings``: new weights, counters and curves."""
    sizes = (n_in,) + settings.hidden_layer_sizes + (n_out,)
    check_memory(sizes, settings)  # before NumPy is asked for more than the machine has
    model._rng = check_random_state(settings.random_state)
    model.layout_, n_params, _ = make_layout(sizes)
    model.params_ = aligned_copy(np.zeros(n_params, dtype=settings.dtype))
    initialise_weights(model.params_, model.layout_, settings.init, model._rng)
    model.coefs_, model.intercepts_ = coef_views(model.params_, model.layout_)
    model.n_features_in_ = n_in
    model.n_iter_ = 0
    model.t_ = 0
    model.loss_curve_ = []
    model.accuracy_curve_ = []
    model.validation_scores_ = None  # a list once a fit scores validation rows (scikit-learn)
    model.diagnostics_ = {}
    model.velocity_ = model.sq_avg_ = np.zeros(0, settings.dtype)
    model.adam_steps_ = 0
    model._lr_scale = 1.0
    model.diverged_ = False
    optimizer_state(model, settings)
    model._settings = settings


def fit_input_scaling(model, X, settings, sample_weight=None):
    """At a fresh fit (or first partial_fit): whether scale_inputs standardises this checked
    training X (scaling.wanted), and if so its statistics (weighted by the checked
    sample_weight) as ``_x_mean``/``_x_scale``, arrays of the parameters' dtype; else None."""
    model._x_mean = model._x_scale = None
    scaling.check_first_rows(type(model).__name__, settings.scale_inputs, X)
    if scaling.wanted(settings.scale_inputs, X):
        mean, scale = scaling.statistics(X, sample_weight)
        dtype = settings.dtype
        with np.errstate(over="ignore"):
            mean, scale = mean.astype(dtype), scale.astype(dtype)
        scale[~(np.isfinite(scale) & (scale >= np.finfo(dtype).tiny))] = 1
        model._x_mean, model._x_scale = mean, scale


def transform_inputs(model, X, check=False):
    """THE map from a checked X (validation.check_array: the parameters' dtype, dense
    C-contiguous or canonical CSR) to what the kernels see, for training and prediction alike:
    X itself when the model does not scale its inputs (``_x_mean`` None, e.g. MNIST), else
    ``out = X - _x_mean; out /= _x_scale`` (a new array of X's dtype; a CSR X with a zero mean
    only has its stored values divided). check: refuse a result that overflowed."""
    mean = getattr(model, "_x_mean", None)
    if mean is None:
        return X
    if X.shape[1] != mean.shape[0]:  # never broadcast a wrong number of features
        raise ValueError(f"X has {X.shape[1]} features, but {type(model).__name__} is expecting "
                         f"{mean.shape[0]} features as input (it was fitted with "
                         f"{mean.shape[0]})")
    with np.errstate(over="ignore", invalid="ignore"):
        out = scaling.transform(X, mean, model._x_scale)
    values = out.data if hasattr(out, "indptr") else out
    if check and not np.isfinite(values).all():
        raise ValueError("X standardised with the training statistics overflows "
                         f"{values.dtype}; use dtype='float64' or scale X yourself")
    return out

def optimizer_state(model, settings):
    """Make the optimizer state fit the solver of ``settings`` (at fit, and at each
    partial_fit): ``velocity_`` is SGD's velocity (momentum > 0) or Adam's average gradient,
    ``sq_avg_`` Adam's average squared gradient, both in params_'s layout, ``adam_steps_`` the
    number of Adam steps taken (its bias correction's t). A state the solver does not use is an
    empty array. The state of the same solver continues (momentum, betas or the learning rate
    may change in between, as with scikit-learn's partial_fit); a change of solver (plain SGD,
    SGD with momentum, Adam) starts the new one from zero."""
    n, dtype = model.params_.shape[0], model.params_.dtype
    adam = settings.solver_code == ADAM
    momentum = not adam and settings.momentum > 0
    had_adam = model.sq_avg_.shape[0] == n
    had_momentum = not had_adam and model.velocity_.shape[0] == n
    if adam and not had_adam or momentum and not had_momentum or not (adam or momentum):
        model.velocity_ = np.zeros(n if adam or momentum else 0, dtype)
        model.sq_avg_ = np.zeros(n if adam else 0, dtype)
        model.adam_steps_ = 0


def check_optimizer_state(velocity, sq_avg, adam_steps, params, where):
    """ValueError unless the state is what ``optimizer_state`` makes: velocity and sq_avg empty
    or of params' shape and dtype, finite (sq_avg >= 0, only with velocity), adam_steps an
    integer >= 0."""
    ok = all(isinstance(a, np.ndarray) and a.dtype == params.dtype and
             a.shape in ((0,), params.shape) for a in (velocity, sq_avg))
    ok = ok and np.isfinite(velocity).all() and np.isfinite(sq_avg).all()
    ok = ok and (sq_avg >= 0).all() and (sq_avg.shape[0] == 0 or velocity.shape == sq_avg.shape)
    if not ok:
        raise ValueError(f"{where}: the optimizer state (velocity_, sq_avg_) must be finite "
                         f"arrays of the parameters' shape {params.shape} and dtype "
                         f"{params.dtype}, or empty")
    if (isinstance(adam_steps, bool) or not isinstance(adam_steps, (int, np.integer)) or
            adam_steps < 0):
        raise ValueError(f"{where}: adam_steps_ must be an integer >= 0, got {adam_steps!r}")


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
    if not hasattr(model, "velocity_"):  # a model pickled before the solvers existed
        model.velocity_ = model.sq_avg_ = np.zeros(0, model.params_.dtype)
        model.adam_steps_ = 0
    check_optimizer_state(model.velocity_, model.sq_avg_, model.adam_steps_, model.params_,
                          "partial_fit")
    optimizer_state(model, settings)
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
    seed = values.get("random_state")
    if isinstance(seed, np.integer):
        values["random_state"] = int(seed)
    elif not isinstance(seed, (int, type(None))) or isinstance(seed, bool):
        # a Generator is not data: the shuffling goes on from the saved rng state instead
        values["random_state"] = None
    values["hidden_layer_sizes"] = list(layer_sizes(model.layout_)[1:-1])
    if isinstance(values.get("class_weight"), dict):  # JSON object keys would become str
        values["class_weight"] = [[k.item() if isinstance(k, np.generic) else k, float(v)]
                                  for k, v in values["class_weight"].items()]
    if not (isinstance(values["dtype"], str) and values["dtype"] == model.params_.dtype.name):
        values["dtype"] = model.params_.dtype.name
    return values


def hyperparameters_from_file(values):
    """The estimator's keyword arguments from a file's hyperparameters (a dict class_weight
    is saved as [label, weight] pairs: JSON would turn int labels into str keys)."""
    if isinstance(values.get("class_weight"), list):
        values = dict(values, class_weight={k: v for k, v in values["class_weight"]})
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
        validation_scores=np.asarray(model.validation_scores_ or [], dtype=np.float64),
        # (a model pickled before the solvers existed has no optimizer state: saved empty)
        velocity=getattr(model, "velocity_", np.zeros(0, model.params_.dtype)),
        sq_avg=getattr(model, "sq_avg_", np.zeros(0, model.params_.dtype)),
        adam_steps=np.array(getattr(model, "adam_steps_", 0)),
    )
    if hasattr(model, "classes_"):
        classes = np.asarray(model.classes_)
        if classes.dtype.kind == "O":
            raise ValueError("classes_ of mixed or object type cannot be saved without pickle; "
                             "use int or str labels")
        arrays["classes"] = classes
    if hasattr(model, "_y_ndim"):
        arrays["y_ndim"] = np.array(model._y_ndim)
    if getattr(model, "feature_names_in_", None) is not None:
        arrays["feature_names_in"] = np.asarray(model.feature_names_in_, dtype=str)
    if getattr(model, "_y_mean", None) is not None:
        arrays["y_mean"], arrays["y_scale"] = model._y_mean, model._y_scale
    arrays.update(extra_arrays(model))
    return arrays


def from_arrays(model, data, path, settings):
    """Set the fitted state of ``model`` (built from the file's hyperparameters, resolved to
    ``settings``) from a file's arrays, checking each; ValueErrors name ``path``."""
    layout = np.ascontiguousarray(data["layout"], dtype=np.int64)
    params = np.ascontiguousarray(data["params"])
    if params.dtype.kind == "f" and not params.dtype.isnative:  # e.g. written on big-endian
        params = params.astype(params.dtype.newbyteorder("="))
    params = aligned_copy(params)
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
    model.validation_scores_ = model.validation_scores_ or None  # none: not validated
    model.diagnostics_ = {}  # not saved: recomputed by training with diagnostics=True
    # the optimizer state: written since format version 2 and by the version 1 writers since
    # the solvers; files from before them have none of it (empty: starts fresh), and a file
    # with only part of it is corrupt
    present = [key for key in OPTIMIZER_KEYS if key in data]
    version = int(data.get("format_version", FORMAT_VERSION))
    if present and len(present) < len(OPTIMIZER_KEYS) or not present and version >= 2:
        missing = [key for key in OPTIMIZER_KEYS if key not in data]
        raise ValueError(f"{path!r} is corrupt: the optimizer state lacks {', '.join(missing)}")
    empty = np.zeros(0, params.dtype)
    velocity, sq_avg = (np.ascontiguousarray(data.get(key, empty)) for key in ("velocity",
                                                                                "sq_avg"))
    velocity, sq_avg = (a.astype(a.dtype.newbyteorder("=")) if a.dtype.kind == "f" and
                        not a.dtype.isnative else a.copy() for a in (velocity, sq_avg))
    steps = data.get("adam_steps", np.array(0))
    if steps.ndim != 0 or steps.dtype.kind not in "iu":
        raise ValueError(f"{path!r} is corrupt: adam_steps must be an integer >= 0")
    check_optimizer_state(velocity, sq_avg, int(steps), params, f"{path!r} is corrupt")
    model.velocity_, model.sq_avg_, model.adam_steps_ = velocity, sq_avg, int(steps)
    model._settings = settings
    model._rng = rng_from_file(data.get("rng_state"), path, settings.random_state)
    scaling_from_file(model, data, path, model.n_features_in_, params.dtype)
    state_from_file(model, data, path)
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
    if "feature_names_in" in data:
        names = data["feature_names_in"]
        if names.ndim != 1 or names.dtype.kind != "U" or len(names) != model.n_features_in_:
            raise ValueError(f"{path!r} is corrupt: feature_names_in must be one string per "
                             f"input feature")
        model.feature_names_in_ = names.astype(object)
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
