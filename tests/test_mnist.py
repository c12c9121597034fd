"""Short real training runs on the bundled MNIST: the product must actually learn.

Thresholds were set from measured runs with margin (see the comments); they are accuracy
floors, not timings.
"""

import pytest

from fastmlp import MLPClassifier, datasets


@pytest.fixture(scope="module")
def mnist():
    return datasets.load_mnist()


def test_per_sample_sgd_on_10k_mnist_reaches_90_percent(mnist):
    # The reference workload (784-200-200-10, ReLU, softmax+CE, He, lr 0.01, batch 1) on the first
    # 10,000 training images for one epoch. Measured test accuracy 0.920-0.926 over seeds 0-2.
    X_train, y_train, X_test, y_test = mnist
    model = MLPClassifier(epochs=1, random_state=0).fit(X_train[:10000], y_train[:10000])
    assert model.score(X_test, y_test) >= 0.90
    assert len(model.loss_curve_) == 1 and 0.0 < model.loss_curve_[0] < 1.0


def test_float64_and_minibatch_also_learn(mnist):
    # float64 per-sample and mini-batch 16 (larger lr, as batch averaging needs) on 5,000 images.
    # Measured over seeds 0-2: float64 0.873-0.893, batch 16 0.865-0.879.
    X_train, y_train, X_test, y_test = mnist
    for kw, floor in ((dict(dtype="float64"), 0.86), (dict(batch_size=16, learning_rate=0.1), 0.80)):
        model = MLPClassifier(hidden_layer_sizes=(64,), epochs=2, random_state=1, **kw)
        model.fit(X_train[:5000], y_train[:5000])
        assert model.score(X_test[:2000], y_test[:2000]) >= floor, kw
