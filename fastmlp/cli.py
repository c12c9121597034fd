"""Command line: ``fastmlp train`` (default: the reference MNIST workload), ``fastmlp xor``,
and ``fastmlp predict`` / ``fastmlp evaluate`` for saved models (fastmlp/usemodel.py).

The parser (fastmlp/cliparse.py) prints one-line errors with a hint; the checks before any work
are in fastmlp/clicheck.py; the kernels a command needs are compiled up front and timed on their
own line (fastmlp/firstrun.py), so no epoch time or samples/s figure includes the compile.
"""

import argparse
import json
import os
import sys
import time
import warnings

import numpy as np

from . import __version__, clixor, datasets, firstrun, plotting, usemodel
from .clicheck import contradiction, output_problem, plotting_available, plural
from .cliparse import Parser
from .errors import ConvergenceWarning
from .argtypes import parse_positive_int, printable
from .estimators import MLPClassifier
from .params import AUTO_PATIENCE, MAX_AUTO_EPOCHS, MIN_AUTO_EPOCHS, PARAMS, SAMPLE_BUDGET
from .params import auto_epochs, default_learning_rate

# the hyperparameters `fastmlp train` exposes: every one of the table except verbose (--quiet)
CLI_PARAMS = tuple(p for p in PARAMS if p.cli is not None)

# the table's help where the command line differs from the estimators: its own defaults, a
# classifier-only command (no word about the regressor), options rather than attributes
CLI_HELP = {
    "epochs": f"passes over the training set (default 3, the reference workload), or 'auto': "
              f"enough for about {SAMPLE_BUDGET:,} samples, between {MIN_AUTO_EPOCHS} and "
              f"{MAX_AUTO_EPOCHS} epochs, stopping once the training loss has not improved by "
              f"--tol for {AUTO_PATIENCE} epochs",
    "output_activation": "output activation (default softmax)",
    "class_weight": "weight of each class's samples in the loss: 'balanced' (n_samples / "
                    "(n_classes * count)) or label:weight pairs like 0:1,1:5 (default: 1 for "
                    "all)",
    "alpha": "strength of the weight penalty chosen by --penalty (default 0: none)",
    "clip_value": "clip every gradient entry to [-C, C] (default 0: off)",
    "random_state": "seed of the initialisation and the shuffling (default 0)",
    "validation_fraction": "hold out this fraction of the training set, scored every epoch "
                           "(default 0: none)",
    "n_iter_no_change": "early stopping: stop after K epochs without improvement of the "
                        "validation accuracy (with --validation-fraction; the best epoch's "
                        "weights are kept) or else of the training loss",
    "learning_rate": f"learning rate (default: {default_learning_rate('sgd'):g} with --solver "
                     f"sgd, {default_learning_rate('adam'):g} with adam; a schedule is set with "
                     f"--lr-schedule)",
    "on_divergence": "when the loss, weights or outputs become NaN or infinite: 'raise' (the "
                     "command line's default) stops with an error naming the epoch and "
                     "sample; 'warn' keeps the last finite weights, stops and warns",
    "tol": "smallest improvement that resets the patience of --n-iter-no-change and of "
           "--epochs auto (default 1e-4)",
    "diagnostics": "print gradient norms, update/weight ratios and inactive hidden units per "
                   "layer after every epoch, and add them to --json (default off)",
}
DESCRIPTION = ("Train small MLPs with per-sample SGD on compiled kernels, and use the models. "
               "'fastmlp COMMAND --help' lists a command's options.")


def _add_hyperparameters(parser):
    """One option per hyperparameter of the table, with its flag, type, choices and default."""
    for p in CLI_PARAMS:
        kw = dict(default=p.command_line_default, help=CLI_HELP.get(p.name, p.help))
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
    parser = Parser(prog="fastmlp", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"fastmlp {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    t = sub.add_parser("train", help="train an MLP on MNIST (or Fashion-MNIST) and report",
                       usage="%(prog)s [options]",
                       description="Train an MLP classifier on MNIST (the bundled copy, by "
                                   "default) or Fashion-MNIST and report the test accuracy.")
    t.add_argument("--dataset", choices=tuple(datasets.DATASETS), default="mnist",
                   help="which data set (default mnist, the copy bundled with fastmlp)")
    t.add_argument("--data", metavar="DIR", help="folder with the four IDX files (default: "
                   "the data set's usual places, see the README)")
    _add_hyperparameters(t)
    t.add_argument("--train-samples", type=parse_positive_int, default=None, metavar="N",
                   help="use only the first N training samples")
    t.add_argument("--save", metavar="PATH", help="save the trained model (.npz added if "
                   "missing) and print the path; use it with fastmlp predict / evaluate")
    t.add_argument("--quiet", action="store_true",
                   help="no progress bar or per-epoch lines; the final result line stays")
    t.add_argument("--json", action="store_true", help="print one JSON object at the end")
    t.add_argument("--plot", metavar="DIR", help="write loss.png, accuracy.png, "
                   "diagnostics.png (per epoch) and confusion_matrix.png (test set) to DIR; "
                   "needs matplotlib; turns --diagnostics on")

    clixor.add_command(sub)
    usemodel.add_commands(sub)
    return parser


def _data_name(args, y_train, y_test):
    """(name for the header, data set key for class names or None)."""
    if args.data is None:
        return datasets.TITLES[args.dataset], args.dataset
    kind = datasets.identify(y_train, y_test)
    if kind is None:
        return f"IDX data in {args.data}", (args.dataset if "--dataset" in args.given else None)
    return f"{datasets.TITLES[kind]} (from {args.data})", kind


def train(args):
    out = sys.stderr if args.json else sys.stdout
    problem = contradiction(args, args.given)
    if problem:
        print(f"fastmlp: {problem}", file=sys.stderr)
        return 2
    if args.plot and not plotting_available():  # fail before training, not after
        return 2
    problem = output_problem(args.save, args.plot)
    if problem:
        print(f"fastmlp: {problem}", file=sys.stderr)
        return 2
    loader = datasets.DATASETS[args.dataset]
    try:
        X_train, y_train, X_test, y_test = loader(args.data)
    except (FileNotFoundError, ValueError) as exc:
        print(f"fastmlp: {exc}", file=sys.stderr)
        return 2
    name, kind = _data_name(args, y_train, y_test)
    if args.train_samples:
        if args.train_samples > len(X_train):
            print(f"fastmlp: --train-samples {args.train_samples} is more than the "
                  f"{len(X_train)} training samples of {name}", file=sys.stderr)
            return 2
        X_train, y_train = X_train[:args.train_samples], y_train[:args.train_samples]
    hyperparameters = {p.name: getattr(args, p.dest) for p in CLI_PARAMS}
    hyperparameters["diagnostics"] = bool(args.diagnostics or args.plot)
    model = MLPClassifier(**hyperparameters, verbose=False if args.quiet else "bar")
    sizes = (X_train.shape[1],) + tuple(args.hidden) + (len(np.unique(y_train)),)
    n_val = int(round(args.validation_fraction * len(X_train)))
    split = (f"{len(X_train) - n_val} train / {n_val} validation" if n_val else
             f"{len(X_train)} train")
    n_fit = len(X_train) - n_val  # the rows trained on each epoch
    if not args.quiet:
        solver = ("" if args.solver == "sgd" and args.momentum == 0 else ", adam"
                  if args.solver == "adam" else f", momentum {args.momentum}"
                  f"{' (nesterov)' if args.nesterov else ''}")
        lr = args.lr if args.lr is not None else default_learning_rate(args.solver)
        print(printable(f"{name}: {split} / {len(X_test)} test, network "
              f"{'-'.join(map(str, sizes))}, {args.activation}, lr {lr:g}{solver}, batch "
              f"{args.batch_size}, {args.dtype}, backend {args.backend}", out), file=out)
    history = []

    def report(m, info):
        acc = m.score(X_test, y_test)
        info = dict(info, test_accuracy=acc, samples_per_second=n_fit / info["seconds"])
        try:
            info["test_loss"] = m.data_loss(X_test, y_test)
        except ValueError:  # a test class the model has no output for (tiny --train-samples)
            pass
        history.append(info)
        if not args.quiet:
            print(f"epoch {info['epoch']}: train loss {info['loss']:.4f}, train acc "
                  f"{info['train_accuracy']:.4f}, test acc {acc:.4f}, {info['seconds']:.2f} s, "
                  f"{info['samples_per_second']:,.0f} samples/s" +
                  (f", validation acc {info['validation_score']:.4f}"
                   if "validation_score" in info else ""), file=out)
            if args.diagnostics:
                d = {k: v[-1] for k, v in m.diagnostics_.items()}
                print("  gradient norm per layer " + " ".join(f"{v:.2e}" for v in d["grad_norm"])
                      + ", update/weight " + " ".join(f"{v:.1e}" for v in d["update_ratio"])
                      + ", inactive hidden units " + " ".join(f"{v:.0%}" for v in d["inactive"]),
                      file=out)

    # the kernels this run needs, compiled (or loaded from the cache) before the clock starts
    try:
        compiled = firstrun.compile_kernels(
            firstrun.tiny_fit(model, X_train, y_train), args.backend,
            "train" if args.batch_size == 1 else "train-batch",
            notice=None if args.quiet else sys.stderr)
    except KeyboardInterrupt:
        print("fastmlp: interrupted while compiling the kernels (nothing trained)",
              file=sys.stderr)
        return 130
    if compiled.compiled and not args.quiet:
        print(compiled.line(), file=out)
    tic = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            model.fit(X_train, y_train, epoch_callback=report)
    except (ValueError, FloatingPointError) as exc:  # FloatingPointError: DivergenceError
        print(f"fastmlp: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # The model holds the weights of the last completed chunk; keep them if asked to save.
        done = getattr(model, "t_", 0)
        msg = (f"fastmlp: interrupted after {plural(getattr(model, 'n_iter_', 0), 'full epoch')}"
               f" ({done} samples trained)")
        if args.save and hasattr(model, "params_"):
            model.save(args.save)
            msg += f"; the partly trained model is saved in {args.save}"
        print(msg, file=sys.stderr)
        return 130
    total = time.perf_counter() - tic
    health = []
    for w in caught:  # ConvergenceWarning: printed, and in --json's "warnings"
        if issubclass(w.category, ConvergenceWarning):
            health.append(str(w.message))
            print(f"fastmlp: warning: {w.message}", file=sys.stderr)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    train_seconds = sum(h["seconds"] for h in history)
    # the model as it ends (early stopping may restore an earlier epoch's best weights)
    test_accuracy = model.score(X_test, y_test)
    config = dict(dataset=kind or args.dataset, data_name=name, train_samples=len(X_train),
                  validation_samples=n_val, test_samples=len(X_test),
                  **{p.dest: getattr(args, p.dest) for p in CLI_PARAMS})
    config["hidden"] = list(args.hidden)
    planned = auto_epochs(n_fit) if args.epochs == "auto" else args.epochs
    stopped_early, kept_epoch = _early_stop(model, len(history), planned, args.tol)
    result = dict(
        test_accuracy=test_accuracy, epochs=len(history), seconds=total,
        train_seconds=train_seconds,
        samples_per_second=n_fit * len(history) / train_seconds,
        final_loss=history[-1]["loss"], history=history,
        compile_seconds=compiled.seconds, compile_cpu_seconds=compiled.cpu_seconds,
        compiled=compiled.compiled,
        stopped_early=stopped_early, weights_of_epoch=kept_epoch,
        config=config, warnings=health,
    )
    if model.diagnostics_:
        result["diagnostics"] = model.diagnostics_
    failed = None
    subset = f" (first {len(X_train)} training samples)" if args.train_samples else ""
    try:
        if args.save:
            result["saved"] = model.save(args.save) or args.save
        if args.plot:
            result["plots"] = plotting.training_figures(
                history, y_test, model.predict(X_test), args.plot,
                labels=np.union1d(model.classes_, y_test),
                class_names=datasets.CLASS_NAMES.get(kind), diagnostics=model.diagnostics_,
                title=f"{name}{subset}\n{_run_name(args, sizes)}", penalty=args.alpha > 0)
    except (OSError, ImportError) as exc:  # checked up front; the disk may still fail
        failed = f"fastmlp: after training: {exc}"
        result["error"] = str(exc)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"test accuracy {result['test_accuracy']:.4f} after "
              f"{plural(result['epochs'], 'epoch')} in {total:.1f} s "
              f"({result['samples_per_second']:,.0f} samples/s while training)" +
              _early_stop_note(model, stopped_early, kept_epoch, args))
        if "saved" in result:
            print(f"saved the model to {result['saved']}")
    if failed:
        print(failed, file=sys.stderr)
        return 2
    return 0


def _early_stop(model, epochs, planned, tol):
    """(stopped early?, the epoch whose weights the model holds): with a validation set,
    early stopping keeps the weights of the epoch whose validation score last improved on the
    best so far by more than tol (training.py); without one, the last epoch's."""
    if epochs >= planned:
        return False, epochs
    best, kept = -np.inf, epochs
    for epoch, score in enumerate(model.validation_scores_ or [], start=1):
        if score > best + tol:
            best, kept = score, epoch
    return True, kept


def _early_stop_note(model, stopped_early, kept_epoch, args):
    if not stopped_early:
        return ""
    if model.validation_scores_:
        return (f"; early stopping kept the weights of epoch {kept_epoch} (validation "
                f"accuracy {model.validation_scores_[kept_epoch - 1]:.4f})")
    patience = args.n_iter_no_change or AUTO_PATIENCE
    return (f"; stopped early: the training loss had not improved by {args.tol:g} for "
            f"{plural(patience, 'epoch')}")


def _run_name(args, sizes):
    """'784-200-200-10 relu, lr 0.01, batch 1, seed 0': the run, for figure titles."""
    lr = args.lr if args.lr is not None else default_learning_rate(args.solver)
    return (f"{'-'.join(map(str, sizes))} {args.activation}, lr {lr:g}, batch "
            f"{args.batch_size}, {args.solver}, seed {args.seed}")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    # the options given explicitly (not defaults): to refuse ones that would be ignored
    args.given = {a.split("=", 1)[0] for a in argv if a.startswith("--")}
    try:
        if args.command == "train":
            return train(args)
        if args.command == "xor":
            return clixor.run(args)
        return usemodel.run(args)
    except BrokenPipeError:
        # the reader of our output left (`fastmlp predict ... | head`): stop quietly, as
        # Python's documentation advises (stdout pointed at devnull so the exit flush is quiet)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for a command killed by it


if __name__ == "__main__":
    raise SystemExit(main())
