"""``fastmlp xor``: the XOR demo of the first write-up on the command line (the demo itself is
fastmlp/xor.py, its figures fastmlp/plotting.py)."""

import json
import sys
import time

from . import firstrun, plotting
from .argtypes import parse_positive_int
from .backends import NAMES as BACKEND_NAMES
from .clicheck import contradiction, output_problem, plotting_available, plural
from .xor import DEFAULTS as XOR_DEFAULTS
from .xor import PRESETS as XOR_PRESETS
from .xor import make_xor, train_xor, xor_model, xor_settings


def add_command(sub):
    """The xor subcommand and its options."""
    x = sub.add_parser("xor", help="the XOR demo: train 2-H-2 sigmoid nets, plot the boundary",
                       description="The XOR demo: 300 Gaussian points labelled by the XOR of "
                                   "their signs, a 2-H-2 sigmoid network trained by full-batch "
                                   "gradient descent; plots of the boundary and the curves.")
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


def run(args):
    """Train the XOR network, report, and write the figures; returns the exit status."""
    problem = contradiction(args, args.given)
    if problem:
        print(f"fastmlp: {problem}", file=sys.stderr)
        return 2
    if not args.no_plots and not plotting_available():  # fail before training, not after
        return 2
    problem = None if args.no_plots else output_problem(folder=args.out)
    if problem:
        print(f"fastmlp: {problem}", file=sys.stderr)
        return 2
    settings = xor_settings(args.preset, hidden=args.hidden, epochs=args.epochs,
                            learning_rate=args.lr, alpha=args.alpha, penalty=args.penalty,
                            l1_ratio=args.l1_ratio, seed=args.seed)
    X, y = make_xor(seed=0)
    out = sys.stderr if args.json else sys.stdout
    try:  # compiled (or loaded from the cache) before the clock starts
        compiled = firstrun.compile_kernels(
            firstrun.tiny_fit(xor_model(backend=args.backend, **settings), X, y),
            args.backend, "xor", notice=sys.stderr)
    except KeyboardInterrupt:
        print("fastmlp: interrupted while compiling the kernels", file=sys.stderr)
        return 130
    if compiled.compiled:
        print(compiled.line(), file=out)
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
                  epochs=model.n_iter_, seconds=seconds, compile_seconds=compiled.seconds,
                  compile_cpu_seconds=compiled.cpu_seconds,
                  compiled=compiled.compiled,
                  config=dict(network=f"2-{hidden}-2", preset=args.preset,
                              activation=model.activation, output_activation="sigmoid",
                              loss="squared_error", batch_size="full",
                              lr=settings["learning_rate"], alpha=settings["alpha"],
                              penalty=model.penalty, l1_ratio=model.l1_ratio,
                              seed=settings["seed"], backend=args.backend, samples=len(X)))
    if not args.no_plots:
        try:
            result["plots"] = plotting.xor_figures(
                model, X, y, history, args.out, gif=args.gif,
                run=f"2-{hidden}-2 {model.activation}, lr {settings['learning_rate']:g}, "
                    f"{model.penalty} {settings['alpha']:g}, seed {settings['seed']}" +
                    ("" if args.preset == "default" else f" (preset {args.preset})"))
        except OSError as exc:
            print(f"fastmlp: {exc}", file=sys.stderr)
            return 2
    if args.json:
        print(json.dumps(result))
    else:
        print(f"XOR 2-{hidden}-2: accuracy {result['accuracy']:.4f}, loss "
              f"{result['final_loss']:.4f} after {plural(result['epochs'], 'epoch')} in "
              f"{seconds:.2f} s")
        for path in result.get("plots", {}).values():
            print(f"wrote {path}")
    return 0
