"""What scikit-learn users expect, without importing scikit-learn: estimator tags (built only
when scikit-learn asks for them), its exception and warning classes, and its hyperparameter
names (the ones fastmlp accepts as aliases, and hints for the rest).

fastmlp does not import scikit-learn at runtime: ``__sklearn_tags__`` is called by scikit-learn
itself (``clone``, ``GridSearchCV``, ``check_estimator``, ...), so the import below only ever
happens when scikit-learn is already loaded.
"""

import sys

from .errors import ConvergenceWarning, DataConversionWarning, NotFittedError


def sklearn_tags(estimator, kind):
    """The ``sklearn.utils.Tags`` of a fastmlp estimator; kind is 'classifier' or 'regressor'."""
    from sklearn.utils import ClassifierTags, InputTags, RegressorTags, Tags, TargetTags

    return Tags(
        estimator_type=kind,
        target_tags=TargetTags(required=True, multi_output=(kind == "regressor"),
                               single_output=True),
        classifier_tags=(ClassifierTags(multi_class=True, multi_label=True)
                         if kind == "classifier" else None),
        regressor_tags=RegressorTags() if kind == "regressor" else None,
        input_tags=InputTags(two_d_array=True, sparse=True),
        # per-sample SGD from a seeded initialisation: repeatable with random_state set
        non_deterministic=False,
        requires_fit=True,
    )


# ------------------------------------------------------------------ scikit-learn's exceptions
# fastmlp never imports scikit-learn, but code that catches scikit-learn's NotFittedError (or
# filters its DataConversionWarning or ConvergenceWarning, e.g. with
# warnings.filterwarnings("ignore", category=sklearn.exceptions.ConvergenceWarning) or
# sklearn.utils._testing.ignore_warnings) must see fastmlp's too. Whoever can name scikit-learn's
# class has imported sklearn.exceptions, so when that module is loaded, fastmlp raises a class
# deriving from both its own and scikit-learn's (made once, on first use).

_BRIDGED = {}


def _bridged(own, sklearn_name):
    module = sys.modules.get("sklearn.exceptions")
    theirs = getattr(module, sklearn_name, None) if module is not None else None
    if theirs is None or issubclass(own, theirs):
        return own
    if own not in _BRIDGED:
        _BRIDGED[own] = type(own.__name__, (own, theirs),
                             {"__module__": own.__module__, "__doc__": own.__doc__,
                              "__qualname__": own.__qualname__})
    return _BRIDGED[own]


def not_fitted_error(message):
    """A NotFittedError to raise: fastmlp's, and scikit-learn's too when it is loaded."""
    return _bridged(NotFittedError, "NotFittedError")(message)


def data_conversion_warning():
    """The warning class for data fastmlp converted (e.g. a column-vector y ravelled)."""
    return _bridged(DataConversionWarning, "DataConversionWarning")


def convergence_warning():
    """The warning class of an unhealthy or diverged fit: fastmlp's ConvergenceWarning, which
    also derives from scikit-learn's when sklearn.exceptions is loaded."""
    return _bridged(ConvergenceWarning, "ConvergenceWarning")


# ------------------------------------------------------------------ scikit-learn's names

# scikit-learn's names that fastmlp accepts for its own, in the constructor and in set_params;
# get_params returns fastmlp's name only, so clone and GridSearchCV round-trip
ALIASES = {"max_iter": "epochs", "learning_rate_init": "learning_rate"}
# scikit-learn's learning_rate names the schedule (its learning_rate_init is the rate);
# fastmlp's learning_rate is the rate and lr_schedule the schedule, which takes these names too
SCHEDULE_NAMES = ("constant", "invscaling", "adaptive")

# scikit-learn's MLP hyperparameters that fastmlp does not take, and what to use instead
SKLEARN_NAMES = {
    "max_fun": "nothing: fastmlp has no L-BFGS solver",
}


def is_schedule_name(value):
    """True for one of scikit-learn's learning_rate schedule names."""
    return isinstance(value, str) and value in SCHEDULE_NAMES


def _same(a, b):
    """a and b are the same value (arrays and values of unlike types never are)."""
    if a is b:
        return True
    if type(a) is not type(b) and any(isinstance(v, (str, bool)) for v in (a, b)):
        return False
    try:
        return bool(a == b)
    except (TypeError, ValueError):  # e.g. arrays
        return False


def _schedule(owner, values, schedule, given):
    # scikit-learn's learning_rate=<schedule name> -> lr_schedule
    if given("lr_schedule") and not _same(values["lr_schedule"], schedule):
        raise TypeError(f"{owner} got lr_schedule={values['lr_schedule']!r} and learning_rate="
                        f"{schedule!r} (scikit-learn's name for the schedule); pass one of them")
    values["lr_schedule"] = schedule


def _aliases(owner, values, given):
    for alias, name in ALIASES.items():
        value = values.pop(alias, None)
        if value is not None:
            if given(name) and not _same(values[name], value):
                raise TypeError(f"{owner} got both {name}={values[name]!r} and {alias}="
                                f"{value!r}: {alias} is scikit-learn's name for {name}; pass "
                                f"one of them")
            values[name] = value
    return values


def init_arguments(owner, values, defaults):
    """The constructor's arguments ``values`` (every parameter, scikit-learn's aliases None when
    not given) with fastmlp's names only: max_iter -> epochs, learning_rate_init ->
    learning_rate, and with both given scikit-learn's pair learning_rate=<schedule name>,
    learning_rate_init=<rate> -> lr_schedule, learning_rate. (A schedule name alone stays in
    learning_rate, as given: resolve reads it as that schedule at the solver's default rate.)
    A conflict (epochs=5, max_iter=10) is a TypeError, as for a repeated keyword."""
    values = dict(values)

    def given(name):
        return not _same(values[name], defaults[name])

    if values.get("learning_rate_init") is not None and is_schedule_name(values["learning_rate"]):
        schedule, values["learning_rate"] = values["learning_rate"], defaults["learning_rate"]
        _schedule(owner, values, schedule, given)
    return _aliases(owner, values, given)


def set_params_arguments(owner, params, current_rate=None):
    """set_params' keyword arguments with fastmlp's names only: as ``init_arguments``, and
    learning_rate=<schedule name> sets lr_schedule, keeping the rate (scikit-learn's
    learning_rate_init) as it is -- unless ``current_rate`` (the model's learning_rate) is a
    schedule name itself, which the new one then replaces."""
    params = dict(params)

    def given(name):
        return name in params

    if is_schedule_name(params.get("learning_rate")) and not is_schedule_name(current_rate):
        _schedule(owner, params, params.pop("learning_rate"), given)
    return _aliases(owner, params, given)


def sklearn_hint(name):
    """'' or, for one of scikit-learn's names, ' (scikit-learn's name; fastmlp's ...)'."""
    hint = SKLEARN_NAMES.get(name)
    if hint is None:
        return ""
    if hint.startswith("nothing"):
        return f" (scikit-learn's; fastmlp's equivalent: {hint})"
    return f" (scikit-learn's name; fastmlp's equivalent is {hint})"


def unknown_parameters(owner, names, valid):
    """The message for keyword arguments ``names`` that ``owner`` (a class name) does not
    take: each with fastmlp's equivalent if it is one of scikit-learn's names."""
    parts = [f"{name!r}{sklearn_hint(name)}" for name in names]
    return (f"{owner} got unexpected keyword argument(s) {', '.join(parts)}; valid parameters "
            f"are {sorted(valid)}")
