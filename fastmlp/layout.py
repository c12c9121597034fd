"""The flat-buffer layout of a network, shared by the reference and the kernels.

``params`` holds W0, b0, W1, b1, ... each C-ordered, W as (fan_in, fan_out). ``layout[l]`` is
``(fan_in, fan_out, w_off, b_off, a_off)`` (int64); ``a_off`` locates layer l's output in the
flat ``acts``/``dacts`` buffers. See fastmlp/reference.py for the full description.
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


def layer_sizes(layout):
    """(n_in, h1, ..., n_out) back from a layout."""
    return (int(layout[0, FAN_IN]),) + tuple(int(v) for v in layout[:, FAN_OUT])


def coef_views(params, layout):
    """(coefs, intercepts): lists of views onto params, so edits to them edit params."""
    coefs, intercepts = [], []
    for fan_in, fan_out, w_off, b_off, _ in layout:
        coefs.append(params[w_off:w_off + fan_in * fan_out].reshape(fan_in, fan_out))
        intercepts.append(params[b_off:b_off + fan_out])
    return coefs, intercepts
