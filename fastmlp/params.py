"""The hyperparameters: one declarative table, and ``resolve`` into a frozen ``Settings``.

``PARAMS`` lists every hyperparameter of MLPClassifier/MLPRegressor once, in the order of their
``__init__`` signature: its default, its check, its command-line flag and help text. The
estimators take their defaults from it, the command line builds its parser from it, and
``resolve`` validates all of them in that order and returns a frozen ``Settings``: the only
thing the training loop reads. ``fit`` and ``partial_fit`` resolve once per call, so a
hyperparameter changed during a fit (e.g. from an ``epoch_callback``) takes effect at the next
``fit``/``partial_fit``, never in the middle of one.
"""

import argparse
import dataclasses

import numpy as np

from .argtypes import (parse_batch, parse_epochs, parse_hidden, parse_patience,
                       parse_scale_inputs)
from .backends import NAMES as BACKEND_NAMES
from .codes import ACTIVATIONS, HIDDEN_ACTIVATIONS, LOSSES, OUTPUT_ACTIVATIONS, SOLVERS
from .init import INITIALISERS
from .paramchecks import (ADAM_RATE, DIVERGENCE, EARLY_STOPPING_FRACTION, LR_SCHEDULES,
                          SGD_RATE, _activation, _batch_size, _below_one, _choice, _dtype,
                          _epochs, _estimator_default, _flag, _hidden, _init, _l1_ratio,
                          _learning_rate, _loss, _lr_decay, _lr_schedule, _number,
                          _output_activation, _patience, _scale_inputs, _solver,
                          _validation_fraction, _verbose)
from .scaling import RMS_LIMIT
from .validation import DTYPES, check_seed
from .weights import check_class_weight_value, parse_class_weight

PENALTIES = ("l2", "l1", "elasticnet")

# epochs="auto" (the default): enough passes for about SAMPLE_BUDGET per-sample steps (the
# reference workload's 3 epochs over MNIST's 60,000 rows), at least MIN_AUTO_EPOCHS and at most
# MAX_AUTO_EPOCHS, stopping earlier once the training loss has not improved by tol for
# AUTO_PATIENCE epochs (scikit-learn's tol/n_iter_no_change on the training loss)
SAMPLE_BUDGET = 180_000
MIN_AUTO_EPOCHS = 3
MAX_AUTO_EPOCHS = 200
AUTO_PATIENCE = 10
# MLPRegressor's defaults of alpha and clip_value (None): a small penalty, as squared error
# fits the noise of small data sets within a few epochs, and every gradient entry clipped to
# [-1, 1], so raw (unscaled) inputs do not make per-sample SGD diverge (a ReLU network's
# squared-error gradient grows with the inputs); the classifier's are 0 (the reference workload)
REGRESSOR_ALPHA = 0.03
REGRESSOR_CLIP_VALUE = 1.0


def default_learning_rate(solver):
    """The rate learning_rate=None means for ``solver``."""
    return ADAM_RATE if solver == "adam" else SGD_RATE


def auto_epochs(n):
    """The epochs ``epochs='auto'`` trains a training set of n rows for, at most."""
    return int(min(MAX_AUTO_EPOCHS, max(MIN_AUTO_EPOCHS, -(-SAMPLE_BUDGET // max(int(n), 1)))))


# ------------------------------------------------------------------ the table

_AS_DEFAULT = object()  # Param.cli_default when the command line uses the estimator's default


@dataclasses.dataclass(frozen=True)
class Param:
    """One hyperparameter. ``cli``: its ``fastmlp train`` flag (None: not on the command line);
    ``cli_type``/``choices``/``cli_default``/``metavar`` shape that option."""

    name: str
    default: object
    check: object
    help: str
    cli: str = None
    cli_type: object = None
    choices: tuple = None
    cli_default: object = _AS_DEFAULT
    metavar: str = None

    @property
    def command_line_default(self):
        """The option's default: ``cli_default`` where the command line differs, else
        ``default``."""
        return self.default if self.cli_default is _AS_DEFAULT else self.cli_default

    @property
    def dest(self):
        """The attribute argparse stores the option under (``--lr-schedule`` -> lr_schedule)."""
        return self.cli.lstrip("-").replace("-", "_")


PARAMS = (
    Param("hidden_layer_sizes", (200, 200), _hidden,
          "hidden layer sizes, comma-separated (default 200,200); 'none' for no hidden layer",
          "--hidden", parse_hidden),
    Param("activation", "relu", _activation,
          "hidden-layer activation (default relu; 'logistic', scikit-learn's name, is sigmoid)",
          "--activation", choices=HIDDEN_ACTIVATIONS + ("logistic",)),
    Param("output_activation", None, _output_activation,
          "output activation (default: softmax for the classifier, sigmoid for a multilabel "
          "classifier (y a 0/1 indicator matrix), identity for the regressor)",
          "--output-activation", choices=OUTPUT_ACTIVATIONS),
    Param("loss", None, _loss,
          "loss (default: cross_entropy with a softmax output, or a multilabel classifier's "
          "sigmoid outputs (binary cross-entropy per output); squared_error otherwise)",
          "--loss", choices=tuple(LOSSES)),
    Param("init", None, _init,
          "weight initialiser (default: he for relu/identity, xavier otherwise)",
          "--init", choices=INITIALISERS),
    Param("scale_inputs", "auto", _scale_inputs,
          f"standardise X with the training rows' mean and standard deviation, kept with the "
          f"model and applied in predict: 'auto' (default) when some feature's root mean "
          f"square is above {RMS_LIMIT:g} (raw tabular data; data in [-1, 1], like images "
          f"scaled to [0, 1], or already standardised is left as it is), True always, False "
          f"never. Sparse X is only scaled, so it stays sparse", "--scale-inputs",
          parse_scale_inputs, metavar="{auto,true,false}"),
    Param("learning_rate", None, _learning_rate,
          f"learning rate (default None: {SGD_RATE} for solver='sgd', {ADAM_RATE} for 'adam'). "
          f"scikit-learn's names work too: learning_rate_init=0.05 is learning_rate=0.05, and "
          f"a schedule name here ('constant', 'invscaling', 'adaptive') sets lr_schedule "
          f"(get_params reports fastmlp's names)", "--lr", float),
    Param("lr_schedule", "constant", _lr_schedule,
          "learning-rate schedule (default constant); invscaling: learning_rate / (t + 1) ** "
          "power_t with t the samples trained before the epoch, adaptive: divided by 5 each "
          "time the training loss (the validation score with early stopping) has not improved "
          "by tol for n_iter_no_change epochs (10 if None), until below 1e-6 (both as "
          "scikit-learn's)", "--lr-schedule", choices=LR_SCHEDULES),
    Param("power_t", 0.5, _number("power_t", allow_zero=True),
          "exponent of the invscaling schedule (default 0.5)", "--power-t", float),
    Param("lr_decay", 0.5, _lr_decay,
          "decay factor of the step/exponential/inverse_time schedules (0.5)", "--lr-decay",
          float),
    Param("lr_step", 1, _number("lr_step"), "epochs per step of the step schedule (default 1)",
          "--lr-step", float),
    Param("epochs", "auto", _epochs,
          f"passes over the training set, or 'auto' (the default): enough for about "
          f"{SAMPLE_BUDGET:,} samples (3 epochs of MNIST), between {MIN_AUTO_EPOCHS} and "
          f"{MAX_AUTO_EPOCHS} epochs, stopping once the training loss has not improved by tol "
          f"for {AUTO_PATIENCE} epochs (the command line's default is 3)", "--epochs",
          parse_epochs, cli_default=3),
    Param("batch_size", 1, _batch_size, "an integer or 'full' (default 1)", "--batch-size",
          parse_batch),
    Param("shuffle", True, _flag("shuffle"), "visit the samples in a new random order every epoch "
          "(default; --no-shuffle: in the given order)", "--shuffle",
          argparse.BooleanOptionalAction),
    Param("class_weight", None, lambda value, done: check_class_weight_value(value),
          "weight of each class's samples in the loss: 'balanced' (n_samples / (n_classes * "
          "count)) or label:weight pairs like 0:1,1:5 (default: 1 for all; classifier only)",
          "--class-weight", parse_class_weight),
    Param("alpha", None, _estimator_default("alpha"),
          "strength of the weight penalty chosen by penalty (default: 0, none, for the "
          f"classifier; {REGRESSOR_ALPHA} for the regressor, whose squared error would "
          "otherwise fit the noise of small data sets within a few epochs)", "--alpha",
          float, cli_default=0.0),
    Param("penalty", "l2", _choice("penalty", PENALTIES),
          "l2 (alpha/2 * sum W**2), l1 (alpha * sum |W|) or elasticnet (both, mixed by "
          "l1_ratio); biases are never penalised (default l2)", "--penalty", choices=PENALTIES),
    Param("l1_ratio", 0.15, _l1_ratio,
          "elasticnet's share of L1: l1 = alpha * l1_ratio, l2 = alpha * (1 - l1_ratio) "
          "(default 0.15, as scikit-learn's SGDClassifier)", "--l1-ratio", float),
    Param("clip_value", None, _estimator_default("clip_value"),
          f"clip every gradient entry to [-C, C] (default: 0, off, for the classifier; "
          f"{REGRESSOR_CLIP_VALUE} for the regressor, whose squared error on raw inputs could "
          f"otherwise diverge)", "--clip-value", float, cli_default=0.0),
    Param("clip_norm", 0.0, _number("clip_norm", allow_zero=True),
          "rescale each gradient (before the learning rate) to L2 norm at most C (default 0: "
          "off)", "--clip-norm", float),
    Param("solver", "sgd", _solver,
          "sgd (with momentum if momentum > 0) or adam (default sgd)", "--solver",
          choices=tuple(SOLVERS)),
    Param("momentum", 0.0, _below_one("momentum"),
          "sgd's momentum in [0, 1) (default 0: plain SGD); ignored by adam", "--momentum",
          float),
    Param("nesterovs_momentum", True, _flag("nesterovs_momentum"),
          "Nesterov's momentum (default; --no-nesterov: classic momentum); only sgd with "
          "momentum > 0", "--nesterov", argparse.BooleanOptionalAction),
    Param("beta_1", 0.9, _below_one("beta_1"),
          "adam's decay of the gradient average, in [0, 1) (default 0.9); ignored by sgd",
          "--beta1", float),
    Param("beta_2", 0.999, _below_one("beta_2"),
          "adam's decay of the squared-gradient average, in [0, 1) (default 0.999); ignored "
          "by sgd", "--beta2", float),
    Param("epsilon", 1e-8, _number("epsilon"),
          "adam's term added to the root of the squared-gradient average (default 1e-8); "
          "ignored by sgd", "--epsilon", float),
    Param("dtype", "float32", _dtype, "floating-point type of weights and data (default "
          "float32)", "--dtype", choices=tuple(DTYPES)),
    Param("random_state", None, lambda value, done: check_seed(value),
          "seed of the initialisation and the shuffling (default 0 on the command line)",
          "--seed", int, cli_default=0),
    Param("backend", "numba", _choice("backend", BACKEND_NAMES),
          "numba (compiled kernels) or reference (the NumPy reference, slow but readable)",
          "--backend", choices=BACKEND_NAMES),
    Param("early_stopping", False, _flag("early_stopping"),
          f"hold out validation_fraction of the training set ({EARLY_STOPPING_FRACTION} if "
          f"left at 0), stop once its score has not improved by tol for n_iter_no_change "
          f"epochs ({AUTO_PATIENCE} if None) and keep the best-scoring weights (scikit-learn's "
          f"early_stopping; default off)", "--early-stopping", argparse.BooleanOptionalAction),
    Param("validation_fraction", 0.0, _validation_fraction,
          "hold out this fraction of the training set, scored every epoch",
          "--validation-fraction", float),
    Param("n_iter_no_change", None, _patience,
          "early stopping: stop after K epochs without improvement (np.inf: never)",
          "--n-iter-no-change", parse_patience, metavar="K"),
    Param("tol", 1e-4, _number("tol", allow_zero=True),
          "smallest improvement that resets early stopping's patience, also epochs='auto''s "
          "(default 1e-4)", "--tol",
          float),
    Param("warm_start", False, _flag("warm_start"),
          "fit continues from the fitted weights and optimizer state, for epochs more "
          "epochs, instead of a fresh initialisation (the data must have the fitted number of "
          "features and, for a classifier, the same classes; scikit-learn's warm_start)"),
    Param("on_divergence", "warn", _choice("on_divergence", DIVERGENCE),
          "when the loss, weights or outputs become NaN or infinite: 'warn' (default) keeps "
          "the last finite weights (of the diverged epoch's start), stops, sets "
          "diverged_=True and warns (ConvergenceWarning) with remedies, so a search scores "
          "the fit as the poor model it is; 'raise' raises DivergenceError (the command "
          "line's default)", "--on-divergence", choices=DIVERGENCE, cli_default="raise"),
    Param("chunk_size", 4096, _number("chunk_size", integer=True),
          "samples per compiled call: schedules, progress and Ctrl-C act between chunks "
          "(default 4096)", "--chunk-size", int),
    Param("diagnostics", False, _flag("diagnostics"),
          "record per-epoch gradient norms, weight norms, update-to-weight ratios and inactive "
          "hidden units per layer in diagnostics_ (default off: no cost)", "--diagnostics",
          argparse.BooleanOptionalAction),
    Param("verbose", False, _verbose, "print a progress bar and a line per epoch (loss, training "
          "accuracy, validation score, seconds) to stderr; 'bar': only the bar (the command "
          "line, which prints its own lines; --quiet turns both off)"),
)

BY_NAME = {p.name: p for p in PARAMS}
DEFAULTS = {p.name: p.default for p in PARAMS}


# ------------------------------------------------------------------ resolved settings

@dataclasses.dataclass(frozen=True, eq=False)
class Settings:
    """Every hyperparameter, validated, with the per-estimator defaults filled in (names as in
    ``PARAMS``), plus the kernel codes. Frozen: the training loop reads only this."""

    hidden_layer_sizes: tuple
    activation: str
    output_activation: str
    loss: str
    init: str
    scale_inputs: object
    learning_rate: object
    lr_schedule: str
    power_t: object
    lr_decay: object
    lr_step: object
    epochs: object  # an int, or "auto" (see n_epochs)
    batch_size: object
    shuffle: object
    class_weight: object
    alpha: object
    penalty: str
    l1_ratio: object
    clip_value: object
    clip_norm: object
    solver: str
    momentum: object
    nesterovs_momentum: bool
    beta_1: object
    beta_2: object
    epsilon: object
    dtype: np.dtype
    random_state: object
    backend: str
    early_stopping: bool
    validation_fraction: object
    n_iter_no_change: object
    tol: object
    warm_start: bool
    on_divergence: str
    chunk_size: int
    diagnostics: bool
    verbose: object
    activation_codes: np.ndarray  # one int64 code per layer: the hidden ones, then the output
    loss_code: int
    solver_code: int

    def n_epochs(self, n):
        """The epochs a fit over n training rows runs at most (``epochs`` or its 'auto')."""
        return auto_epochs(n) if self.epochs == "auto" else self.epochs

    @property
    def patience(self):
        """Epochs without improvement by tol that stop a fit (or, with the adaptive schedule,
        divide the learning rate by 5): n_iter_no_change, or with epochs='auto' or the adaptive
        schedule AUTO_PATIENCE (on the training loss without validation); None or inf:
        never."""
        if self.n_iter_no_change is None and (self.epochs == "auto" or
                                              self.lr_schedule == "adaptive"):
            return AUTO_PATIENCE
        return self.n_iter_no_change

    def batch(self, n):
        """Samples per gradient step for a training set of n samples."""
        return n if self.batch_size == "full" else min(int(self.batch_size), n)

    @property
    def l2(self):
        """The L2 coefficient the kernels get as ``alpha`` (gradient term ``l2 * W``)."""
        return {"l2": self.alpha, "l1": 0.0,
                "elasticnet": self.alpha * (1 - self.l1_ratio)}[self.penalty]

    @property
    def l1(self):
        """The L1 coefficient the kernels get as ``l1`` (gradient term ``l1 * sign(W)``)."""
        return {"l2": 0.0, "l1": self.alpha,
                "elasticnet": self.alpha * self.l1_ratio}[self.penalty]

    def same_functions(self, other):
        """True if ``other`` has the same activations and loss (codes) as these settings."""
        return (np.array_equal(self.activation_codes, other.activation_codes)
                and self.loss_code == other.loss_code)


def resolve(values, output_activation, loss, alpha=0.0, clip_value=0.0):
    """Validate ``values`` (a dict of every hyperparameter, e.g. ``get_params()``) in table
    order; return the frozen Settings. ``output_activation``, ``loss``, ``alpha`` and
    ``clip_value`` are the estimator's defaults for the hyperparameters of those names left at
    None."""
    done = {"_output_activation": output_activation, "_loss": loss, "_alpha": alpha,
            "_clip_value": clip_value}
    for p in PARAMS:
        done[p.name] = p.check(values[p.name], done)
    hidden = done["hidden_layer_sizes"]
    acts = [done["activation"]] * len(hidden) + [done["output_activation"]]
    return Settings(**{p.name: done[p.name] for p in PARAMS},
                    activation_codes=np.array([ACTIVATIONS[a] for a in acts], np.int64),
                    loss_code=LOSSES[done["loss"]], solver_code=SOLVERS[done["solver"]])
