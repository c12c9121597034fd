"""Learning-rate schedules, evaluated by the Python loop once per chunk of samples.

``t`` is training progress in epochs (fractional inside an epoch), ``total`` the number of epochs
the current fit will run. The compiled epoch sees a constant rate within a chunk.
"""

import math

SCHEDULES = ("constant", "step", "exponential", "inverse_time", "linear")


def learning_rate_at(schedule, lr0, t, total, decay=0.5, step=1):
    """Learning rate at progress t (epochs).

    - constant:     lr0
    - step:         lr0 * decay ** floor(t / step)
    - exponential:  lr0 * decay ** t
    - inverse_time: lr0 / (1 + decay * t)
    - linear:       lr0 * (1 - t / total), down to zero at the end of the fit
    """
    if schedule == "constant":
        return lr0
    if schedule == "step":
        return lr0 * decay ** math.floor(t / step)
    if schedule == "exponential":
        return lr0 * decay ** t
    if schedule == "inverse_time":
        return lr0 / (1.0 + decay * t)
    if schedule == "linear":
        return lr0 * max(0.0, 1.0 - t / total) if total > 0 else lr0
    raise ValueError(f"lr_schedule={schedule!r} is not supported; expected one of {SCHEDULES}")
