"""MLPClassifier and MLPRegressor: fit, predict and files over the training driver (the rest of
scikit-learn's protocol -- parameters, pickling, fitted attributes, weights, feature names --
is the Protocol mixin of fastmlp/protocol.py).

``__init__`` only stores hyperparameters (defaults from the table in fastmlp/params.py).
``fit``/``partial_fit`` resolve them once into a frozen ``Settings``, check the data (targets:
fastmlp/labels.py), create or check the fitted state (fastmlp/fitted.py: the flat parameter
buffer and everything else ending in ``_``) and hand over to the training driver
(fastmlp/training.py). ``save`` and ``load`` write and read that state through the file schema
of fitted.py and the atomic, pickle-free files of fastmlp/persistence.py.

Subclasses differ only through hooks: ``_default_output_activation``/``_default_loss``/
``_default_alpha``/``_default_clip_value``,
``_targets`` (y -> the float matrix Y) and ``_check_validation_targets``.
"""

import json

import numpy as np

from . import fitted, labels, online, persistence, sparse
from .backends import get_backend
from .errors import OutputOverflow
from .layout import activation_size, layer_sizes
from .params import DEFAULTS as D
from .paramdoc import estimator_docstring
from .params import REGRESSOR_ALPHA, REGRESSOR_CLIP_VALUE, resolve
from .protocol import (ModelRows, Protocol, accuracy, column_y, data_loss, fit_data, log_proba,
                       names_of, r2, training_weights)
from .protocol import prepared_copy  # noqa: F401  (fastmlp.gradcheck's, from here)
from .sklearn_compat import init_arguments, not_fitted_error
from .training import train
from .validation import check_array
from .weights import check_sample_weight


class _BaseMLP(Protocol):
    """Shared machinery; use MLPClassifier or MLPRegressor."""

    _default_output_activation = None
    _default_loss = None
    _default_alpha = 0.0
    _default_clip_value = 0.0

    def __init__(self, hidden_layer_sizes=D["hidden_layer_sizes"], activation=D["activation"], *,
                 output_activation=D["output_activation"], loss=D["loss"], init=D["init"],
                 scale_inputs=D["scale_inputs"], learning_rate=D["learning_rate"],
                 lr_schedule=D["lr_schedule"], power_t=D["power_t"], lr_decay=D["lr_decay"],
                 lr_step=D["lr_step"],
                 epochs=D["epochs"], batch_size=D["batch_size"], shuffle=D["shuffle"],
                 class_weight=D["class_weight"], alpha=D["alpha"], penalty=D["penalty"],
                 l1_ratio=D["l1_ratio"], clip_value=D["clip_value"], clip_norm=D["clip_norm"],
                 solver=D["solver"], momentum=D["momentum"],
                 nesterovs_momentum=D["nesterovs_momentum"], beta_1=D["beta_1"],
                 beta_2=D["beta_2"], epsilon=D["epsilon"], dtype=D["dtype"],
                 random_state=D["random_state"], backend=D["backend"],
                 early_stopping=D["early_stopping"],
                 validation_fraction=D["validation_fraction"],
                 n_iter_no_change=D["n_iter_no_change"], tol=D["tol"],
                 warm_start=D["warm_start"], on_divergence=D["on_divergence"],
                 chunk_size=D["chunk_size"], diagnostics=D["diagnostics"],
                 verbose=D["verbose"], max_iter=None, learning_rate_init=None):
        # stores every hyperparameter as given, under fastmlp's names: scikit-learn's max_iter
        # and learning_rate_init (None: not given) go to epochs and learning_rate (see
        # sklearn_compat.init_arguments); get_params never returns them
        given = {name: value for name, value in locals().items() if name != "self"}
        for name, value in init_arguments(type(self).__name__, given, D).items():
            setattr(self, name, value)

    # ------------------------------------------------------------------ settings and state

    def _resolve(self, y=None):
        """The hyperparameters as they are now, validated: a frozen Settings. y: the targets of
        a fit starting afresh (a multilabel y changes the classifier's default output); None:
        the fitted model's defaults."""
        output, loss = self._output_defaults(y)
        return resolve(self.get_params(), output, loss, self._default_alpha,
                       self._default_clip_value)

    def _output_defaults(self, y):
        """Hook: (output activation, loss) that None means, for targets y (None: as fitted)."""
        return self._default_output_activation, self._default_loss

    def _check_fitted(self):
        if not hasattr(self, "params_"):
            raise not_fitted_error(f"This {type(self).__name__} is not fitted yet; call fit or "
                                 f"partial_fit first (or fastmlp.load a saved model)")

    def _sync_params(self):
        self._check_fitted()
        fitted.sync(self)

    # ------------------------------------------------------------------ training

    def _prepare_xy(self, X, y, settings, reset, classes=None, sample_weight=None):
        """(X, Y, y): X checked and as the kernels see it (fitted.transform_inputs; with reset,
        the input scaling is decided and its statistics taken from X, weighted by
        sample_weight), Y the float targets the kernels train on, y as given."""
        names_of(self, X, reset)
        X = check_array(X, settings.dtype)
        labels.require_y(type(self).__name__, y)
        Y, y = self._targets(y, X.shape[0], settings.dtype, reset, classes)
        if reset:
            fitted.fit_input_scaling(self, X, settings, check_sample_weight(sample_weight,
                                                                            X.shape[0]))
        return fitted.transform_inputs(self, X, check=True), Y, y

    def _check_validation_targets(self, y_val, dtype, n_targets):
        """Hook: refuse validation targets the subclass could not score."""

    def _check_warm_start_targets(self, y):
        """Hook: refuse targets a warm-started fit could not continue on."""

    def fit(self, X, y, sample_weight=None, validation_data=None, epoch_callback=None):
        """Train from a fresh initialisation (with warm_start, from the fitted weights) for
        ``epochs`` epochs; returns self.

        sample_weight: optional (n_samples,) weights >= 0 scaling each sample's loss and
        gradient (0 skips a sample); multiplied by ``class_weight`` for a classifier.

        validation_data: optional (X_val, y_val), scored after every epoch into
        ``validation_scores_`` (overrides validation_fraction).
        epoch_callback: optional f(model, info) called after every epoch with a dict of
        epoch, loss, train_accuracy, seconds (and validation_score).

        The hyperparameters are read once, when fit starts: changing one during the fit (e.g.
        ``model.learning_rate`` from the epoch_callback) takes effect at the next fit or
        partial_fit, not in this one.
        """
        if epoch_callback is not None and not callable(epoch_callback):
            raise TypeError(f"epoch_callback must be a function f(model, info), got "
                            f"{type(epoch_callback).__name__}")
        settings = self._resolve(y)  # bad hyperparameters fail before any state changes
        online.forget(self)
        warm = settings.warm_start and hasattr(self, "params_")
        state = dict(self.__dict__)
        try:
            X, Y, weights, validation, rows = fit_data(self, X, y, sample_weight,
                                                       validation_data, settings, reset=not warm)
            if warm:  # warm_start: go on from the fitted weights and optimizer state
                fitted.check_continuation(self, settings, X.shape[1])
            else:
                fitted.initialise(self, X.shape[1], Y.shape[1], settings)
        except BaseException:  # bad data: a fitted model stays exactly as it was
            self.__dict__.clear()
            self.__dict__.update(state)
            raise
        return train(self, X, Y, settings.n_epochs(X.shape[0]), settings, validation,
                     epoch_callback, rows, sample_weight=weights)

    def _partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch over (X, y), continuing from the current weights. A small call on a
        fitted model takes the fast path of fastmlp/online.py when it can."""
        first = "params_" not in self.__dict__
        if not first and online.partial_fit(self, X, y, sample_weight):
            return self
        settings = self._resolve(y if first else None)
        online.forget(self)
        X, Y, y = self._prepare_xy(X, y, settings, reset=first, classes=classes,
                                   sample_weight=sample_weight)
        weights = training_weights(self, sample_weight, y, Y, settings)
        if first:
            fitted.initialise(self, X.shape[1], Y.shape[1], settings)
        else:
            fitted.check_continuation(self, settings, X.shape[1])
        train(self, X, Y, 1, settings, stacklevel=4, check_health=False, sample_weight=weights)
        if isinstance(X, np.ndarray) and X.shape[0] <= settings.chunk_size:
            online.remember(self, settings, classes)
        return self

    # ------------------------------------------------------------------ prediction

    def _activation_codes(self):
        codes = (getattr(self, "_settings", None) or self._resolve()).activation_codes
        if codes.shape != (self.layout_.shape[0],):  # the kernel indexes one per layer
            raise ValueError(f"hidden_layer_sizes={self.hidden_layer_sizes!r} does not match "
                             f"the fitted network {layer_sizes(self.layout_)}; refit")
        return codes

    def _predict_raw(self, X, output=None):
        """The network's outputs for every row of X, shape (n, n_out); ``output``: another
        output activation's code (identity: the outputs before softmax). A plain dense X takes
        the fast path of fastmlp/online.py when the model has been checked before."""
        if output is None:
            out = online.predict_raw(self, X)
            if out is not None:
                return out
        self._sync_params()
        if isinstance(X, ModelRows):  # a validation split of the training rows: as trained
            X = X.rows
        else:
            names_of(self, X, reset=False)
            X = fitted.transform_inputs(self, check_array(
                X, self.params_.dtype, n_features=self.n_features_in_, owner=type(self).__name__))
        out = np.empty((X.shape[0], layer_sizes(self.layout_)[-1]), dtype=self.params_.dtype)
        # per call: predict is thread-safe
        acts = np.empty(activation_size(self.layout_), dtype=self.params_.dtype)
        activations = self._activation_codes()
        if output is not None:
            activations = np.append(activations[:-1], np.int64(output))
        sparse.predict(get_backend(self.backend), out, X, self.params_, acts, self.layout_,
                       activations)
        if not np.isfinite(out).all():
            if not np.isfinite(self.params_).all():
                raise ValueError(fitted.NON_FINITE_WEIGHTS)
            raise OutputOverflow(f"the network's outputs overflowed {out.dtype} (NaN or "
                                 f"infinity) for some rows of X; scale X like the training "
                                 f"data or use dtype='float64'")
        if output is None and isinstance(X, np.ndarray):
            online.remember(self)
        return out

    def data_loss(self, X, y):
        """Mean loss per sample on (X, y), as the training loss measures it (cross-entropy, the
        binary one per output for sigmoid outputs, or half the squared error, summed over
        outputs), without the weight penalty."""
        return data_loss(self, X, y)

    # ------------------------------------------------------------------ files

    def save(self, path):
        """Write architecture, hyperparameters and weights to a .npz (atomically); returns the
        path written (``.npz`` added if missing)."""
        self._sync_params()
        try:  # a file load() would refuse must not replace a good one
            current = self._resolve()
        except ValueError as exc:
            raise ValueError(f"cannot save this model: {exc} (set a valid value, or refit)") \
                from None
        values = fitted.file_hyperparameters(self, current)
        return persistence.write(path, fitted.to_arrays(self, persistence.to_json(values)))


class MLPClassifier(_BaseMLP):
    """A multi-layer perceptron classifier trained by SGD (per sample by default).

    Output: softmax with cross-entropy (one output unit per class, also for two classes).
    Labels may be any sortable values (ints, strings); ``classes_`` holds them in order.
    Multilabel: y a 2-D 0/1 indicator matrix (n_samples, n_labels) trains one sigmoid output
    per label with binary cross-entropy (as scikit-learn's MLPClassifier); ``classes_`` is then
    ``arange(n_labels)``, predict returns an indicator matrix (outputs above 0.5),
    predict_proba each label's probability and score the share of rows with every label right.
    """

    _default_output_activation = "softmax"
    _default_loss = "cross_entropy"
    _estimator_type = "classifier"

    def _output_defaults(self, y):
        multilabel = (labels.is_multilabel(y) if y is not None else
                      getattr(self, "_multilabel", False))
        return ("sigmoid", "cross_entropy") if multilabel else ("softmax", "cross_entropy")

    def _targets(self, y, n, dtype, reset, classes):
        if reset:
            self._multilabel = labels.is_multilabel(y)
        if getattr(self, "_multilabel", False):  # an indicator matrix: one column per label
            Y, y = labels.multilabel_targets(y, n, dtype, None if reset else self.classes_,
                                             classes)
            self.classes_ = np.arange(Y.shape[1]) if reset else self.classes_
            return Y, y
        labels.refuse_multilabel(y)
        y = labels.check_labels(column_y(y, type(self).__name__), n)
        if reset:
            self.classes_ = labels.classes_of(y, classes)
        return labels.one_hot(y, self.classes_, dtype), y

    def _check_warm_start_targets(self, y):
        if not getattr(self, "_multilabel", False) and not np.array_equal(
                np.unique(y), self.classes_):
            raise ValueError(f"warm_start can only be used where y has the same classes as in "
                             f"the previous call to fit. Previously got {self.classes_.tolist()}"
                             f", y has {np.unique(y).tolist()}")

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch over (X, y), continuing from the current weights (initialising them on the
        first call, which needs ``classes``: every label the model will ever see)."""
        first = "params_" not in self.__dict__
        if not first and online.same_classes(self, classes) and online.partial_fit(
                self, X, y, sample_weight):
            return self
        if first and classes is None and not labels.is_multilabel(y):
            raise ValueError("classes must be passed on the first call to partial_fit: the list "
                             "of every label the model will see, e.g. classes=np.arange(10)")
        if not first and classes is not None and not getattr(self, "_multilabel", False) and \
                not np.array_equal(
                labels.check_classes(classes), self.classes_):
            raise ValueError(f"classes={np.asarray(classes).tolist()} differs from classes_ "
                             f"{self.classes_.tolist()} of the previous calls")
        return self._partial_fit(X, y, classes, sample_weight)

    def predict_proba(self, X):
        """Class probabilities, shape (n, n_classes). For a non-softmax output the outputs are
        clipped at 0 and normalised to sum to 1."""
        out = self._predict_raw(X)
        if getattr(self, "_multilabel", False):
            return out  # each label's own probability
        if fitted.fitted_functions(self)[1] != "softmax":
            out = np.maximum(out, 0)
            s = out.sum(axis=1, keepdims=True)
            out = np.where(s > 0, out / np.where(s > 0, s, 1), 1.0 / out.shape[1])
        return out

    def predict_log_proba(self, X):
        """log(predict_proba(X)), finite where a softmax probability underflows to 0."""
        return log_proba(self, X, self.predict_proba(X))

    def predict(self, X):
        """The most probable class label for every row of X."""
        raw = self._predict_raw(X)  # first: raises NotFittedError on an unfitted model
        if getattr(self, "_multilabel", False):
            return (raw > 0.5).astype(np.int64)  # an indicator matrix, like y
        return self.classes_[raw.argmax(axis=1)]

    def score(self, X, y, sample_weight=None):
        """Mean accuracy on (X, y), weighted by sample_weight if given."""
        return accuracy(self.predict(X), y, sample_weight)


class MLPRegressor(_BaseMLP):
    """A multi-layer perceptron regressor: identity output, squared error, SGD.

    y may be 1-D (one target) or 2-D (n_samples, n_targets). With the identity output (the
    default) the network learns standardised targets: ``fit`` (and the first ``partial_fit``)
    keeps each target's mean and standard deviation, the training loss (``loss_curve_``,
    ``data_loss``) is measured on the standardised targets, and ``predict`` undoes the scaling
    (returning float64), so raw targets of any scale train at the default learning rate.
    """

    _default_output_activation = "identity"
    _default_loss = "squared_error"
    _default_alpha = REGRESSOR_ALPHA
    _default_clip_value = REGRESSOR_CLIP_VALUE
    _estimator_type = "regressor"

    def _targets(self, y, n, dtype, reset, classes):
        Y, y = labels.regression_targets(y, n, dtype)
        if reset:
            self._y_ndim = y.ndim
            self._y_mean, self._y_scale = (labels.target_statistics(y) if
                                           self.output_activation in (None, "identity")
                                           else (None, None))
        elif Y.shape[1] != layer_sizes(self.layout_)[-1]:
            raise ValueError(f"y has {Y.shape[1]} targets, but the model was fitted with "
                             f"{layer_sizes(self.layout_)[-1]}")
        if getattr(self, "_y_mean", None) is not None:
            Y = labels.standardise_targets(y, self._y_mean, self._y_scale, dtype)
        return Y, y

    def _check_validation_targets(self, y_val, dtype, n_targets):
        labels.validation_targets(y_val, dtype, n_targets)

    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over (X, y), continuing from the current weights."""
        return self._partial_fit(X, y, sample_weight=sample_weight)

    def predict(self, X):
        """The predicted targets (float64, in y's units), shape (n,) for a 1-D y at fit, else
        (n, n_targets)."""
        out = self._predict_raw(X).astype(np.float64)
        if getattr(self, "_y_mean", None) is not None:
            out = out * self._y_scale + self._y_mean
        return out.ravel() if getattr(self, "_y_ndim", 2) == 1 else out

    def score(self, X, y, sample_weight=None):
        """Coefficient of determination R^2 (weighted by sample_weight if given; averaged
        uniformly over targets)."""
        return r2(self.predict(X), y, sample_weight)


for _cls in (MLPClassifier, MLPRegressor):
    _cls.__doc__ = estimator_docstring(_cls.__doc__)

ESTIMATORS = {"MLPClassifier": MLPClassifier, "MLPRegressor": MLPRegressor}


def load(path):
    """A fitted model from a file written by ``save``. Raises FileNotFoundError for a missing
    file and ValueError for anything that is not an intact model file of this format version.
    The file is read with allow_pickle=False, so no code in it ever runs. Like ``save``, a path
    without the .npz suffix also finds ``path + ".npz"``."""
    path, data = persistence.read(path)
    try:
        kind = str(data["estimator"])
        if kind not in ESTIMATORS:
            raise ValueError(f"{path!r} holds an unknown estimator {kind!r}")
        hyperparameters = json.loads(str(data["hyperparameters"]))
        if not isinstance(hyperparameters, dict):
            raise ValueError(f"{path!r} is corrupt: hyperparameters are not a JSON object")
        model = ESTIMATORS[kind](**fitted.hyperparameters_from_file(hyperparameters))
        model.hidden_layer_sizes = tuple(model.hidden_layer_sizes)
        fitted.targets_kind_from(model, data, path)  # multilabel: before its defaults resolve
        return fitted.from_arrays(model, data, path, model._resolve())
    except (KeyError, TypeError, ValueError, IndexError, OverflowError) as exc:
        if isinstance(exc, ValueError) and str(exc).startswith(repr(path)):
            raise
        raise ValueError(f"{path!r} is corrupt: {type(exc).__name__}: {exc}") from None
