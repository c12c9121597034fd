"""The training driver: epochs and chunks around the backend's compiled ``train_epoch``.

The shape of umap's layouts: one compiled call runs every sample of a chunk of an epoch, and
this Python loop around it owns everything between calls -- the sample order, the learning-rate
schedule (evaluated once per chunk), the progress bar, Ctrl-C (deferred to the next chunk
boundary), divergence (roll back to the epoch's start, raise DivergenceError), the per-epoch
curves, validation scores and early stopping.

The driver reads hyperparameters only from the frozen ``Settings`` it is given (resolved once
per fit/partial_fit), and updates the model's fitted state in place: ``params_`` (through the
views ``coefs_``/``intercepts_``), ``n_iter_``, ``t_``, ``loss_curve_``, ``accuracy_curve_``,
``validation_scores_`` and the shuffling generator ``_rng``. Validation rows are scored with
``model.score``. It never imports the estimators.
"""

import signal
import sys
import threading
import time
import warnings

import numpy as np

from . import diagnostics, health, sparse
from .backends import get_backend
from .errors import ConvergenceWarning, DivergenceError, OutputOverflow
from .layout import activation_size, coef_views
from .progress import ProgressBar
from .schedules import learning_rate_at
from .validation import check_array, check_random_state


def with_note(exc, note):
    if hasattr(exc, "add_note"):  # Python >= 3.11
        exc.add_note(note)
    return exc


class DeferredInterrupt:
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
            raise with_note(KeyboardInterrupt(), note)

    def __exit__(self, exc_type, exc, tb):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        if self.pending and not isinstance(exc, KeyboardInterrupt):
            raise KeyboardInterrupt  # never swallow a Ctrl-C (e.g. one during a DivergenceError)
        return False


def validation_set(X, Y, y, validation_data, settings, check_targets):
    """(X_train, Y_train, (X_val, y_val) or None, rows) from validation_data or the settings'
    validation_fraction; rows[i] is the row of X that training row i came from (None: all).
    check_targets(y_val, dtype, n_targets): the estimator's check of validation targets."""
    if validation_data is not None:
        try:
            X_val, y_val = validation_data
        except (TypeError, ValueError):
            raise ValueError("validation_data must be a pair (X_val, y_val)") from None
        X_val = check_array(X_val, X.dtype, name="validation_data X_val", n_features=X.shape[1])
        y_val = np.asarray(y_val)
        if y_val.ndim == 0 or len(y_val) != X_val.shape[0]:
            raise ValueError(f"validation_data: X_val and y_val have different numbers of "
                             f"samples: {X_val.shape[0]} and "
                             f"{len(y_val) if y_val.ndim else 'a scalar'}")
        check_targets(y_val, X.dtype, Y.shape[1])
        return X, Y, (X_val, y_val), None
    if settings.validation_fraction > 0:
        return split_validation(X, Y, y, settings.validation_fraction, settings.random_state)
    return X, Y, None, None


def split_validation(X, Y, y, fraction, random_state):
    """(X_train, Y_train, (X_val, y_val), rows) holding out round(fraction * n) random rows;
    rows[i] is the row of X that training row i came from."""
    n_val = int(round(fraction * X.shape[0]))
    if n_val < 1 or n_val >= X.shape[0]:
        raise ValueError(f"validation_fraction={fraction} leaves {n_val} validation samples of "
                         f"{X.shape[0]}; need at least 1 for each side")
    perm = check_random_state(random_state).permutation(X.shape[0])
    val, tr = perm[:n_val], np.sort(perm[n_val:])
    return (sparse.take_rows(X, tr), np.ascontiguousarray(Y[tr]),
            (X[val], np.asarray(y)[val]), tr)


def train(model, X, Y, epochs, settings, validation=None, epoch_callback=None, rows=None,
          stacklevel=3, check_health=True, sample_weight=None):
    """Run ``epochs`` epochs over (X, Y) with validation/early stopping; returns the model.
    check_health: warn (ConvergenceWarning, see health.py) if the fit ended unhealthy.

    X, Y: checked C-contiguous arrays of the parameters' dtype (X may be a checked CSR matrix). validation: (X_val, y_val) to
    score after every epoch, or None. rows: the user's row of each training row (a validation
    split trains on a subset), so a DivergenceError names a row of the X given to fit.
    sample_weight: None, or one weight per row of X, already checked by the caller (finite,
    >= 0, not all 0, shape (n,)); see sample_weights. The loss curve is then the weighted mean
    loss; the accuracy curve counts the trained rows (weight > 0) unweighted.

    Ctrl-C: the model keeps the weights of the last completed chunk of ``chunk_size``
    samples, with n_iter_ (completed epochs), t_ (samples trained) and the per-epoch curves
    consistent with them, and the KeyboardInterrupt is re-raised.
    """
    s = settings
    total = max(s.n_epochs(X.shape[0]), epochs)
    if learning_rate_at(s.lr_schedule, s.learning_rate, model.n_iter_, total, s.lr_decay,
                        s.lr_step) == 0:
        warnings.warn(f"the learning rate is 0 from epoch {model.n_iter_ + 1} on "
                      f"(lr_schedule={s.lr_schedule!r} ended after epochs={total}): "
                      f"this training does not change the weights; call fit to start "
                      f"over, or raise epochs", UserWarning, stacklevel=stacklevel)
    kept, weights = sample_weights(sample_weight, X.shape[0], s.dtype)
    n_iter, t = model.n_iter_, model.t_
    with DeferredInterrupt() as interrupt:
        ran_out = _run(model, X, Y, epochs, s, validation, epoch_callback, rows, interrupt, kept,
                       weights)
    if check_health:
        for problem in health.check(model, X, Y, s, ran_out, model.loss_curve_[n_iter:],
                                    model.t_ - t):
            warnings.warn(f"{type(model).__name__}: {problem}.", ConvergenceWarning,
                          stacklevel=stacklevel)
    return model


def sample_weights(sample_weight, n, dtype):
    """(kept, weights) for the kernels from the caller's checked per-row weights (or None).

    kept: the rows with a weight > 0, the only ones an epoch visits (a zero weight is exactly a
    skipped row), or None for all rows. weights: (n,) of dtype, the kept rows' weights divided
    by their mean (so the learning rate means what it means without weights, and the loss is
    the weighted mean), or a (0,) array -- every weight 1 -- when the kept weights are all equal
    (then training is bit for bit the unweighted training on the kept rows).
    """
    none = np.zeros(0, dtype)
    if sample_weight is None:
        return None, none
    w = np.asarray(sample_weight, np.float64)
    kept = np.flatnonzero(w > 0)
    if kept.size == n:
        kept = None
    wk = w if kept is None else w[kept]
    if (wk == wk[0]).all():
        return kept, none
    weights = np.zeros(n, np.float64)
    weights[kept if kept is not None else slice(None)] = wk / wk.mean()
    return kept, weights.astype(dtype)


def _run(model, X, Y, epochs, s, validation, epoch_callback, rows, interrupt, kept, weights):
    backend = get_backend(s.backend)
    params, layout, dtype = model.params_, model.layout_, s.dtype
    # n: the rows an epoch trains (the kept ones with sample weights)
    n = X.shape[0] if kept is None else kept.shape[0]
    B = s.batch(n)
    chunk = max(B, (s.chunk_size // B) * B)  # batches never straddle chunks
    total = max(s.n_epochs(n), epochs)
    n_acts = activation_size(layout)
    grads = np.zeros_like(params)
    acts = np.zeros(n_acts, dtype=dtype)
    dacts = np.zeros(n_acts, dtype=dtype)
    # the penalty's two coefficients (penalty='l2': alpha, 0; 'l1': 0, alpha; elasticnet: mixed)
    alpha, l1 = dtype.type(s.l2), dtype.type(s.l1)
    clip_value, clip_norm = dtype.type(s.clip_value), dtype.type(s.clip_norm)
    coefs, _ = coef_views(params, layout)
    best_score, best_params, stall = -np.inf, None, 0
    chunk_start = np.empty_like(params)
    for _ in range(epochs):
        tic = time.perf_counter()
        order = (model._rng.permutation(n) if s.shuffle else np.arange(n)).astype(np.int64)
        if kept is not None:
            # positions among the kept rows -> rows of X (the same draws as without weights)
            order = kept[order].astype(np.int64)
        snapshot = params.copy()
        t_epoch = model.t_
        optimizer_epoch = _save_optimizer(model)
        bar = ProgressBar(n, f"epoch {model.n_iter_ + 1}") if s.verbose else None
        line = s.verbose and not (isinstance(s.verbose, str) and s.verbose == "bar")
        loss_sum, n_correct = 0.0, 0
        lr = s.learning_rate
        for start in range(0, n, chunk):
            idx = order[start:start + chunk]
            # progress counts every epoch since the last fresh start, so schedules go on
            # decaying across partial_fit calls; linear reaches zero after settings.epochs
            lr = learning_rate_at(s.lr_schedule, s.learning_rate, model.n_iter_ + start / n,
                                  total, s.lr_decay, s.lr_step)
            chunk_start[...] = params
            t_chunk = model.t_
            optimizer_chunk = _save_optimizer(model)
            step = np.array([model.adam_steps_], np.int64)
            try:
                # the one call into the backend's compiled epoch
                ls, nc, done = sparse.train_epoch(  # train_epoch_csr for sparse X
                    backend, params, grads, acts, dacts, X, Y, idx, layout, s.activation_codes,
                    s.loss_code, dtype.type(lr), alpha, l1, clip_value, clip_norm, B,
                    weights, *optimizer_arguments(model, s, step))
                model.adam_steps_ = int(step[0])
                if done < idx.shape[0]:
                    _diverged(model, s, snapshot, t_epoch, start + done, int(idx[done]), lr,
                              rows, optimizer_epoch)
                loss_sum += float(ls)
                n_correct += int(nc)
                model.t_ += idx.shape[0]
            except KeyboardInterrupt as exc:
                # raised inside this chunk (before or right after the kernel ran): undo it
                params[...] = chunk_start
                model.t_ = t_chunk
                _restore_optimizer(model, optimizer_chunk)
                raise with_note(exc, _interrupt_note(model, start, n)) from None
            if bar:
                bar.update(start + idx.shape[0])
            if start + chunk < n:
                interrupt.check(_interrupt_note(model, start + chunk, n))
        if bar:
            bar.close()
        last = (n - 1, int(order[-1]))
        if not np.isfinite(params).all():
            _diverged(model, s, snapshot, t_epoch, *last, lr, rows, optimizer_epoch)
        penalty = weight_penalty(coefs, s.l2, s.l1)
        epoch_loss = loss_sum / n + penalty
        if not np.isfinite(epoch_loss):
            # finite weights so large that the penalty overflows: diverged as well
            _diverged(model, s, snapshot, t_epoch, *last, lr, rows, optimizer_epoch)
        if validation is not None:
            # scored before any state changes; outputs overflowing on held-out rows mean
            # the weights blew up (the rows come from the same data), not bad input
            try:
                val_score = float(model.score(*validation))
                # the loss costs a second pass over the rows: only with diagnostics (plots)
                val_loss = _data_loss(model, validation) if s.diagnostics else None
            except OutputOverflow:
                _diverged(model, s, snapshot, t_epoch, *last, lr, rows, optimizer_epoch)
        if s.diagnostics:
            diagnostics.record(model.__dict__.setdefault("diagnostics_", {}), snapshot, params,
                               layout, X, Y, s.activation_codes, s.loss_code)
        model.n_iter_ += 1
        model.loss_curve_.append(epoch_loss)
        model.accuracy_curve_.append(n_correct / n)
        info = dict(epoch=model.n_iter_, loss=model.loss_curve_[-1],
                    train_accuracy=n_correct / n, seconds=time.perf_counter() - tic)
        if validation is not None:
            model.validation_scores_.append(val_score)
            info["validation_score"] = model.validation_scores_[-1]
            if val_loss is not None:
                info["validation_loss"] = val_loss
        if line:
            print(epoch_line(info, hasattr(model, "classes_")), file=sys.stderr, flush=True)
        if epoch_callback is not None:
            epoch_callback(model, info)
        interrupt.check(_interrupt_note(model, n, n))
        if s.patience is not None:
            score = (model.validation_scores_[-1] if validation is not None
                     else -model.loss_curve_[-1])
            if score > best_score + s.tol:
                best_score, stall = score, 0
                best_params = params.copy() if validation is not None else None
            else:
                stall += 1
                if stall >= s.patience:
                    if validation is not None and best_params is not None:
                        params[...] = best_params  # keep the best validated weights
                    return False
    return True


def epoch_line(info, classifier):
    """One epoch as ``verbose=True`` prints it: loss, training accuracy (classifier),
    validation score, seconds."""
    parts = [f"epoch {info['epoch']}: loss {info['loss']:.4f}"]
    if classifier:
        parts.append(f"train accuracy {info['train_accuracy']:.4f}")
    if "validation_score" in info:
        parts.append(f"validation {'accuracy' if classifier else 'R2'} "
                     f"{info['validation_score']:.4f}")
    parts.append(f"{info['seconds']:.2f} s")
    return ", ".join(parts)


def optimizer_arguments(model, s, step):
    """The train_epoch arguments after sample_weight: (solver, momentum, nesterov, beta_1,
    beta_2, epsilon, velocity, sq_avg, step); the state is the model's (fitted.optimizer_state),
    updated in place, Adam's step count in ``step`` ((1,) int64)."""
    t = s.dtype.type
    return (s.solver_code, t(s.momentum), bool(s.nesterovs_momentum), t(s.beta_1),
            t(s.beta_2), t(s.epsilon), model.velocity_, model.sq_avg_, step)


def _save_optimizer(model):
    return model.velocity_.copy(), model.sq_avg_.copy(), model.adam_steps_


def _restore_optimizer(model, saved):
    model.velocity_[...], model.sq_avg_[...], model.adam_steps_ = saved


def _data_loss(model, validation):
    try:
        return model.data_loss(*validation)
    except ValueError:  # e.g. a class the model has no output for: the score still counts
        return None


def weight_penalty(coefs, l2, l1):
    """The penalty the loss curve includes: l2/2 * sum(W**2) + l1 * sum(|W|) over the weight
    matrices (never the biases), summed in float64."""
    penalty = 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        if l2 > 0:
            penalty += 0.5 * float(l2) * sum(float(np.sum(W.astype(np.float64) ** 2))
                                             for W in coefs)
        if l1 > 0:
            penalty += float(l1) * sum(float(np.sum(np.abs(W.astype(np.float64))))
                                       for W in coefs)
    return penalty


def _interrupt_note(model, done, n):
    where = (f"after epoch {model.n_iter_}" if done == n else
             f"after {done} of {n} samples of epoch {model.n_iter_ + 1}")
    return (f"fastmlp: training stopped by KeyboardInterrupt {where}. The model keeps the "
            f"weights of the last completed chunk (n_iter_={model.n_iter_}, t_={model.t_}) "
            f"and can predict, be saved, or continue with partial_fit.")


def _diverged(model, s, snapshot, t_epoch, position, row, lr, rows=None, optimizer=None):
    """Roll the model back to the epoch's start (weights, t_ and, if given, the optimizer
    state saved by _save_optimizer) and raise DivergenceError."""
    # rows: the user's row number of each training row (a validation split trains on a
    # subset), so the message and DivergenceError.sample name a row of the X passed to fit
    if rows is not None:
        row = int(rows[row])
    model.params_[...] = snapshot
    model.t_ = t_epoch
    if optimizer is not None:
        _restore_optimizer(model, optimizer)
    epoch = model.n_iter_ + 1
    # lr * alpha >= 2 makes the decay itself overshoot: then the penalty is the suspect
    target_hint = ("" if s.loss == "cross_entropy" else
                   ", and targets y scaled to about unit variance (MLPRegressor standardises "
                   "them itself with its default identity output)")
    penalty_hint = ("a weight penalty (alpha=...)" if s.alpha == 0 else
                    f"a smaller {s.penalty} penalty (alpha was {s.alpha:g})")
    raise DivergenceError(
        f"Training diverged in epoch {epoch} at sample {position} of the epoch (row {row} "
        f"of X): the loss, the weights or the network's outputs became NaN or infinite. "
        f"The model keeps the weights it had at the start of epoch {epoch}. Remedies: a "
        f"lower learning_rate (it was {lr:g}), gradient clipping (clip_value=... or "
        f"clip_norm=...), "
        f"{penalty_hint}, or inputs scaled to about [0, 1]{target_hint}.", epoch=epoch,
        sample=row)
