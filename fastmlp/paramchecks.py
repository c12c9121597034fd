"""The checks of the hyperparameter table (fastmlp/params.py), one per hyperparameter.

Each check gets the value and the hyperparameters resolved before it (table order), and
returns the value the training loop will use; errors are ValueErrors naming the parameter.
"""

import math
import numbers

import numpy as np

from .codes import HIDDEN_ACTIVATIONS, LOSSES, OUTPUT_ACTIVATIONS, SOLVERS
from .init import INITIALISERS, default_init
from .schedules import SCHEDULES
from .sklearn_compat import is_schedule_name
from .validation import check_choice, check_dtype, check_hidden_layer_sizes, check_positive

# learning_rate=None: the solver's default rate, scikit-learn's learning_rate_init defaults
# (plain per-sample SGD keeps the reference workload's 0.01; Adam's normalised step needs less)
SGD_RATE = 0.01
ADAM_RATE = 0.001
# the schedules of fastmlp, and scikit-learn's two more (evaluated by the training driver)
LR_SCHEDULES = SCHEDULES + ("invscaling", "adaptive")
# early_stopping=True with validation_fraction left at 0: scikit-learn's default fraction
EARLY_STOPPING_FRACTION = 0.1
EARLY_STOPPING_PATIENCE = 10
DIVERGENCE = ("warn", "raise")
# scikit-learn's name of the sigmoid
ALIASES = {"logistic": "sigmoid"}


def _hidden(value, done):
    return check_hidden_layer_sizes(value)


def _choice(name, allowed):
    return lambda value, done: check_choice(name, value, allowed)


def _number(name, integer=False, allow_zero=False):
    def check(value, done):
        check_positive(name, value, integer=integer, allow_zero=allow_zero)
        return int(value) if integer else value
    return check


def _estimator_default(name):
    # None: the estimator's default (resolve's arguments), checked like a number >= 0
    def check(value, done):
        value = done["_" + name] if value is None else value
        check_positive(name, value, allow_zero=True)
        return value
    return check


def _activation(value, done):
    return check_choice("activation", ALIASES.get(value, value) if isinstance(value, str)
                        else value, HIDDEN_ACTIVATIONS)


def _output_activation(value, done):
    value = value or done["_output_activation"]
    return check_choice("output_activation", ALIASES.get(value, value) if isinstance(value, str)
                        else value, OUTPUT_ACTIVATIONS)


def _loss(value, done):
    # cross_entropy: with softmax the categorical one; with sigmoid outputs the binary one of
    # each output (multilabel), whose output gradient is the same out - y
    out_act = done["output_activation"]
    loss = value or ("cross_entropy" if out_act == done["_output_activation"] and
                     done["_loss"] == "cross_entropy" and out_act in ("softmax", "sigmoid")
                     else "squared_error")
    check_choice("loss", loss, tuple(LOSSES))
    if loss == "cross_entropy" and out_act not in ("softmax", "sigmoid"):
        raise ValueError(f"loss='cross_entropy' needs output_activation='softmax' (or "
                         f"'sigmoid': binary cross-entropy per output), got "
                         f"output_activation={out_act!r}; use loss='squared_error' instead")
    return loss


def _learning_rate(value, done):
    # None: the solver's default, filled in by _solver; one of scikit-learn's schedule names
    # (its learning_rate) means that schedule at the solver's default rate
    if value is None:
        return None
    if is_schedule_name(value):
        done["_schedule_in_learning_rate"] = value
        return None
    if not (isinstance(value, numbers.Real) and not isinstance(value, bool) and
            np.isfinite(value) and value > 0):
        raise ValueError(f"learning_rate={value!r} is not valid; expected a finite number > 0, "
                         f"None (the solver's default) or one of scikit-learn's schedule names "
                         f"('constant', 'invscaling', 'adaptive')")
    return value


def _lr_schedule(value, done):
    from_rate = done.get("_schedule_in_learning_rate")
    if from_rate is not None:
        if value not in ("constant", from_rate):
            raise ValueError(f"learning_rate={from_rate!r} (scikit-learn's name for the "
                             f"schedule) conflicts with lr_schedule={value!r}; set one")
        value = from_rate
    return check_choice("lr_schedule", value, LR_SCHEDULES)


def _scale_inputs(value, done):
    if not ((isinstance(value, str) and value == "auto") or isinstance(value, (bool, np.bool_))):
        raise ValueError(f"scale_inputs={value!r} is not valid; expected 'auto', True or False")
    return value if isinstance(value, str) else bool(value)


def _solver(value, done):
    solver = check_choice("solver", value, tuple(SOLVERS))
    if done["learning_rate"] is None:  # resolved before the solver (table order)
        done["learning_rate"] = ADAM_RATE if solver == "adam" else SGD_RATE
    return solver


def _init(value, done):
    return check_choice("init", value or default_init(done["activation"]), INITIALISERS)


def _batch_size(value, done):
    if not (isinstance(value, str) and value == "full"):
        if (isinstance(value, str) or isinstance(value, bool) or
                not isinstance(value, (int, np.integer)) or value < 1):
            raise ValueError(f"batch_size={value!r} is not valid; expected an integer > 0 or "
                             f"'full'")
    return value


def _epochs(value, done):
    if isinstance(value, str) and value == "auto":
        return value
    if (isinstance(value, (str, bool, np.bool_)) or not isinstance(value, numbers.Integral)
            or value < 1):
        raise ValueError(f"epochs={value!r} is not valid; expected an integer > 0 or 'auto'")
    return int(value)


def _dtype(value, done):
    dtype = check_dtype(value)
    # the rates and penalties the kernels receive as scalars of this dtype must survive the cast
    for name in ("learning_rate", "alpha", "clip_value", "clip_norm", "epsilon"):
        number = float(done[name])
        with np.errstate(over="ignore", under="ignore"):
            cast = float(dtype.type(number))
        if (number > 0 and cast == 0) or not np.isfinite(cast):
            raise ValueError(f"{name}={number!r} is not representable in {dtype.name} (it "
                             f"becomes {cast!r}); use a value between {np.finfo(dtype).tiny:g} "
                             f"and {np.finfo(dtype).max:g} or dtype='float64'")
    for name in ("momentum", "beta_1", "beta_2"):  # must stay below 1 in the dtype
        if float(dtype.type(done[name])) >= 1:
            raise ValueError(f"{name}={done[name]!r} rounds to 1 in {dtype.name}; use a value "
                             f"further from 1 or dtype='float64'")
    return dtype


def _lr_decay(value, done):
    check_positive("lr_decay", value)
    if done["lr_schedule"] in ("step", "exponential") and value > 1:
        raise ValueError(f"lr_decay={value!r} would make the learning rate grow with "
                         f"lr_schedule={done['lr_schedule']!r}; expected a factor in (0, 1]")
    return value


def _l1_ratio(value, done):
    if not (isinstance(value, numbers.Real) and not isinstance(value, bool) and 0 <= value <= 1):
        raise ValueError(f"l1_ratio={value!r} is not valid; expected a number in [0, 1]")
    return value


def _flag(name):
    def check(value, done):
        if not isinstance(value, (bool, np.bool_)):
            raise ValueError(f"{name}={value!r} is not valid; expected True or False")
        return bool(value)
    return check


def _below_one(name):
    def check(value, done):
        if not (isinstance(value, numbers.Real) and not isinstance(value, bool) and
                0 <= value < 1):
            raise ValueError(f"{name}={value!r} is not valid; expected a number in [0, 1)")
        return value
    return check


def _validation_fraction(value, done):
    if not (isinstance(value, numbers.Real) and not isinstance(value, bool) and 0 <= value < 1):
        raise ValueError(f"validation_fraction={value!r} is not valid; expected a number in "
                         f"[0, 1)")
    return EARLY_STOPPING_FRACTION if done["early_stopping"] and value == 0 else value


def _patience(value, done):
    """n_iter_no_change: None (with early_stopping: 10), an integer >= 1, or inf (never)."""
    if value is None:
        return EARLY_STOPPING_PATIENCE if done["early_stopping"] else None
    if (isinstance(value, numbers.Real) and not isinstance(value, (bool, numbers.Integral))
            and value == math.inf):
        return math.inf
    if not (isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 1):
        raise ValueError(f"n_iter_no_change={value!r} is not valid; expected an integer >= 1, "
                         f"np.inf (never stop) or None")
    return int(value)


def _verbose(value, done):
    if not ((isinstance(value, str) and value == "bar") or
            (isinstance(value, (numbers.Integral, np.bool_)) and value >= 0)):
        raise ValueError(f"verbose={value!r} is not valid; expected True/False, an integer "
                         f">= 0 or 'bar'")
    return value
