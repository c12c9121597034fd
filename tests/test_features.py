"""Feature names of data frames (fastmlp/features.py): set at fit, checked by every later call,
saved in model files; nullable pandas dtypes and numeric object arrays as input."""

import warnings

import numpy as np
import pytest

import fastmlp
from fastmlp.features import feature_names, numeric_values
from helpers import X, Y, clf, reg

pd = pytest.importorskip("pandas", reason="pandas not installed (pip install -e '.[test]')")

COLUMNS = ["alpha", "beta", "gamma", "delta"]


def _frame(data=X, columns=COLUMNS):
    return pd.DataFrame(data, columns=columns)


def test_feature_names_of_frames_and_arrays():
    assert list(feature_names(_frame())) == COLUMNS
    assert feature_names(X) is None
    assert feature_names(pd.DataFrame(X)) is None  # default integer column names: no names
    with pytest.raises(TypeError, match="Feature names are only supported if all input "
                                        "features have string names"):
        feature_names(pd.DataFrame(X, columns=["a", "b", 2, 3]))


@pytest.mark.parametrize("make", [clf, reg])
def test_fit_on_a_frame_sets_feature_names_in_(make):
    y = Y if make is clf else Y.astype(float)
    m = make().fit(_frame(), y)
    assert m.feature_names_in_.tolist() == COLUMNS
    assert m.feature_names_in_.dtype == object
    np.testing.assert_array_equal(m.predict(_frame()), make().fit(X, y).predict(X))
    assert not hasattr(make().fit(X, y), "feature_names_in_")
    m.fit(X, y)  # refit without names: the old names go
    assert not hasattr(m, "feature_names_in_")


def test_columns_in_another_order_are_refused_not_silently_misread():
    m = clf().fit(_frame(), Y)
    swapped = _frame()[COLUMNS[::-1]]
    for call in (m.predict, m.predict_proba, m.predict_log_proba,
                 lambda Z: m.score(Z, Y), lambda Z: m.partial_fit(Z, Y)):
        with pytest.raises(ValueError, match="(?s)The feature names should match those that were "
                                             "passed during fit.*same order"):
            call(swapped)


def test_other_names_are_listed():
    m = clf().fit(_frame(), Y)
    other = _frame(columns=["alpha", "beta", "gamma", "omega"])
    with pytest.raises(ValueError, match="(?s)unseen at fit time:\n- omega\n.*yet now "
                                         "missing:\n- delta\n"):
        m.predict(other)


def test_names_against_no_names_warn_as_in_scikit_learn():
    m = clf().fit(_frame(), Y)
    with pytest.warns(UserWarning, match="X does not have valid feature names, but "
                                         "MLPClassifier was fitted with feature names"):
        m.predict(X)
    m = clf().fit(X, Y)
    with pytest.warns(UserWarning, match="X has feature names, but MLPClassifier was fitted "
                                         "without feature names"):
        m.predict(_frame())


def test_validation_data_names_are_checked_once_at_fit():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning per epoch for the validation rows
        # (3 epochs on purpose: the warning that the loss still falls is not the subject)
        warnings.simplefilter("ignore", fastmlp.ConvergenceWarning)
        m = clf(epochs=3).fit(_frame(), Y, validation_data=(_frame(), Y))
        clf(epochs=3, validation_fraction=0.2).fit(_frame(), Y)
    assert len(m.validation_scores_) == 3
    with pytest.raises(ValueError, match="The feature names should match"):
        clf().fit(_frame(), Y, validation_data=(_frame()[COLUMNS[::-1]], Y))


def test_partial_fit_sets_names_on_the_first_call_only():
    m = clf().partial_fit(_frame(), Y, classes=[0, 1, 2])
    m.partial_fit(_frame(), Y)
    with pytest.raises(ValueError, match="unseen at fit time"):
        m.partial_fit(_frame(columns=list("wxyz")), Y)
    assert m.n_iter_ == 2


def test_names_are_saved_in_the_model_file(tmp_path):
    m = clf().fit(_frame(), Y)
    loaded = fastmlp.load(m.save(tmp_path / "m.npz"))
    assert loaded.feature_names_in_.tolist() == COLUMNS
    with pytest.raises(ValueError, match="same order"):
        loaded.predict(_frame()[COLUMNS[::-1]])
    assert not hasattr(fastmlp.load(clf().fit(X, Y).save(tmp_path / "n.npz")),
                       "feature_names_in_")


def test_a_file_with_bad_feature_names_is_refused(tmp_path):
    m = clf().fit(_frame(), Y)
    m.feature_names_in_ = np.array(["a", "b"], dtype=object)  # 2 names for 4 features
    path = m.save(tmp_path / "m.npz")
    with pytest.raises(ValueError, match="corrupt: feature_names_in must be one string per "
                                         "input feature"):
        fastmlp.load(path)


def test_nullable_pandas_dtypes_are_numbers():
    m = clf().fit(X, Y)
    frame = pd.DataFrame(X).astype("Float64")
    np.testing.assert_array_equal(m.predict_proba(frame), m.predict_proba(X))
    np.testing.assert_array_equal(clf().fit(frame, Y).params_, m.params_)
    ints = pd.DataFrame((X * 10).round()).astype("Int64")
    np.testing.assert_array_equal(m.predict(ints), m.predict((X * 10).round()))
    missing = frame.copy()
    missing.iloc[2, 1] = pd.NA
    with pytest.raises(ValueError, match=r"X contains NaN or infinity \(first at row 2, column "
                                         r"1\)"):
        m.predict(missing)
    r = reg().fit(X, pd.Series(Y.astype(float)).astype("Float64"))
    np.testing.assert_array_equal(r.params_, reg().fit(X, Y.astype(float)).params_)


def test_numeric_object_arrays_are_converted():
    m = clf().fit(X.astype(object), Y.astype(object))
    np.testing.assert_array_equal(m.params_, clf().fit(X, Y).params_)
    bad = X.astype(object)
    bad[0, 0] = {"not": "a number"}
    with pytest.raises(TypeError, match="X must be numeric.*argument must be a string or a "
                                        "(real )?number"):
        clf().fit(bad, Y)
    with pytest.raises(ValueError, match="dtype object holding strings"):
        numeric_values(np.array([["1.5", 2.0]], dtype=object))
    original = X.astype(object)
    numeric_values(original)
    assert original.dtype == object  # the input is never modified


def test_duplicate_column_names_are_refused_as_scikit_learn_does():
    frame = _frame(columns=["alpha", "beta", "alpha", "delta"])
    with pytest.raises(ValueError, match=r"X has duplicate column names \['alpha'\]"):
        clf().fit(frame, Y)
    m = clf().fit(_frame(), Y)
    with pytest.raises(ValueError, match="duplicate column names"):
        m.predict(frame)
