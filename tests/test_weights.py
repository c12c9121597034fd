"""Sample and class weights (fastmlp/weights.py): checked before training or scoring; weighted
scores; class_weight as a hyperparameter."""

import argparse

import numpy as np
import pytest

import fastmlp
from fastmlp.weights import (check_class_weight_value, check_sample_weight,
                             class_weight_per_class, combined_weights, parse_class_weight)
from helpers import X, Y, clf, reg

BAD_WEIGHTS = [
    (-np.ones(30), r"sample_weight has a negative weight \(-1.0 at index 0\); weights must be "
                   r">= 0"),
    (np.where(np.arange(30) == 4, np.nan, 1.0), r"sample_weight contains NaN or infinity "
                                                r"\(first at index 4\)"),
    (np.where(np.arange(30) == 7, np.inf, 1.0), r"sample_weight contains NaN or infinity "
                                                r"\(first at index 7\)"),
    (np.zeros(30), r"sample_weight is zero for every sample"),
    (np.ones(29), r"sample_weight.shape == \(29,\), expected \(30,\)"),
    (np.ones((30, 1)), r"sample_weight.shape == \(30, 1\), expected \(30,\)"),
    (np.array(["a"] * 30), r"sample_weight must hold numbers"),
]


@pytest.mark.parametrize("bad, match", BAD_WEIGHTS, ids=range(len(BAD_WEIGHTS)))
@pytest.mark.parametrize("make", [clf, reg])
def test_bad_sample_weights_are_refused_before_training(bad, match, make, no_kernel_calls):
    y = Y if make is clf else Y.astype(float)
    with pytest.raises(ValueError, match=match):
        make().fit(X, y, sample_weight=bad)
    with pytest.raises(ValueError, match=match):
        make().partial_fit(X, y, sample_weight=bad, **({"classes": [0, 1, 2]}
                                                      if make is clf else {}))


@pytest.mark.parametrize("bad, match", BAD_WEIGHTS, ids=range(len(BAD_WEIGHTS)))
def test_bad_sample_weights_are_refused_by_score(bad, match):
    m = clf().fit(X, Y)
    with pytest.raises(ValueError, match=match):
        m.score(X, Y, sample_weight=bad)


def test_sample_weight_forms():
    assert check_sample_weight(None, 3) is None
    np.testing.assert_array_equal(check_sample_weight(2, 3), [2.0, 2.0, 2.0])
    w = check_sample_weight([1, 0, 3], 3)
    assert w.dtype == np.float64 and w.tolist() == [1.0, 0.0, 3.0]
    original = np.array([1, 2, 3], dtype=np.int32)
    check_sample_weight(original, 3)
    assert original.dtype == np.int32


def test_weighted_scores():
    m = clf().fit(X, Y)
    w = np.random.default_rng(0).random(30)
    right = m.predict(X) == Y
    assert m.score(X, Y, sample_weight=w) == pytest.approx(np.sum(w * right) / np.sum(w))
    assert m.score(X, Y, sample_weight=np.ones(30)) == m.score(X, Y)
    r = reg().fit(X, Y.astype(float))
    pred = r.predict(X)
    mean = np.sum(w * Y) / np.sum(w)
    expected = 1 - np.sum(w * (Y - pred) ** 2) / np.sum(w * (Y - mean) ** 2)
    assert r.score(X, Y.astype(float), sample_weight=w) == pytest.approx(expected, rel=1e-12)
    assert r.score(X, Y.astype(float), sample_weight=np.ones(30)) == pytest.approx(
        r.score(X, Y.astype(float)), rel=1e-12)


def test_class_weight_values():
    for good in (None, "balanced", {0: 1.0, 1: 0}, {"cat": 2}):
        assert check_class_weight_value(good) == good
    for bad, match in [("balance", "expected None, 'balanced' or a dict"),
                       ([1, 2], "expected None, 'balanced' or a dict"),
                       ({0: -1.0}, "the weight of class 0 is -1.0; expected a finite number"),
                       ({0: np.nan}, "the weight of class 0 is nan"),
                       ({0: True}, "the weight of class 0 is True")]:
        with pytest.raises(ValueError, match=match):
            check_class_weight_value(bad)
        with pytest.raises(ValueError, match=r"class_weight=.*is not valid"):
            clf(class_weight=bad).fit(X, Y)


def test_class_weight_on_the_command_line():
    assert parse_class_weight("balanced") == "balanced"
    assert parse_class_weight("0:1,3:2.5") == {0: 1.0, 3: 2.5}
    for bad in ("balance", "0:1,x", "0=1", ""):
        with pytest.raises(argparse.ArgumentTypeError, match="expected 'balanced' or "
                                                             "label:weight pairs"):
            parse_class_weight(bad)


def test_balanced_and_dict_class_weights():
    classes, y = np.array([0, 1, 2]), np.array([0, 0, 0, 1, 2, 2])
    np.testing.assert_allclose(class_weight_per_class("balanced", classes, y),
                               [6 / 9, 6 / 3, 6 / 6])
    np.testing.assert_array_equal(class_weight_per_class({1: 5.0}, classes, y), [1, 5, 1])
    assert class_weight_per_class(None, classes, y) is None
    with pytest.raises(ValueError, match=r"class_weight names label\(s\) \[7\] that are not "
                                         r"classes; the classes are \[0, 1, 2\]"):
        class_weight_per_class({7: 1.0}, classes, y)
    per_class = np.array([1.0, 0.0, 2.0])
    np.testing.assert_array_equal(combined_weights(np.array([1, 2, 3, 4.0]), per_class,
                                                   np.array([0, 1, 2, 2])), [1, 0, 6, 8])
    with pytest.raises(ValueError, match="every sample a weight of 0"):
        combined_weights(None, per_class, np.array([1, 1]))


def test_class_weight_errors_at_fit(no_kernel_calls):
    with pytest.raises(ValueError, match=r"class_weight names label\(s\) \['cat'\]"):
        clf(class_weight={"cat": 2.0}).fit(X, Y)
    with pytest.raises(ValueError, match="class_weight=.*applies to classifiers; MLPRegressor "
                                         "takes sample_weight"):
        reg(class_weight="balanced").fit(X, Y.astype(float))


def test_class_weight_survives_save_and_load(tmp_path):
    m = clf(class_weight={0: 1.0, 2: 3.0}).fit(X, Y)
    loaded = fastmlp.load(m.save(tmp_path / "m.npz"))
    assert loaded.class_weight == {0: 1.0, 2: 3.0}  # int labels stay ints
    assert loaded.get_params() == m.get_params()
    names = np.array(["ant", "bee", "cat"])
    m = clf(class_weight={"bee": 2.0}).fit(X, names[Y])
    assert fastmlp.load(m.save(tmp_path / "n.npz")).class_weight == {"bee": 2.0}


# ------------------------------------------------------------------ weights in training

@pytest.mark.parametrize("make", [clf, reg])
def test_unit_weights_are_no_weights_and_a_zero_weight_skips_the_sample(make):
    y = Y if make is clf else Y.astype(float)
    plain = make().fit(X, y)
    np.testing.assert_array_equal(make().fit(X, y, sample_weight=np.ones(30)).params_,
                                  plain.params_)
    np.testing.assert_array_equal(make().fit(X, y, sample_weight=np.full(30, 3.0)).params_,
                                  plain.params_)  # normalised to mean 1
    keep = np.arange(30) % 4 != 1
    dropped = make(shuffle=False).fit(X[keep], y[keep])
    zeroed = make(shuffle=False).fit(X, y, sample_weight=keep.astype(float))
    np.testing.assert_array_equal(zeroed.params_, dropped.params_)


def test_class_weights_are_sample_weights():
    w = class_weight_per_class("balanced", np.array([0, 1, 2]), Y)[Y]
    np.testing.assert_array_equal(clf(class_weight="balanced").fit(X, Y).params_,
                                  clf().fit(X, Y, sample_weight=w).params_)
    sw = np.random.default_rng(1).random(30)
    np.testing.assert_array_equal(
        clf(class_weight={1: 2.5}).fit(X, Y, sample_weight=sw).params_,
        clf().fit(X, Y, sample_weight=sw * np.where(Y == 1, 2.5, 1.0)).params_)
    keep = Y != 2
    np.testing.assert_array_equal(clf(class_weight={2: 0}, shuffle=False).fit(X, Y).params_,
                                  clf(shuffle=False).partial_fit(X[keep], Y[keep],
                                                                 classes=[0, 1, 2])
                                  .partial_fit(X[keep], Y[keep]).params_)


def test_weights_in_partial_fit():
    w = np.random.default_rng(2).random(30)
    a = clf().partial_fit(X, Y, classes=[0, 1, 2], sample_weight=w)
    b = clf(epochs=1).fit(X, Y, sample_weight=w)
    np.testing.assert_array_equal(a.params_, b.params_)


def test_integer_weights_are_repeated_rows_in_full_batch_gradient_descent():
    """scikit-learn's check_sample_weight_equivalence_on_dense_data: per-sample SGD with
    shuffling visits a row of weight 2 once and a repeated row twice, so it holds only for
    deterministic full-batch gradient descent, where it holds up to summation order."""
    checks = pytest.importorskip("sklearn.utils.estimator_checks")
    for est in (clf(batch_size="full", dtype="float64", epochs=20),
                reg(batch_size="full", dtype="float64", epochs=20)):
        checks.check_sample_weight_equivalence_on_dense_data(type(est).__name__, est)


def test_weights_follow_the_rows_a_validation_split_trains_on():
    np.testing.assert_array_equal(
        clf(validation_fraction=0.3).fit(X, Y, sample_weight=np.ones(30)).params_,
        clf(validation_fraction=0.3).fit(X, Y).params_)
    rows = np.sort(np.random.default_rng(0).permutation(30)[9:])  # the split's training rows
    only_validation = np.ones(30)
    only_validation[rows] = 0
    with pytest.raises(ValueError, match=r"sample_weight \(of the rows left after "
                                         r"validation_fraction\) is zero for every sample"):
        clf(validation_fraction=0.3).fit(X, Y, sample_weight=only_validation)
