"""MLPClassifier and MLPRegressor: thin scikit-learn-style estimators over the kernels.

``__init__`` only stores hyperparameters. ``fit``/``partial_fit`` validate everything, lay the
network out in one flat parameter buffer (see fastmlp/layout.py) and hand whole chunks of an
epoch to the backend's compiled ``train_epoch``; this module does epochs, shuffling, schedules,
progress, divergence handling and early stopping. Fitted state ends in ``_``.
"""

import inspect
import numbers
import signal
import threading
import time
import warnings

import numpy as np

from .backends import BACKENDS, get_backend
from .errors import DivergenceError, NotFittedError
from .init import INITIALISERS, default_init, initialise
from .kernels.codes import ACTIVATIONS, HIDDEN_ACTIVATIONS, LOSSES, OUTPUT_ACTIVATIONS
from .layout import coef_views, layer_sizes, make_layout
from .progress import ProgressBar
from .schedules import SCHEDULES, learning_rate_at
from .validation import (check_array, check_choice, check_dtype, check_hidden_layer_sizes,
                         check_positive, check_random_state, check_seed)


class _OutputOverflow(ValueError):
    """The network's outputs overflowed: a ValueError for the user (predict), and for the
    training loop, on validation rows, a sign that the weights diverged."""


class _DeferredInterrupt:
    """Holds back Ctrl-C (SIGINT) during training until the next chunk boundary.

    A KeyboardInterrupt can otherwise surface anywhere in the Python loop, e.g. right after a
    kernel returns but before its chunk is counted, leaving weights, t_, n_iter_ and the curves
    out of step. Only in the main thread and only while Python's default handler is installed;
    a second Ctrl-C raises at once (the loop then undoes the unfinished chunk).
    """

    def __init__(self):
        self.pending = False
        self._previous = None

    def __enter__(self):
        if (threading.current_thread() is threading.main_thread() and
                signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            self._previous = signal.signal(signal.SIGINT, self._handler)
        return self

    def _handler(self, signum, frame):
        if self.pending:
            raise KeyboardInterrupt
        self.pending = True

    def check(self, note):
        if self.pending:
            self.pending = False
            raise _with_note(KeyboardInterrupt(), note)

    def __exit__(self, exc_type, exc, tb):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        if self.pending and not isinstance(exc, KeyboardInterrupt):
            raise KeyboardInterrupt  # never swallow a Ctrl-C (e.g. one during a DivergenceError)
        return False


def _with_note(exc, note):
    if hasattr(exc, "add_note"):  # Python >= 3.11
        exc.add_note(note)
    return exc


def _mixed_labels(name, values):
    kinds = sorted({type(v).__name__ for v in np.asarray(values, dtype=object).ravel()})
    return ValueError(f"{name} mixes label types {kinds}; labels must all be numbers or all be "
                      f"strings")


def _label_array(values, name):
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
            raise _mixed_labels(name, obj)
    return arr


def _same_view(a, b):
    """True if a is exactly the view b (same memory, shape, strides and dtype)."""
    return (isinstance(a, np.ndarray) and a.shape == b.shape and a.strides == b.strides and
            a.dtype == b.dtype and
            a.__array_interface__["data"][0] == b.__array_interface__["data"][0])


def _require_y(estimator, y):
    if y is None:  # scikit-learn's wording, so its checks (and users' code) recognise it
        raise ValueError(f"{type(estimator).__name__} requires y to be passed, but the target y "
                         f"is None")


class _BaseMLP:
    """Shared machinery; use MLPClassifier or MLPRegressor."""

    _default_output_activation = None
    _default_loss = None

    def __init__(self, hidden_layer_sizes=(200, 200), activation="relu", *,
                 output_activation=None, loss=None, init=None, learning_rate=0.01,
                 lr_schedule="constant", lr_decay=0.5, lr_step=1, epochs=3, batch_size=1,
                 shuffle=True, alpha=0.0, clip_value=0.0, clip_norm=0.0, dtype="float32",
                 random_state=None, backend="numba", validation_fraction=0.0,
                 n_iter_no_change=None, tol=1e-4, chunk_size=4096, verbose=False):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.output_activation = output_activation
        self.loss = loss
        self.init = init
        self.learning_rate = learning_rate
        self.lr_schedule = lr_schedule
        self.lr_decay = lr_decay
        self.lr_step = lr_step
        self.epochs = epochs
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.alpha = alpha
        self.clip_value = clip_value
        self.clip_norm = clip_norm
        self.dtype = dtype
        self.random_state = random_state
        self.backend = backend
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.chunk_size = chunk_size
        self.verbose = verbose

    # ------------------------------------------------------------------ scikit-learn protocol

    @classmethod
    def _get_param_names(cls):
        sig = inspect.signature(cls.__init__)
        return sorted(p.name for p in sig.parameters.values() if p.name != "self")

    def get_params(self, deep=True):
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params):
        valid = self._get_param_names()
        for key, value in params.items():
            if key not in valid:
                raise ValueError(f"Invalid parameter {key!r} for {type(self).__name__}; "
                                 f"valid parameters are {valid}")
            setattr(self, key, value)
        return self

    def __repr__(self):
        defaults = {p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()}
        changed = [f"{k}={v!r}" for k, v in self.get_params().items()
                   if not (isinstance(v, type(defaults.get(k))) and v == defaults.get(k))]
        return f"{type(self).__name__}({', '.join(changed)})"

    # ------------------------------------------------------------------ configuration

    def _resolve(self):
        """Validate every hyperparameter; return the settings the training loop uses."""
        hidden = check_hidden_layer_sizes(self.hidden_layer_sizes)
        check_choice("activation", self.activation, HIDDEN_ACTIVATIONS)
        out_act = self.output_activation or self._default_output_activation
        check_choice("output_activation", out_act, OUTPUT_ACTIVATIONS)
        loss = self.loss or ("cross_entropy" if out_act == "softmax" and
                             self._default_loss == "cross_entropy" else "squared_error")
        check_choice("loss", loss, tuple(LOSSES))
        if loss == "cross_entropy" and out_act != "softmax":
            raise ValueError(f"loss='cross_entropy' needs output_activation='softmax', got "
                             f"output_activation={out_act!r}; use loss='squared_error' instead")
        init = self.init or default_init(self.activation)
        check_choice("init", init, INITIALISERS)
        check_positive("learning_rate", self.learning_rate)
        check_choice("lr_schedule", self.lr_schedule, SCHEDULES)
        check_positive("lr_decay", self.lr_decay)
        check_positive("lr_step", self.lr_step)
        check_positive("epochs", self.epochs, integer=True)
        if not (isinstance(self.batch_size, str) and self.batch_size == "full"):
            if (isinstance(self.batch_size, str) or isinstance(self.batch_size, bool) or
                    not isinstance(self.batch_size, (int, np.integer)) or self.batch_size < 1):
                raise ValueError(f"batch_size={self.batch_size!r} is not valid; expected an "
                                 f"integer > 0 or 'full'")
        check_positive("alpha", self.alpha, allow_zero=True)
        check_positive("clip_value", self.clip_value, allow_zero=True)
        check_positive("clip_norm", self.clip_norm, allow_zero=True)
        dtype = check_dtype(self.dtype)
        for name in ("learning_rate", "alpha", "clip_value", "clip_norm"):
            value = float(getattr(self, name))
            with np.errstate(over="ignore", under="ignore"):
                cast = float(dtype.type(value))
            if (value > 0 and cast == 0) or not np.isfinite(cast):
                raise ValueError(f"{name}={value!r} is not representable in {dtype.name} "
                                 f"(it becomes {cast!r}); use a value between "
                                 f"{np.finfo(dtype).tiny:g} and {np.finfo(dtype).max:g} or "
                                 f"dtype='float64'")
        check_choice("backend", self.backend, BACKENDS)
        if not (isinstance(self.validation_fraction, numbers.Real) and
                not isinstance(self.validation_fraction, bool) and
                0 <= self.validation_fraction < 1):
            raise ValueError(f"validation_fraction={self.validation_fraction!r} is not valid; "
                             f"expected a number in [0, 1)")
        if self.n_iter_no_change is not None:
            check_positive("n_iter_no_change", self.n_iter_no_change, integer=True)
        check_positive("tol", self.tol, allow_zero=True)
        check_positive("chunk_size", self.chunk_size, integer=True)
        check_seed(self.random_state)
        acts = [self.activation] * len(hidden) + [out_act]
        return dict(hidden=hidden, activations=np.array([ACTIVATIONS[a] for a in acts], np.int64),
                    loss=LOSSES[loss], init=init, dtype=dtype)

    # ------------------------------------------------------------------ state

    def _initialise(self, n_in, n_out, cfg, rng):
        self.layout_, n_params, n_acts = make_layout((n_in,) + cfg["hidden"] + (n_out,))
        self.params_ = np.zeros(n_params, dtype=cfg["dtype"])
        initialise(self.params_, self.layout_, cfg["init"], rng)
        self.coefs_, self.intercepts_ = coef_views(self.params_, self.layout_)
        self.n_features_in_ = n_in
        self.n_iter_ = 0
        self.t_ = 0
        self.loss_curve_ = []
        self.accuracy_curve_ = []
        self.validation_scores_ = []

    def _check_fitted(self):
        if not hasattr(self, "params_"):
            raise NotFittedError(f"This {type(self).__name__} is not fitted yet; call fit or "
                                 f"partial_fit first (or fastmlp.load a saved model)")

    def _check_state(self):
        """layout_ and params_ must be exactly what the kernels index blindly (they never
        check bounds): a valid layout and a C-contiguous float32/float64 buffer of its size."""
        layout, params = self.layout_, self.params_
        ok = (isinstance(layout, np.ndarray) and layout.dtype == np.int64 and layout.ndim == 2
              and layout.shape[0] >= 1 and layout.shape[1] == 5 and layout.flags.c_contiguous
              and bool((layout[:, :2] >= 1).all()))
        if ok:
            expected, n_params, _ = make_layout(layer_sizes(layout))
            ok = np.array_equal(layout, expected)
        if not ok:
            raise ValueError("layout_ was modified and no longer describes a network; refit "
                             "the model (or fastmlp.load it again)")
        if not (isinstance(params, np.ndarray) and params.dtype in (np.float32, np.float64)
                and params.shape == (n_params,) and params.flags.c_contiguous and
                params.flags.writeable):
            got = (f"{params.dtype} array of shape {params.shape}"
                   if isinstance(params, np.ndarray) else type(params).__name__)
            raise ValueError(f"params_ must be a writeable C-contiguous float32 or float64 array "
                             f"of shape ({n_params},) for this network, got {got}; do not "
                             f"replace params_ (edit coefs_/intercepts_ instead)")

    def _sync_params(self):
        """Take in coefs_/intercepts_ the user replaced, after checking them; then re-point the
        public lists at views of params_ so the kernels train what the user sees."""
        self._check_fitted()
        self._check_state()
        views_c, views_i = coef_views(self.params_, self.layout_)
        replaced = False
        for name, given, views in (("coefs_", self.coefs_, views_c),
                                   ("intercepts_", self.intercepts_, views_i)):
            if not isinstance(given, (list, tuple)):
                raise ValueError(f"{name} must be a list of {len(views)} arrays (one per layer), "
                                 f"got {type(given).__name__}")
            if len(given) != len(views):
                raise ValueError(f"{name} has {len(given)} arrays but the network has "
                                 f"{len(views)} layers")
            for l, (g, v) in enumerate(zip(given, views)):
                if _same_view(g, v):
                    continue
                replaced = True
                arr = np.asarray(g)
                if arr.dtype.kind not in "biuf":
                    raise ValueError(f"{name}[{l}] must be a real numeric array, got dtype "
                                     f"{arr.dtype}")
                if arr.shape != v.shape:
                    raise ValueError(f"{name}[{l}] has shape {arr.shape}, expected {v.shape}")
                with np.errstate(over="ignore", invalid="ignore"):
                    cast = arr.astype(v.dtype)
                if not np.isfinite(cast).all():
                    raise ValueError(f"{name}[{l}] contains NaN or infinity, or values too large "
                                     f"for {v.dtype}")
                v[...] = cast
        if replaced:
            # re-point only when needed: predict must not change the estimator's __dict__
            self.coefs_, self.intercepts_ = views_c, views_i

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
            if not self.params_.flags.writeable:  # e.g. joblib's read-only memory maps
                self.params_ = self.params_.copy()
            self.coefs_, self.intercepts_ = coef_views(self.params_, self.layout_)

    # ------------------------------------------------------------------ training

    def _prepare_training(self, reset, n_in, n_out):
        cfg = self._resolve()
        if reset or not hasattr(self, "params_"):
            self._rng = check_random_state(self.random_state)
            self._initialise(n_in, n_out, cfg, self._rng)
        else:
            self._sync_params()
            if self.params_.dtype != cfg["dtype"]:
                raise ValueError(f"dtype={self.dtype!r} differs from the fitted parameters' "
                                 f"{self.params_.dtype}; refit to change the dtype")
            sizes = layer_sizes(self.layout_)
            if sizes[1:-1] != cfg["hidden"]:
                raise ValueError(f"hidden_layer_sizes={self.hidden_layer_sizes!r} differs from "
                                 f"the fitted network {sizes}; refit to change the architecture")
            if self._functions_changed(cfg):
                h, o, l = self._fitted_functions()
                raise ValueError(f"activation={self.activation!r}, output_activation="
                                 f"{self.output_activation!r}, loss={self.loss!r} differ from the "
                                 f"fitted network's ({h!r}, {o!r}, {l!r}); refit to change them")
            if sizes[0] != n_in:
                raise ValueError(f"X has {n_in} features, but {type(self).__name__} is expecting "
                                 f"{sizes[0]} features as input (it was fitted with {sizes[0]})")
            if not np.isfinite(self.params_).all():
                raise ValueError("the model's weights contain NaN or infinity (coefs_ or "
                                 "intercepts_ edited in place?); set finite weights or refit")
            if not hasattr(self, "_rng"):
                self._rng = check_random_state(self.random_state)
        self._cfg = cfg
        return cfg

    def _train(self, X, Y, epochs, cfg, validation=None, epoch_callback=None, rows=None):
        """Run ``epochs`` epochs over (X, Y) with validation/early stopping; updates state.

        Ctrl-C: the model keeps the weights of the last completed chunk of ``chunk_size``
        samples, with n_iter_ (completed epochs), t_ (samples trained) and the per-epoch curves
        consistent with them, and the KeyboardInterrupt is re-raised.
        """
        with _DeferredInterrupt() as interrupt:
            return self._train_loop(X, Y, epochs, cfg, validation, epoch_callback, interrupt,
                                    rows)

    def _train_loop(self, X, Y, epochs, cfg, validation, epoch_callback, interrupt, rows):
        backend = get_backend(self.backend)
        dtype = cfg["dtype"]
        n = X.shape[0]
        B = n if self.batch_size == "full" else min(int(self.batch_size), n)
        chunk = max(B, (int(self.chunk_size) // B) * B)  # batches never straddle chunks
        n_acts = int(self.layout_[:, 1].sum())
        grads = np.zeros_like(self.params_)
        acts = np.zeros(n_acts, dtype=dtype)
        dacts = np.zeros(n_acts, dtype=dtype)
        best_score, best_params, stall = -np.inf, None, 0
        chunk_start = np.empty_like(self.params_)
        if learning_rate_at(self.lr_schedule, self.learning_rate, self.n_iter_,
                            max(int(self.epochs), epochs), self.lr_decay, self.lr_step) == 0:
            warnings.warn(f"the learning rate is 0 from epoch {self.n_iter_ + 1} on "
                          f"(lr_schedule={self.lr_schedule!r} ended after epochs={self.epochs}): "
                          f"this training does not change the weights; call fit to start "
                          f"over, or raise epochs", UserWarning, stacklevel=4)
        for e in range(epochs):
            tic = time.perf_counter()
            order = (self._rng.permutation(n) if self.shuffle else np.arange(n)).astype(np.int64)
            snapshot = self.params_.copy()
            t_epoch = self.t_
            bar = ProgressBar(n, f"epoch {self.n_iter_ + 1}") if self.verbose else None
            loss_sum, n_correct = 0.0, 0
            for s in range(0, n, chunk):
                idx = order[s:s + chunk]
                # progress counts every epoch since the last fresh start, so schedules go on
                # decaying across partial_fit calls; linear reaches zero after self.epochs
                lr = learning_rate_at(self.lr_schedule, self.learning_rate,
                                      self.n_iter_ + s / n, max(int(self.epochs), epochs),
                                      self.lr_decay, self.lr_step)
                chunk_start[...] = self.params_
                t_chunk = self.t_
                try:
                    ls, nc, done = backend.train_epoch(
                        self.params_, grads, acts, dacts, X, Y, idx, self.layout_,
                        cfg["activations"], cfg["loss"], dtype.type(lr), dtype.type(self.alpha),
                        dtype.type(self.clip_value), dtype.type(self.clip_norm), B)
                    if done < idx.shape[0]:
                        self._diverged(snapshot, t_epoch, s + done, int(idx[done]), lr, rows)
                    loss_sum += float(ls)
                    n_correct += int(nc)
                    self.t_ += idx.shape[0]
                except KeyboardInterrupt as exc:
                    # raised inside this chunk (before or right after the kernel ran): undo it
                    self.params_[...] = chunk_start
                    self.t_ = t_chunk
                    raise _with_note(exc, self._interrupt_note(s, n)) from None
                if bar:
                    bar.update(s + idx.shape[0])
                if s + chunk < n:
                    interrupt.check(self._interrupt_note(s + chunk, n))
            if bar:
                bar.close()
            if not np.isfinite(self.params_).all():
                self._diverged(snapshot, t_epoch, n - 1, int(order[-1]), lr, rows)
            penalty = 0.0
            if self.alpha > 0:
                with np.errstate(over="ignore", invalid="ignore"):
                    penalty = 0.5 * float(self.alpha) * sum(
                        float(np.sum(W.astype(np.float64) ** 2)) for W in self.coefs_)
            epoch_loss = loss_sum / n + penalty
            if not np.isfinite(epoch_loss):
                # finite weights so large that the penalty overflows: diverged as well
                self._diverged(snapshot, t_epoch, n - 1, int(order[-1]), lr, rows)
            if validation is not None:
                # scored before any state changes; outputs overflowing on held-out rows mean
                # the weights blew up (the rows come from the same data), not bad input
                try:
                    val_score = float(self.score(*validation))
                except _OutputOverflow:
                    self._diverged(snapshot, t_epoch, n - 1, int(order[-1]), lr, rows)
            self.n_iter_ += 1
            self.loss_curve_.append(epoch_loss)
            self.accuracy_curve_.append(n_correct / n)
            info = dict(epoch=self.n_iter_, loss=self.loss_curve_[-1],
                        train_accuracy=n_correct / n, seconds=time.perf_counter() - tic)
            if validation is not None:
                self.validation_scores_.append(val_score)
                info["validation_score"] = self.validation_scores_[-1]
            if epoch_callback is not None:
                epoch_callback(self, info)
            interrupt.check(self._interrupt_note(n, n))
            if self.n_iter_no_change is not None:
                score = (self.validation_scores_[-1] if validation is not None
                         else -self.loss_curve_[-1])
                if score > best_score + self.tol:
                    best_score, best_params, stall = score, self.params_.copy(), 0
                else:
                    stall += 1
                    if stall >= self.n_iter_no_change:
                        if validation is not None and best_params is not None:
                            self.params_[...] = best_params  # keep the best validated weights
                        break
        return self

    def _interrupt_note(self, done, n):
        where = (f"after epoch {self.n_iter_}" if done == n else
                 f"after {done} of {n} samples of epoch {self.n_iter_ + 1}")
        return (f"fastmlp: training stopped by KeyboardInterrupt {where}. The model keeps the "
                f"weights of the last completed chunk (n_iter_={self.n_iter_}, t_={self.t_}) "
                f"and can predict, be saved, or continue with partial_fit.")

    def _diverged(self, snapshot, t_epoch, position, row, lr, rows=None):
        # rows: the user's row number of each training row (a validation split trains on a
        # subset), so the message and DivergenceError.sample name a row of the X passed to fit
        if rows is not None:
            row = int(rows[row])
        self.params_[...] = snapshot
        self.t_ = t_epoch
        epoch = self.n_iter_ + 1
        # lr * alpha >= 2 makes the decay itself overshoot: then the penalty is the suspect
        penalty_hint = ("an L2 penalty (alpha=...)" if self.alpha == 0 else
                        f"a smaller L2 penalty (alpha was {self.alpha:g})")
        raise DivergenceError(
            f"Training diverged in epoch {epoch} at sample {position} of the epoch (row {row} "
            f"of X): the loss, the weights or the network's outputs became NaN or infinite. "
            f"The model keeps the weights it had at the start of epoch {epoch}. Remedies: a "
            f"lower learning_rate (it was {lr:g}), gradient clipping (clip_value=... or "
            f"clip_norm=...), "
            f"{penalty_hint}, or inputs scaled to about [0, 1].", epoch=epoch, sample=row)

    def _split_validation(self, X, Y, y, validation_data):
        """(X_train, Y_train, (X_val, y_val) or None, rows) from validation_fraction or
        validation_data; rows[i] is the row of X that training row i came from (None: all)."""
        if validation_data is not None:
            try:
                X_val, y_val = validation_data
            except (TypeError, ValueError):
                raise ValueError("validation_data must be a pair (X_val, y_val)") from None
            X_val = check_array(X_val, X.dtype, name="validation_data X_val",
                                n_features=X.shape[1])
            y_val = np.asarray(y_val)
            if y_val.ndim == 0 or len(y_val) != X_val.shape[0]:
                raise ValueError(f"validation_data: X_val and y_val have different numbers of "
                                 f"samples: {X_val.shape[0]} and "
                                 f"{len(y_val) if y_val.ndim else 'a scalar'}")
            if isinstance(self, MLPRegressor):
                Y_val = check_array(y_val.reshape(len(y_val), -1) if y_val.dtype.kind in "biuf"
                                    else y_val, X.dtype, name="validation_data y_val")
                if Y_val.shape[1] != Y.shape[1]:
                    raise ValueError(f"validation_data y_val has {Y_val.shape[1]} targets, but "
                                     f"y has {Y.shape[1]}")
            return X, Y, (X_val, y_val), None
        if self.validation_fraction and self.validation_fraction > 0:
            n_val = int(round(self.validation_fraction * X.shape[0]))
            if n_val < 1 or n_val >= X.shape[0]:
                raise ValueError(f"validation_fraction={self.validation_fraction} leaves "
                                 f"{n_val} validation samples of {X.shape[0]}; need at least 1 "
                                 f"for each side")
            perm = check_random_state(self.random_state).permutation(X.shape[0])
            val, tr = perm[:n_val], np.sort(perm[n_val:])
            return (np.ascontiguousarray(X[tr]), np.ascontiguousarray(Y[tr]),
                    (X[val], np.asarray(y)[val]), tr)
        return X, Y, None, None

    def fit(self, X, y, validation_data=None, epoch_callback=None):
        """Train from a fresh initialisation for ``epochs`` epochs; returns self.

        validation_data: optional (X_val, y_val), scored after every epoch into
        ``validation_scores_`` (overrides validation_fraction).
        epoch_callback: optional f(model, info) called after every epoch with a dict of
        epoch, loss, train_accuracy, seconds (and validation_score).
        """
        if epoch_callback is not None and not callable(epoch_callback):
            raise TypeError(f"epoch_callback must be a function f(model, info), got "
                            f"{type(epoch_callback).__name__}")
        self._resolve()  # bad hyperparameters fail before any fitted state changes
        state = dict(self.__dict__)
        try:
            X, Y, y_arr = self._prepare_xy(X, y, reset=True)
            X, Y, validation, rows = self._split_validation(X, Y, y_arr, validation_data)
        except BaseException:  # bad data: a fitted model stays exactly as it was
            self.__dict__.clear()
            self.__dict__.update(state)
            raise
        cfg = self._prepare_training(True, X.shape[1], Y.shape[1])
        return self._train(X, Y, int(self.epochs), cfg, validation, epoch_callback, rows)

    def _predict_raw(self, X):
        """The network's outputs for every row of X, shape (n, n_out)."""
        self._sync_params()
        X = check_array(X, self.params_.dtype, n_features=self.n_features_in_,
                        owner=type(self).__name__)
        n_acts = int(self.layout_[:, 1].sum())
        out = np.empty((X.shape[0], int(self.layout_[-1, 1])), dtype=self.params_.dtype)
        acts = np.empty(n_acts, dtype=self.params_.dtype)  # per call: predict is thread-safe
        activations = self._activation_codes()
        get_backend(self.backend).predict(out, X, self.params_, acts, self.layout_, activations)
        if not np.isfinite(out).all():
            if not np.isfinite(self.params_).all():
                raise ValueError("the model's weights contain NaN or infinity (coefs_ or "
                                 "intercepts_ edited in place?); set finite weights or refit")
            raise _OutputOverflow(f"the network's outputs overflowed {out.dtype} (NaN or infinity) "
                             f"for some rows of X; scale X like the training data or use "
                             f"dtype='float64'")
        return out

    def _functions_changed(self, cfg):
        """True if ``cfg`` (from _resolve) has other activations or another loss than the
        fitted network (set_params since the fit)."""
        fitted = getattr(self, "_cfg", None)
        return fitted is not None and not (
            np.array_equal(fitted["activations"], cfg["activations"])
            and fitted["loss"] == cfg["loss"])

    def _fitted_functions(self):
        """(hidden activation, output activation, loss) names the fitted network was trained
        with; hyperparameters changed by set_params since do not count until a refit."""
        cfg = getattr(self, "_cfg", None) or self._resolve()
        names = {code: name for name, code in ACTIVATIONS.items()}
        codes = cfg["activations"]
        hidden = names[int(codes[0])] if len(codes) > 1 else self.activation
        loss = {code: name for name, code in LOSSES.items()}[int(cfg["loss"])]
        return hidden, names[int(codes[-1])], loss

    def _activation_codes(self):
        cfg = getattr(self, "_cfg", None) or self._resolve()
        codes = cfg["activations"]
        if codes.shape != (self.layout_.shape[0],):  # the kernel indexes one per layer
            raise ValueError(f"hidden_layer_sizes={self.hidden_layer_sizes!r} does not match "
                             f"the fitted network {layer_sizes(self.layout_)}; refit")
        return codes

    def save(self, path):
        """Write architecture, hyperparameters and weights to a .npz (atomically)."""
        from .persistence import save
        return save(self, path)


class MLPClassifier(_BaseMLP):
    """A multi-layer perceptron classifier trained by SGD (per sample by default).

    Output: softmax with cross-entropy (one output unit per class, also for two classes).
    Labels may be any sortable values (ints, strings); ``classes_`` holds them in order.
    """

    _default_output_activation = "softmax"
    _default_loss = "cross_entropy"
    _estimator_type = "classifier"

    def __sklearn_tags__(self):
        from .sklearn_compat import sklearn_tags
        return sklearn_tags(self, "classifier")

    def _encode(self, y, n):
        y = _label_array(y, "y")
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
                raise ValueError("y has non-integer (continuous) float values: a classifier needs class "
                                 "labels; use MLPRegressor for real-valued targets")
        if y.dtype.kind == "O":
            y = y.astype(str) if all(isinstance(v, str) for v in y) else y
        if y.dtype.kind == "O":
            try:
                np.unique(y)
            except TypeError:
                raise _mixed_labels("y", y) from None
        return y

    def _check_classes(self, classes):
        """The sorted unique labels of ``classes`` (all numbers or all strings)."""
        arr = _label_array(classes, "classes").ravel()
        if arr.dtype.kind == "O" and all(isinstance(v, str) for v in arr):
            arr = arr.astype(str)
        try:
            unique = np.unique(arr)
        except TypeError:
            raise _mixed_labels("classes", arr) from None
        if len(unique) < 2:
            raise ValueError(f"classes={np.asarray(classes).tolist()!r} has {len(unique)} "
                             f"label(s); pass every label the model will see (at least 2), "
                             f"e.g. classes=np.arange(10)")
        return unique

    def _one_hot(self, y, dtype):
        try:
            idx = np.searchsorted(self.classes_, y)
            idx = np.clip(idx, 0, len(self.classes_) - 1)
            unknown = np.asarray(self.classes_[idx] != y, dtype=bool)
        except TypeError:  # e.g. str labels against int classes_: none can match
            idx, unknown = None, np.ones(len(y), dtype=bool)
        if np.any(unknown):
            bad = np.unique(np.asarray(y)[unknown])[:5]  # y holds labels of one type
            hint = ("" if self.classes_.dtype.kind == bad.dtype.kind or
                    {self.classes_.dtype.kind, bad.dtype.kind} <= set("biuf") else
                    f" (y holds {bad.dtype} labels, classes_ holds {self.classes_.dtype})")
            raise ValueError(f"y contains labels not in classes_ {self.classes_.tolist()}: "
                             f"{bad.tolist()}{hint}")
        Y = np.zeros((len(y), len(self.classes_)), dtype=dtype)
        Y[np.arange(len(y)), idx] = 1
        return Y

    def _prepare_xy(self, X, y, reset, classes=None):
        dtype = check_dtype(self.dtype)
        X = check_array(X, dtype)
        _require_y(self, y)
        y = self._encode(y, X.shape[0])
        if reset:
            classes = np.unique(y) if classes is None else self._check_classes(classes)
            if len(classes) < 2:
                raise ValueError(f"y has {len(classes)} class; a classifier needs at least 2")
            self.classes_ = classes
        return X, self._one_hot(y, dtype), y

    def partial_fit(self, X, y, classes=None):
        """One epoch over (X, y), continuing from the current weights (initialising them on the
        first call, which needs ``classes``: every label the model will ever see)."""
        first = not hasattr(self, "params_")
        if first and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit: the list "
                             "of every label the model will see, e.g. classes=np.arange(10)")
        if not first and classes is not None and not np.array_equal(
                self._check_classes(classes), self.classes_):
            raise ValueError(f"classes={np.asarray(classes).tolist()} differs from classes_ "
                             f"{self.classes_.tolist()} of the previous calls")
        X, Y, _ = self._prepare_xy(X, y, reset=first, classes=classes)
        cfg = self._prepare_training(first, X.shape[1], Y.shape[1])
        return self._train(X, Y, 1, cfg)

    def predict_proba(self, X):
        """Class probabilities, shape (n, n_classes). For a non-softmax output the outputs are
        clipped at 0 and normalised to sum to 1."""
        out = self._predict_raw(X)
        if self._cfg_output() != "softmax":
            out = np.maximum(out, 0)
            s = out.sum(axis=1, keepdims=True)
            out = np.where(s > 0, out / np.where(s > 0, s, 1), 1.0 / out.shape[1])
        return out

    def _cfg_output(self):
        return self._fitted_functions()[1]

    def predict(self, X):
        """The most probable class label for every row of X."""
        raw = self._predict_raw(X)  # first: raises NotFittedError on an unfitted model
        return self.classes_[np.argmax(raw, axis=1)]

    def score(self, X, y):
        """Mean accuracy on (X, y)."""
        pred, y = self.predict(X), np.asarray(y)
        if y.shape != pred.shape:
            raise ValueError(f"y must be 1-D with one label per row of X ({pred.shape[0]}), got "
                             f"shape {y.shape}")
        return float(np.mean(pred == y))


class MLPRegressor(_BaseMLP):
    """A multi-layer perceptron regressor: identity output, squared error, SGD.

    y may be 1-D (one target) or 2-D (n_samples, n_targets).
    """

    _default_output_activation = "identity"
    _default_loss = "squared_error"
    _estimator_type = "regressor"

    def __sklearn_tags__(self):
        from .sklearn_compat import sklearn_tags
        return sklearn_tags(self, "regressor")

    def _prepare_xy(self, X, y, reset, classes=None):
        dtype = check_dtype(self.dtype)
        X = check_array(X, dtype)
        _require_y(self, y)
        y_arr = np.asarray(y)
        if y_arr.dtype.kind not in "biuf":
            raise ValueError(f"y must be numeric for a regressor, got dtype {y_arr.dtype}")
        if y_arr.ndim not in (1, 2):
            raise ValueError(f"y must be 1-D or 2-D, got {y_arr.ndim}-D")
        if y_arr.shape[0] != X.shape[0]:
            raise ValueError(f"X and y have different numbers of samples: {X.shape[0]} and "
                             f"{y_arr.shape[0]}")
        Y = check_array(y_arr.reshape(len(y_arr), -1), dtype, name="y")
        if reset:
            self._y_ndim = y_arr.ndim
        elif Y.shape[1] != int(self.layout_[-1, 1]):
            raise ValueError(f"y has {Y.shape[1]} targets, but the model was fitted with "
                             f"{int(self.layout_[-1, 1])}")
        return X, Y, y_arr

    def partial_fit(self, X, y):
        """One epoch over (X, y), continuing from the current weights."""
        first = not hasattr(self, "params_")
        X, Y, _ = self._prepare_xy(X, y, reset=first)
        cfg = self._prepare_training(first, X.shape[1], Y.shape[1])
        return self._train(X, Y, 1, cfg)

    def predict(self, X):
        out = self._predict_raw(X)
        return out.ravel() if getattr(self, "_y_ndim", 2) == 1 else out

    def score(self, X, y):
        """Coefficient of determination R^2 (averaged uniformly over targets)."""
        pred = np.asarray(self.predict(X), dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if y.shape[:1] != pred.shape[:1] or y.size != pred.size:
            raise ValueError(f"y has shape {y.shape}, but the predictions for X have shape "
                             f"{pred.shape}")
        y, pred = y.reshape(len(y), -1), pred.reshape(len(y), -1)
        ss_res = ((y - pred) ** 2).sum(axis=0)
        ss_tot = ((y - y.mean(axis=0)) ** 2).sum(axis=0)
        r2 = np.where(ss_tot > 0, 1 - ss_res / np.where(ss_tot > 0, ss_tot, 1), 0.0)
        return float(r2.mean())
