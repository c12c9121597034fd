"""Exceptions raised by fastmlp."""


class NotFittedError(ValueError, AttributeError):
    """A model was used (predict, score, save, ...) before fit/partial_fit/load."""


class DataConversionWarning(UserWarning):
    """fastmlp converted the data it was given (e.g. ravelled a column-vector y)."""


class DivergenceError(FloatingPointError):
    """Training produced a non-finite loss or weight; the model kept its last good weights."""

    def __init__(self, message, epoch=None, sample=None):
        super().__init__(message)
        self.epoch = epoch
        self.sample = sample


class OutputOverflow(ValueError):
    """The network's outputs overflowed: a ValueError for the user (predict), and for the
    training loop, on validation rows, a sign that the weights diverged."""


class ConvergenceWarning(UserWarning):
    """A fit ended unhealthy: the loss still falling clearly, training collapsed (accuracy at
    chance, or a whole hidden ReLU layer dead), or the loss exploding (see fastmlp/health.py)."""
