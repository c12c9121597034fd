"""fastmlp/labels.py: class labels (checks, classes, one-hot) and regression targets."""

import numpy as np
import pytest

from helpers import X, Y, blobs6, clf, reg, small

@pytest.mark.parametrize("n_y", [29, 31])
def test_len_X_differs_from_len_y(n_y, no_kernel_calls):
    y = np.resize(Y, n_y)
    for model in (clf(), reg()):
        with pytest.raises(ValueError, match=f"X and y have different numbers of samples: "
                                             f"30 and {n_y}"):
            model.fit(X, y)


@pytest.mark.parametrize("y, match", [
    (np.stack([Y, Y], axis=1), r"y must be 1-D \(n_samples,\), got 2-D with shape \(30, 2\)"),
    (Y + 0.5, r"y has non-integer .*float values: a classifier needs class labels; use "
              r"MLPRegressor"),
    (np.where(Y == 1, np.nan, Y), r"y contains NaN or infinity"),
    (np.array([1, "a"] * 15, dtype=object), r"y mixes label types \['int', 'str'\]"),
    (np.array([None, 1] * 15, dtype=object), r"y mixes label types \['NoneType', 'int'\]"),
    ([0, "a"] * 15, r"y mixes label types \['int', 'str'\]"),  # not silently ['0', 'a']
    ([2.5, "a"] * 15, r"y mixes label types \['float', 'str'\]"),
    (np.zeros(30), r"y has 1 class; a classifier needs at least 2"),
])
def test_bad_labels(y, match, no_kernel_calls):
    with pytest.raises(ValueError, match=match):
        clf().fit(X, y)


def test_partial_fit_label_errors():
    with pytest.raises(ValueError, match=r"classes must be passed on the first call to "
                                         r"partial_fit.*classes=np\.arange\(10\)"):
        clf().partial_fit(X, Y)
    with pytest.raises(ValueError, match=r"y contains labels not in classes_ \[0, 1\]: \[2\]$"):
        clf().partial_fit(X, Y, classes=[0, 1])
    m = clf()
    m.partial_fit(X, Y, classes=[0, 1, 2, 3])
    before = m.params_.copy()
    for y, match in [(np.where(Y == 2, 7, Y), r"labels not in classes_ \[0, 1, 2, 3\]: \[7\]$"),
                     (np.array(["x"] * 30), r"labels not in classes_ \[0, 1, 2, 3\]: \['x'\] "
                                            r"\(y holds <U1 labels, classes_ holds int64\)"),
                     (Y.astype(str), r"labels not in classes_ \[0, 1, 2, 3\]: \['0', '1', '2'\] "
                                     r"\(y holds <U\d+ labels")]:
        with pytest.raises(ValueError, match=match):
            m.partial_fit(X, y)
    with pytest.raises(ValueError, match=r"classes=\[0, 1\] differs from classes_ \[0, 1, 2, 3\]"):
        m.partial_fit(X, Y, classes=[0, 1])
    np.testing.assert_array_equal(m.params_, before)  # nothing trained by the failed calls
    m.partial_fit(X, Y, classes=[3, 2, 1, 0])  # same set, any order: fine
    assert m.n_iter_ == 2
    for classes in ([0, 1, None], [0, "a"]):
        with pytest.raises(ValueError, match=r"classes mixes label types \[.*\]; labels must "
                                             r"all be numbers or all be strings"):
            clf().partial_fit(X, Y, classes=classes)
        with pytest.raises(ValueError, match=r"classes mixes label types"):
            m.partial_fit(X, Y, classes=classes)


def test_string_labels_work_and_equal_integer_labels():
    names = np.array(["ant", "bee", "cat"])  # sorted like 0, 1, 2
    a = clf().fit(X, Y)
    b = clf().fit(X, names[Y])
    c = clf().fit(X, names[Y].astype(object))
    np.testing.assert_array_equal(b.params_, a.params_)
    np.testing.assert_array_equal(c.params_, a.params_)
    np.testing.assert_array_equal(b.predict(X), names[a.predict(X)])
    assert b.score(X, names[Y]) == a.score(X, Y)
    p = clf()
    p.partial_fit(X, names[Y], classes=["cat", "bee", "ant"])
    p.partial_fit(X, list(names[Y]))
    np.testing.assert_array_equal(p.params_, a.params_)


@pytest.mark.parametrize("y, match", [
    (np.array(["a"] * 30), r"y must be numeric for a regressor, got dtype <U1"),
    (np.zeros((30, 1, 1)), r"y must be 1-D or 2-D, got 3-D"),
    (np.where(Y == 1, np.inf, Y), r"y contains NaN or infinity"),
])
def test_bad_regression_targets(y, match, no_kernel_calls):
    with pytest.raises(ValueError, match=match):
        reg().fit(X, y)


def test_regressor_partial_fit_with_another_number_of_targets():
    r = reg().fit(X, np.stack([Y, Y], axis=1).astype(float))
    with pytest.raises(ValueError, match="y has 1 targets, but the model was fitted with 2"):
        r.partial_fit(X, Y.astype(float))


def test_score_with_mismatched_y():
    with pytest.raises(ValueError, match=r"one label per row of X \(30\), got shape \(5,\)"):
        clf().fit(X, Y).score(X, Y[:5])
    with pytest.raises(ValueError, match=r"y has shape \(5,\), but the predictions for X have "
                                         r"shape \(30,\)"):
        reg().fit(X, Y.astype(float)).score(X, Y[:5])


@pytest.mark.parametrize("classes", [2, [0], ["a"]])
def test_partial_fit_names_classes_when_it_holds_fewer_than_two_labels(classes):
    with pytest.raises(ValueError, match=r"classes=.* has 1 label\(s\); pass every label"):
        clf().partial_fit(X, Y, classes=classes)


def test_string_labels():
    X, y = blobs6()
    names = np.array(["cat", "dog", "emu"])[y]
    m = small().fit(X, names)
    assert set(m.predict(X)) <= {"cat", "dog", "emu"}
    assert m.score(X, names) > 0.9
    np.testing.assert_allclose(m.predict_proba(X).sum(axis=1), 1, rtol=1e-5)
