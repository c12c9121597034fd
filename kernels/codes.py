"""The name -> code constants, re-exported from their home ``fastmlp.codes`` (pure Python, so
``fastmlp.reference`` can use them without loading numba)."""

from fastmlp.codes import (ACTIVATIONS, ADAM, CROSS_ENTROPY, HIDDEN_ACTIVATIONS, IDENTITY, LOSSES,
                           OUTPUT_ACTIVATIONS, RELU, SGD, SIGMOID, SOFTMAX, SOLVERS,
                           SQUARED_ERROR, TANH)

__all__ = ["IDENTITY", "RELU", "SIGMOID", "TANH", "SOFTMAX", "ACTIVATIONS", "HIDDEN_ACTIVATIONS",
           "OUTPUT_ACTIVATIONS", "CROSS_ENTROPY", "SQUARED_ERROR", "LOSSES", "SGD", "ADAM", "SOLVERS"]
