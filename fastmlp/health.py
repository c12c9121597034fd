"""Training health: the checks run once at the end of ``fit``, and the ConvergenceWarning they
raise.

``fit`` warns (fastmlp.ConvergenceWarning, a UserWarning, like scikit-learn's) when the trained
model is not what the user most likely wanted, without changing it:

- **still falling**: the fit ran all its epochs (no early stop) and the training loss still fell
  clearly: on average by more than ``max(tol, FALLING * loss)`` per epoch over its last
  ``WINDOW`` epochs, while the fit trained on fewer than params.SAMPLE_BUDGET samples (the
  reference workload's 3 epochs of MNIST; per-sample SGD's loss goes on falling slowly for a
  long time, and a fit of that size is not called unfinished). More epochs (or
  ``epochs='auto'``, the default) would help.
- **collapsed**: a classifier whose accuracy on the training rows is hardly better than always
  answering the most frequent class (share s): at most ``s + CHANCE_MARGIN * (1 - s)``; a
  regressor whose R^2 on the training rows is at most ``CHANCE_MARGIN`` (hardly better than
  predicting the mean, e.g. on raw inputs of a scale the default learning rate cannot handle); or a network with a hidden ReLU
  layer whose every unit outputs 0 on every training row (dead units pass no gradient back and
  never recover; the output no longer depends on the input). Usually a learning rate far too
  high.
- **exploding**: the last epoch's loss ended far above where the fit started: more than
  ``EXPLODING`` times the lowest epoch loss and above the first epoch's. Finite, but on its way
  to a DivergenceError (which stays for NaN/infinity).

The training rows checked are at most ``ROWS`` evenly spaced rows of the training set, run
through the network in NumPy (float64) once: a few milliseconds.
"""

import numpy as np

from .codes import RELU
from .diagnostics import batch_forward
from .errors import ConvergenceWarning
from .params import SAMPLE_BUDGET
from .scaling import RMS_LIMIT, largest_rms

ROWS = 4096
WINDOW = 5  # epochs over which "still falling" averages the loss's fall
FALLING = 0.01  # relative fall per epoch that counts as "still falling clearly"
CHANCE_MARGIN = 0.1  # accuracy within this share of the way from chance to 1 counts as chance
EXPLODING = 2.0
MIN_ROWS = 20  # below this many training rows, accuracy at chance is not evidence of collapse

__all__ = ["ConvergenceWarning", "check"]


def still_falling(curve, tol, samples):
    """The reason the loss curve of a fit that ran all its epochs is unfinished, or None."""
    if len(curve) < 2 or samples >= SAMPLE_BUDGET:
        return None
    k = min(WINDOW, len(curve) - 1)
    fall = (curve[-k - 1] - curve[-1]) / k
    if fall > max(tol, FALLING * curve[-1]):
        return (f"the training loss was still falling by {fall:.3g} per epoch over the last "
                f"{k} epochs (to {curve[-1]:.4g}) when the {len(curve)} epochs ran out; raise "
                f"epochs (epochs='auto' trains small data sets for up to 200 epochs and stops "
                f"when the loss stalls)")
    return None


def exploding(curve):
    if len(curve) < 2:
        return None
    low = min(curve)
    if curve[-1] > EXPLODING * low and curve[-1] > curve[0]:
        return (f"the training loss ended at {curve[-1]:.4g}, {curve[-1] / low:.3g} times its "
                f"lowest epoch ({low:.4g}): training is unstable; lower learning_rate or clip "
                f"the gradients (clip_norm=...)")
    return None


def _scale_hint(X, rows):
    # scaling X is a remedy only for inputs far from unit scale (as the network saw them)
    scale = largest_rms(X[rows])
    return (f"standardise X (scale_inputs=True; a feature's root mean square is {scale:.3g}), "
            if scale > RMS_LIMIT else "")


def collapsed(params, layout, X, Y, activations, classifier):
    """The reason the network collapsed on the training rows (X, Y), or None."""
    rows = np.linspace(0, X.shape[0] - 1, min(ROWS, X.shape[0])).astype(np.int64)
    with np.errstate(all="ignore"):
        outs = batch_forward(params, layout, X[rows], activations)
    for l, out in enumerate(outs[:-1]):
        if activations[l] == RELU and not np.any(out > 0):
            return (f"every unit of hidden layer {l + 1} (ReLU) outputs 0 on every training "
                    f"row: the units are dead, the network's output no longer depends on its "
                    f"input, and no gradient can revive them; {_scale_hint(X, rows)}lower "
                    f"learning_rate and refit")
    one_hot = bool(np.all(Y[rows].sum(axis=1) == 1))  # not a multilabel indicator matrix
    if classifier and len(rows) >= MIN_ROWS and Y.shape[1] >= 2 and one_hot:
        target = np.argmax(Y[rows], axis=1)
        share = np.bincount(target, minlength=Y.shape[1]).max() / len(rows)
        if share < 1:
            accuracy = float(np.mean(np.argmax(outs[-1], axis=1) == target))
            if accuracy <= share + CHANCE_MARGIN * (1 - share):
                return (f"the training accuracy is {accuracy:.3f}, about chance level (always "
                        f"answering the most frequent class scores {share:.3f}): training "
                        f"collapsed; {_scale_hint(X, rows)}lower learning_rate and refit")
    if not classifier and len(rows) >= MIN_ROWS:
        r2 = _r2(Y[rows], outs[-1])
        if r2 is not None and r2 <= CHANCE_MARGIN:
            return (f"the training R^2 is {r2:.3f}: the network predicts the training targets "
                    f"hardly better than their mean: training collapsed (or y does not depend on "
                    f"X); {_scale_hint(X, rows)}lower learning_rate and refit")
    return None


def _r2(Y, out):
    """R^2 of out for the targets Y, averaged over the targets that vary (None: none do)."""
    Y = np.asarray(Y, np.float64)
    ss_tot = ((Y - Y.mean(axis=0)) ** 2).sum(axis=0)
    varies = ss_tot > 0
    if not varies.any() or not np.isfinite(out).all():
        return None
    ss_res = ((Y - out) ** 2).sum(axis=0)
    return float(np.mean(1 - ss_res[varies] / ss_tot[varies]))


def check(model, X, Y, settings, ran_out, curve, samples):
    """The health problems of a finished fit, as a list of messages (empty: healthy).

    ran_out: the fit ran all its epochs (no early stop); curve: this fit's epoch losses;
    samples: the samples this fit trained on.
    """
    problems = []
    if ran_out:
        problems.append(still_falling(curve, settings.tol, samples))
    problems.append(exploding(curve))
    problems.append(collapsed(model.params_, model.layout_, X, Y, settings.activation_codes,
                              settings.loss == "cross_entropy" or hasattr(model, "classes_")))
    return [p for p in problems if p]
