"""scikit-learn estimator tags, built only when scikit-learn asks for them.

fastmlp does not import scikit-learn at runtime: ``__sklearn_tags__`` is called by scikit-learn
itself (``clone``, ``GridSearchCV``, ``check_estimator``, ...), so the import below only ever
happens when scikit-learn is already loaded.
"""


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
