"""The parts of a model file beyond the weights and curves (fastmlp/fitted.py holds the rest
of the schema): the shuffling generator's state, the input standardisation, the adaptive
schedule's factor, ``diverged_`` and whether a classifier is multilabel. Each is written by
``extra_arrays`` and read back, checked, by one function; a file written before one of them
existed loads with its neutral value (the generator seeded from random_state, no scaling,
factor 1, not diverged, single labels)."""

import json

import numpy as np

from .validation import check_random_state

# the bit generators whose state a file may restore (numpy's own; nothing is imported or run)
BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return {"__array__": value.tolist(), "dtype": value.dtype.name}
    if isinstance(value, np.generic):
        return value.item()
    return value


def _from_jsonable(value):
    if isinstance(value, dict):
        if set(value) == {"__array__", "dtype"}:
            return np.asarray(value["__array__"], dtype=np.dtype(value["dtype"]))
        return {k: _from_jsonable(v) for k, v in value.items()}
    return value


def rng_to_file(rng):
    """The shuffling generator's state as JSON text (a numpy Generator's bit generator)."""
    return json.dumps(_jsonable(rng.bit_generator.state))


def rng_from_file(text, path, random_state):
    """A Generator in the state of ``text`` (rng_to_file), or, with none saved, seeded from
    random_state as a fresh fit would be."""
    if text is None:
        return check_random_state(random_state)
    try:
        state = _from_jsonable(json.loads(str(text)))
        name = state["bit_generator"]
        if name not in BIT_GENERATORS:
            raise ValueError(f"unknown bit generator {name!r}")
        bits = getattr(np.random, name)()
        bits.state = state
    except (ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"{path!r} is corrupt: the shuffling generator's state is unreadable "
                         f"({exc})") from None
    return np.random.Generator(bits)


def extra_arrays(model):
    """The arrays this module reads back (see the module docstring)."""
    arrays = {"lr_scale": np.array(float(getattr(model, "_lr_scale", 1.0))),
              "diverged": np.array(bool(getattr(model, "diverged_", False)))}
    if isinstance(getattr(model, "_rng", None), np.random.Generator):
        arrays["rng_state"] = np.array(rng_to_file(model._rng))
    if getattr(model, "_x_mean", None) is not None:
        arrays["x_mean"], arrays["x_scale"] = model._x_mean, model._x_scale
    if getattr(model, "_multilabel", False):
        arrays["multilabel"] = np.array(True)
    return arrays


def targets_kind_from(model, data, path):
    """A classifier's ``_multilabel`` from the file (read before the hyperparameters resolve:
    a multilabel classifier's default output is sigmoid)."""
    value = data.get("multilabel", np.array(False))
    if value.shape != () or value.dtype.kind != "b":
        raise ValueError(f"{path!r} is corrupt: multilabel must be True or False")
    if bool(value) and model._estimator_type != "classifier":
        raise ValueError(f"{path!r} is corrupt: a {type(model).__name__} is not multilabel")
    if model._estimator_type == "classifier":
        model._multilabel = bool(value)


def scaling_from_file(model, data, path, n_in, dtype):
    """``_x_mean``/``_x_scale`` from the file: n_in finite numbers each of the parameters'
    dtype, the scales > 0, or both absent (no input scaling)."""
    if ("x_mean" in data) != ("x_scale" in data):
        raise ValueError(f"{path!r} is corrupt: x_mean and x_scale come together")
    model._x_mean = model._x_scale = None
    if "x_mean" not in data:
        return
    mean, scale = (np.ascontiguousarray(data[k]) for k in ("x_mean", "x_scale"))
    ok = all(a.shape == (n_in,) and a.dtype == dtype and np.isfinite(a).all()
             for a in (mean, scale))
    if not ok or not (scale > 0).all():
        raise ValueError(f"{path!r} is corrupt: x_mean and x_scale must be {n_in} finite "
                         f"numbers of {np.dtype(dtype).name} each, the scales > 0")
    model._x_mean, model._x_scale = mean.copy(), scale.copy()


def state_from_file(model, data, path):
    """``_lr_scale`` (a finite number in (0, 1]) and ``diverged_`` from the file."""
    scale = data.get("lr_scale", np.array(1.0))
    if scale.shape != () or scale.dtype.kind != "f" or not 0 < float(scale) <= 1:
        raise ValueError(f"{path!r} is corrupt: lr_scale must be a number in (0, 1]")
    diverged = data.get("diverged", np.array(False))
    if diverged.shape != () or diverged.dtype.kind != "b":
        raise ValueError(f"{path!r} is corrupt: diverged must be True or False")
    model._lr_scale, model.diverged_ = float(scale), bool(diverged)
