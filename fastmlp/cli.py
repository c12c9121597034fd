"""Command line: ``fastmlp train`` (default: the reference MNIST workload) and ``fastmlp xor``."""

import argparse
import json
import os
import sys
import time

import numpy as np


def _hidden(text):
    # "200,200"; "none" for no hidden layer (an empty string is refused: likely a mistake)
    if text.strip().lower() == "none":
        return ()
    try:
        sizes = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers like 200,200 (or "
                                         f"'none' for no hidden layer), got {text!r}") from None
    return sizes


def _batch(text):
    if text == "full":
        return "full"
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer or 'full', got "
                                         f"{text!r}") from None


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
        path = os.fspath(save)
        path = path if path.endswith(".npz") else path + ".npz"
        parent = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(parent):
            return f"cannot save to {path!r}: the folder {parent!r} does not exist"
        if os.path.isdir(path):
            return f"cannot save to {path!r}: it is a folder"
    if folder is not None and os.path.exists(folder) and not os.path.isdir(folder):
        return f"cannot write figures into {folder!r}: it is a file, not a folder"
    return None


def _plotting_available():
    # True if matplotlib imports; otherwise prints what to install and returns False
    from .plotting import PlottingUnavailable, _pyplot
    try:
        _pyplot()
    except PlottingUnavailable as exc:
        print(f"fastmlp: {exc}", file=sys.stderr)
        return False
    return True


def build_parser():
    from . import __version__
    parser = argparse.ArgumentParser(prog="fastmlp", description=__doc__)
    parser.add_argument("--version", action="version", version=f"fastmlp {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train an MLP on MNIST (or Fashion-MNIST) and report")
    t.add_argument("--dataset", choices=("mnist", "fashion-mnist"), default="mnist")
    t.add_argument("--data", metavar="DIR", help="folder with the four IDX files")
    t.add_argument("--hidden", type=_hidden, default=(200, 200),
                   help="hidden layer sizes, comma-separated (default 200,200); 'none' for no "
                        "hidden layer")
    t.add_argument("--activation", default="relu", help="relu, tanh, sigmoid or identity")
    t.add_argument("--epochs", type=int, default=3)
    t.add_argument("--lr", type=float, default=0.01, help="learning rate (default 0.01)")
    t.add_argument("--lr-schedule", default="constant",
                   help="constant, step, exponential, inverse_time or linear")
    t.add_argument("--batch-size", type=_batch, default=1, help="an integer or 'full' (default 1)")
    t.add_argument("--lr-decay", type=float, default=0.5,
                   help="decay factor of the step/exponential/inverse_time schedules (0.5)")
    t.add_argument("--lr-step", type=float, default=1,
                   help="epochs per step of the step schedule (default 1)")
    t.add_argument("--alpha", type=float, default=0.0, help="L2 penalty (default 0)")
    t.add_argument("--init", choices=("he", "xavier", "glorot", "normal"), default=None,
                   help="weight initialiser (default: he for relu/identity, xavier otherwise)")
    t.add_argument("--clip-value", type=float, default=0.0,
                   help="clip every gradient entry to [-C, C] (default 0: off)")
    t.add_argument("--clip-norm", type=float, default=0.0,
                   help="rescale each gradient (before the learning rate) to L2 norm at "
                        "most C (default 0: off)")
    t.add_argument("--validation-fraction", type=float, default=0.0,
                   help="hold out this fraction of the training set, scored every epoch")
    t.add_argument("--n-iter-no-change", type=int, default=None, metavar="K",
                   help="early stopping: stop after K epochs without improvement")
    t.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--backend", choices=("numba", "reference"), default="numba")
    t.add_argument("--train-samples", type=_positive_int, default=None,
                   help="use only the first N training samples")
    t.add_argument("--save", metavar="PATH", help="save the trained model (.npz)")
    t.add_argument("--quiet", action="store_true", help="no progress bar or per-epoch lines")
    t.add_argument("--json", action="store_true", help="print one JSON object at the end")
    t.add_argument("--plot", metavar="DIR", help="write loss.png, accuracy.png (per epoch) and "
                   "confusion_matrix.png (test set) to DIR; needs matplotlib")

    x = sub.add_parser("xor", help="the XOR demo: train 2-H-2 sigmoid nets, plot the boundary")
    from .xor import DEFAULTS
    x.add_argument("--out", metavar="DIR", default="xor-out",
                   help="folder for xor_boundary.png, xor_loss.png, xor_accuracy.png "
                        "(default xor-out)")
    x.add_argument("--hidden", type=int, default=DEFAULTS["hidden"],
                   help=f"hidden units (default {DEFAULTS['hidden']}; the write-up uses 3 and 10)")
    x.add_argument("--epochs", type=int, default=DEFAULTS["epochs"],
                   help=f"full-batch epochs (default {DEFAULTS['epochs']})")
    x.add_argument("--lr", type=float, default=DEFAULTS["learning_rate"],
                   help=f"learning rate (default {DEFAULTS['learning_rate']})")
    x.add_argument("--alpha", type=float, default=DEFAULTS["alpha"],
                   help=f"L2 penalty (default {DEFAULTS['alpha']})")
    x.add_argument("--seed", type=int, default=DEFAULTS["seed"])
    x.add_argument("--backend", choices=("numba", "reference"), default="numba")
    x.add_argument("--gif", action="store_true",
                   help="also write xor_boundary.gif, the boundary as it learns")
    x.add_argument("--no-plots", action="store_true", help="train and report only")
    x.add_argument("--json", action="store_true", help="print one JSON object at the end")
    return parser


def train(args):
    from . import datasets
    from .estimators import MLPClassifier

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
    model = MLPClassifier(hidden_layer_sizes=args.hidden, activation=args.activation,
                          learning_rate=args.lr, lr_schedule=args.lr_schedule,
                          epochs=args.epochs, batch_size=args.batch_size, alpha=args.alpha,
                          dtype=args.dtype, random_state=args.seed, backend=args.backend,
                          verbose=not args.quiet, lr_decay=args.lr_decay, lr_step=args.lr_step,
                          init=args.init, clip_value=args.clip_value, clip_norm=args.clip_norm,
                          validation_fraction=args.validation_fraction,
                          n_iter_no_change=args.n_iter_no_change)
    sizes = (X_train.shape[1],) + tuple(args.hidden) + (10,)
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
    train_seconds = sum(h["seconds"] for h in history)
    # the model as it ends (early stopping may restore an earlier epoch's best weights)
    test_accuracy = model.score(X_test, y_test)
    result = dict(
        test_accuracy=test_accuracy, epochs=len(history), seconds=total,
        train_seconds=train_seconds,
        samples_per_second=len(X_train) * len(history) / train_seconds,
        final_loss=history[-1]["loss"], history=history,
        config=dict(dataset=args.dataset, hidden=list(args.hidden), activation=args.activation,
                    lr=args.lr, lr_schedule=args.lr_schedule, batch_size=args.batch_size,
                    alpha=args.alpha, dtype=args.dtype, seed=args.seed, backend=args.backend,
                    train_samples=len(X_train), test_samples=len(X_test),
                    lr_decay=args.lr_decay, lr_step=args.lr_step, init=args.init,
                    clip_value=args.clip_value, clip_norm=args.clip_norm,
                    validation_fraction=args.validation_fraction,
                    n_iter_no_change=args.n_iter_no_change),
    )
    try:
        if args.save:
            result["saved"] = model.save(args.save) or args.save
        if args.plot:
            from .plotting import training_figures
            result["plots"] = training_figures(history, y_test, model.predict(X_test),
                                               args.plot, labels=np.arange(10))
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
    from .xor import make_xor, train_xor

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
        from .plotting import xor_figures
        try:
            result["plots"] = xor_figures(model, X, y, history, args.out, gif=args.gif)
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
