"""The command line's checks before any work: outputs that cannot be written, options that
contradict each other (one would be silently ignored), plotting without matplotlib. Each
returns the reason as one line, or None; the commands print it and exit with status 2."""

import os
import sys
import tempfile

from . import persistence, plotting


def _can_create_a_file_in(folder):
    """None if a file can be created (and removed again) in ``folder``, else the reason."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=".fastmlp-check-", dir=folder)
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    return None


def output_problem(save=None, folder=None):
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


def contradiction(args, given):
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
         and getattr(args, "lr_schedule", None) != "adaptive",
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


def plotting_available():
    # True if matplotlib imports; otherwise prints what to install and returns False
    try:
        plotting.pyplot()
    except plotting.PlottingUnavailable as exc:
        print(f"fastmlp: {exc}", file=sys.stderr)
        return False
    return True


def plural(n, word):
    """'1 epoch', '3 epochs'."""
    return f"{n} {word}{'' if n == 1 else 's'}"
