"""fastmlp/cli.py: `fastmlp train` and `fastmlp xor`, the parser generated from the table."""

import json

import numpy as np
import pytest

import fastmlp
from fastmlp import MLPClassifier, backends, cli, datasets
from fastmlp.params import PARAMS


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
    options -= {"--no-shuffle"}  # the negative half of --shuffle
    assert options == {p.cli for p in PARAMS if p.cli}
    # every hyperparameter is on the command line except verbose (which --quiet turns off)
    assert [p.name for p in PARAMS if not p.cli] == ["verbose"]


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
    assert model.get_params() == dict(MLPClassifier(random_state=0).get_params())
