"""The command line's parser: argparse, with errors a person can act on.

A bad option or value prints the one-line error and a one-line hint (the command's short usage
and where the full list is), never the whole usage block; a near miss names what was probably
meant (``--epoch`` -> ``--epochs``, ``--activation rlu`` -> ``relu``, ``trian`` -> ``train``).
Options are never abbreviated (``allow_abbrev=False``): a near miss is an error with a
suggestion, not a silent guess.
"""

import argparse
import difflib
import re

_CHOICE = re.compile(r"invalid choice: '(?P<given>[^']*)' \(choose from (?P<choices>.*)\)$")


def closest(word, candidates):
    """The one candidate ``word`` most likely misspells, or None: the only candidate it is a
    prefix of, else the closest by difflib's ratio (at least 0.6)."""
    candidates = list(candidates)
    prefixed = [c for c in candidates if c.startswith(word) and word != c]
    if len(prefixed) == 1 and len(word) > 2:
        return prefixed[0]
    found = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return found[0] if found else None


class Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line plus a one-line hint (also for subcommands:
    argparse makes them with the parent's class)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def short_usage(self):
        """'fastmlp predict MODEL DATA [options]': the positionals, then [options]."""
        words = [self.prog]
        for action in self._actions:
            if action.option_strings or action.help == argparse.SUPPRESS:
                continue
            if isinstance(action, argparse._SubParsersAction) and not action.metavar:
                words.append("{" + ",".join(action.choices) + "}")
            else:
                words.append(action.metavar or action.dest.upper())
        return " ".join(words + ["[options]"])

    def error(self, message):
        match = _CHOICE.search(message)
        if match:  # a mistyped value or command: name the likely one
            choices = re.findall(r"'([^']*)'", match.group("choices"))
            guess = closest(match.group("given"), choices)
            if guess:
                message += f"; did you mean {guess!r}?"
        self.exit(2, f"{self.prog}: error: {message}\n"
                     f"usage: {self.short_usage()}; '{self.prog} --help' lists the options\n")

    def parse_args(self, args=None, namespace=None):
        """As argparse's, but an unknown option is reported by the subcommand it was given
        to, with the option it most likely misspells."""
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            parser = self._subcommand(parsed) or self
            options = [s for a in parser._actions for s in a.option_strings]
            message = f"unrecognized arguments: {' '.join(extras)}"
            for word in extras:
                guess = closest(word.split("=", 1)[0], options) if word.startswith("-") else None
                if guess:
                    message += f"; did you mean {guess}?"
                    break
            parser.error(message)
        return parsed

    def _subcommand(self, parsed):
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                return action.choices.get(getattr(parsed, action.dest, None))
        return None
