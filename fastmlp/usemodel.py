"""``fastmlp predict MODEL DATA`` and ``fastmlp evaluate MODEL``: use a model saved by
``fastmlp train --save`` (or ``model.save`` in Python).

predict: one prediction per row of DATA (formats: fastmlp/inputfiles.py) to standard output or
``--out FILE`` (.npy, or text: one line per row); ``--proba`` gives a classifier's class
probabilities instead, as CSV with the class labels as header.

evaluate: the model's accuracy and confusion matrix on a data set's test split (or training
split), as a table, ``--json`` or a figure (``--plot DIR``).
"""

import json
import os
import sys

import numpy as np

from . import datasets, firstrun, inputfiles, plotting
from .clicheck import output_problem, plotting_available, plural
from .estimators import MLPClassifier, load
from .layout import layer_sizes


def add_commands(sub):
    """The predict and evaluate subcommands and their options."""
    p = sub.add_parser("predict", help="predict with a saved model, one line per row of DATA",
                       description="Predict with a model saved by 'fastmlp train --save' (or "
                                   "model.save): one prediction per row of DATA, to standard "
                                   "output or --out.")
    p.add_argument("model", metavar="MODEL", help="the model file (.npz)")
    p.add_argument("data", metavar="DATA",
                   help=f"the rows to predict: {inputfiles.FORMATS} (a header line in a text "
                        f"file is skipped; IDX bytes are scaled to [0, 1] as in training)")
    p.add_argument("--proba", action="store_true",
                   help="class probabilities instead of labels (CSV, the class labels as "
                        "header; classifiers only)")
    p.add_argument("--out", metavar="FILE", help="write to FILE instead of standard output: "
                   ".npy for an array, anything else for text")
    e = sub.add_parser("evaluate", help="a saved model's accuracy and confusion matrix on a "
                                        "data set's test split",
                       description="Score a model saved by 'fastmlp train --save' (or "
                                   "model.save) on a data set: accuracy, per-class recall and "
                                   "the confusion matrix.")
    e.add_argument("model", metavar="MODEL", help="the model file (.npz)")
    e.add_argument("--dataset", choices=tuple(datasets.DATASETS), default="mnist",
                   help="which data set (default mnist, the copy bundled with fastmlp)")
    e.add_argument("--data", metavar="DIR", help="folder with the four IDX files (default: "
                   "the data set's usual places)")
    e.add_argument("--split", choices=("test", "train"), default="test",
                   help="score the test split (default) or the training split")
    e.add_argument("--json", action="store_true", help="print one JSON object instead")
    e.add_argument("--plot", metavar="DIR", help="also write confusion_matrix.png to DIR "
                   "(needs matplotlib)")


def describe(model):
    """'MLPClassifier 784-32-10, relu, float32, 2 epochs'."""
    return (f"{type(model).__name__} {'-'.join(map(str, layer_sizes(model.layout_)))}, "
            f"{model.activation}, {model.params_.dtype}, {plural(model.n_iter_, 'epoch')}")


def _load(path):
    try:
        return load(path), None
    except (FileNotFoundError, ValueError) as exc:
        return None, str(exc)


def _check_width(model, X, source):
    if X.shape[1] != model.n_features_in_:
        return (f"the model takes rows of {model.n_features_in_} features, but {source} has "
                f"{X.shape[1]} per row")
    return None


def _compile(model, X, out):
    """The prediction kernel compiled (or loaded) before the work, the notice on stderr."""
    compiled = firstrun.compile_kernels(firstrun.tiny_predict(model, X), model.backend,
                                        "predict", notice=sys.stderr)
    if compiled.compiled:
        print(compiled.line(), file=out)
    return compiled


def _text(values):
    return str(values) if not isinstance(values, float) else f"{values:.9g}"


def predict(args):
    model, problem = _load(args.model)
    if problem is None and args.proba and not isinstance(model, MLPClassifier):
        problem = f"--proba needs a classifier; {args.model} holds an {type(model).__name__}"
    if problem is None and args.out:
        folder = os.path.dirname(os.path.abspath(args.out))
        if os.path.isdir(args.out) or not os.path.isdir(folder):
            problem = f"cannot write {args.out!r}: not a file in an existing folder"
    if problem is None:
        try:
            X = inputfiles.read_rows(args.data)
        except (FileNotFoundError, ValueError) as exc:
            problem = str(exc)
    if problem is None:
        problem = _check_width(model, X, args.data)
    if problem:
        print(f"fastmlp: {problem}", file=sys.stderr)
        return 2
    _compile(model, X, sys.stderr)
    try:
        values = model.predict_proba(X) if args.proba else model.predict(X)
    except ValueError as exc:
        print(f"fastmlp: {exc}", file=sys.stderr)
        return 2
    if args.out and args.out.endswith(".npy"):
        np.save(args.out, values)
    else:
        lines = ([",".join(map(str, model.classes_.tolist()))] if args.proba else [])
        rows = values.tolist()
        lines += [",".join(map(_text, r)) if isinstance(r, list) else _text(r) for r in rows]
        text = "\n".join(lines) + "\n"
        if not args.out:
            sys.stdout.write(text)
            return 0
        with open(args.out, "w") as f:
            f.write(text)
    what = "class probabilities" if args.proba else "predictions"
    print(f"wrote the {what} of {plural(len(X), 'row')} to {args.out}")
    return 0


def _table(cm, labels, names):
    """The confusion matrix as text: rows true class, columns predicted, then recall."""
    heads = [str(v) for v in labels.tolist()]
    width = max(5, max(len(h) for h in heads), len(str(cm.max())) + 1)
    rows = [names[k] if names else heads[k] for k in range(len(heads))]
    first = max(len("true \\ predicted"), max(len(r) for r in rows))
    out = ["true \\ predicted".ljust(first) + "".join(h.rjust(width + 1) for h in heads) +
           "  recall"]
    for k, row in enumerate(cm):
        total = row.sum()
        recall = f"{row[k] / total:.3f}" if total else "  -  "
        out.append(rows[k].ljust(first) + "".join(str(v).rjust(width + 1) for v in row) +
                   "  " + recall)
    return "\n".join(out)


def evaluate(args):
    model, problem = _load(args.model)
    if problem is None and not isinstance(model, MLPClassifier):
        problem = (f"evaluate scores classifiers on a labelled data set; {args.model} holds an "
                   f"{type(model).__name__} (use fastmlp predict, or model.score in Python)")
    if problem is None and args.plot:
        if not plotting_available():
            return 2
        problem = output_problem(folder=args.plot)
    if problem is None:
        try:
            X_train, y_train, X_test, y_test = datasets.DATASETS[args.dataset](args.data)
        except (FileNotFoundError, ValueError) as exc:
            problem = str(exc)
    if problem is None:
        X, y = (X_test, y_test) if args.split == "test" else (X_train, y_train)
        kind = datasets.identify(y_train, y_test) or (args.dataset if args.data is None else
                                                      None)
        name = (datasets.TITLES[kind] if kind else f"IDX data in {args.data}") + \
            f" {args.split} split"
        problem = _check_width(model, X, name)
    if problem:
        print(f"fastmlp: {problem}", file=sys.stderr)
        return 2
    out = sys.stderr if args.json else sys.stdout
    _compile(model, X, out)
    y_pred = model.predict(X)
    labels = np.union1d(model.classes_, y)
    cm, labels = plotting.confusion_matrix(y, y_pred, labels)
    correct = int(np.trace(cm))
    names = datasets.CLASS_NAMES.get(kind)
    names = ([f"{v} {names[v]}" if len(names[v]) > 1 else names[v] for v in labels.tolist()]
             if names and all(0 <= v < len(names) for v in labels.tolist()) else None)
    result = dict(model=args.model, model_description=describe(model), data=name,
                  samples=int(len(y)), correct=correct, accuracy=correct / len(y),
                  labels=labels.tolist(), confusion_matrix=cm.tolist())
    if names:
        result["class_names"] = names
    if args.plot:
        try:
            result["plots"] = {"confusion_matrix": plotting.plot_confusion_matrix(
                y, y_pred, os.path.join(args.plot, "confusion_matrix.png"), labels=labels,
                title=f"{name}: confusion matrix\n{os.path.basename(args.model)}: "
                      f"{describe(model)}", class_names=datasets.CLASS_NAMES.get(kind))}
        except OSError as exc:
            print(f"fastmlp: {exc}", file=sys.stderr)
            return 2
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{args.model}: {describe(model)}")
    print(f"{name}: {len(y)} samples")
    print(f"accuracy {result['accuracy']:.4f} ({correct} of {len(y)} correct)")
    print("confusion matrix (rows: true class, columns: predicted class):")
    print(_table(cm, labels, names))
    for path in result.get("plots", {}).values():
        print(f"wrote {path}")
    return 0


def run(args):
    """Run the predict or evaluate command; returns the exit status."""
    return predict(args) if args.command == "predict" else evaluate(args)
