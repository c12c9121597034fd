"""The estimators' docstrings, written from the hyperparameter table (fastmlp/params.py), so
``help(MLPClassifier)`` and IDEs show every hyperparameter and the text cannot drift."""

import inspect

from .params import PARAMS

_DOC_TYPES = dict(hidden_layer_sizes="tuple of int", learning_rate="float or None",
                  power_t="float", scale_inputs="'auto' or bool", early_stopping="bool",
                  warm_start="bool", lr_decay="float",
                  lr_step="float", epochs="int or 'auto'", batch_size="int or 'full'",
                  shuffle="bool", class_weight="dict, 'balanced' or None",
                  alpha="float or None", l1_ratio="float", clip_value="float or None",
                  clip_norm="float", momentum="float", nesterovs_momentum="bool",
                  beta_1="float", beta_2="float", epsilon="float",
                  dtype="'float32' or 'float64'", random_state="int, Generator or None",
                  validation_fraction="float", n_iter_no_change="int, inf or None", tol="float",
                  chunk_size="int", diagnostics="bool", verbose="bool or 'bar'")


def numpydoc_parameters():
    """The numpydoc ``Parameters`` section of the estimators, written from the table (so
    ``help(MLPClassifier)`` and IDEs show every hyperparameter, and it cannot drift)."""
    lines = ["Parameters", "----------"]
    for p in PARAMS:
        kind = _DOC_TYPES.get(p.name) or (
            "{" + ", ".join(repr(c) for c in p.choices) + "}" if p.choices else "str")
        lines.append(f"{p.name} : {kind}, default={p.default!r}")
        text = p.help[0].upper() + p.help[1:]
        if p.cli:
            text += f". Command line: ``{p.cli}``."
        words, line = text.split(), "    "
        for word in words:
            if len(line) + len(word) > 88:
                lines.append(line.rstrip())
                line = "    "
            line += word + " "
        lines.append(line.rstrip())
    return "\n".join(lines)


_ATTRIBUTES = """
Attributes
----------
coefs_, intercepts_ : lists of arrays
    Weights ``(fan_in, fan_out)`` and biases per layer: views into ``params_``.
loss_curve_, accuracy_curve_, validation_scores_ : lists of float
    Per epoch: training loss (penalty included), training accuracy, validation score
    (validation_scores_ is None without validation, as in scikit-learn).
diverged_ : bool
    Whether the last fit/partial_fit diverged (see on_divergence).
diagnostics_ : dict of lists
    With ``diagnostics=True``: per epoch and per layer ``grad_norm``, ``weight_norm``,
    ``update_ratio`` and ``inactive`` (see fastmlp/diagnostics.py); empty otherwise.
n_iter_, t_ : int
    Epochs and samples trained.
"""


def estimator_docstring(doc):
    """An estimator's docstring: its own text, the Parameters and the Attributes sections."""
    return f"{inspect.cleandoc(doc)}\n\n{numpydoc_parameters()}\n{_ATTRIBUTES}"
