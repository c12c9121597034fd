"""Divergence: what a fit does when its loss, weights or outputs become NaN or infinite.

The training driver first rolls the model back to the last weights known to be finite (those of
the start of the diverged epoch: weights, t_ and the optimizer state) and builds the
DivergenceError with ``error``; ``settle`` then makes the one decision, for every way of
training (fit, partial_fit, and any faster path):

- ``on_divergence='warn'`` (the default): ``diverged_ = True``, training stops, and a
  ConvergenceWarning (scikit-learn's too when it is loaded) carries the message; the model
  predicts and scores as the poor model it is, so a hyperparameter search over learning rates
  finishes with a finite score for every fit;
- ``on_divergence='raise'``: ``diverged_ = True`` and the DivergenceError is raised.

The remedies fit the data the network saw: scaling the inputs is suggested only when they are
far from unit scale (the largest feature's root mean square above ``scaling.RMS_LIMIT``), a
squared-error loss gets the targets' scale, and momentum its own.
"""

import warnings

from .errors import DivergenceError
from .scaling import largest_rms, RMS_LIMIT
from .sklearn_compat import convergence_warning


def remedies(s, lr, X):
    """The remedies for a divergence at rate ``lr`` with settings ``s`` on inputs X (as the
    kernels saw them: after the model's input scaling, if any)."""
    found = [f"a lower learning_rate (it was {lr:g})"]
    if s.solver == "sgd" and s.momentum > 0:
        found.append(f"less momentum (it was {s.momentum:g})")
    found.append("tighter gradient clipping (clip_value, clip_norm)" if s.clip_value or
                 s.clip_norm else "gradient clipping (clip_norm=1.0 or clip_value=...)")
    # lr * alpha >= 2 makes the decay itself overshoot: then the penalty is the suspect
    found.append("a weight penalty (alpha=...)" if s.alpha == 0 else
                 f"a smaller {s.penalty} penalty (alpha was {s.alpha:g})")
    scale = largest_rms(X)
    if scale > RMS_LIMIT:
        found.append(f"inputs of about unit scale (a feature of X has root mean square "
                     f"{scale:.3g}; standardise X, e.g. scale_inputs=True, or scale it)")
    if s.loss != "cross_entropy":
        found.append("targets y scaled to about unit variance (MLPRegressor standardises "
                     "them itself with its default identity output)")
    return ", ".join(found[:-1]) + " or " + found[-1]


def error(model, s, epoch, position, row, lr, X):
    """The DivergenceError of a fit rolled back to the start of ``epoch`` after sample
    ``position`` of that epoch (``row``: its row of the user's X) diverged at rate ``lr``."""
    return DivergenceError(
        f"Training diverged in epoch {epoch} at sample {position} of the epoch (row {row} "
        f"of X): the loss, the weights or the network's outputs became NaN or infinite. "
        f"The model keeps the weights it had at the start of epoch {epoch}. Remedies: "
        f"{remedies(s, lr, X)}.", epoch=epoch, sample=row)


def settle(model, settings, exc, stacklevel=2):
    """THE decision after a divergence (``exc``, the DivergenceError of ``error``; the model
    already rolled back): mark the model (``diverged_ = True``), then raise ``exc``
    (on_divergence='raise') or warn with its message and return (the caller stops training).
    ``stacklevel``: as warnings.warn's, counted from the caller."""
    model.diverged_ = True
    if settings.on_divergence == "raise":
        raise exc
    warnings.warn(f"{type(model).__name__}: {exc} Training stopped there: diverged_ is True "
                  f"and the model predicts with those weights (on_divergence='raise' raises "
                  f"DivergenceError instead).", convergence_warning(), stacklevel=stacklevel + 1)
