"""The parts of scikit-learn's estimator protocol the estimators share beyond training:
parameters (get_params/set_params, keyword checking with scikit-learn's names), pickling, the
fitted attributes scikit-learn users read, feature names, sample and class weights,
log-probabilities and weighted scores.

``Protocol`` is a mixin of MLPClassifier/MLPRegressor (fastmlp/estimators.py); the functions
below it are what their ``fit``, ``partial_fit``, ``predict_log_proba`` and ``score`` call.
"""

import copy
import inspect
import warnings
import weakref

import numpy as np

from . import fitted
from .codes import ACTIVATIONS
from .features import check_feature_names, feature_names
from .labels import standardise_targets, target_statistics
from .layout import aligned_copy, coef_views
from .params import DEFAULTS as D
from .sklearn_compat import (ALIASES, data_conversion_warning, not_fitted_error,
                             set_params_arguments, sklearn_hint, sklearn_tags,
                             unknown_parameters)
from .training import validation_set
from .weights import check_sample_weight, class_weight_per_class, combined_weights

IDENTITY = ACTIVATIONS["identity"]


class Protocol:
    """Mixin: scikit-learn's parameter protocol (get_params, set_params, repr, tags; a wrong
    keyword names the class), pickling around the weight views, and the fitted attributes of
    scikit-learn's MLPs."""

    def __new__(cls, *args, **kwargs):
        # before __init__, so a wrong keyword names this class (not a private base) and, for
        # scikit-learn's names fastmlp has no equivalent for, a hint
        valid = cls._get_param_names()
        unknown = [name for name in kwargs if name not in valid and name not in ALIASES]
        if unknown:
            raise TypeError(unknown_parameters(cls.__name__, unknown, valid))
        return super().__new__(cls)

    @classmethod
    def _get_param_names(cls):
        """The hyperparameters' names (fastmlp's: not scikit-learn's aliases max_iter and
        learning_rate_init, which the constructor and set_params also take)."""
        names = _PARAM_NAMES.get(cls)
        if names is None:  # once per class: inspect.signature costs more than a small fit
            sig = inspect.signature(cls.__init__)
            names = _PARAM_NAMES[cls] = tuple(sorted(
                p.name for p in sig.parameters.values()
                if p.name != "self" and p.name not in ALIASES))
        return list(names)

    def __setattr__(self, name, value):
        # a hyperparameter assigned (directly or by set_params) drops the record of checked
        # settings the small calls use (fastmlp/online.py)
        if RECORDS and name in _hyperparameters(type(self)):
            RECORDS.pop(self, None)
        object.__setattr__(self, name, value)

    def get_params(self, deep=True):
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params):
        """Set hyperparameters; scikit-learn's names work too (max_iter -> epochs,
        learning_rate_init -> learning_rate, learning_rate=<schedule name> -> lr_schedule)."""
        valid = self._get_param_names()
        for key in params:
            if key not in valid and key not in ALIASES:
                raise ValueError(f"Invalid parameter {key!r}{sklearn_hint(key)} for "
                                 f"{type(self).__name__}; valid parameters are {valid}")
        for key, value in set_params_arguments(type(self).__name__, params,
                                               getattr(self, "learning_rate", None)).items():
            setattr(self, key, value)
        return self

    def __repr__(self):
        changed = [f"{k}={v!r}" for k, v in self.get_params().items()
                   if not (isinstance(v, type(D.get(k))) and v == D.get(k))]
        return f"{type(self).__name__}({', '.join(changed)})"

    def __sklearn_tags__(self):
        return sklearn_tags(self, self._estimator_type)

    def __getstate__(self):
        """Pickle without the coefs_/intercepts_ views (pickle would copy them apart from
        params_); __setstate__ re-creates them, so an unpickled model trains what it shows."""
        state = self.__dict__.copy()
        if "params_" in state:
            self._sync_params()
            state.pop("coefs_", None)
            state.pop("intercepts_", None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        if "params_" in state:
            if not self.params_.flags.writeable or self.params_.ctypes.data % 64:
                # e.g. joblib's read-only memory maps; and rows on cache-line boundaries
                self.params_ = aligned_copy(self.params_)
            self.coefs_, self.intercepts_ = coef_views(self.params_, self.layout_)

    def _fitted_layout(self):
        if "layout_" not in self.__dict__:
            raise not_fitted_error(f"This {type(self).__name__} is not fitted yet; call fit "
                                   f"or partial_fit first (or fastmlp.load a saved model)")
        return self.layout_

    @property
    def n_layers_(self):
        """Layers including input and output (scikit-learn's count): hidden layers + 2."""
        return int(self._fitted_layout().shape[0]) + 1

    @property
    def n_outputs_(self):
        """Output units: the number of classes, or of regression targets."""
        return int(self._fitted_layout()[-1, 1])

    @property
    def out_activation_(self):
        """The fitted output activation (fastmlp's names: 'softmax', 'sigmoid', 'identity',
        ...; scikit-learn calls sigmoid 'logistic')."""
        self._fitted_layout()
        return fitted.fitted_functions(self)[1]

    @property
    def loss_(self):
        """The training loss of the last epoch (penalty included), or None before any."""
        self._fitted_layout()
        return self.loss_curve_[-1] if self.loss_curve_ else None

    @property
    def best_loss_(self):
        """The lowest training loss of any epoch since the last fit, or None before any; None
        too when the fit scored validation rows (scikit-learn's early stopping: see
        best_validation_score_)."""
        self._fitted_layout()
        if self.validation_scores_ is not None:
            return None
        return min(self.loss_curve_) if self.loss_curve_ else None

    @property
    def best_validation_score_(self):
        """The best validation score, or None without validation."""
        self._fitted_layout()
        return max(self.validation_scores_) if self.validation_scores_ else None


# the small calls' records (fastmlp/online.py), by model: outside the model's __dict__, so
# predict leaves the estimator's state as it was (scikit-learn checks that) and a copy or a
# pickle never carries one
RECORDS = weakref.WeakKeyDictionary()
_PARAM_NAMES = {}  # class -> its sorted hyperparameter names
_HYPER = {}


def _hyperparameters(cls):
    names = _HYPER.get(cls)
    if names is None:
        names = _HYPER[cls] = frozenset(cls._get_param_names())
    return names


def names_of(model, X, reset):
    """Set (reset) or check the model's feature_names_in_ from X (a frame or an array)."""
    if not isinstance(X, CheckedRows):  # rows fit took apart itself were checked by fit
        check_feature_names(model, feature_names(X), reset)


class CheckedRows(np.ndarray):
    """Rows fit has checked already (validation rows): their feature names were checked when
    fit started, so scoring them every epoch does not check (or warn) again."""


class ModelRows:
    """Rows as the kernels see them (``rows``: checked and through fitted.transform_inputs),
    e.g. the validation split of the training rows: predict takes them as they are."""

    def __init__(self, rows):
        self.rows = rows
        self.shape = rows.shape

    def __len__(self):
        return self.shape[0]


def column_y(y, owner):
    """A column-vector y (n, 1) ravelled with a DataConversionWarning, as scikit-learn's
    classifiers do; anything else as given."""
    arr = np.asarray(y) if hasattr(y, "shape") or isinstance(y, (list, tuple)) else y
    if getattr(arr, "ndim", 0) == 2 and arr.shape[1] == 1:
        warnings.warn(f"A column-vector y was passed when a 1d array was expected. Please "
                      f"change the shape of y to (n_samples, ), for example using ravel() "
                      f"({owner} ravelled it).", data_conversion_warning(), stacklevel=4)
        return arr.ravel()
    return y


def training_weights(model, sample_weight, y, Y, settings):
    """Per-row weights for training (sample_weight times class_weight), checked; None when
    every row counts once."""
    weights = check_sample_weight(sample_weight, Y.shape[0])
    if settings.class_weight is None:
        return weights
    if model._estimator_type != "classifier":
        raise ValueError(f"class_weight={settings.class_weight!r} applies to classifiers; "
                         f"{type(model).__name__} takes sample_weight instead")
    per_class = class_weight_per_class(settings.class_weight, model.classes_, y)
    return combined_weights(weights, per_class, np.argmax(Y, axis=1))


def fit_data(model, X, y, sample_weight, validation_data, settings, reset=True):
    """(X, Y, weights, validation, rows) for ``fit``: the data checked (feature names set from
    X, and validation_data's checked against them), X as the kernels see it, the training
    weights (None: all 1) and the validation split of fastmlp/training.py (rows: the rows of X
    trained on, or None). reset=False (warm_start): the fitted names, classes, input and target
    scaling stay and the data is checked against them."""
    if isinstance(validation_data, (tuple, list)) and len(validation_data) == 2:
        names_of(model, X, reset=reset)
        names_of(model, validation_data[0], reset=False)
    X, Y, y = model._prepare_xy(X, y, settings, reset=reset, sample_weight=sample_weight)
    if not reset:
        model._check_warm_start_targets(y)
    weights = training_weights(model, sample_weight, y, Y, settings)
    if reset and weights is not None and getattr(model, "_y_mean", None) is not None:
        # a regressor's target standardisation: the weighted statistics (a zero weight is a
        # row removed, here too)
        model._y_mean, model._y_scale = target_statistics(y, weights)
        Y = standardise_targets(y, model._y_mean, model._y_scale, Y.dtype)
    X, Y, validation, rows = validation_set(X, Y, y, validation_data, settings,
                                           model._check_validation_targets)
    if validation is not None and rows is not None:
        # a split of the training rows: already checked and scaled
        validation = (ModelRows(validation[0]), validation[1])
    elif validation is not None and isinstance(validation[0], np.ndarray):
        # names checked above: not again every epoch
        validation = (validation[0].view(CheckedRows), validation[1])
    if weights is not None and rows is not None:
        weights = check_sample_weight(weights[rows], len(rows),
                                      "sample_weight (of the rows left after validation_fraction)")
    return X, Y, weights, validation, rows


def data_loss(model, X, y):
    """The model's mean data loss per sample on (X, y) (MLPClassifier/MLPRegressor.data_loss)."""
    out = model._predict_raw(X).astype(np.float64)
    Y, _ = model._targets(y, out.shape[0], np.float64, False, None)
    _, output, loss = fitted.fitted_functions(model)
    if loss == "cross_entropy":
        tiny = np.finfo(model.params_.dtype).tiny
        total = -np.sum(Y * np.log(np.maximum(out, tiny)))
        if output == "sigmoid":  # binary cross-entropy of each output
            total -= np.sum((1 - Y) * np.log(np.maximum(1 - out, tiny)))
        return float(total / out.shape[0])
    return float(0.5 * np.sum((out - Y) ** 2) / out.shape[0])


def log_proba(model, X, proba):
    """log(proba), finite where a softmax probability underflows: those entries come from
    the log-softmax of the network's pre-softmax outputs (a second pass over X)."""
    with np.errstate(divide="ignore"):
        out = np.log(proba)
    low = proba < np.finfo(proba.dtype).tiny  # 0 or subnormal: log(proba) lost its digits
    if low.any() and fitted.fitted_functions(model)[1] == "softmax":
        z = model._predict_raw(X, output=IDENTITY).astype(np.float64)
        z -= z.max(axis=1, keepdims=True)
        z -= np.log(np.exp(z).sum(axis=1, keepdims=True))
        out[low] = z[low]
    return out


def accuracy(pred, y, sample_weight):
    """(Weighted) share of predictions equal to the labels y."""
    if pred.ndim == 1:
        y = column_y(y, "score")
    y = np.asarray(y.toarray() if hasattr(y, "toarray") and not isinstance(y, np.ndarray)
                   else y)
    if y.shape != pred.shape:
        raise ValueError(f"y must be 1-D with one label per row of X ({pred.shape[0]}), got "
                         f"shape {y.shape}" if pred.ndim == 1 else
                         f"y must be an indicator matrix of shape {pred.shape}, got {y.shape}")
    w = check_sample_weight(sample_weight, pred.shape[0])
    # a multilabel row counts as right when every label is (scikit-learn's subset accuracy)
    right = pred == y if pred.ndim == 1 else np.all(pred == y, axis=1)
    return float(np.average(right, weights=w))


def r2(pred, y, sample_weight):
    """Coefficient of determination R^2 (weighted by sample_weight, averaged uniformly over
    targets; 0 for a constant target)."""
    pred = np.asarray(pred, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if y.shape[:1] != pred.shape[:1] or y.size != pred.size:
        raise ValueError(f"y has shape {y.shape}, but the predictions for X have shape "
                         f"{pred.shape}")
    w = check_sample_weight(sample_weight, len(y))
    w = np.ones(len(y)) if w is None else w
    y, pred = y.reshape(len(y), -1), pred.reshape(len(y), -1)
    ss_res = (w[:, None] * (y - pred) ** 2).sum(axis=0)
    ss_tot = (w[:, None] * (y - np.average(y, axis=0, weights=w)) ** 2).sum(axis=0)
    r2 = np.where(ss_tot > 0, 1 - ss_res / np.where(ss_tot > 0, ss_tot, 1), 0.0)
    return float(r2.mean())


def prepared_copy(model, X, y):
    """(copy, X, Y, settings): a deep copy of ``model``, initialised from its hyperparameters
    if it is not fitted, with X and the target matrix Y checked as training would; the model
    itself is never changed. For tools that run the kernels on a model (gradient checks)."""
    m = copy.deepcopy(model)
    first = not hasattr(m, "params_")
    settings = m._resolve(y if first else None)
    X, Y, _ = m._prepare_xy(X, y, settings, reset=first)
    if first:
        fitted.initialise(m, X.shape[1], Y.shape[1], settings)
    else:
        fitted.check_continuation(m, settings, X.shape[1])
    return m, X, Y, settings
