"""Short real training runs on the bundled MNIST: the product must actually learn.

Thresholds were set from measured runs with margin (see the comments); they are accuracy
floors, not timings.
"""

import json

import numpy as np
import pytest

from fastmlp import MLPClassifier, cli, datasets


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


def test_cli_train_json_on_a_subset(capsys, tmp_path):
    rc = cli.main(["train", "--train-samples", "3000", "--epochs", "2", "--hidden", "32",
                   "--json", "--save", str(tmp_path / "m.npz")])
    assert rc == 0
    result = json.loads(capsys.readouterr().out)
    for key in ("test_accuracy", "epochs", "seconds", "samples_per_second", "config"):
        assert key in result
    assert result["epochs"] == 2 and result["config"]["train_samples"] == 3000
    assert result["config"]["hidden"] == [32] and result["test_accuracy"] > 0.8
    import fastmlp
    model = fastmlp.load(tmp_path / "m.npz")
    X_test, y_test = datasets.load_mnist()[2:]
    assert model.score(X_test, y_test) == pytest.approx(result["test_accuracy"])


def test_cli_reports_a_missing_data_folder(capsys, tmp_path):
    rc = cli.main(["train", "--data", str(tmp_path), "--quiet"])
    assert rc == 2
    assert "not found" in capsys.readouterr().err


def test_cli_ctrl_c_saves_the_partly_trained_model(capsys, tmp_path, monkeypatch):
    # 3,000 samples are one chunk per epoch; interrupt the third epoch's chunk: the CLI says so,
    # exits 130 and saves the weights of the two completed epochs.
    from fastmlp import backends
    real = backends.get_backend("numba")
    calls = []

    class Interrupting:
        def __getattr__(self, name):
            return getattr(real, name)

        def train_epoch(self, *args):
            calls.append(1)
            if len(calls) == 3:
                raise KeyboardInterrupt
            return real.train_epoch(*args)

    monkeypatch.setattr("fastmlp.training.get_backend", lambda name: Interrupting())
    path = tmp_path / "partial.npz"
    rc = cli.main(["train", "--train-samples", "3000", "--hidden", "16", "--quiet",
                   "--save", str(path)])
    assert rc == 130
    err = capsys.readouterr().err
    assert "interrupted after 2 full epochs (6000 samples trained)" in err and str(path) in err
    import fastmlp
    model = fastmlp.load(path)
    assert model.n_iter_ == 2 and model.t_ == 6000 and len(model.loss_curve_) == 2
