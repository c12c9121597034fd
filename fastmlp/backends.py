"""The two interchangeable implementations of the math: compiled kernels and the reference."""

BACKENDS = ("numba", "reference")


def get_backend(name):
    """The module implementing train_epoch/predict/... for ``name``."""
    if name == "numba":
        from fastmlp import kernels
        return kernels
    if name == "reference":
        from fastmlp import reference
        return reference
    raise ValueError(f"backend={name!r} is not supported; expected one of {BACKENDS}")
