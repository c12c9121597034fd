"""What scikit-learn users expect, without importing scikit-learn: estimator tags (built only
when scikit-learn asks for them), its exception classes, and its hyperparameter names.

fastmlp does not import scikit-learn at runtime: ``__sklearn_tags__`` is called by scikit-learn
itself (``clone``, ``GridSearchCV``, ``check_estimator``, ...), so the import below only ever
happens when scikit-learn is already loaded.
"""

import sys

from .errors import DataConversionWarning, NotFittedError


def sklearn_tags(estimator, kind):
    """The ``sklearn.utils.Tags`` of a fastmlp estimator; kind is 'classifier' or 'regressor'."""
    from sklearn.utils import ClassifierTags, InputTags, RegressorTags, Tags, TargetTags

    return Tags(
        estimator_type=kind,
        target_tags=TargetTags(required=True, multi_output=(kind == "regressor"),
                               single_output=True),
        classifier_tags=ClassifierTags(multi_class=True) if kind == "classifier" else None,
        regressor_tags=RegressorTags() if kind == "regressor" else None,
        input_tags=InputTags(two_d_array=True, sparse=True),
        # per-sample SGD from a seeded initialisation: repeatable with random_state set
        non_deterministic=False,
        requires_fit=True,
    )


# ------------------------------------------------------------------ scikit-learn's exceptions
# fastmlp never imports scikit-learn, but code that catches scikit-learn's NotFittedError (or
# filters its DataConversionWarning) must see fastmlp's too. Whoever can name scikit-learn's
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


# ------------------------------------------------------------------ scikit-learn's names

# scikit-learn's MLP hyperparameters that fastmlp names or handles differently
SKLEARN_NAMES = {
    "max_iter": "epochs",
    "learning_rate_init": "learning_rate",
    "early_stopping": "validation_fraction=0.1 with n_iter_no_change=10 (early stopping on a "
                      "held-out fraction)",
    "power_t": "lr_schedule='inverse_time' with lr_decay",
    "warm_start": "partial_fit (one more epoch from the current weights)",
    "max_fun": "nothing: fastmlp has no L-BFGS solver",
}


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
