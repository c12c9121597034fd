"""fastmlp's defaults against scikit-learn's on scikit-learn's bundled data sets.

    python bench/bundled.py [--out bench/results/bundled.json]

Classifiers (iris, wine, breast_cancer, digits): stratified 75/25 split (random_state = seed),
StandardScaler fitted on the train split, seeds 0, 1, 2 (the split's and the estimator's
random_state); fastmlp.MLPClassifier() against sklearn.neural_network.MLPClassifier(), both with
default arguments: test accuracy and fit seconds, mean over the seeds.
Regressor (diabetes): X standardised (fitted on the train split), y raw, 25% held out (seeds 0,
1, 2): Ridge(), scikit-learn's MLPRegressor() and fastmlp.MLPRegressor(), test R^2 and fit
seconds. Warnings (scikit-learn's ConvergenceWarning, fastmlp's) are counted, not shown.
Fit times include nothing but ``fit`` (fastmlp's kernels are compiled by a warm-up fit first).
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

SEEDS = (0, 1, 2)
CLASSIFICATION = ("iris", "wine", "breast_cancer", "digits")


def _fit(model, X, y):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tic = time.perf_counter()
        model.fit(X, y)
        seconds = time.perf_counter() - tic
    return seconds, sum(issubclass(w.category, UserWarning) for w in caught)


def _split(X, y, seed, stratify):
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=seed,
                                          stratify=y if stratify else None)
    scaler = StandardScaler().fit(Xtr)
    return scaler.transform(Xtr), scaler.transform(Xte), ytr, yte


def run():
    # warm-up: compile (or load) fastmlp's kernels outside the timed fits
    Xw = np.random.default_rng(0).normal(size=(50, 4))
    fastmlp.MLPClassifier(epochs=1).fit(Xw, np.arange(50) % 2)
    fastmlp.MLPRegressor(epochs=1).fit(Xw, Xw[:, 0])
    rows = []
    for name in CLASSIFICATION:
        X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
        for seed in SEEDS:
            Xtr, Xte, ytr, yte = _split(X, y, seed, True)
            for label, model in (("fastmlp MLPClassifier()", fastmlp.MLPClassifier(
                    random_state=seed)), ("scikit-learn MLPClassifier()",
                                          SkClassifier(random_state=seed))):
                seconds, n_warn = _fit(model, Xtr, ytr)
                rows.append(dict(data=name, model=label, seed=seed, score=model.score(Xte, yte),
                                 seconds=seconds, warnings=n_warn,
                                 epochs=int(getattr(model, "n_iter_", None) or 0)))
    X, y = datasets.load_diabetes(return_X_y=True)
    for seed in SEEDS:
        Xtr, Xte, ytr, yte = _split(X, y, seed, False)
        for label, model in (("Ridge()", Ridge()),
                             ("scikit-learn MLPRegressor()", SkRegressor(random_state=seed)),
                             ("fastmlp MLPRegressor()", fastmlp.MLPRegressor(random_state=seed))):
            seconds, n_warn = _fit(model, Xtr, ytr)
            rows.append(dict(data="diabetes", model=label, seed=seed, score=model.score(Xte, yte),
                             seconds=seconds, warnings=n_warn,
                             epochs=int(getattr(model, "n_iter_", None) or 0)))
    return rows


def table(rows):
    lines = ["| data | model | score (mean of seeds) | per seed | fit s (mean) | epochs | "
             "warnings |", "|---|---|---|---|---|---|---|"]
    keys = []
    for r in rows:
        if (r["data"], r["model"]) not in keys:
            keys.append((r["data"], r["model"]))
    for data, model in keys:
        rs = [r for r in rows if (r["data"], r["model"]) == (data, model)]
        metric = "R2" if data == "diabetes" else "accuracy"
        scores = " ".join(f"{r['score']:.3f}" for r in rs)
        lines.append(f"| {data} | {model} | {metric} {np.mean([r['score'] for r in rs]):.3f} | "
                     f"{scores} | "
                     f"{np.mean([r['seconds'] for r in rs]):.3f} | "
                     f"{' '.join(str(r['epochs']) for r in rs)} | "
                     f"{sum(r['warnings'] for r in rs)} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="also write the rows and machine as JSON")
    args = parser.parse_args(argv)
    rows = run()
    machine = dict(cpu=lscpu_model(), llvm_cpu=llvm_cpu_name(), fastmlp=fastmlp.__version__)
    print(f"CPU: {machine['cpu']} (LLVM: {machine['llvm_cpu']})")
    print(table(rows))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(dict(machine=machine, rows=rows), f, indent=1)


if __name__ == "__main__":
    main()
