"""fastmlp/cliparse.py and the help texts: a mistake costs one line and names the fix; the help
reads as plain text for the command it is in."""

import re

import pytest

from fastmlp import cli
from fastmlp.cliparse import closest


def _fails(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    return capsys.readouterr().err.splitlines()


@pytest.mark.parametrize("argv,error,usage", [
    (["train", "--lr", "abc"], "fastmlp train: error: argument --lr: invalid float value: 'abc'",
     "usage: fastmlp train [options]; 'fastmlp train --help' lists the options"),
    (["train", "--train-samples", "0"], "fastmlp train: error: argument --train-samples",
     "usage: fastmlp train [options]"),
    (["xor", "--epochs", "x"], "fastmlp xor: error: argument --epochs", "usage: fastmlp xor "),
    (["predict", "m.npz"], "fastmlp predict: error: the following arguments are required: DATA",
     "usage: fastmlp predict MODEL DATA [options]"),
    ([], "fastmlp: error: the following arguments are required: COMMAND",
     "usage: fastmlp COMMAND [options]; 'fastmlp --help' lists the options"),
])
def test_a_bad_value_is_one_line_and_a_usage_hint(argv, error, usage, capsys):
    err = _fails(argv, capsys)
    assert len(err) == 2, err
    assert err[0].startswith(error) and err[1].startswith(usage)


@pytest.mark.parametrize("argv,suggestion", [
    (["train", "--epoch", "5"], "did you mean --epochs?"),
    (["train", "--epoch=5"], "did you mean --epochs?"),
    (["train", "--hid", "5"], "did you mean --hidden?"),
    (["train", "--validation-frac", "0.1"], "did you mean --validation-fraction?"),
    (["xor", "--no-plot"], "did you mean --no-plots?"),
    (["evaluate", "m.npz", "--datset", "mnist"], "did you mean --dataset?"),
    (["train", "--activation", "rlu"], "did you mean 'relu'?"),
    (["train", "--dtype", "flaot32"], "did you mean 'float32'?"),
    (["trian"], "did you mean 'train'?"),
    (["evalute", "m.npz"], "did you mean 'evaluate'?"),
])
def test_a_near_miss_names_what_was_meant(argv, suggestion, capsys):
    err = _fails(argv, capsys)
    assert len(err) == 2 and err[0].endswith(suggestion), err
    if argv[0] == "train" and argv[1].startswith("--epoch"):
        assert "unrecognized arguments: --epoch" in err[0]  # never taken as --epochs
        assert err[0].startswith("fastmlp train: error:")


def test_no_suggestion_without_a_likely_one(capsys):
    err = _fails(["train", "--zzzzzz"], capsys)
    assert "did you mean" not in err[0] and len(err) == 2


def test_closest():
    assert closest("--epoch", ["--epochs", "--lr"]) == "--epochs"
    assert closest("--no-plot", ["--no-plots", "--no-shuffle"]) == "--no-plots"
    assert closest("--sav", ["--save", "--seed"]) == "--save"  # the one it begins
    assert closest("--qqq", ["--epochs", "--lr"]) is None


def _helps():
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return {"fastmlp": parser.format_help(),
            **{f"fastmlp {name}": p.format_help() for name, p in sub.choices.items()}}


def test_help_is_plain_text_for_the_command_it_is_in():
    helps = _helps()
    assert set(helps) == {"fastmlp", "fastmlp train", "fastmlp xor", "fastmlp predict",
                          "fastmlp evaluate"}
    for name, text in helps.items():
        assert "``" not in text and "`" not in text, name  # no reStructuredText markup
        assert "_\n" not in text and not re.search(r"\b\w+_\b", text), name  # no attributes_
    # fastmlp train trains a classifier: no word about the regressor or the estimators
    for word in ("regressor", "classifier only", "the estimator"):
        assert word not in helps["fastmlp train"].lower(), word
    assert "predict" in helps["fastmlp"] and "evaluate" in helps["fastmlp"]


def test_the_epochs_help_states_the_command_lines_default():
    parser = cli.build_parser()
    train = next(a for a in parser._actions if a.dest == "command").choices["train"]
    epochs = next(a for a in train._actions if "--epochs" in a.option_strings)
    assert epochs.default == 3
    assert "default 3" in epochs.help and "(the default)" not in epochs.help
    assert "'auto'" in epochs.help


def test_the_lr_help_promises_only_what_lr_takes():
    """--lr takes a number: its help names the solver's defaults and --lr-schedule, not the
    schedule names or scikit-learn's Python-only aliases the estimator's learning_rate takes."""
    train = next(a for a in cli.build_parser()._actions if a.dest == "command").choices["train"]
    lr = next(a for a in train._actions if "--lr" in a.option_strings)
    assert "0.01" in lr.help and "0.001" in lr.help and "--lr-schedule" in lr.help
    for word in ("invscaling", "adaptive", "learning_rate_init", "get_params"):
        assert word not in lr.help, word
