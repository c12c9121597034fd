"""The training driver: epochs and chunks around the backend's compiled ``train_epoch``.

The shape of umap's layouts: one compiled call runs every sample of a chunk of an epoch, and
this Python loop around it owns everything between calls -- the sample order, the learning-rate
schedule (evaluated once per chunk, fastmlp/stopping.py), the progress bar, Ctrl-C (deferred to
the next chunk boundary), divergence (roll back to the epoch's start; fastmlp/divergence.py
decides: warn and stop, or raise DivergenceError), the per-epoch curves, validation scores and
early stopping (fastmlp/stopping.py).

The driver reads hyperparameters only from the frozen ``Settings`` it is given (resolved once
per fit/partial_fit), and updates the model's fitted state in place: ``params_`` (through the
views ``coefs_``/``intercepts_``), ``n_iter_``, ``t_``, ``loss_curve_``, ``accuracy_curve_``,
``validation_scores_`` and the shuffling generator ``_rng``. Validation rows are scored with
``model.score``. It never imports the estimators.
"""

import sys
import time
import warnings

import numpy as np

from . import diagnostics, divergence, health, sparse
from .backends import get_backend
from .errors import DivergenceError, OutputOverflow
from .interrupts import DeferredInterrupt, interrupt_note as _interrupt_note, with_note
from .layout import activation_size, coef_views
from .progress import ProgressBar
from .sklearn_compat import convergence_warning
from .stopping import Patience, rate_at
from .validation import check_array, check_random_state


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

    X, Y: checked C-contiguous arrays of the parameters' dtype (X may be a checked CSR matrix),
    X as the kernels see it (after fitted.transform_inputs). validation: (X_val, y_val) to
    score after every epoch, or None. rows: the user's row of each training row (a validation
    split trains on a subset), so a DivergenceError names a row of the X given to fit.
    sample_weight: None, or one weight per row of X, already checked by the caller (finite,
    >= 0, not all 0, shape (n,)); see sample_weights. The loss curve is then the weighted mean
    loss; the accuracy curve counts the trained rows (weight > 0) unweighted.

    Divergence (NaN or infinity): the model is rolled back to the start of the diverged epoch
    and divergence.settle decides (warn and stop, or raise DivergenceError); ``diverged_``
    says whether this call diverged.

    Ctrl-C: the model keeps the weights of the last completed chunk of ``chunk_size``
    samples, with n_iter_ (completed epochs), t_ (samples trained) and the per-epoch curves
    consistent with them, and the KeyboardInterrupt is re-raised.
    """
    s = settings
    total = max(s.n_epochs(X.shape[0]), epochs)
    if rate_at(model, s, model.n_iter_, total, model.t_) == 0:
        warnings.warn(f"the learning rate is 0 from epoch {model.n_iter_ + 1} on "
                      f"(lr_schedule={s.lr_schedule!r} ended after epochs={total}): "
                      f"this training does not change the weights; call fit to start "
                      f"over, or raise epochs", UserWarning, stacklevel=stacklevel)
    kept, weights = sample_weights(sample_weight, X.shape[0], s.dtype)
    n_iter, t = model.n_iter_, model.t_
    model.diverged_ = False
    if validation is not None and model.validation_scores_ is None:
        model.validation_scores_ = []
    try:
        with DeferredInterrupt() as interrupt:
            ran_out = _run(model, X, Y, epochs, s, validation, epoch_callback, rows, interrupt,
                           kept, weights)
    except DivergenceError as exc:
        divergence.settle(model, s, exc, stacklevel=stacklevel)
        return model
    if check_health:
        for problem in health.check(model, X, Y, s, ran_out, model.loss_curve_[n_iter:],
                                    model.t_ - t):
            warnings.warn(f"{type(model).__name__}: {problem}.", convergence_warning(),
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
    line = s.verbose and not (isinstance(s.verbose, str) and s.verbose == "bar")
    patience = Patience(s, validation is not None, line)
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

        def diverged(position, row, lr):  # roll back to the epoch's start, raise
            _diverged(model, s, snapshot, t_epoch, position, row, lr, rows, optimizer_epoch, X)

        bar = ProgressBar(n, f"epoch {model.n_iter_ + 1}") if s.verbose else None
        loss_sum, n_correct = 0.0, 0
        lr = s.learning_rate
        for start in range(0, n, chunk):
            idx = order[start:start + chunk]
            # progress counts every epoch since the last fresh start, so schedules go on
            # decaying across partial_fit calls; linear reaches zero after settings.epochs
            lr = rate_at(model, s, model.n_iter_ + start / n, total, t_epoch)
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
                    diverged(start + done, int(idx[done]), lr)
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
        try:
            # the epoch's results, computed before any of the model's counters or curves
            # change: a (second) Ctrl-C in here undoes the whole epoch, so n_iter_, t_, the
            # weights and the curves stay in step
            if not np.isfinite(params).all():
                diverged(*last, lr)
            epoch_loss = loss_sum / n + weight_penalty(coefs, s.l2, s.l1)
            if not np.isfinite(epoch_loss):
                # finite weights so large that the penalty overflows: diverged as well
                diverged(*last, lr)
            accuracy = (subset_accuracy(backend, model, X, Y, kept) if
                        getattr(model, "_multilabel", False) else n_correct / n)
            info = dict(epoch=model.n_iter_ + 1, loss=epoch_loss, train_accuracy=accuracy)
            if validation is not None:
                # outputs overflowing on held-out rows mean the weights blew up (the rows come
                # from the same data), not bad input
                try:
                    info["validation_score"] = float(model.score(*validation))
                    if s.diagnostics:  # the loss costs a second pass over the rows
                        val_loss = _data_loss(model, validation)
                        if val_loss is not None:
                            info["validation_loss"] = val_loss
                except OutputOverflow:
                    diverged(*last, lr)
            record = {}
            if s.diagnostics:
                diagnostics.record(record, snapshot, params, layout, X, Y, s.activation_codes,
                                   s.loss_code)
        except KeyboardInterrupt as exc:
            params[...] = snapshot
            model.t_ = t_epoch
            _restore_optimizer(model, optimizer_epoch)
            raise with_note(exc, _interrupt_note(model, n, n)) from None
        with interrupt.held():  # one epoch's bookkeeping, all or nothing
            for key, values in record.items():
                model.__dict__.setdefault("diagnostics_", {}).setdefault(key, []).extend(values)
            model.n_iter_ += 1
            model.loss_curve_.append(epoch_loss)
            model.accuracy_curve_.append(accuracy)
            if validation is not None:
                model.validation_scores_.append(info["validation_score"])
        info["seconds"] = time.perf_counter() - tic
        if line:
            print(epoch_line(info, hasattr(model, "classes_")), file=sys.stderr, flush=True)
        if epoch_callback is not None:
            epoch_callback(model, info)
        interrupt.check(_interrupt_note(model, n, n))
        score = info["validation_score"] if validation is not None else -epoch_loss
        if patience.update(model, params, score):
            patience.finish(params)
            return False
    patience.finish(params)
    return True


def subset_accuracy(backend, model, X, Y, kept):
    """A multilabel classifier's training accuracy at the end of an epoch: the share of the
    trained rows whose every output is on the right side of 0.5 (scikit-learn's subset
    accuracy), from one forward pass over them."""
    if kept is not None:
        X, Y = sparse.take_rows(X, kept), Y[kept]
    out = np.empty(Y.shape, dtype=model.params_.dtype)
    acts = np.empty(activation_size(model.layout_), dtype=model.params_.dtype)
    sparse.predict(backend, out, X, model.params_, acts, model.layout_,
                   model._settings.activation_codes)
    return float(np.mean(np.all((out > 0.5) == (Y > 0.5), axis=1)))


def epoch_line(info, classifier):
    """One epoch as ``verbose=True`` prints it: scikit-learn's ``Iteration N, loss = ...``,
    then the training accuracy (classifier), the validation score and the seconds."""
    parts = [f"Iteration {info['epoch']}, loss = {info['loss']:.8f}"]
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


def _diverged(model, s, snapshot, t_epoch, position, row, lr, rows=None, optimizer=None,
              X=None):
    """Roll the model back to the epoch's start (weights, t_ and, if given, the optimizer
    state saved by _save_optimizer) and raise the DivergenceError of divergence.error (X: the
    training inputs, for the remedies)."""
    # rows: the user's row number of each training row (a validation split trains on a
    # subset), so the message and DivergenceError.sample name a row of the X passed to fit
    if rows is not None:
        row = int(rows[row])
    model.params_[...] = snapshot
    model.t_ = t_epoch
    if optimizer is not None:
        _restore_optimizer(model, optimizer)
    raise divergence.error(model, s, model.n_iter_ + 1, position, row, lr, X)
