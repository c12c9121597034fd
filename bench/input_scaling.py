"""The numbers behind ``scale_inputs='auto'``: which transform of raw tabular X fastmlp's
defaults train best on, and at which input scale per-sample SGD at the default rate fails.

    python bench/input_scaling.py [--md bench/results/input_scaling.md] [--part transforms,sweep]

transforms: scikit-learn's bundled data sets as loaded (diabetes: ``scaled=False``), each
transformed with statistics of the train split -- none, standard ((X - mean) / std), maxabs
(X / max|X|: zeros stay zeros, values in [-1, 1]) and scale (X / std, no centring: what a
sparse X gets) -- then fastmlp's defaults with ``scale_inputs=False`` (plain SGD at 0.01, and
``solver='adam'`` at 0.001); mean test score over splits 0..2 x seeds 0..2 (stratified 75/25;
diabetes R^2, 25% held out).

sweep: the classification sets standardised, then multiplied by a factor (every feature's root
mean square = the factor), plain SGD and Adam at their default rates, splits 0..2 with seed =
split; 'nan' = every fit diverged (on_divergence='raise').
"""

import argparse
import os
import sys
import warnings

import numpy as np
from sklearn import datasets
from sklearn.model_selection import train_test_split

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import fastmlp  # noqa: E402
from machine_info import llvm_cpu_name, lscpu_model  # noqa: E402

SETS = ("iris", "wine", "breast_cancer", "digits", "diabetes")
TRANSFORMS = ("none", "standard", "maxabs", "scale")
FACTORS = (1, 3, 5, 10, 20, 50, 100)
SOLVERS = ("sgd", "adam")


def load(name):
    if name == "diabetes":
        return datasets.load_diabetes(return_X_y=True, scaled=False)
    return getattr(datasets, f"load_{name}")(return_X_y=True)


def transform(kind, Xtr, Xte):
    mean, std = Xtr.mean(0), Xtr.std(0)
    std[std == 0] = 1
    big = np.abs(Xtr).max(0)
    big[big == 0] = 1
    return {"none": (Xtr, Xte), "standard": ((Xtr - mean) / std, (Xte - mean) / std),
            "maxabs": (Xtr / big, Xte / big), "scale": (Xtr / std, Xte / std)}[kind]


def model(name, solver, seed, **kw):
    cls = fastmlp.MLPRegressor if name == "diabetes" else fastmlp.MLPClassifier
    return cls(solver=solver, random_state=seed, scale_inputs=False, **kw)


def transforms(log):
    lines = ["| data | " + " | ".join(f"{t} / {s}" for t in TRANSFORMS for s in SOLVERS) + " |",
             "|---|" + "---|" * (len(TRANSFORMS) * len(SOLVERS))]
    for name in SETS:
        X, y = load(name)
        scores = {}
        for split in range(3):
            Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=split,
                                                  stratify=None if name == "diabetes" else y)
            for kind in TRANSFORMS:
                A, B = transform(kind, Xtr, Xte)
                for solver in SOLVERS:
                    for seed in range(3):
                        m = model(name, solver, seed).fit(A, ytr)
                        scores.setdefault((kind, solver), []).append(m.score(B, yte))
        lines.append(f"| {name} | " + " | ".join(f"{np.mean(scores[(t, s)]):.3f}"
                                                 for t in TRANSFORMS for s in SOLVERS) + " |")
        print(lines[-1], file=log, flush=True)
    return "\n".join(lines)


def sweep(log):
    lines = ["| data | solver | " + " | ".join(f"x{f}" for f in FACTORS) + " |",
             "|---|---|" + "---|" * len(FACTORS)]
    for name in SETS[:4]:
        X, y = load(name)
        for solver in SOLVERS:
            row = []
            for factor in FACTORS:
                acc = []
                for split in range(3):
                    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25,
                                                          random_state=split, stratify=y)
                    A, B = transform("standard", Xtr, Xte)
                    m = model(name, solver, split, on_divergence="raise")
                    try:
                        acc.append(m.fit(A * factor, ytr).score(B * factor, yte))
                    except fastmlp.DivergenceError:
                        acc.append(np.nan)
                row.append("nan" if np.isnan(acc).all() else f"{np.nanmean(acc):.3f}")
            lines.append(f"| {name} | {solver} | " + " | ".join(row) + " |")
            print(lines[-1], file=log, flush=True)
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--md", default=None, help="also write the tables as Markdown")
    parser.add_argument("--part", default="transforms,sweep")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    parts = args.part.split(",")
    text = f"CPU: {lscpu_model()} (LLVM: {llvm_cpu_name()})\n"
    if "transforms" in parts:
        text += ("\n## Transforms of raw X (fastmlp, scale_inputs=False; mean of 3 splits x 3 "
                 "seeds)\n\n" + transforms(sys.stderr) + "\n")
    if "sweep" in parts:
        text += ("\n## Standardised X times a factor (accuracy, mean of 3 splits)\n\n" +
                 sweep(sys.stderr) + "\n")
    print(text)
    if args.md:
        with open(args.md, "w") as f:
            f.write(f"# `python bench/input_scaling.py {' '.join(argv or sys.argv[1:])}`\n\n"
                    f"{text}")


if __name__ == "__main__":
    main()
