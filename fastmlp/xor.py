"""The XOR demo of the first write-up: 300 Gaussian points, label = XOR of the two signs.

A 2-H-2 network (H = 3 or 10) with sigmoid hidden and sigmoid output units, squared error with
an L2 (ridge) penalty, trained by gradient descent over the whole batch -- an ordinary
MLPClassifier running through the same kernels as everything else. Biases start at zero.

    from fastmlp.xor import make_xor, train_xor
    model, history = train_xor()              # 2-10-2, ~1 s
    model, history = train_xor(**xor_settings("3-neurons"))
    model.score(*make_xor())                  # ~0.88
"""

import numpy as np

from .estimators import MLPClassifier

# the demo's defaults (2-10-2 reaches ~0.99 training accuracy in 2000 full-batch epochs)
DEFAULTS = dict(hidden=10, learning_rate=5.0, alpha=1e-4, epochs=2000, seed=0)

# the write-up's runs (``fastmlp xor --preset NAME``); options given explicitly override them
# The write-up's lr 0.003 multiplied a gradient SUMMED over its 300 points; fastmlp averages
# over the batch, so the same steps take learning_rate = 0.003 * 300 = 0.9.
WRITE_UP_LR_50 = 0.003 * 300
PRESETS = {
    "default": dict(about="2-10-2, lr 5, L2 1e-4, 2000 epochs"),
    "3-neurons": dict(hidden=3, about="2-3-2: too few units, it stalls near 0.88"),
    "50-neurons-l2-1e-4": dict(hidden=50, learning_rate=WRITE_UP_LR_50, alpha=1e-4,
                               about="2-50-2, the write-up's lr 0.003 (summed gradient), "
                                     "L2 1e-4"),
    "50-neurons-l2-1e-6": dict(hidden=50, learning_rate=WRITE_UP_LR_50, alpha=1e-6,
                               about="the same with L2 1e-6"),
    "50-neurons-unstable": dict(hidden=50, activation="relu", learning_rate=20.0, alpha=1e-4,
                                about="2-50-2 with ReLU units and lr 20: the loss climbs "
                                      "suddenly, again and again, as the gradients grow"),
}


def xor_settings(preset="default", **given):
    """The demo's settings: DEFAULTS, then the preset, then the ``given`` values not None."""
    settings = dict(DEFAULTS)
    settings.update({k: v for k, v in PRESETS[preset].items() if k != "about"})
    settings.update({k: v for k, v in given.items() if v is not None})
    return settings


def make_xor(n=300, seed=0):
    """(X, y): ``RandomState(seed).randn(n, 2)``, y = 1 where exactly one coordinate is > 0."""
    X = np.random.RandomState(seed).randn(n, 2)
    y = np.logical_xor(X[:, 0] > 0, X[:, 1] > 0).astype(np.int64)
    return X, y


def xor_model(hidden=DEFAULTS["hidden"], learning_rate=DEFAULTS["learning_rate"],
              alpha=DEFAULTS["alpha"], epochs=DEFAULTS["epochs"], seed=DEFAULTS["seed"],
              activation="sigmoid", **params):
    """The write-up's network as an (unfitted) MLPClassifier; ``params`` override the rest."""
    settings = dict(hidden_layer_sizes=(int(hidden),), activation=activation,
                    output_activation="sigmoid", loss="squared_error", init="xavier",
                    learning_rate=learning_rate, alpha=alpha, epochs=epochs, batch_size="full",
                    shuffle=False, dtype="float64", random_state=seed)
    settings.update(params)
    return MLPClassifier(**settings)


def boundary_grid(X, resolution=200, margin=0.5):
    """(xx, yy, points): a resolution x resolution grid covering X plus a margin."""
    lo = X.min(axis=0) - margin
    hi = X.max(axis=0) + margin
    xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], resolution),
                         np.linspace(lo[1], hi[1], resolution))
    return xx, yy, np.column_stack([xx.ravel(), yy.ravel()])


def train_xor(X=None, y=None, frames=0, resolution=100, **params):
    """Fit the XOR network; returns (model, history).

    history: dict with ``loss`` and ``accuracy`` (per epoch), ``diagnostics`` (the model's
    ``diagnostics_``, empty unless ``diagnostics=True`` is passed) and ``frames``: a list of
    (epoch, P(class 1) on the boundary grid) taken at ``frames`` roughly geometrically spaced
    epochs (for the animation; 0 = none). ``params`` go to :func:`xor_model`.
    """
    if X is None:
        X, y = make_xor()
    model = xor_model(**params)
    snapshots = []
    if frames:
        epochs = int(model.epochs)
        # roughly geometric spacing: the boundary changes fastest early on
        at = set(np.unique(np.geomspace(1, epochs, int(frames)).round().astype(int)).tolist())
        _, _, points = boundary_grid(X, resolution)

        def snapshot(m, info):
            if info["epoch"] in at:
                snapshots.append((info["epoch"], m.predict_proba(points)[:, 1]
                                  .reshape(resolution, resolution)))
    else:
        snapshot = None
    model.fit(X, y, epoch_callback=snapshot)
    return model, dict(loss=list(model.loss_curve_), accuracy=list(model.accuracy_curve_),
                       diagnostics=dict(model.diagnostics_), frames=snapshots,
                       resolution=resolution)
