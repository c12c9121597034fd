"""Integer codes that name activations, losses and solvers inside compiled code.

Numba kernels cannot branch on strings cheaply, so the Python layer maps names to these codes
once, before any kernel runs. The reference uses the same codes so one test body drives both.
Pure Python: importing it (or ``fastmlp.reference``) never loads numba; ``fastmlp.kernels.codes``
re-exports these names for the kernel modules.
"""

IDENTITY = 0
RELU = 1
SIGMOID = 2
TANH = 3
SOFTMAX = 4  # output layer only

ACTIVATIONS = {"identity": IDENTITY, "relu": RELU, "sigmoid": SIGMOID, "tanh": TANH, "softmax": SOFTMAX}
HIDDEN_ACTIVATIONS = ("identity", "relu", "sigmoid", "tanh")
OUTPUT_ACTIVATIONS = ("softmax", "sigmoid", "identity", "tanh", "relu")

CROSS_ENTROPY = 0  # with a softmax output: gradient p - y
SQUARED_ERROR = 1  # 0.5 * sum((out - y)**2): gradient (out - y) * act'(out)

LOSSES = {"cross_entropy": CROSS_ENTROPY, "squared_error": SQUARED_ERROR}

SGD = 0  # plain SGD, or SGD with (Nesterov) momentum when momentum > 0
ADAM = 1

SOLVERS = {"sgd": SGD, "adam": ADAM}
