"""The flat-buffer layout of a network, shared by the reference and the kernels.

``params`` holds W0, b0, W1, b1, ... each C-ordered, W as (fan_in, fan_out). ``layout[l]`` is
``(fan_in, fan_out, w_off, b_off, a_off)`` (int64); ``a_off`` locates layer l's output in the
flat ``acts``/``dacts`` buffers. See fastmlp/reference.py for the full description.
``check_state`` is the one guard that a (layout, params) pair is safe to hand to a kernel.
"""

import numpy as np

FAN_IN, FAN_OUT, W_OFF, B_OFF, A_OFF = range(5)


def make_layout(sizes):
    """(layout, n_params, n_acts) for layer sizes (n_in, h1, ..., n_out)."""
    sizes = [int(s) for s in sizes]
    layout = np.zeros((len(sizes) - 1, 5), dtype=np.int64)
    p = a = 0
    for l, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layout[l] = (fan_in, fan_out, p, p + fan_in * fan_out, a)
        p += fan_in * fan_out + fan_out
        a += fan_out
    return layout, p, a


def aligned_copy(values, dtype=None):
    """A C-contiguous copy of ``values`` whose first element sits on a 64-byte boundary (a cache
    line): the weight rows the kernels stream then never straddle a line more than their length
    forces (a 200-float32 row: every row on a 32-byte boundary)."""
    values = np.asarray(values, dtype=dtype)
    raw = np.empty(values.size + 64 // values.itemsize, values.dtype)
    off = (-raw.ctypes.data % 64) // values.itemsize
    out = raw[off:off + values.size].reshape(values.shape)
    out[...] = values
    return out


def layer_sizes(layout):
    """(n_in, h1, ..., n_out) back from a layout."""
    return (int(layout[0, FAN_IN]),) + tuple(int(v) for v in layout[:, FAN_OUT])


def check_state(layout, params):
    """Raise ValueError unless ``layout`` and ``params`` are exactly what the kernels index
    blindly (they never check bounds): a valid int64 layout as ``make_layout`` builds it and a
    writeable C-contiguous float32/float64 buffer of its size. Returns the number of parameters.

    The one check shared by the estimators (before every kernel call) and by loading a file.
    """
    ok = (isinstance(layout, np.ndarray) and layout.dtype == np.int64 and layout.ndim == 2
          and layout.shape[0] >= 1 and layout.shape[1] == 5 and layout.flags.c_contiguous
          and bool((layout[:, [FAN_IN, FAN_OUT]] >= 1).all()))
    if ok:
        expected, n_params, _ = make_layout(layer_sizes(layout))
        ok = np.array_equal(layout, expected)
    if not ok:
        raise ValueError("layout_ was modified and no longer describes a network; refit "
                         "the model (or fastmlp.load it again)")
    if not (isinstance(params, np.ndarray) and params.dtype in (np.float32, np.float64)
            and params.shape == (n_params,) and params.flags.c_contiguous and
            params.flags.writeable):
        got = (f"{params.dtype} array of shape {params.shape}"
               if isinstance(params, np.ndarray) else type(params).__name__)
        raise ValueError(f"params_ must be a writeable C-contiguous float32 or float64 array "
                         f"of shape ({n_params},) for this network, got {got}; do not "
                         f"replace params_ (edit coefs_/intercepts_ instead)")
    return n_params


def activation_size(layout):
    """Length of the flat ``acts``/``dacts`` buffers: every layer's outputs."""
    return int(layout[:, FAN_OUT].sum())


def coef_views(params, layout):
    """(coefs, intercepts): lists of views onto params, so edits to them edit params."""
    coefs, intercepts = [], []
    for fan_in, fan_out, w_off, b_off, _ in layout:
        coefs.append(params[w_off:w_off + fan_in * fan_out].reshape(fan_in, fan_out))
        intercepts.append(params[b_off:b_off + fan_out])
    return coefs, intercepts


def _same_view(a, b):
    """True if a is exactly the view b (same memory, shape, strides and dtype)."""
    return (isinstance(a, np.ndarray) and a.shape == b.shape and a.strides == b.strides and
            a.dtype == b.dtype and
            a.__array_interface__["data"][0] == b.__array_interface__["data"][0])


def take_in_weights(params, layout, coefs, intercepts):
    """Copy into ``params`` whatever arrays of ``coefs``/``intercepts`` (the public lists) are
    not its own views any more, after checking them; returns (coefs views, intercepts views,
    replaced). Unchanged views cost nothing."""
    views_c, views_i = coef_views(params, layout)
    replaced = False
    for name, given, views in (("coefs_", coefs, views_c), ("intercepts_", intercepts, views_i)):
        if not isinstance(given, (list, tuple)):
            raise ValueError(f"{name} must be a list of {len(views)} arrays (one per layer), "
                             f"got {type(given).__name__}")
        if len(given) != len(views):
            raise ValueError(f"{name} has {len(given)} arrays but the network has "
                             f"{len(views)} layers")
        for l, (g, v) in enumerate(zip(given, views)):
            if _same_view(g, v):
                continue
            replaced = True
            arr = np.asarray(g)
            if arr.dtype.kind not in "biuf":
                raise ValueError(f"{name}[{l}] must be a real numeric array, got dtype "
                                 f"{arr.dtype}")
            if arr.shape != v.shape:
                raise ValueError(f"{name}[{l}] has shape {arr.shape}, expected {v.shape}")
            with np.errstate(over="ignore", invalid="ignore"):
                cast = arr.astype(v.dtype)
            if not np.isfinite(cast).all():
                raise ValueError(f"{name}[{l}] contains NaN or infinity, or values too large "
                                 f"for {v.dtype}")
            v[...] = cast
    return views_c, views_i, replaced
