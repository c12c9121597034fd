"""Weight initialisers. Biases always start at zero."""

import numpy as np

from .layout import coef_views

INITIALISERS = ("he", "xavier", "glorot", "normal")


def default_init(activation):
    """He for ReLU (and identity), Xavier/Glorot for the saturating sigmoid and tanh."""
    return "he" if activation in ("relu", "identity") else "xavier"


def initialise(params, layout, scheme, rng):
    """Fill params in place.

    - he:     N(0, 2 / fan_in)                          (He et al. 2015, for ReLU)
    - xavier: U(-r, r), r = sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio 2010); alias glorot
    - normal: N(0, 1 / fan_in), the scaled normal of Nielsen's book / LeCun
    """
    coefs, intercepts = coef_views(params, layout)
    for W, b in zip(coefs, intercepts):
        fan_in, fan_out = W.shape
        if scheme == "he":
            W[...] = rng.standard_normal(W.shape) * np.sqrt(2.0 / fan_in)
        elif scheme in ("xavier", "glorot"):
            r = np.sqrt(6.0 / (fan_in + fan_out))
            W[...] = rng.uniform(-r, r, W.shape)
        elif scheme == "normal":
            W[...] = rng.standard_normal(W.shape) / np.sqrt(fan_in)
        else:
            raise ValueError(f"init={scheme!r} is not supported; expected one of {INITIALISERS}")
        b[...] = 0
