"""Numba-JIT kernels of fastmlp, installed as ``fastmlp.kernels``.

Each function has a pure-NumPy twin of the same name and signature in ``fastmlp.reference``.
"""

from .activations import activation_backward, activation_forward
from .dense import clip_gradient, dense_backward, dense_backward_sgd, dense_forward
from .loss import loss_forward_backward
from .network import (layer_slice, layer_views, network_backward, network_backward_sgd,
                      network_forward)
from .updates import adam_rate, optimizer_update, sgd_update, step_gradient
from .epochs import predict
from .sgd import argmax_equal, train_epoch
from .csr import predict_csr, train_epoch_csr
from . import checks  # noqa: E402  (compiled input checks of fastmlp/online.py)

__all__ = [
    "activation_forward", "activation_backward", "dense_forward", "dense_backward",
    "dense_backward_sgd", "clip_gradient", "loss_forward_backward", "layer_views", "layer_slice",
    "network_forward", "network_backward", "network_backward_sgd", "sgd_update", "step_gradient",
    "optimizer_update", "adam_rate", "argmax_equal", "train_epoch", "predict", "train_epoch_csr",
    "predict_csr",
]
