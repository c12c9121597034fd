"""fastmlp/init.py: the initialisers' scales, zero biases, and init= on the estimator."""

import numpy as np
import pytest

from fastmlp.init import initialise
from fastmlp.layout import coef_views, make_layout
from helpers import balanced_blobs, clf64

def _init(scheme, fan_in=400, fan_out=300, seed=0):
    layout, n_params, _ = make_layout((fan_in, fan_out))
    params = np.full(n_params, np.nan)
    initialise(params, layout, scheme, np.random.default_rng(seed))
    W, b = coef_views(params, layout)
    return W[0], b[0]


@pytest.mark.parametrize("scheme,std", [("he", np.sqrt(2 / 400)),
                                        ("xavier", np.sqrt(6 / 700) / np.sqrt(3)),
                                        ("glorot", np.sqrt(6 / 700) / np.sqrt(3)),
                                        ("normal", np.sqrt(1 / 400))])
def test_initialisers_have_their_scale_and_zero_biases(scheme, std):
    W, b = _init(scheme)
    assert abs(W.std() / std - 1) < 0.02
    assert abs(W.mean()) < 0.05 * std
    np.testing.assert_array_equal(b, 0)
    if scheme in ("xavier", "glorot"):
        assert np.abs(W).max() <= np.sqrt(6 / 700)


def test_init_by_name_on_the_estimator():
    X, y = balanced_blobs()
    np.testing.assert_array_equal(_init("xavier")[0], _init("glorot")[0])
    fits = {s: clf64(init=s, epochs=1, learning_rate=1e-300).fit(X, y) for s in
            ("he", "xavier", "glorot", "normal")}
    np.testing.assert_array_equal(fits["xavier"].params_, fits["glorot"].params_)
    assert not np.array_equal(fits["he"].params_, fits["normal"].params_)
    assert clf64(activation="relu").init is None  # resolved at fit: he for relu, xavier else
    with pytest.raises(ValueError, match="init="):
        clf64(init="orthogonal").fit(X, y)
