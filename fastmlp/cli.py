"""Command line: ``fastmlp train`` (default: the reference MNIST workload) and ``fastmlp xor``."""

import argparse
import json
import os
import sys
import time

import numpy as np

from . import __version__, backends, datasets, persistence, plotting
from .backends import NAMES as BACKEND_NAMES
from .estimators import MLPClassifier
from .params import PARAMS
from .xor import DEFAULTS as XOR_DEFAULTS
from .xor import make_xor, train_xor

# the hyperparameters `fastmlp train` exposes: every one of the table except verbose (--quiet)
CLI_PARAMS = tuple(p for p in PARAMS if p.cli is not None)


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _output_problem(save=None, folder=None):
    """Why --save FILE or a plot/output FOLDER cannot be written (checked before training, so
    a typo does not cost a whole run), or None."""
    if save is not None:
        if not save:
            return "--save needs a file path"
        _, problem = persistence.save_problem(save)
        if problem:
            return problem
    if folder is not None and os.path.exists(folder) and not os.path.isdir(folder):
        return f"cannot write figures into {folder!r}: it is a file, not a folder"
    return None


def _plotting_available():
    # True if matplotlib imports; otherwise prints what to install and returns False
    try:
        plotting.pyplot()
    except plotting.PlottingUnavailable as exc:
        print(f"fastmlp: {exc}", file=sys.stderr)
        return False
    return True


def _add_hyperparameters(parser):
    """One option per hyperparameter of the table, with its flag, type, choices and default."""
    for p in CLI_PARAMS:
        kw = dict(default=p.command_line_default, help=p.help)
        if isinstance(p.cli_type, type) and issubclass(p.cli_type, argparse.Action):
            kw["action"] = p.cli_type
        elif p.cli_type is not None:
            kw["type"] = p.cli_type
        if p.choices is not None:
            kw["choices"] = p.choices
        if p.metavar is not None:
            kw["metavar"] = p.metavar
        parser.add_argument(p.cli, **kw)


def build_parser():
    parser = argparse.ArgumentParser(prog="fastmlp", description=__doc__)
    parser.add_argument("--version", action="version", version=f"fastmlp {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train an MLP on MNIST (or Fashion-MNIST) and report")
    t.add_argument("--dataset", choices=tuple(datasets.DATASETS), default="mnist")
    t.add_argument("--data", metavar="DIR", help="folder with the four IDX files")
    _add_hyperparameters(t)
    t.add_argument("--train-samples", type=_positive_int, default=None,
                   help="use only the first N training samples")
    t.add_argument("--save", metavar="PATH", help="save the trained model (.npz)")
    t.add_argument("--quiet", action="store_true", help="no progress bar or per-epoch lines")
    t.add_argument("--json", action="store_true", help="print one JSON object at the end")
    t.add_argument("--plot", metavar="DIR", help="write loss.png, accuracy.png (per epoch) and "
                   "confusion_matrix.png (test set) to DIR; needs matplotlib")

    x = sub.add_parser("xor", help="the XOR demo: train 2-H-2 sigmoid nets, plot the boundary")
    x.add_argument("--out", metavar="DIR", default="xor-out",
                   help="folder for xor_boundary.png, xor_loss.png, xor_accuracy.png "
                        "(default xor-out)")
    x.add_argument("--hidden", type=int, default=XOR_DEFAULTS["hidden"],
                   help=f"hidden units (default {XOR_DEFAULTS['hidden']}; the write-up uses 3 and 10)")
    x.add_argument("--epochs", type=int, default=XOR_DEFAULTS["epochs"],
                   help=f"full-batch epochs (default {XOR_DEFAULTS['epochs']})")
    x.add_argument("--lr", type=float, default=XOR_DEFAULTS["learning_rate"],
                   help=f"learning rate (default {XOR_DEFAULTS['learning_rate']})")
    x.add_argument("--alpha", type=float, default=XOR_DEFAULTS["alpha"],
                   help=f"L2 penalty (default {XOR_DEFAULTS['alpha']})")
    x.add_argument("--seed", type=int, default=XOR_DEFAULTS["seed"])
    x.add_argument("--backend", choices=BACKEND_NAMES, default="numba")
    x.add_argument("--gif", action="store_true",
                   help="also write xor_boundary.gif, the boundary as it learns")
    x.add_argument("--no-plots", action="store_true", help="train and report only")
    x.add_argument("--json", action="store_true", help="print one JSON object at the end")
    return parser


def train(args):
    out = sys.stderr if args.json else sys.stdout
    if args.plot and not _plotting_available():  # fail before training, not after
        return 2
    problem = _output_problem(args.save, args.plot)
    if problem:
        print(f"fastmlp: {problem}", file=sys.stderr)
        return 2
    loader = datasets.DATASETS[args.dataset]
    try:
        X_train, y_train, X_test, y_test = loader(args.data)
    except (FileNotFoundError, ValueError) as exc:
        print(f"fastmlp: {exc}", file=sys.stderr)
        return 2
    if args.train_samples:
        X_train, y_train = X_train[:args.train_samples], y_train[:args.train_samples]
    hyperparameters = {p.name: getattr(args, p.dest) for p in CLI_PARAMS}
    model = MLPClassifier(**hyperparameters, verbose=not args.quiet)
    sizes = (X_train.shape[1],) + tuple(args.hidden) + (len(np.unique(y_train)),)
    if not args.quiet:
        print(f"{args.dataset}: {len(X_train)} train / {len(X_test)} test, network "
              f"{'-'.join(map(str, sizes))}, {args.activation}, lr {args.lr}, batch "
              f"{args.batch_size}, {args.dtype}, backend {args.backend}", file=out)
    history = []

    def report(m, info):
        acc = m.score(X_test, y_test)
        info = dict(info, test_accuracy=acc, samples_per_second=len(X_train) / info["seconds"])
        history.append(info)
        if not args.quiet:
            print(f"epoch {info['epoch']}: train loss {info['loss']:.4f}, train acc "
                  f"{info['train_accuracy']:.4f}, test acc {acc:.4f}, {info['seconds']:.2f} s, "
                  f"{info['samples_per_second']:,.0f} samples/s" +
                  (f", validation acc {info['validation_score']:.4f}"
                   if "validation_score" in info else ""), file=out)

    per_sample = args.batch_size == 1
    first_run = not backends.compiled_before(args.backend, args.dtype, per_sample)
    if first_run and not args.quiet:
        print("compiling the kernels for this machine: the first run takes ~10 s longer "
              "(once; later runs load them from the cache)", file=sys.stderr)
    tic = time.perf_counter()
    try:
        model.fit(X_train, y_train, epoch_callback=report)
    except (ValueError, FloatingPointError) as exc:  # FloatingPointError: DivergenceError
        print(f"fastmlp: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # The model holds the weights of the last completed chunk; keep them if asked to save.
        done = getattr(model, "t_", 0)
        msg = (f"fastmlp: interrupted after {getattr(model, 'n_iter_', 0)} full epochs "
               f"({done} samples trained)")
        if args.save and hasattr(model, "params_"):
            model.save(args.save)
            msg += f"; the partly trained model is saved in {args.save}"
        print(msg, file=sys.stderr)
        return 130
    total = time.perf_counter() - tic
    if first_run:
        backends.mark_compiled(args.backend, args.dtype, per_sample)
    train_seconds = sum(h["seconds"] for h in history)
    # the model as it ends (early stopping may restore an earlier epoch's best weights)
    test_accuracy = model.score(X_test, y_test)
    config = dict(dataset=args.dataset, train_samples=len(X_train), test_samples=len(X_test),
                  **{p.dest: getattr(args, p.dest) for p in CLI_PARAMS})
    config["hidden"] = list(args.hidden)
    result = dict(
        test_accuracy=test_accuracy, epochs=len(history), seconds=total,
        train_seconds=train_seconds,
        samples_per_second=len(X_train) * len(history) / train_seconds,
        final_loss=history[-1]["loss"], history=history,
        config=config,
    )
    try:
        if args.save:
            result["saved"] = model.save(args.save) or args.save
        if args.plot:
            result["plots"] = plotting.training_figures(
                history, y_test, model.predict(X_test), args.plot,
                labels=np.union1d(model.classes_, y_test))
    except (OSError, ImportError) as exc:  # checked up front; the disk may still fail
        print(f"fastmlp: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result))
    elif not args.quiet:
        print(f"test accuracy {result['test_accuracy']:.4f} after {result['epochs']} epochs "
              f"in {total:.1f} s ({result['samples_per_second']:,.0f} samples/s while training)")
    return 0


def xor(args):
    if not args.no_plots and not _plotting_available():  # fail before training, not after
        return 2
    problem = None if args.no_plots else _output_problem(folder=args.out)
    if problem:
        print(f"fastmlp: {problem}", file=sys.stderr)
        return 2
    X, y = make_xor(seed=0)
    tic = time.perf_counter()
    try:
        model, history = train_xor(X, y, frames=24 if args.gif else 0, resolution=60,
                                   hidden=args.hidden, epochs=args.epochs,
                                   learning_rate=args.lr, alpha=args.alpha, seed=args.seed,
                                   backend=args.backend)
    except (ValueError, FloatingPointError) as exc:
        print(f"fastmlp: {exc}", file=sys.stderr)
        return 2
    seconds = time.perf_counter() - tic
    result = dict(accuracy=model.score(X, y), final_loss=model.loss_curve_[-1],
                  epochs=model.n_iter_, seconds=seconds,
                  config=dict(network=f"2-{args.hidden}-2", activation="sigmoid",
                              output_activation="sigmoid", loss="squared_error",
                              batch_size="full", lr=args.lr, alpha=args.alpha, seed=args.seed,
                              backend=args.backend, samples=len(X)))
    if not args.no_plots:
        try:
            result["plots"] = plotting.xor_figures(model, X, y, history, args.out, gif=args.gif)
        except OSError as exc:
            print(f"fastmlp: {exc}", file=sys.stderr)
            return 2
    if args.json:
        print(json.dumps(result))
    else:
        print(f"XOR 2-{args.hidden}-2: accuracy {result['accuracy']:.4f}, loss "
              f"{result['final_loss']:.4f} after {result['epochs']} epochs in {seconds:.2f} s")
        for path in result.get("plots", {}).values():
            print(f"wrote {path}")
    return 0


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.command == "train":
        return train(args)
    if args.command == "xor":
        return xor(args)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
