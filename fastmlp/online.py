"""The fast path of small calls: ``partial_fit`` and ``predict`` on a few rows (one event of a
stream) at close to the compiled kernels' own cost.

Through the general path (estimators.py -> training.py), a call spends hundreds of
microseconds around the kernel: the hyperparameters resolved again from ``get_params``, the
fitted state checked again, a copy of every weight for rollback, a signal handler for Ctrl-C,
scratch buffers allocated. Nothing next to an epoch; everything next to one sample, which the
kernel trains in microseconds. So each model keeps an ``Online`` record of what a call on the
same model would recompute: the resolved Settings, the identity of the validated fitted
buffers, the scratch buffers, the label -> output table; and instead of copying the weights on
every call it keeps a checkpoint, taken every ``chunk_size`` samples.

Exactly as in the general path: every check of X, y and sample_weight (a fast check accepts
the plain cases, a dense array of the right width, known labels; anything else goes the general
way and gets the same errors from the same functions); the numbers (the same ``train_epoch``,
the sample order drawn from the model's generator, the same learning-rate schedule, sample and
class weights); the fitted attributes updated (``t_``, ``n_iter_``, ``loss_curve_``,
``accuracy_curve_``, the optimizer state).

What differs, and only after a failure: rollback. A call whose first sample gives a non-finite
loss has changed nothing (as in the general path). A divergence later in a call, weights found
non-finite when the next checkpoint is taken, or Ctrl-C inside a call return the model to its
last checkpoint -- weights, optimizer state, ``t_``, ``n_iter_``, the curves and the shuffling
generator, at most ``chunk_size`` samples back -- as the general path returns to the start of
its chunk.

The record is dropped when a hyperparameter is assigned (``set_params`` or an attribute) and by
every call through the general path, and made again at the end of a general call that a fast
one could have been: the first small call after a change goes the general way.
"""

import math
import threading
from operator import is_

import numpy as np

from . import divergence, fitted
from .backends import get_backend
from .interrupts import with_note
from .layout import activation_size, aligned_copy, layer_sizes
from .protocol import RECORDS, training_weights
from .stopping import rate_at
from .training import optimizer_arguments, sample_weights, weight_penalty

# the hyperparameters whose values may be mutable containers: a change in place (not an
# assignment, which drops the record) is found by comparing with a copy
_MUTABLE = ("hidden_layer_sizes", "class_weight")
# labels looked up one by one (a dict) up to this many rows; more go through labels.one_hot
_LOOKUP_ROWS = 16


class Online:
    """What a small call on one model needs, checked once (see the module docstring)."""

    def __init__(self, model, settings):
        self.params, self.layout = model.params_, model.layout_
        self.layout_bytes = self.layout.tobytes()
        self.coefs, self.intercepts = model.coefs_, model.intercepts_
        self.coef_items, self.intercept_items = tuple(model.coefs_), tuple(model.intercepts_)
        self.dtype = self.params.dtype
        sizes = layer_sizes(self.layout)
        self.n_in, self.n_out = sizes[0], sizes[-1]
        self.codes = model._activation_codes()
        self.mutable = tuple((name, _copy(getattr(model, name))) for name in _MUTABLE)
        self.x_mean = getattr(model, "_x_mean", None)  # the input scaling (fitted.py)
        self.settings = settings  # None: predict only
        self.n_acts = activation_size(self.layout)
        self.local = threading.local()  # predict's scratch, per thread
        self.kernels = get_backend("numba")
        self.checks = self.kernels.checks
        self.t, self.n_iter = model.t_, model.n_iter_
        if settings is not None:
            self._training(model, settings)

    def _training(self, model, s):
        # train_epoch's arguments that stay the same from call to call, as tuples
        t = self.dtype.type
        grads = np.zeros_like(self.params)  # scratch of the mini-batch epochs
        acts, dacts = (aligned_copy(np.zeros(self.n_acts, self.dtype)) for _ in range(2))
        self.buffers = (self.params, grads, acts, dacts)
        self.network = (self.layout, s.activation_codes, s.loss_code)
        self.penalty = (t(s.l2), t(s.l1), t(s.clip_value), t(s.clip_norm))
        self.penalised = s.l2 > 0 or s.l1 > 0  # the loss curve adds the penalty
        self.step = np.zeros(1, np.int64)
        self.velocity, self.sq_avg = model.velocity_, model.sq_avg_
        self.optimizer = optimizer_arguments(model, s, self.step)
        self.no_weights = np.zeros(0, self.dtype)
        self.first = np.zeros(1, np.int64)
        self.lr = s.learning_rate if s.lr_schedule == "constant" else None
        self.classifier = hasattr(model, "classes_")
        if self.classifier:
            self.index = {label: k for k, label in enumerate(model.classes_.tolist())}
            self.label_kinds = "biu" if model.classes_.dtype.kind in "biuf" else "U"
        self.weighted = s.class_weight is not None
        self.checkpoint = None
        self.since = 0  # samples trained since the checkpoint
        take_checkpoint(model, self)

    def valid_for(self, model):
        """True if the model's fitted buffers and hyperparameters are still those checked:
        the same objects (an assignment replaces them), the layout unchanged in place, no
        array of coefs_/intercepts_ replaced, mutable hyperparameters equal to their copies.
        (A reshaped params_ would not pass Numba's type check; read-only is checked.)"""
        d = model.__dict__
        if (d.get("params_") is not self.params or d.get("layout_") is not self.layout or
                d.get("coefs_") is not self.coefs or
                d.get("intercepts_") is not self.intercepts or
                not self.params.flags.writeable or self.layout.tobytes() != self.layout_bytes):
            return False
        if self.settings is not None and (d.get("velocity_") is not self.velocity or
                                          d.get("sq_avg_") is not self.sq_avg):
            return False
        if d.get("_x_mean") is not self.x_mean:
            return False
        if (len(self.coefs) != len(self.coef_items) or
                len(self.intercepts) != len(self.intercept_items) or
                not all(map(is_, self.coefs, self.coef_items)) or
                not all(map(is_, self.intercepts, self.intercept_items))):
            return False
        for name, value in self.mutable:
            if d.get(name) != value:
                return False
        return True


def _copy(value):
    return dict(value) if isinstance(value, dict) else (
        list(value) if isinstance(value, list) else value)


def record(model):
    """The model's valid Online record, or None."""
    o = RECORDS.get(model)
    if o is not None and o.valid_for(model):
        return o
    return None


def forget(model):
    """Drop the record (a general-path call or a hyperparameter assignment)."""
    RECORDS.pop(model, None)


def same_classes(model, classes):
    """True if a classifier's partial_fit may skip checking ``classes``: None, or the very
    object (with the same contents) that the general path checked last."""
    if classes is None:
        return True
    o = RECORDS.get(model)
    if o is None or o.classes_arg is not classes:
        return False
    if isinstance(classes, np.ndarray):
        return classes.tobytes() == o.classes_bytes
    return isinstance(classes, (list, tuple)) and list(classes) == o.classes_bytes


def remember(model, settings=None, classes=None):
    """Make the record after a general call that succeeded on a small, plain input (settings:
    those the call trained with, None after a predict; classes: the argument of a
    classifier's partial_fit, checked by that call)."""
    if getattr(model, "feature_names_in_", None) is not None:
        return  # every call checks the names of X: the general path does it
    fitted_with = settings or getattr(model, "_settings", None)
    if (fitted_with.backend if fitted_with is not None else model.backend) != "numba":
        return  # the reference backend's calls stay the reference's (and never load numba)
    if settings is not None:
        if (settings.diagnostics or settings.verbose or settings.validation_fraction > 0 or
                getattr(model, "_multilabel", False)):
            return
    else:
        old = RECORDS.get(model)
        if old is not None and old.settings is not None and old.valid_for(model):
            return  # a training record serves predict too
    o = RECORDS[model] = Online(model, settings)
    o.classes_arg = classes
    o.classes_bytes = (classes.tobytes() if isinstance(classes, np.ndarray) else
                       list(classes) if isinstance(classes, (list, tuple)) else None)


def take_checkpoint(model, o):
    """Copy the trained state the model returns to after a failure (see the module doc)."""
    c = o.checkpoint
    if c is None:
        c = o.checkpoint = {"params": np.empty_like(o.params)}
    c["params"][...] = o.params
    c["velocity"], c["sq_avg"] = model.velocity_.copy(), model.sq_avg_.copy()
    c["adam_steps"], c["t"], c["n_iter"] = model.adam_steps_, model.t_, model.n_iter_
    c["curves"] = (len(model.loss_curve_), len(model.accuracy_curve_))
    c["rng"] = model._rng.bit_generator.state
    o.since = 0


def restore_checkpoint(model, o):
    """Return the model to its last checkpoint."""
    c = o.checkpoint
    o.params[...] = c["params"]
    if model.velocity_.shape == c["velocity"].shape:
        model.velocity_[...] = c["velocity"]
        model.sq_avg_[...] = c["sq_avg"]
    model.adam_steps_, model.t_, model.n_iter_ = c["adam_steps"], c["t"], c["n_iter"]
    del model.loss_curve_[c["curves"][0]:]
    del model.accuracy_curve_[c["curves"][1]:]
    model._rng.bit_generator.state = c["rng"]
    o.t, o.n_iter, o.since = model.t_, model.n_iter_, 0


# ---------------------------------------------------------------------------------- inputs


def rows(model, o, X):
    """X as the kernels take it if it is a plain dense array of o's width with finite values
    (converted to o's dtype if needed, then through the model's input scaling), else None:
    the general path checks it."""
    if type(X) is not np.ndarray or X.ndim != 2 or X.shape[1] != o.n_in or X.shape[0] == 0:
        return None
    if X.dtype != o.dtype or not X.flags.c_contiguous or not X.flags.writeable:
        if X.dtype.kind not in "biuf":
            return None
        with np.errstate(over="ignore", invalid="ignore"):
            X = np.array(X, dtype=o.dtype, order="C")
    if not o.checks.all_finite(X):
        return None
    if o.x_mean is not None:  # the model's input scaling (fitted.transform_inputs)
        try:
            X = fitted.transform_inputs(model, X, check=True)
        except ValueError:
            return None  # the general path raises it
    return X


def targets(model, o, y, n):
    """The target rows Y for y if y is plain (a 1-D array or list of known labels, or a
    regressor's finite numbers), else None: the general path checks it."""
    if o.classifier:
        if type(y) is np.ndarray:
            if y.ndim != 1 or y.shape[0] != n or y.dtype.kind not in o.label_kinds:
                return None
            if n > _LOOKUP_ROWS:
                return model._targets(y, n, o.dtype, False, None)[0]
            values = y.tolist()
        elif type(y) is list and len(y) == n and n <= _LOOKUP_ROWS:
            values = y
        else:
            return None
        Y = np.zeros((n, o.n_out), o.dtype)
        try:
            for k, v in enumerate(values):
                if type(v) is bool or type(v) is float:
                    return None  # the general checks decide about these
                Y[k, o.index[v]] = 1
        except (KeyError, TypeError):
            return None
        return Y
    if type(y) is not np.ndarray or y.dtype.kind not in "iuf" or y.shape[0] != n:
        return None
    if y.ndim != 1 and not (y.ndim == 2 and y.shape[1] == o.n_out):
        return None
    if y.ndim == 1 and o.n_out != 1:
        return None
    mean, scale = getattr(model, "_y_mean", None), getattr(model, "_y_scale", None)
    Y = np.asarray(y, np.float64).reshape(n, -1)
    if mean is not None:
        Y = (Y - mean) / scale
    with np.errstate(over="ignore", invalid="ignore"):
        Y = np.ascontiguousarray(Y, dtype=o.dtype)
    return Y if o.checks.all_finite(Y) else None


# ---------------------------------------------------------------------------------- calls


def partial_fit(model, X, y, sample_weight):
    """One epoch over a small (X, y) on the fast path; False if the call must go the general
    way (no valid record, or anything unusual about the arguments)."""
    o = record(model)
    d = model.__dict__
    if o is None or o.settings is None or d["t_"] != o.t or d["n_iter_"] != o.n_iter:
        return False
    s = o.settings
    X = rows(model, o, X)
    if X is None or X.shape[0] > s.chunk_size:
        return False
    n = X.shape[0]
    Y = targets(model, o, y, n)
    if Y is None:
        return False
    kept, weights = None, o.no_weights
    if sample_weight is not None or o.weighted:
        try:  # the checks of the general path
            w = training_weights(model, sample_weight, np.asarray(y), Y, s)
        except ValueError:
            return False  # the general path raises it
        kept, weights = sample_weights(w, n, o.dtype)
    m = n if kept is None else kept.shape[0]
    lr = o.lr if o.lr is not None else rate_at(model, s, d["n_iter_"], max(s.n_epochs(m), 1),
                                               d["t_"])
    if lr == 0:
        return False  # the general path warns that nothing changes
    if o.since >= s.chunk_size:
        if not _healthy(model, o):
            return _diverged_since_checkpoint(model, o, X, lr)
        take_checkpoint(model, o)
    started = False
    try:
        if m == 1:  # permutation(1) draws nothing
            order = o.first
        elif s.shuffle:
            order = model._rng.permutation(m)
        else:
            order = np.arange(m, dtype=np.int64)
        if kept is not None:
            order = kept[order]
        o.step[0] = d["adam_steps_"]
        d["diverged_"] = False
        started = True
        loss_sum, n_correct, done = o.kernels.train_epoch(
            *o.buffers, X, Y, order, *o.network, o.dtype.type(lr), *o.penalty, s.batch(m),
            weights, *o.optimizer)
        d["adam_steps_"] = int(o.step[0])
        if done < m:
            if done > 0:  # the first sample's non-finite loss changed nothing
                restore_checkpoint(model, o)
            return _diverged(model, o, X, done, int(order[done]), lr)
        loss = float(loss_sum) / m
        if o.penalised:
            loss += weight_penalty(o.coefs, s.l2, s.l1)
            if not math.isfinite(loss):
                restore_checkpoint(model, o)
                return _diverged(model, o, X, m - 1, int(order[-1]), lr)
        d["t_"] += m
        d["n_iter_"] += 1
        d["loss_curve_"].append(loss)
        d["accuracy_curve_"].append(int(n_correct) / m)
        o.t, o.n_iter = d["t_"], d["n_iter_"]
        o.since += m
    except KeyboardInterrupt as exc:
        if started:
            restore_checkpoint(model, o)
        raise with_note(exc, f"fastmlp: partial_fit stopped by KeyboardInterrupt; the model "
                             f"is back at its last checkpoint (n_iter_={model.n_iter_}, "
                             f"t_={model.t_}) and can predict, be saved, or continue with "
                             f"partial_fit.") from None
    return True


def _healthy(model, o):
    return (np.isfinite(o.params).all() and np.isfinite(model.velocity_).all() and
            np.isfinite(model.sq_avg_).all())


def _diverged_since_checkpoint(model, o, X, lr):
    # weights that became non-finite without a non-finite loss (found at the checkpoint)
    restore_checkpoint(model, o)
    return _diverged(model, o, X, 0, 0, lr)


def _diverged(model, o, X, position, row, lr):
    # the model is back where it was before the diverged sample's call, or at the checkpoint:
    # the decision of the general path (fastmlp/divergence.py: warn and mark diverged_, or
    # raise), as a finished call
    divergence.settle(model, o.settings, divergence.error(model, o.settings, model.n_iter_ + 1,
                                                          position, row, lr, X), stacklevel=4)
    return True


def predict_raw(model, X):
    """The network's outputs for a plain dense X on the fast path, or None (the general path
    then checks X and predicts)."""
    o = record(model)
    if o is None:
        return None
    X = rows(model, o, X)
    if X is None:
        return None
    out = np.empty((X.shape[0], o.n_out), o.dtype)
    acts = getattr(o.local, "acts", None)  # one per thread: predict is thread-safe
    if acts is None:
        acts = o.local.acts = aligned_copy(np.zeros(o.n_acts, o.dtype))
    o.kernels.predict(out, X, o.params, acts, o.layout, o.codes)
    if not o.checks.all_finite(out):
        return None  # the general path says why
    return out

