"""The command line's value types of hyperparameters (argparse ``type=`` functions): text ->
the value the estimators take; and ``printable``, text as the terminal can show it."""

import argparse


def parse_hidden(text):
    """'200,200' -> (200, 200); 'none' -> () (an empty string is refused: likely a mistake)."""
    if text.strip().lower() == "none":
        return ()
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers like 200,200 (or "
                                         f"'none' for no hidden layer), got {text!r}") from None


def parse_epochs(text):
    if text == "auto":
        return "auto"
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer or 'auto', got "
                                         f"{text!r}") from None


def parse_batch(text):
    if text == "full":
        return "full"
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer or 'full', got "
                                         f"{text!r}") from None


def parse_positive_int(text):
    """'12' -> 12; zero, negatives and non-integers are refused."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def parse_patience(text):
    """'10' -> 10; 'inf' -> inf (never stop): --n-iter-no-change."""
    if text.strip().lower() in ("inf", "infinity"):
        return float("inf")
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer or 'inf', got "
                                         f"{text!r}") from None


def parse_scale_inputs(text):
    """'auto' -> 'auto'; 'true'/'yes' -> True; 'false'/'no' -> False: --scale-inputs."""
    value = {"auto": "auto", "true": True, "yes": True, "false": False, "no": False}.get(
        text.strip().lower())
    if value is None:
        raise argparse.ArgumentTypeError(f"expected auto, true or false, got {text!r}")
    return value


def printable(text, stream):
    """text as ``stream`` can print it: characters its encoding lacks (e.g. the undecodable
    bytes of a --data path, held as surrogates) become backslash escapes."""
    encoding = getattr(stream, "encoding", None) or "utf-8"
    return text.encode(encoding, "backslashreplace").decode(encoding)
