"""fastmlp's defaults against scikit-learn's on scikit-learn's bundled data sets, raw and
standardised.

    python bench/bundled.py [--out bench/results/bundled.json] [--md bench/results/bundled.md]
                            [--data iris,wine] [--splits 3] [--seeds 3]

Every data set twice: **raw** X as scikit-learn loads it (diabetes: ``load_diabetes(scaled=
False)``, the unscaled measurements) and **standardised** X (StandardScaler fitted on the train
split). Classifiers (iris, wine, breast_cancer, digits): stratified 75/25 splits; the regressor
(diabetes, y raw): 25% held out. Splits 0..2 times estimator seeds 0..2: every cell is the mean
test score of 9 fits. Models, all with default arguments unless named:

- fastmlp ``MLPClassifier()`` (plain per-sample SGD at 0.01, inputs standardised by the model
  when far from unit scale: ``scale_inputs='auto'``), ``MLPClassifier(solver='adam')`` (its
  default rate 0.001), ``MLPClassifier(scale_inputs=False)`` (what the defaults did before
  scale_inputs: raw X as given) and ``MLPClassifier(momentum=0.9)`` (scikit-learn's momentum, at
  the default rate);
- scikit-learn's ``MLPClassifier()`` (Adam, 0.001, batch 200, 200 epochs, hidden (100,));
- diabetes: the same for the regressors, plus ``Ridge()``.

Warnings (scikit-learn's ConvergenceWarning, fastmlp's ConvergenceWarning) are counted. Fit
times include nothing but ``fit`` (fastmlp's kernels are compiled by a warm-up fit first).
"""

import argparse
import json
import os
import sys
import time
import warnings

import numpy as np
from sklearn import datasets
from sklearn.linear_model import Ridge
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkClassifier
from sklearn.neural_network import MLPRegressor as SkRegressor
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import fastmlp  # noqa: E402
from machine_info import llvm_cpu_name, lscpu_model  # noqa: E402

DATA = ("iris", "wine", "breast_cancer", "digits", "diabetes")
C, R = fastmlp.MLPClassifier, fastmlp.MLPRegressor
# (label, constructor, columns it runs on)
CLASSIFIERS = (
    ("fastmlp MLPClassifier()", lambda s: C(random_state=s), ("raw", "standardised")),
    ("fastmlp MLPClassifier(solver='adam')", lambda s: C(solver="adam", random_state=s),
     ("raw", "standardised")),
    ("fastmlp MLPClassifier(scale_inputs=False)", lambda s: C(scale_inputs=False,
                                                              random_state=s), ("raw",)),
    ("fastmlp MLPClassifier(momentum=0.9)", lambda s: C(momentum=0.9, random_state=s),
     ("standardised",)),
    ("scikit-learn MLPClassifier()", lambda s: SkClassifier(random_state=s),
     ("raw", "standardised")),
)
REGRESSORS = (
    ("Ridge()", lambda s: Ridge(), ("raw", "standardised")),
    ("fastmlp MLPRegressor()", lambda s: R(random_state=s), ("raw", "standardised")),
    ("fastmlp MLPRegressor(solver='adam')", lambda s: R(solver="adam", random_state=s),
     ("raw", "standardised")),
    ("fastmlp MLPRegressor(scale_inputs=False)", lambda s: R(scale_inputs=False, random_state=s),
     ("raw",)),
    ("fastmlp MLPRegressor(momentum=0.9)", lambda s: R(momentum=0.9, random_state=s),
     ("standardised",)),
    ("scikit-learn MLPRegressor()", lambda s: SkRegressor(random_state=s),
     ("raw", "standardised")),
)


def _load(name):
    if name == "diabetes":
        return datasets.load_diabetes(return_X_y=True, scaled=False)
    return getattr(datasets, f"load_{name}")(return_X_y=True)


def _fit(model, X, y):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tic = time.perf_counter()
        model.fit(X, y)
        seconds = time.perf_counter() - tic
    return seconds, sum(issubclass(w.category, UserWarning) for w in caught)


def run(names=DATA, splits=3, seeds=3, log=sys.stderr):
    # warm-up: compile (or load) fastmlp's kernels outside the timed fits
    # (one epoch of noise: its "loss still falling" warning is expected and not shown)
    Xw = np.random.default_rng(0).normal(size=(50, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for solver in ("sgd", "adam"):
            C(epochs=1, solver=solver).fit(Xw, np.arange(50) % 2)
            R(epochs=1, solver=solver).fit(Xw, Xw[:, 0])
    rows = []
    for name in names:
        X, y = _load(name)
        regression = name == "diabetes"
        for split in range(splits):
            Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=split,
                                                  stratify=None if regression else y)
            scaler = StandardScaler().fit(Xtr)
            columns = {"raw": (Xtr, Xte),
                       "standardised": (scaler.transform(Xtr), scaler.transform(Xte))}
            for seed in range(seeds):
                for label, make, where in (REGRESSORS if regression else CLASSIFIERS):
                    for column in where:
                        A, B = columns[column]
                        model = make(seed)
                        seconds, n_warn = _fit(model, A, ytr)
                        rows.append(dict(
                            data=name, column=column, model=label, split=split, seed=seed,
                            score=float(model.score(B, yte)), seconds=seconds, warnings=n_warn,
                            epochs=int(getattr(model, "n_iter_", None) or 0),
                            scaled=getattr(model, "_x_mean", None) is not None,
                            diverged=bool(getattr(model, "diverged_", False))))
            print(f"{name}: split {split} done", file=log, flush=True)
    return rows


def table(rows):
    lines = ["| data | model | raw X | standardised X | fit s (raw / std) | epochs (raw / std) "
             "| warnings (raw / std) |", "|---|---|---|---|---|---|---|"]
    keys = []
    for r in rows:
        if (r["data"], r["model"]) not in keys:
            keys.append((r["data"], r["model"]))
    for data, model in keys:
        cells = {c: [r for r in rows if (r["data"], r["model"], r["column"]) ==
                     (data, model, c)] for c in ("raw", "standardised")}
        metric = "R2" if data == "diabetes" else "acc"

        def score(rs):
            if not rs:
                return "-"
            note = " (scaled)" if all(r["scaled"] for r in rs) and "fastmlp" in model else ""
            bad = sum(r["diverged"] for r in rs)
            note += f" ({bad} diverged)" if bad else ""
            return f"{metric} {np.mean([r['score'] for r in rs]):.3f}{note}"

        def mean(rs, key, fmt):
            return format(np.mean([r[key] for r in rs]), fmt) if rs else "-"

        raw, std = cells["raw"], cells["standardised"]
        lines.append(f"| {data} | {model} | {score(raw)} | {score(std)} | "
                     f"{mean(raw, 'seconds', '.2f')} / {mean(std, 'seconds', '.2f')} | "
                     f"{mean(raw, 'epochs', '.0f')} / {mean(std, 'epochs', '.0f')} | "
                     f"{sum(r['warnings'] for r in raw) if raw else '-'} / "
                     f"{sum(r['warnings'] for r in std) if std else '-'} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="also write the rows and machine as JSON")
    parser.add_argument("--md", default=None, help="also write the table as Markdown")
    parser.add_argument("--data", default=",".join(DATA), help="comma-separated data sets")
    parser.add_argument("--splits", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args(argv)
    rows = run(args.data.split(","), args.splits, args.seeds)
    machine = dict(cpu=lscpu_model(), llvm_cpu=llvm_cpu_name(), fastmlp=fastmlp.__version__)
    text = (f"CPU: {machine['cpu']} (LLVM: {machine['llvm_cpu']}); mean test score of "
            f"{args.splits} splits x {args.seeds} seeds per cell\n\n{table(rows)}")
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(dict(machine=machine, rows=rows), f, indent=1)
    if args.md:
        with open(args.md, "w") as f:
            f.write(f"# `python bench/bundled.py {' '.join(argv or sys.argv[1:])}`\n\n{text}\n")


if __name__ == "__main__":
    main()
