"""fastmlp/cli.py: `fastmlp train` and `fastmlp xor`, the parser generated from the table."""

import json
import os
import subprocess
import sys

import numpy as np

import pytest

from fastmlp import MLPClassifier, backends, cli, datasets
from fastmlp.params import PARAMS
from fastmlp.xor import DEFAULTS
from helpers import balanced_blobs, clf64


# ==================================================================== the parameter table


def _train_parser():
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return sub.choices["train"]


NOT_HYPERPARAMETERS = {"-h", "--help", "--dataset", "--data", "--train-samples", "--save",
                       "--quiet", "--json", "--plot"}


def test_train_exposes_exactly_the_parameter_table():
    t = _train_parser()
    options = {s for a in t._actions for s in a.option_strings if s.startswith("--")}
    options -= NOT_HYPERPARAMETERS
    options -= {"--no-shuffle", "--no-diagnostics", "--no-nesterov",
                "--no-early-stopping"}  # the negative halves
    assert options == {p.cli for p in PARAMS if p.cli}
    # every hyperparameter is on the command line except warm_start (one fit per run) and
    # verbose (which --quiet turns off)
    assert [p.name for p in PARAMS if not p.cli] == ["warm_start", "verbose"]


def test_train_options_take_choices_and_defaults_from_their_one_home():
    t = _train_parser()
    by_flag = {a.option_strings[0]: a for a in t._actions if a.option_strings}
    for p in PARAMS:
        if not p.cli:
            continue
        action = by_flag[p.cli]
        assert action.default == p.command_line_default, p.name
        assert action.choices == p.choices, p.name
    assert by_flag["--backend"].choices == backends.NAMES
    assert by_flag["--dataset"].choices == tuple(datasets.DATASETS)
    args = cli.build_parser().parse_args(["train"])
    model = MLPClassifier(**{p.name: getattr(args, p.dest) for p in PARAMS if p.cli})
    # the command line's own defaults: 3 epochs (the reference workload), and the classifier's
    # alpha and clip_value (0) spelled out
    assert model.get_params() == dict(MLPClassifier(random_state=0).get_params(), epochs=3,
                                      alpha=0.0, clip_value=0.0, on_divergence="raise")
    assert (model._resolve().alpha, model._resolve().clip_value) == (
        MLPClassifier()._resolve().alpha, MLPClassifier()._resolve().clip_value)


# ==================================================================== fastmlp train


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
            if args[4].shape[0] < 3000:  # the warm-up's tiny fit before training
                return real.train_epoch(*args)
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


def test_fashion_mnist_missing_says_how_to_get_it(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("FASTMLP_DATA", raising=False)
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        datasets.load_fashion_mnist(tmp_path)
    assert cli.main(["train", "--dataset", "fashion-mnist", "--data", str(tmp_path),
                     "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "dataset-fashion-mnist" in err and "--data" in err
    assert str(datasets.FASHION_MNIST_DEFAULT) == "/usr/share/datasets/fashion-mnist"


@pytest.mark.skipif(not all(datasets._find(datasets.FASHION_MNIST_DEFAULT, s)
                            for s in datasets.FILES.values()),
                    reason="Fashion-MNIST not installed in /usr/share/datasets/fashion-mnist "
                           "(apt-get install dataset-fashion-mnist)")
def test_fashion_mnist_trains_from_the_default_folder(capsys, monkeypatch):
    monkeypatch.delenv("FASTMLP_DATA", raising=False)
    assert cli.main(["train", "--dataset", "fashion-mnist", "--train-samples", "2000",
                     "--epochs", "1", "--hidden", "64", "--quiet", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["config"]["dataset"] == "fashion-mnist"
    assert result["config"]["test_samples"] == 10000
    assert 0.5 < result["test_accuracy"] < 1


def test_train_json_with_the_reference_backend_in_float32(capsys):
    """The reference sums the epoch loss in float64 like the kernels: loss_curve_ holds Python
    floats for both backends, so --json can serialise it."""
    assert cli.main(["train", "--backend", "reference", "--train-samples", "200", "--epochs",
                     "1", "--hidden", "16", "--quiet", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert 0 < result["test_accuracy"] <= 1
    X, y = balanced_blobs(n=30)
    for backend in ("numba", "reference"):
        m = clf64(backend=backend, dtype="float32").fit(X, y)
        assert all(type(v) is float for v in m.loss_curve_), backend


def test_train_reports_the_accuracy_of_the_model_it_saves_after_early_stopping(tmp_path,
                                                                              capsys):
    """Early stopping restores the best epoch's weights after the last epoch ran: the final
    test_accuracy is the returned model's, which is the one saved."""
    path = tmp_path / "es.npz"
    assert cli.main(["train", "--train-samples", "1000", "--epochs", "15", "--quiet", "--json",
                     "--validation-fraction", "0.3", "--n-iter-no-change", "1", "--lr", "0.05",
                     "--hidden", "32", "--save", str(path)]) == 0
    result = json.loads(capsys.readouterr().out)
    X_test, y_test = datasets.load_mnist()[2:]
    import fastmlp
    assert result["test_accuracy"] == fastmlp.load(path).score(X_test, y_test)


@pytest.mark.parametrize("args,message", [
    (["--save", "/nonexistent-folder/m.npz"], "does not exist"),
    (["--save", ""], "--save needs a file path"),
    (["--plot", __file__], "it is a file, not a folder"),
])
def test_train_refuses_unwritable_outputs_before_training(args, message, capsys, monkeypatch):
    monkeypatch.setattr(datasets, "DATASETS", {"mnist": lambda path: pytest.fail("trained")})
    if "--plot" in args:
        pytest.importorskip("matplotlib")
    assert cli.main(["train", "--quiet"] + args) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("args,message", [
    (["--hidden", ""], "comma-separated integers"),
    (["--hidden", "10,,10"], "comma-separated integers"),
    (["--batch-size", "1.5"], "a positive integer or 'full', got '1.5'"),
])
def test_train_option_typos_are_refused(args, message, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["train"] + args)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_train_hidden_none_is_a_network_without_hidden_layers(capsys):
    assert cli.main(["train", "--hidden", "none", "--train-samples", "300", "--epochs", "1",
                     "--quiet", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["config"]["hidden"] == []


@pytest.mark.parametrize("bad", ["0", "-1", "ten"])
def test_train_samples_must_be_positive(bad, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["train", "--train-samples", bad])
    assert exc.value.code == 2
    assert "positive integer" in capsys.readouterr().err


def test_train_cli_passes_the_feature_options(capsys):
    code = cli.main(["train", "--train-samples", "500", "--epochs", "4", "--hidden", "16",
                     "--init", "normal", "--lr", "0.05", "--lr-schedule", "step", "--lr-decay",
                     "0.5", "--lr-step", "2", "--clip-norm", "5", "--clip-value", "1",
                     "--alpha", "1e-4", "--validation-fraction", "0.2",
                     "--n-iter-no-change", "10", "--quiet", "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    cfg = result["config"]
    assert (cfg["init"], cfg["lr_decay"], cfg["lr_step"], cfg["clip_norm"], cfg["clip_value"],
            cfg["validation_fraction"], cfg["n_iter_no_change"]) == \
        ("normal", 0.5, 2, 5, 1, 0.2, 10)
    assert len(result["history"]) == 4
    assert all(0 <= h["validation_score"] <= 1 for h in result["history"])


def test_train_cli_reports_divergence_cleanly(capsys):
    code = cli.main(["train", "--train-samples", "200", "--epochs", "1", "--hidden", "8",
                     "--lr", "1e30", "--quiet"])
    assert code == 2
    err = capsys.readouterr().err
    assert "diverged in epoch 1" in err and "learning_rate" in err and "Traceback" not in err


# ==================================================================== fastmlp xor


def test_xor_refuses_a_file_as_output_folder(capsys):
    pytest.importorskip("matplotlib")
    assert cli.main(["xor", "--out", __file__]) == 2
    assert "not a folder" in capsys.readouterr().err


def test_xor_cli_json(capsys):
    assert cli.main(["xor", "--no-plots", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["accuracy"] >= 0.97
    assert result["epochs"] == DEFAULTS["epochs"]
    assert result["config"]["network"] == "2-10-2"
    assert "plots" not in result


def test_xor_cli_options_and_errors(capsys):
    assert cli.main(["xor", "--no-plots", "--json", "--hidden", "3", "--epochs", "50",
                     "--lr", "1.0", "--backend", "reference"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["epochs"] == 50 and result["config"]["network"] == "2-3-2"
    assert result["config"]["backend"] == "reference"
    assert cli.main(["xor", "--no-plots", "--lr", "-1"]) == 2
    assert "learning_rate" in capsys.readouterr().err


# ==================================================================== issue 11: no surprises


def test_quiet_keeps_the_final_result_line(capsys):
    assert cli.main(["train", "--train-samples", "300", "--epochs", "1", "--hidden", "8",
                     "--quiet"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("test accuracy ")
    assert "after 1 epoch in" in out[0]  # singular


@pytest.mark.parametrize("args,message", [
    (["--save", "/proc/m.npz"], "cannot save to '/proc/m.npz': no file can be created"),
    (["--plot", "/etc/passwd/x"], "cannot write figures into '/etc/passwd/x'"),
])
def test_unwritable_outputs_fail_before_the_data_loads(args, message, capsys, monkeypatch):
    monkeypatch.setattr(datasets, "DATASETS", {"mnist": lambda path: pytest.fail("loaded")})
    if "--plot" in args:
        pytest.importorskip("matplotlib")
    assert cli.main(["train", "--quiet"] + args) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Errno" not in err


def test_a_late_save_failure_still_prints_the_json_result(capsys, tmp_path, monkeypatch):
    def failing(self, path):
        raise OSError("disk full")
    monkeypatch.setattr(MLPClassifier, "save", failing)
    assert cli.main(["train", "--train-samples", "200", "--epochs", "1", "--hidden", "8",
                     "--quiet", "--json", "--save", str(tmp_path / "m.npz")]) == 2
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert result["error"] == "disk full" and 0 <= result["test_accuracy"] <= 1
    assert "disk full" in captured.err


@pytest.mark.parametrize("argv", [["train", "--epoch", "5"], ["train", "--hid", "5"],
                                  ["xor", "--no-plot"]])
def test_no_option_abbreviations(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    assert "unrecognized arguments" in capsys.readouterr().err


def test_header_states_the_real_split_and_the_data_set(capsys):
    assert cli.main(["train", "--train-samples", "1000", "--epochs", "1", "--hidden", "8",
                     "--validation-fraction", "0.1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("MNIST: 900 train / 100 validation / 10000 test, network 784-8-10")


def test_the_data_set_is_named_from_its_labels_not_the_option():
    y_test = np.zeros(10000, int)
    mnist = np.array([5, 0, 4, 1, 9, 2, 1, 3, 1, 4] * 6000)
    fashion = np.array([9, 0, 0, 3, 0, 2, 7, 2, 5, 5] * 6000)
    assert datasets.identify(mnist, y_test) == "mnist"
    assert datasets.identify(fashion, y_test) == "fashion-mnist"
    assert datasets.identify(fashion[:100], y_test) is None
    assert datasets.CLASS_NAMES["fashion-mnist"][9] == "Ankle boot"


@pytest.mark.parametrize("argv,message", [
    (["xor", "--gif", "--no-plots"], "--gif and --no-plots contradict"),
    (["train", "--train-samples", "100000"], "more than the 60000 training samples"),
    (["train", "--lr-decay", "0.3"], "--lr-decay has no effect with --lr-schedule constant"),
    (["train", "--lr-schedule", "exponential", "--lr-decay", "2"], "would make the learning "
                                                                  "rate grow"),
    (["train", "--lr-step", "2", "--lr-schedule", "linear"], "--lr-step has no effect"),
    (["train", "--alpha", "1e-4", "--l1-ratio", "0.5"], "--l1-ratio has no effect with "
                                                        "--penalty l2"),
    (["train", "--penalty", "l1"], "--penalty has no effect with --alpha 0"),
    (["train", "--tol", "0.01"], "--tol has no effect without --n-iter-no-change"),
])
def test_contradictory_or_out_of_range_options_are_refused(argv, message, capsys):
    assert cli.main(argv + ["--quiet"] if argv[0] == "train" else argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_every_option_has_help():
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, command in sub.choices.items():
        for action in command._actions:
            assert action.help, f"fastmlp {name} {action.option_strings} has no help"


def test_xor_presets_are_the_write_ups_runs(capsys):
    from fastmlp.xor import PRESETS, xor_settings
    assert set(PRESETS) >= {"3-neurons", "50-neurons-l2-1e-4", "50-neurons-l2-1e-6"}
    s4, s6 = xor_settings("50-neurons-l2-1e-4"), xor_settings("50-neurons-l2-1e-6")
    assert (s4["hidden"], s4["alpha"], s6["alpha"]) == (50, 1e-4, 1e-6)
    assert s4["learning_rate"] == pytest.approx(0.003 * 300)  # the write-up's summed gradient
    assert xor_settings("3-neurons", hidden=None, epochs=7)["epochs"] == 7
    assert cli.main(["xor", "--preset", "3-neurons", "--epochs", "20", "--no-plots",
                     "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["config"]["network"] == "2-3-2"


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file names are bytes")
def test_a_data_folder_whose_name_is_not_utf8_prints_under_a_strict_utf8_stdout(tmp_path):
    """The header names the --data folder; its undecodable bytes (held as surrogates) crashed
    print() when stdout's encoding is strict UTF-8."""
    folder = os.path.join(os.fsencode(tmp_path), b"mnist-\xff")
    os.mkdir(folder)
    source = str(datasets.BUNDLED_MNIST)
    for name in os.listdir(source):
        os.symlink(os.path.join(source, name), os.path.join(folder, os.fsencode(name)))
    env = dict(os.environ, PYTHONIOENCODING="utf-8:strict", PYTHONUTF8="1")
    proc = subprocess.run([sys.executable, "-m", "fastmlp", "train", "--data", folder,
                           "--train-samples", "300", "--epochs", "1", "--hidden", "8"],
                          capture_output=True, env=env)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    header = proc.stdout.decode("utf-8").splitlines()[0]
    assert header.startswith("MNIST (from ") and "mnist-\\udcff" in header


# ==================================================================== issue 19: says what it did


def test_early_stopping_names_the_epoch_whose_weights_it_kept(capsys):
    argv = ["train", "--train-samples", "1000", "--epochs", "15", "--validation-fraction", "0.3",
            "--n-iter-no-change", "1", "--lr", "0.05", "--hidden", "32"]
    assert cli.main(argv + ["--quiet", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    kept = result["weights_of_epoch"]
    assert result["stopped_early"] and kept < result["epochs"] < 15
    # the model it ends with is that epoch's: the test accuracy measured after that epoch
    assert result["test_accuracy"] == result["history"][kept - 1]["test_accuracy"]
    scores = [h["validation_score"] for h in result["history"]]
    assert scores[kept - 1] == max(scores)
    assert cli.main(argv) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.startswith(f"test accuracy {result['test_accuracy']:.4f} after "
                           f"{result['epochs']} epochs in ")
    assert last.endswith(f"; early stopping kept the weights of epoch {kept} (validation "
                         f"accuracy {scores[kept - 1]:.4f})")


def test_a_run_that_ends_normally_says_nothing_about_early_stopping(capsys):
    assert cli.main(["train", "--train-samples", "300", "--epochs", "2", "--hidden", "8",
                     "--validation-fraction", "0.2", "--quiet", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert not result["stopped_early"] and result["weights_of_epoch"] == 2


def test_early_stop_on_the_training_loss_keeps_the_last_epoch():
    from types import SimpleNamespace
    model = SimpleNamespace(validation_scores_=[])
    assert cli._early_stop(model, 12, 200, 1e-4) == (True, 12)
    args = SimpleNamespace(n_iter_no_change=None, tol=1e-4)
    assert cli._early_stop_note(model, True, 12, args) == (
        "; stopped early: the training loss had not improved by 0.0001 for 10 epochs")
    model = SimpleNamespace(validation_scores_=[0.5, 0.7, 0.70001, 0.6])
    assert cli._early_stop(model, 4, 10, 1e-4) == (True, 2)  # 0.70001 is not better by tol
    assert cli._early_stop(model, 4, 4, 1e-4) == (False, 4)
