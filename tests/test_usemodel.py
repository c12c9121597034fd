"""``fastmlp predict MODEL DATA`` and ``fastmlp evaluate MODEL`` (fastmlp/usemodel.py), and
the data files predict reads (fastmlp/inputfiles.py)."""

import gzip
import io
import json

import numpy as np
import pytest

import fastmlp
from fastmlp import cli, datasets, inputfiles
from helpers import balanced_blobs


@pytest.fixture(scope="module")
def mnist():
    return datasets.load_mnist()


@pytest.fixture(scope="module")
def model_path(mnist, tmp_path_factory):
    """A small MNIST classifier saved as fastmlp train --save would."""
    X, y = mnist[0][:2000], mnist[1][:2000]
    path = tmp_path_factory.mktemp("model") / "mnist.npz"
    fastmlp.MLPClassifier(hidden_layer_sizes=(16,), epochs=2, random_state=0).fit(X, y).save(
        path)
    return str(path)


@pytest.fixture(scope="module")
def regressor_path(tmp_path_factory):
    X, y = balanced_blobs(n=40)
    path = tmp_path_factory.mktemp("reg") / "reg.npz"
    fastmlp.MLPRegressor(hidden_layer_sizes=(4,), epochs=2, random_state=0).fit(
        X, y.astype(float)).save(path)
    return str(path), X


def _predict(argv, capsys, code=0):
    assert cli.main(["predict"] + argv) == code
    return capsys.readouterr()


# ==================================================================== predict


def test_predict_a_npy_prints_one_label_per_row(model_path, mnist, tmp_path, capsys):
    X = mnist[2][:25]
    np.save(tmp_path / "rows.npy", X)
    out = _predict([model_path, str(tmp_path / "rows.npy")], capsys).out
    expected = fastmlp.load(model_path).predict(X)
    assert out.splitlines() == [str(v) for v in expected.tolist()]  # nothing else on stdout


def test_predict_reads_the_bundled_idx_images_scaled_as_in_training(model_path, mnist, capsys):
    images = datasets.BUNDLED_MNIST / "t10k-images-idx3-ubyte.gz"
    out = _predict([model_path, str(images)], capsys).out.splitlines()
    expected = fastmlp.load(model_path).predict(mnist[2])
    assert out == [str(v) for v in expected.tolist()] and len(out) == 10000


def test_predict_reads_csv_with_a_header_npz_and_standard_input(model_path, mnist, tmp_path,
                                                                capsys, monkeypatch):
    X = mnist[2][:7]
    expected = [str(v) for v in fastmlp.load(model_path).predict(X).tolist()]
    text = ",".join(f"pixel{k}" for k in range(784)) + "\n" + "\n".join(
        ",".join(repr(float(v)) for v in row) for row in X) + "\n"
    (tmp_path / "rows.csv").write_text(text)
    assert _predict([model_path, str(tmp_path / "rows.csv")], capsys).out.splitlines() == \
        expected
    np.savez(tmp_path / "rows.npz", X=X, other=np.zeros(3))
    assert _predict([model_path, str(tmp_path / "rows.npz")], capsys).out.splitlines() == \
        expected
    monkeypatch.setattr("sys.stdin", io.StringIO(text.replace(",", "\t")))
    assert _predict([model_path, "-"], capsys).out.splitlines() == expected


def test_predict_proba_and_out_files(model_path, mnist, tmp_path, capsys):
    X = mnist[2][:5]
    np.save(tmp_path / "rows.npy", X)
    model = fastmlp.load(model_path)
    lines = _predict([model_path, str(tmp_path / "rows.npy"), "--proba"], capsys).out.splitlines()
    assert lines[0] == ",".join(str(c) for c in model.classes_.tolist())
    proba = np.array([[float(v) for v in line.split(",")] for line in lines[1:]])
    np.testing.assert_allclose(proba, model.predict_proba(X), rtol=1e-6)
    out = _predict([model_path, str(tmp_path / "rows.npy"), "--out", str(tmp_path / "p.npy")],
                   capsys).out
    assert out.strip() == f"wrote the predictions of 5 rows to {tmp_path / 'p.npy'}"
    np.testing.assert_array_equal(np.load(tmp_path / "p.npy"), model.predict(X))
    _predict([model_path, str(tmp_path / "rows.npy"), "--out", str(tmp_path / "p.txt")], capsys)
    assert (tmp_path / "p.txt").read_text().split() == [str(v) for v in model.predict(X)]


def test_predict_with_a_regressor(regressor_path, tmp_path, capsys):
    path, X = regressor_path
    np.save(tmp_path / "x.npy", X[:4])
    values = [float(v) for v in _predict([path, str(tmp_path / "x.npy")], capsys).out.split()]
    np.testing.assert_allclose(values, fastmlp.load(path).predict(X[:4]), rtol=1e-8)
    err = _predict([path, str(tmp_path / "x.npy"), "--proba"], capsys, code=2).err
    assert "--proba needs a classifier" in err and "MLPRegressor" in err


@pytest.mark.parametrize("make,message", [
    (lambda d: (d / "w.csv").write_text("1,2,3\n4,5,6\n"),
     "the model takes rows of 784 features, but"),
    (lambda d: None, "no such data file"),
    (lambda d: (d / "w.csv").write_text("1,2\n3\n"), "a row has 1 values, the first has 2"),
    (lambda d: (d / "w.csv").write_text("a,b\n1,x\n"), "row 2 (not counting blank lines) is"),
    (lambda d: (d / "w.csv").write_text(""), "no rows"),
    (lambda d: (d / "w.csv").write_bytes(b"\x00\x00\x08\x01" + b"\x00\x00\x00\x02" + b"\x01\x02"),
     "holds labels, not images"),
])
def test_predict_refuses_bad_data_in_one_line(make, message, model_path, tmp_path, capsys):
    make(tmp_path)
    err = _predict([model_path, str(tmp_path / "w.csv")], capsys, code=2).err
    assert message in err and len(err.strip().splitlines()) == 1, err


def test_predict_refuses_a_model_given_as_data_and_a_missing_model(model_path, capsys):
    err = _predict([model_path, model_path], capsys, code=2).err
    assert "this is a fastmlp model file, not data" in err
    err = _predict(["missing.npz", model_path], capsys, code=2).err
    assert "no such model file" in err


def test_inputfiles_read_one_row_and_refuse_text_as_numbers(tmp_path):
    np.save(tmp_path / "one.npy", np.arange(4.0))
    assert inputfiles.read_rows(str(tmp_path / "one.npy")).shape == (1, 4)
    np.save(tmp_path / "s.npy", np.array(["a", "b"]))
    with pytest.raises(ValueError, match="expected numbers"):
        inputfiles.read_rows(str(tmp_path / "s.npy"))
    raw = b"\x00\x00\x08\x03" + np.array([2, 2, 2], ">u4").tobytes() + bytes(range(8))
    (tmp_path / "img.gz").write_bytes(gzip.compress(raw))
    X = inputfiles.read_rows(str(tmp_path / "img.gz"))
    np.testing.assert_allclose(X, np.arange(8, dtype=np.float32).reshape(2, 4) / 255)


# ==================================================================== evaluate


def test_evaluate_reports_the_models_test_accuracy_and_confusion_matrix(model_path, mnist,
                                                                         capsys):
    assert cli.main(["evaluate", model_path]) == 0
    out = capsys.readouterr().out.splitlines()
    score = fastmlp.load(model_path).score(mnist[2], mnist[3])
    correct = int(round(score * 10000))
    assert out[0] == f"{model_path}: MLPClassifier 784-16-10, relu, float32, 2 epochs"
    assert out[1] == "MNIST test split: 10000 samples"
    assert out[2] == f"accuracy {score:.4f} ({correct} of 10000 correct)"
    assert out[3].startswith("confusion matrix (rows: true class")
    rows = [line.split() for line in out[5:15]]
    counts = np.array([[int(v) for v in r[1:11]] for r in rows])
    assert counts.sum() == 10000 and np.trace(counts) == correct
    np.testing.assert_array_equal(counts.sum(axis=1), np.bincount(mnist[3]))


def test_evaluate_json_and_the_training_split(model_path, mnist, capsys):
    assert cli.main(["evaluate", model_path, "--json", "--split", "train"]) == 0
    result = json.loads(capsys.readouterr().out)
    cm = np.array(result["confusion_matrix"])
    model = fastmlp.load(model_path)
    assert result["samples"] == 60000 and cm.sum() == 60000
    assert result["accuracy"] == pytest.approx(model.score(mnist[0], mnist[1]))
    assert result["correct"] == np.trace(cm) and result["labels"] == list(range(10))
    assert result["data"] == "MNIST train split"


def test_evaluate_plot_writes_the_confusion_matrix(model_path, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    assert cli.main(["evaluate", model_path, "--plot", str(tmp_path)]) == 0
    assert f"wrote {tmp_path / 'confusion_matrix.png'}" in capsys.readouterr().out
    assert (tmp_path / "confusion_matrix.png").read_bytes()[:4] == b"\x89PNG"


def test_evaluate_refuses_what_it_cannot_score(regressor_path, tmp_path, capsys):
    assert cli.main(["evaluate", regressor_path[0]]) == 2
    assert "evaluate scores classifiers" in capsys.readouterr().err
    X, y = balanced_blobs(n=40)
    fastmlp.MLPClassifier(hidden_layer_sizes=(4,), epochs=1).fit(X, y).save(tmp_path / "c")
    assert cli.main(["evaluate", str(tmp_path / "c.npz")]) == 2
    err = capsys.readouterr().err
    assert f"takes rows of {X.shape[1]} features, but MNIST test split has 784" in err
    assert cli.main(["evaluate", str(tmp_path / "c.npz"), "--data", str(tmp_path)]) == 2
    assert "not found" in capsys.readouterr().err


# ==================================================================== train --save, then use


def test_train_save_prints_the_path_and_the_model_evaluates_the_same(tmp_path, capsys):
    assert cli.main(["train", "--train-samples", "500", "--epochs", "1", "--hidden", "8",
                     "--quiet", "--save", str(tmp_path / "m")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == f"saved the model to {tmp_path / 'm.npz'}"
    accuracy = float(out[0].split()[2])
    assert cli.main(["evaluate", str(tmp_path / "m.npz"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] == pytest.approx(accuracy, abs=1e-4)


def test_a_reader_that_leaves_early_ends_evaluate_quietly(model_path):
    """`fastmlp evaluate MODEL | head -1`: the pipe closes after the first line; the lines
    evaluate prints later meet a closed pipe, and the command stops without a BrokenPipeError
    traceback (exit status 141, as a shell reports a command SIGPIPE ended)."""
    import subprocess
    import sys
    code = ("import sys; from fastmlp import cli; "
            "raise SystemExit(cli.main(['evaluate', sys.argv[1]]))")
    proc = subprocess.Popen([sys.executable, "-c", code, model_path],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = proc.stdout.readline().decode()
    proc.stdout.close()  # the reader leaves
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 141, err
    assert "MLPClassifier" in first and "Traceback" not in err and "BrokenPipe" not in err, err
