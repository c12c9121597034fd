"""Command line: ``fastmlp train`` (default: the reference MNIST workload) and ``fastmlp xor``."""

import argparse
import json
import os
import sys
import tempfile
import time
import warnings

import numpy as np

from . import __version__, backends, datasets, persistence, plotting
from .errors import ConvergenceWarning
from .argtypes import parse_positive_int, printable
from .backends import NAMES as BACKEND_NAMES
from .estimators import MLPClassifier
from .params import PARAMS, default_learning_rate
from .xor import DEFAULTS as XOR_DEFAULTS
from .xor import PRESETS as XOR_PRESETS
from .xor import make_xor, train_xor, xor_settings

# the hyperparameters `fastmlp train` exposes: every one of the table except verbose (--quiet)
CLI_PARAMS = tuple(p for p in PARAMS if p.cli is not None)


def _can_create_a_file_in(folder):
    """None if a file can be created (and removed again) in ``folder``, else the reason."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=".fastmlp-check-", dir=folder)
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    return None


def _output_problem(save=None, folder=None):
    """Why --save FILE or a plot/output FOLDER cannot be written, or None: proven by creating
    and removing a file there before any data loads, so a typo does not cost a whole run."""
    if save is not None:
        if not save:
            return "--save needs a file path"
        path, problem = persistence.save_problem(save)
        if problem:
            return problem
        reason = _can_create_a_file_in(os.path.dirname(os.path.abspath(path)))
        if reason:
            return f"cannot save to {path!r}: no file can be created in its folder ({reason})"
    if folder is not None:
        if os.path.exists(folder) and not os.path.isdir(folder):
            return f"cannot write figures into {folder!r}: it is a file, not a folder"
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as exc:
            return f"cannot write figures into {folder!r}: cannot create it ({exc.strerror})"
        reason = _can_create_a_file_in(folder)
        if reason:
            return f"cannot write figures into {folder!r}: no file can be created there ({reason})"
    return None


def _plural(n, word):
    return f"{n} {word}{'' if n == 1 else 's'}"


def _contradiction(args, given):
    """A message if options contradict each other (an option that would be silently ignored)."""
    schedule = getattr(args, "lr_schedule", None)
    rules = [
        ("--lr-decay", schedule not in (None, "step", "exponential", "inverse_time"),
         f"--lr-decay has no effect with --lr-schedule {schedule} (only step, exponential "
         f"and inverse_time decay)"),
        ("--lr-step", schedule not in (None, "step"),
         f"--lr-step has no effect with --lr-schedule {schedule} (only step)"),
        ("--l1-ratio", getattr(args, "penalty", "elasticnet") != "elasticnet",
         f"--l1-ratio has no effect with --penalty {getattr(args, 'penalty', '')} (only "
         f"elasticnet mixes L1 and L2)"),
        ("--penalty", getattr(args, "alpha", 1) == 0,
         "--penalty has no effect with --alpha 0 (the default): set the penalty's strength"),
        ("--l1-ratio", getattr(args, "alpha", 1) == 0,
         "--l1-ratio has no effect with --alpha 0 (the default): set the penalty's strength"),
        *((flag, getattr(args, "solver", "sgd") == "adam",
           f"{flag} has no effect with --solver adam (only sgd uses momentum)")
          for flag in ("--momentum", "--nesterov", "--no-nesterov")),
        *((flag, getattr(args, "solver", "adam") == "sgd",
           f"{flag} has no effect with --solver sgd (the default; only adam uses it)")
          for flag in ("--beta1", "--beta2", "--epsilon")),
        *((flag, getattr(args, "solver", "") == "sgd" and getattr(args, "momentum", 1) == 0,
           f"{flag} has no effect with --momentum 0 (the default): set the momentum")
          for flag in ("--nesterov", "--no-nesterov")),
        ("--tol", getattr(args, "n_iter_no_change", 1) is None and
         getattr(args, "epochs", "auto") != "auto" and not getattr(args, "early_stopping", 0)
         and schedule != "adaptive",
         "--tol has no effect without --n-iter-no-change (early stopping) or --epochs auto"),
        ("--gif", getattr(args, "no_plots", False),
         "--gif and --no-plots contradict each other: the GIF is a plot"),
        ("--out", getattr(args, "no_plots", False),
         "--out and --no-plots contradict each other: nothing is written with --no-plots"),
    ]
    for flag, bad, message in rules:
        if flag in given and bad:
            return message
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
    parser = argparse.ArgumentParser(prog="fastmlp", description=__doc__, allow_abbrev=False)
    parser.add_argument("--version", action="version", version=f"fastmlp {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train an MLP on MNIST (or Fashion-MNIST) and report",
                       allow_abbrev=False)
    t.add_argument("--dataset", choices=tuple(datasets.DATASETS), default="mnist",
                   help="which data set (default mnist, the copy bundled with fastmlp)")
    t.add_argument("--data", metavar="DIR", help="folder with the four IDX files (default: "
                   "the data set's usual places, see the README)")
    _add_hyperparameters(t)
    t.add_argument("--train-samples", type=parse_positive_int, default=None, metavar="N",
                   help="use only the first N training samples")
    t.add_argument("--save", metavar="PATH", help="save the trained model (.npz)")
    t.add_argument("--quiet", action="store_true",
                   help="no progress bar or per-epoch lines; the final result line stays")
    t.add_argument("--json", action="store_true", help="print one JSON object at the end")
    t.add_argument("--plot", metavar="DIR", help="write loss.png, accuracy.png, "
                   "diagnostics.png (per epoch) and confusion_matrix.png (test set) to DIR; "
                   "needs matplotlib; turns --diagnostics on")

    x = sub.add_parser("xor", help="the XOR demo: train 2-H-2 sigmoid nets, plot the boundary",
                       allow_abbrev=False)
    x.add_argument("--preset", choices=tuple(XOR_PRESETS), default="default",
                   help="; ".join(f"{k}: {v['about']}" for k, v in XOR_PRESETS.items()) +
                   " (options given explicitly override the preset)")
    x.add_argument("--out", metavar="DIR", default="xor-out",
                   help="folder for xor_boundary.png, xor_loss.png, xor_accuracy.png, "
                        "xor_diagnostics.png (default xor-out)")
    x.add_argument("--hidden", type=parse_positive_int, metavar="H",
                   help=f"hidden units (default {XOR_DEFAULTS['hidden']}; the write-up uses 3, "
                        f"10 and 50)")
    x.add_argument("--epochs", type=parse_positive_int, metavar="N",
                   help=f"full-batch epochs (default {XOR_DEFAULTS['epochs']})")
    x.add_argument("--lr", type=float, help=f"learning rate (default "
                   f"{XOR_DEFAULTS['learning_rate']})")
    x.add_argument("--alpha", type=float,
                   help=f"penalty strength (default {XOR_DEFAULTS['alpha']})")
    x.add_argument("--penalty", choices=("l2", "l1", "elasticnet"),
                   help="l2 (default), l1 or elasticnet")
    x.add_argument("--l1-ratio", type=float, help="elasticnet's share of L1 (default 0.15)")
    x.add_argument("--seed", type=int, help=f"seed of the initial weights (default "
                   f"{XOR_DEFAULTS['seed']})")
    x.add_argument("--backend", choices=BACKEND_NAMES, default="numba",
                   help="numba (compiled kernels, default) or reference (the NumPy reference)")
    x.add_argument("--gif", action="store_true",
                   help="also write xor_learning.gif: accuracy, boundary and loss side by side "
                        "as it learns")
    x.add_argument("--no-plots", action="store_true", help="train and report only")
    x.add_argument("--json", action="store_true", help="print one JSON object at the end")
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
    problem = _contradiction(args, args.given)
    if problem:
        print(f"fastmlp: {problem}", file=sys.stderr)
        return 2
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

    per_sample = args.batch_size == 1
    first_run = not backends.compiled_before(args.backend, args.dtype, per_sample)
    if first_run and not args.quiet:
        print("compiling the kernels for this machine: the first run takes ~10 s longer "
              "(once; later runs load them from the cache)", file=sys.stderr)
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
        msg = (f"fastmlp: interrupted after {_plural(getattr(model, 'n_iter_', 0), 'full epoch')}"
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
    if first_run:
        backends.mark_compiled(args.backend, args.dtype, per_sample)
    train_seconds = sum(h["seconds"] for h in history)
    # the model as it ends (early stopping may restore an earlier epoch's best weights)
    test_accuracy = model.score(X_test, y_test)
    config = dict(dataset=kind or args.dataset, data_name=name, train_samples=len(X_train),
                  validation_samples=n_val, test_samples=len(X_test),
                  **{p.dest: getattr(args, p.dest) for p in CLI_PARAMS})
    config["hidden"] = list(args.hidden)
    result = dict(
        test_accuracy=test_accuracy, epochs=len(history), seconds=total,
        train_seconds=train_seconds,
        samples_per_second=n_fit * len(history) / train_seconds,
        final_loss=history[-1]["loss"], history=history,
        config=config, warnings=health,
    )
    if model.diagnostics_:
        result["diagnostics"] = model.diagnostics_
    failed = None
    try:
        if args.save:
            result["saved"] = model.save(args.save) or args.save
        if args.plot:
            result["plots"] = plotting.training_figures(
                history, y_test, model.predict(X_test), args.plot,
                labels=np.union1d(model.classes_, y_test),
                class_names=datasets.CLASS_NAMES.get(kind), diagnostics=model.diagnostics_)
    except (OSError, ImportError) as exc:  # checked up front; the disk may still fail
        failed = f"fastmlp: after training: {exc}"
        result["error"] = str(exc)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"test accuracy {result['test_accuracy']:.4f} after "
              f"{_plural(result['epochs'], 'epoch')} in {total:.1f} s "
              f"({result['samples_per_second']:,.0f} samples/s while training)")
    if failed:
        print(failed, file=sys.stderr)
        return 2
    return 0


def xor(args):
    problem = _contradiction(args, args.given)
    if problem:
        print(f"fastmlp: {problem}", file=sys.stderr)
        return 2
    if not args.no_plots and not _plotting_available():  # fail before training, not after
        return 2
    problem = None if args.no_plots else _output_problem(folder=args.out)
    if problem:
        print(f"fastmlp: {problem}", file=sys.stderr)
        return 2
    settings = xor_settings(args.preset, hidden=args.hidden, epochs=args.epochs,
                            learning_rate=args.lr, alpha=args.alpha, penalty=args.penalty,
                            l1_ratio=args.l1_ratio, seed=args.seed)
    X, y = make_xor(seed=0)
    tic = time.perf_counter()
    try:
        model, history = train_xor(X, y, frames=40 if args.gif else 0, resolution=60,
                                   backend=args.backend, diagnostics=not args.no_plots,
                                   **settings)
    except (ValueError, FloatingPointError) as exc:
        print(f"fastmlp: {exc}", file=sys.stderr)
        return 2
    seconds = time.perf_counter() - tic
    hidden = settings["hidden"]
    result = dict(accuracy=model.score(X, y), final_loss=model.loss_curve_[-1],
                  epochs=model.n_iter_, seconds=seconds,
                  config=dict(network=f"2-{hidden}-2", preset=args.preset,
                              activation=model.activation, output_activation="sigmoid",
                              loss="squared_error", batch_size="full",
                              lr=settings["learning_rate"], alpha=settings["alpha"],
                              penalty=model.penalty, l1_ratio=model.l1_ratio,
                              seed=settings["seed"], backend=args.backend, samples=len(X)))
    if not args.no_plots:
        try:
            result["plots"] = plotting.xor_figures(model, X, y, history, args.out, gif=args.gif)
        except OSError as exc:
            print(f"fastmlp: {exc}", file=sys.stderr)
            return 2
    if args.json:
        print(json.dumps(result))
    else:
        print(f"XOR 2-{hidden}-2: accuracy {result['accuracy']:.4f}, loss "
              f"{result['final_loss']:.4f} after {_plural(result['epochs'], 'epoch')} in "
              f"{seconds:.2f} s")
        for path in result.get("plots", {}).values():
            print(f"wrote {path}")
    return 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    # the options given explicitly (not defaults): to refuse ones that would be ignored
    args.given = {a.split("=", 1)[0] for a in argv if a.startswith("--")}
    if args.command == "train":
        return train(args)
    if args.command == "xor":
        return xor(args)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
