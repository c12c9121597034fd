"""What scikit-learn users rely on (fastmlp/protocol.py, fastmlp/sklearn_compat.py): its
exceptions and warnings, its parameter names, the fitted attributes of its MLPs,
predict_log_proba, a column-vector y, and the package's submodules as attributes."""

import subprocess
import sys
import warnings

import numpy as np
import pytest

import fastmlp
from fastmlp import MLPClassifier, MLPRegressor
from helpers import X, Y, clf, reg


def test_not_fitted_error_is_scikit_learns_when_it_is_loaded():
    exceptions = pytest.importorskip("sklearn.exceptions")
    calls = (lambda m: m.predict(X), lambda m: m.score(X, Y), lambda m: m.save("unused"),
             lambda m: m.data_loss(X, Y))
    for make in (clf, reg):
        for call in calls:
            with pytest.raises(exceptions.NotFittedError):
                call(make())
            with pytest.raises(fastmlp.NotFittedError, match="is not fitted yet"):
                call(make())
    with pytest.raises(exceptions.NotFittedError):
        clf().predict_log_proba(X)


def test_without_scikit_learn_the_errors_are_fastmlps_and_it_is_not_imported():
    code = ("import sys, numpy as np, fastmlp, warnings\n"
            "try:\n"
            "    fastmlp.MLPClassifier().predict(np.ones((2, 3)))\n"
            "except fastmlp.NotFittedError as e:\n"
            "    assert type(e) is fastmlp.NotFittedError, type(e).__mro__\n"
            "with warnings.catch_warnings(record=True) as w:\n"
            "    warnings.simplefilter('always')\n"
            "    fastmlp.MLPClassifier(hidden_layer_sizes=(3,), epochs=1).fit(\n"
            "        np.random.rand(20, 3), (np.arange(20) % 2).reshape(-1, 1))\n"
            "w = [x for x in w if x.category is not fastmlp.ConvergenceWarning]  # 1 epoch\n"
            "assert [x.category for x in w] == [fastmlp.DataConversionWarning], w\n"
            "assert 'sklearn' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_column_vector_y_is_ravelled_with_a_warning():
    with pytest.warns(fastmlp.DataConversionWarning, match="A column-vector y was passed when "
                                                           "a 1d array was expected"):
        m = clf().fit(X, Y.reshape(-1, 1))
    np.testing.assert_array_equal(m.params_, clf().fit(X, Y).params_)
    with pytest.warns(fastmlp.DataConversionWarning):
        assert m.score(X, Y.reshape(-1, 1)) == m.score(X, Y)
    exceptions = pytest.importorskip("sklearn.exceptions")
    with pytest.warns(exceptions.DataConversionWarning):
        clf().fit(X, Y.reshape(-1, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", fastmlp.ConvergenceWarning)  # a short fit on purpose
        reg().fit(X, Y.reshape(-1, 1).astype(float))  # a regressor's 2-D y is multi-output


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_unknown_keywords_name_the_class_and_scikit_learns_equivalents(cls):
    name = cls.__name__
    with pytest.raises(TypeError, match=rf"{name} got unexpected keyword argument\(s\) "
                                        rf"'max_fun' \(scikit-learn's; fastmlp's equivalent: "
                                        rf"nothing: fastmlp has no L-BFGS solver\)"):
        cls(max_fun=10)
    with pytest.raises(TypeError, match=rf"{name} got unexpected keyword argument\(s\) "
                                        r"'hidden_layers'; valid parameters are \["):
        cls(hidden_layers=(3,))
    with pytest.raises(ValueError, match=r"Invalid parameter 'max_fun' \(scikit-learn's; "
                                         r"fastmlp's equivalent: nothing.*\) for " + name):
        cls().set_params(max_fun=3)
    # scikit-learn's names fastmlp has under its own (tests/test_sklearn_params.py)
    assert cls(max_iter=10, learning_rate_init=0.1, early_stopping=True).epochs == 10
    assert cls(epochs=4).epochs == 4  # real names still work, positionally too
    assert cls((7,), "tanh").hidden_layer_sizes == (7,)


def test_the_fitted_attributes_of_scikit_learns_mlps():
    m = clf(hidden_layer_sizes=(6, 5), epochs=3).fit(X, Y)
    assert (m.n_layers_, m.n_outputs_, m.out_activation_) == (4, 3, "softmax")
    assert m.loss_ == m.loss_curve_[-1] and m.best_loss_ == min(m.loss_curve_)
    assert m.best_validation_score_ is None
    v = clf(epochs=3, validation_fraction=0.3).fit(X, Y)
    assert v.best_validation_score_ == max(v.validation_scores_)
    r = reg(hidden_layer_sizes=()).fit(X, np.stack([Y, Y], 1).astype(float))
    assert (r.n_layers_, r.n_outputs_, r.out_activation_) == (2, 2, "identity")
    for attr in ("n_layers_", "n_outputs_", "out_activation_", "loss_", "best_loss_"):
        assert not hasattr(clf(), attr)
        with pytest.raises(fastmlp.NotFittedError, match="is not fitted yet"):
            getattr(reg(), attr)


def test_predict_log_proba_is_log_proba_and_finite_where_it_underflows():
    m = clf(dtype="float64").fit(X, Y)
    proba = m.predict_proba(X)
    np.testing.assert_array_equal(m.predict_log_proba(X), np.log(proba))
    m.coefs_[-1] *= 1e4  # outputs far apart: softmax probabilities underflow to 0
    proba = m.predict_proba(X)
    assert (proba == 0).any()
    log_proba = m.predict_log_proba(X)
    assert np.isfinite(log_proba).all()
    hidden = np.maximum(X @ m.coefs_[0] + m.intercepts_[0], 0)
    z = hidden @ m.coefs_[1] + m.intercepts_[1]
    z -= z.max(axis=1, keepdims=True)
    np.testing.assert_allclose(log_proba, z - np.log(np.exp(z).sum(axis=1, keepdims=True)),
                               rtol=1e-9)
    representable = proba >= np.finfo(proba.dtype).tiny
    np.testing.assert_array_equal(log_proba[representable], np.log(proba[representable]))
    m32 = clf().fit(X, Y)
    m32.coefs_[-1] *= 1e4
    assert np.isfinite(m32.predict_log_proba(X)).all()


def test_predict_log_proba_of_a_non_softmax_output():
    m = clf(output_activation="sigmoid", loss="squared_error", dtype="float64").fit(X, Y)
    with np.errstate(divide="ignore"):
        np.testing.assert_array_equal(m.predict_log_proba(X), np.log(m.predict_proba(X)))


def test_repeated_classes_are_refused():
    with pytest.raises(ValueError, match=r"classes=\[0, 1, 1, 2\] repeats label\(s\) \[1\]; "
                                         r"pass each label once"):
        clf().partial_fit(X, Y, classes=[0, 1, 1, 2])
    m = clf().partial_fit(X, Y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="repeats label"):
        m.partial_fit(X, Y, classes=[0, 1, 2, 2])


def test_submodules_are_attributes_of_the_package():
    code = ("import sys, fastmlp\n"
            "assert callable(fastmlp.datasets.load_mnist)\n"
            "assert callable(fastmlp.xor.make_xor)\n"
            "assert 'numba' not in sys.modules\n"
            "assert callable(fastmlp.kernels.train_epoch)\n"
            "assert {'datasets', 'kernels', 'reference', 'cli'} <= set(dir(fastmlp))\n"
            "try:\n"
            "    fastmlp.not_a_module\n"
            "except AttributeError as e:\n"
            "    assert 'not_a_module' in str(e)\n"
            "else:\n"
            "    raise AssertionError\n")
    subprocess.run([sys.executable, "-c", code], check=True)
