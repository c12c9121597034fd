"""fastmlp/firstrun.py: the kernels a command needs are compiled before it starts, timed and
reported on their own line, so no epoch time or samples/s figure includes a compile."""

import io
import json
import os
import subprocess
import sys
import time

import numba
import pytest

from fastmlp import backends, cli, firstrun

# one fresh process per configuration: the kernels a tiny fit loaded, then whatever the real
# fit (and scoring) of that configuration loaded or compiled on top of them
_COVERAGE = r"""
import json, sys, warnings
import numpy as np
from numba.core.registry import CPUDispatcher
import fastmlp
from fastmlp import firstrun, kernels
from fastmlp.datasets import load_mnist
import fastmlp.kernels.batches, fastmlp.kernels.clipnorm, fastmlp.kernels.csr
import fastmlp.kernels.epochs, fastmlp.kernels.sgd

def loaded():
    found = set()
    for mod in list(sys.modules.values()):
        if getattr(mod, "__name__", "").startswith("fastmlp.kernels"):
            for name, value in vars(mod).items():
                if isinstance(value, CPUDispatcher):
                    found |= {(name, str(sig)) for sig in value.overloads}
    return found

params = json.loads(sys.argv[1])
X, y, X_test, y_test = load_mnist()
X, y = X[:int(sys.argv[2])], y[:int(sys.argv[2])]
model = fastmlp.MLPClassifier(hidden_layer_sizes=(8,), epochs=1, random_state=0, **params)
warnings.simplefilter("ignore")
firstrun.tiny_fit(model, X, y)()
before = loaded()
model.fit(X, y)
model.score(X_test[:100], y_test[:100])
print(json.dumps(sorted(map(list, loaded() - before))))
"""

CONFIGURATIONS = {
    "per-sample": ({}, 300),
    "mini-batch": ({"batch_size": 32}, 300),
    "full-batch-beyond-the-compiled-batch-limit": ({"batch_size": "full"}, 3000),
    "float64-validation": ({"dtype": "float64", "validation_fraction": 0.2,
                            "n_iter_no_change": 1}, 300),
    "momentum": ({"solver": "sgd", "momentum": 0.9}, 300),
    "adam-penalty": ({"solver": "adam", "alpha": 1e-4}, 300),
    "clip-norm": ({"clip_norm": 1.0}, 300),
    "class-weight": ({"class_weight": "balanced", "batch_size": 8}, 300),
}


@pytest.mark.parametrize("name", sorted(CONFIGURATIONS))
def test_the_tiny_fit_runs_every_kernel_the_real_fit_runs(name):
    """After the warm-up, the real fit and scoring need no kernel the warm-up did not load
    (or compile): epoch 1 never pays for one."""
    params, rows = CONFIGURATIONS[name]
    proc = subprocess.run([sys.executable, "-c", _COVERAGE, json.dumps(params), str(rows)],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout) == []


def test_a_compile_is_announced_once_timed_and_reported():
    @numba.njit
    def inner(x):  # fresh functions: compiled here, never cached
        return x + 1

    @numba.njit
    def outer(x):
        return inner(x) * 2

    stream = io.StringIO()
    done = firstrun.compile_kernels(lambda: outer(1), "numba", "train", notice=stream)
    assert done.compiled and done.seconds > 0
    assert stream.getvalue() == firstrun.notice_text("train") + "\n"  # once, for two compiles
    assert firstrun.MEASURED_ON in stream.getvalue()
    assert done.cache == backends.cache_dir("numba") and os.path.isdir(done.cache)
    assert done.line() == f"compiled the kernels in {done.seconds:.1f} s, cached in {done.cache}"
    # the same kernels again: loaded, nothing compiled, no notice
    stream = io.StringIO()
    again = firstrun.compile_kernels(lambda: outer(2), "numba", "train", notice=stream)
    assert not again.compiled and stream.getvalue() == ""
    # the reference backend compiles nothing and runs nothing
    assert firstrun.compile_kernels(lambda: 1 / 0, "reference", "xor") == \
        firstrun.Compiled(0.0, False)


def test_the_notice_quotes_a_measured_figure_for_every_command():
    for command in ("train", "train-batch", "xor", "predict"):
        text = firstrun.notice_text(command)
        assert f"~{firstrun.MEASURED_SECONDS[command]:.0f} s on {firstrun.MEASURED_ON}" in text


def test_errors_in_the_tiny_problem_are_left_to_the_real_run():
    def failing():
        raise ValueError("bad data")
    assert not firstrun.compile_kernels(failing, "numba", "train").compiled
    with pytest.raises(KeyboardInterrupt):
        firstrun.compile_kernels(lambda: (_ for _ in ()).throw(KeyboardInterrupt), "numba",
                                 "train")


def _slow_compile(monkeypatch, seconds):
    """Make the CLI's warm-up compile a fresh function and last ``seconds`` longer."""
    real = firstrun.tiny_fit

    def tiny_fit(model, X, y):
        run = real(model, X, y)

        def slow():
            @numba.njit
            def fresh(x):
                return x + 1
            fresh(1)
            time.sleep(seconds)
            run()
        return slow

    monkeypatch.setattr(firstrun, "tiny_fit", tiny_fit)


def test_train_reports_the_compile_apart_from_the_epochs(capsys, monkeypatch):
    _slow_compile(monkeypatch, 2.0)
    assert cli.main(["train", "--train-samples", "300", "--epochs", "2", "--hidden", "8",
                     "--json"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert result["compiled"] and result["compile_seconds"] >= 2.0
    # neither an epoch nor the final rate nor the total includes it
    assert all(h["seconds"] < 2.0 for h in result["history"])
    assert result["seconds"] < result["compile_seconds"]
    n_fit = 300
    assert result["samples_per_second"] == pytest.approx(
        n_fit * 2 / sum(h["seconds"] for h in result["history"]))
    err = captured.err.splitlines()
    assert err.count(firstrun.notice_text("train")) == 1
    # its own line, before the first epoch's
    line = next(k for k, text in enumerate(err) if text.startswith("compiled the kernels in"))
    assert float(err[line].split()[4]) >= 2.0
    assert line < next(k for k, text in enumerate(err) if text.startswith("epoch 1:"))


def test_train_quiet_and_warm_runs_print_no_compile_lines(capsys, monkeypatch):
    assert cli.main(["train", "--train-samples", "300", "--epochs", "1", "--hidden", "8"]) == 0
    captured = capsys.readouterr()  # the kernels are compiled by now: nothing to say
    assert "compil" not in captured.out + captured.err
    _slow_compile(monkeypatch, 0.0)
    assert cli.main(["train", "--train-samples", "300", "--epochs", "1", "--hidden", "8",
                     "--quiet"]) == 0
    captured = capsys.readouterr()
    assert "compil" not in captured.out + captured.err
    assert len(captured.out.splitlines()) == 1


def test_xor_says_it_compiles_too(capsys, monkeypatch):
    _slow_compile(monkeypatch, 0.0)
    assert cli.main(["xor", "--no-plots", "--epochs", "5"]) == 0
    captured = capsys.readouterr()
    assert firstrun.notice_text("xor") in captured.err
    assert captured.out.startswith("compiled the kernels in ")
    assert captured.out.splitlines()[1].startswith("XOR 2-10-2: accuracy")
