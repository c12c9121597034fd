"""The learning rate of each chunk and the end of a fit: schedules (fastmlp's and scikit-learn's
invscaling and adaptive), early stopping on the training loss or a validation score, and the
best validated weights.

The training driver (fastmlp/training.py) asks ``rate_at`` for the rate of every chunk and gives
``Patience`` each finished epoch; ``Patience`` says when to stop, divides the adaptive rate,
and keeps the best validated weights, as scikit-learn's MLPs do:

- **patience**: an epoch whose score (the validation score, or minus the training loss) is not
  above the best so far plus ``tol`` counts as stalled; ``settings.patience`` stalled epochs in
  a row stop the fit (np.inf: never).
- **adaptive** (``lr_schedule='adaptive'``): instead of stopping, the rate is divided by
  ``ADAPTIVE_FACTOR`` (5) and the count starts over, until the rate is at most
  ``ADAPTIVE_MIN`` (1e-6); the factor reached is fitted state (``_lr_scale``), so partial_fit and
  a saved model go on at the rate the fit ended with.
- **best weights**: with validation and a patience, the weights of the best validation score
  are restored when the fit stops or runs out of epochs (scikit-learn's early_stopping).
"""

import sys

import numpy as np

from .schedules import learning_rate_at

ADAPTIVE_FACTOR = 5.0
ADAPTIVE_MIN = 1e-6


def rate_at(model, s, progress, total, t_epoch):
    """The learning rate of a chunk: ``progress`` epochs since the last fresh start, of
    ``total``; ``t_epoch``: the samples trained before this epoch (invscaling's t, evaluated
    once per epoch as in scikit-learn)."""
    if s.lr_schedule == "invscaling":
        return s.learning_rate / (t_epoch + 1) ** s.power_t
    if s.lr_schedule == "adaptive":
        return s.learning_rate * getattr(model, "_lr_scale", 1.0)
    return learning_rate_at(s.lr_schedule, s.learning_rate, progress, total, s.lr_decay,
                            s.lr_step)


class Patience:
    """Early stopping and the adaptive schedule over the epochs of one fit."""

    def __init__(self, settings, validating, verbose_lines):
        self.s = settings
        self.validating = validating
        self.lines = verbose_lines
        self.best_score = -np.inf  # the score that last improved by tol
        self.best_seen = -np.inf  # the best score of any epoch
        self.best_params = None
        self.stall = 0

    def _say(self, text):
        if self.lines:
            print(text, file=sys.stderr, flush=True)

    def update(self, model, params, score):
        """Record an epoch's score (higher is better); True: stop the fit now."""
        s = self.s
        if s.patience is None:
            return False
        if score > self.best_seen:
            self.best_seen = score
            if self.validating:
                self.best_params = params.copy()
        if score > self.best_score + s.tol:
            self.best_score, self.stall = score, 0
            return False
        self.stall += 1
        if self.stall < s.patience:
            return False
        what = "Validation score" if self.validating else "Training loss"
        message = (f"{what} did not improve more than tol={s.tol:g} for {self.stall} "
                   f"consecutive epochs.")
        if s.lr_schedule == "adaptive":
            rate = s.learning_rate * getattr(model, "_lr_scale", 1.0)
            if rate > ADAPTIVE_MIN:
                model._lr_scale = getattr(model, "_lr_scale", 1.0) / ADAPTIVE_FACTOR
                self.stall = 0
                self._say(f"{message} Setting learning rate to "
                          f"{s.learning_rate * model._lr_scale:g}")
                return False
            message += " Learning rate too small."
        self._say(f"{message} Stopping.")
        return True

    def finish(self, params):
        """At the end of the fit (stopped or out of epochs): the best validated weights."""
        if self.validating and self.best_params is not None:
            params[...] = self.best_params
