"""The padded, 64-byte-aligned working copy of a network that the compiled epochs train on.

The public flat layout (see fastmlp/layout.py) stores layer l's W as (fan_in, fan_out). A row of
200 float32 is 800 bytes: it straddles a cache-line boundary every other row, and its last 8
numbers need a remainder loop after the 16-wide vector loop. The compiled epochs therefore copy
the weights, once per ``train_epoch`` call, into a work buffer where every row is padded to a
whole number of 64-byte vectors (``lanes`` numbers: 16 float32 or 8 float64) and starts on a
64-byte boundary, train there, and copy the weights back. The pad columns of W and b are zero
and stay exactly zero: their gradient is dz[j] = 0 at a pad column j (dz is never written there),
so every update adds 0. The copy costs ~0.1 ms per call; the fit loop calls with 4096 samples.

``playout[l]`` = (fan_in, fan_out, stride, w_off, b_off, a_off): layer l's padded W is
``work[w_off : w_off + fan_in * stride].reshape(fan_in, stride)``, its b ``work[b_off:][:stride]``
and its output slot ``acts[a_off:][:stride]``; every offset is a multiple of ``lanes``.
"""

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload

from .config import jit

P_FAN_IN, P_FAN_OUT, P_STRIDE, P_W_OFF, P_B_OFF, P_A_OFF = range(6)
ALIGN = 64  # bytes: one cache line, one AVX-512 register


def lanes(a):
    """Numbers of a's dtype in one 64-byte vector; a compile-time constant inside the kernels."""
    return ALIGN // a.dtype.itemsize


@overload(lanes)
def _lanes_overload(a):
    n = ALIGN // (a.dtype.bitwidth // 8)
    return lambda a: n


@intrinsic
def _address(typingctx, arr):
    # the address of arr's first element, as an integer
    if not isinstance(arr, types.Array):
        return None

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        return builder.ptrtoint(ary.data, ir.IntType(64))

    return types.uint64(arr), codegen


@jit
def _aligned_zeros(n, like):
    # (n,) zeros of like's dtype whose first element sits on a 64-byte boundary
    raw = np.zeros(n + lanes(like), like.dtype)
    off = (ALIGN - _address(raw) % ALIGN) % ALIGN // raw.itemsize
    return raw[off:off + n]


@jit
def _work_views(work, playout, l):
    # (W, b) of layer l in the work buffer: W (fan_in, stride), b (stride,)
    fan_in, stride, w_off, b_off = playout[l, 0], playout[l, 2], playout[l, 3], playout[l, 4]
    return work[w_off:w_off + fan_in * stride].reshape((fan_in, stride)), work[b_off:b_off + stride]


@jit
def _work_slot(buf, playout, l):
    # layer l's (stride,) slot in a padded acts/dacts buffer
    return buf[playout[l, 5]:playout[l, 5] + playout[l, 2]]


# --- the same set-up in plain NumPy, for the Python entry point (train_epoch): a compiled
# set-up would be compiled, optimised and machine-coded again inside the compiled epoch that
# calls it (Numba re-optimises every callee inside each caller), ~2 s more of cold compile


def padded_layout(layout, dtype):
    """(playout, n_work, n_acts) as _padded_layout, in NumPy."""
    v = ALIGN // np.dtype(dtype).itemsize
    playout = np.zeros((layout.shape[0], 6), np.int64)
    p = a = 0
    for l, (fan_in, fan_out) in enumerate(layout[:, :2]):
        stride = -(-int(fan_out) // v) * v
        playout[l] = (fan_in, fan_out, stride, p, p + fan_in * stride, a)
        p += int(fan_in) * stride + stride
        a += stride
    return playout, p, a


def flat_playout(layout):
    """The playout of the public flat buffer itself (stride = fan_out, the public offsets): the
    compiled epochs run on params, acts and dacts in place with it, no copy (the row operations
    mask the partial vector at the end of a row). Kept per layout: a small call needs it every
    time, and making it costs a third of a one-row forward pass."""
    key = layout.tobytes()
    playout = _FLAT.get(key)
    if playout is None:
        if len(_FLAT) > 64:
            _FLAT.clear()
        # (writeable, as the padded playouts: a read-only array would be another compiled type)
        playout = _FLAT[key] = np.ascontiguousarray(layout[:, [0, 1, 1, 2, 3, 4]])
    return playout


_FLAT = {}  # layout bytes -> its flat playout (never written)


def aligned_zeros(n, dtype):
    """(n,) zeros whose first element sits on a 64-byte boundary."""
    dtype = np.dtype(dtype)
    raw = np.zeros(n + ALIGN // dtype.itemsize, dtype)
    off = (-raw.ctypes.data % ALIGN) // dtype.itemsize
    return raw[off:off + n]


def _padded_views(buf, playout, l):
    fan_in, fan_out, stride, w_off, b_off, _ = (int(v) for v in playout[l])
    return (buf[w_off:w_off + fan_in * stride].reshape(fan_in, stride)[:, :fan_out],
            buf[b_off:b_off + fan_out])


def new_work(params, layout):
    """(work, playout, acts, dacts): params copied into a new padded, aligned work buffer."""
    playout, n_work, n_acts = padded_layout(layout, params.dtype)
    work = aligned_zeros(n_work, params.dtype)
    for l, (fan_in, fan_out, w_off, b_off, _) in enumerate(layout):
        W, b = _padded_views(work, playout, l)
        W[...] = params[w_off:w_off + fan_in * fan_out].reshape(fan_in, fan_out)
        b[...] = params[b_off:b_off + fan_out]
    return work, playout, aligned_zeros(n_acts, params.dtype), aligned_zeros(n_acts, params.dtype)


def copy_params_back(params, layout, work, playout):
    """params <- work without the pads."""
    for l, (fan_in, fan_out, w_off, b_off, _) in enumerate(layout):
        W, b = _padded_views(work, playout, l)
        params[w_off:w_off + fan_in * fan_out].reshape(fan_in, fan_out)[...] = W
        params[b_off:b_off + fan_out] = b


def copy_back(params, acts, dacts, layout, work, acts_p, dacts_p, playout):
    """params <- work without the pads; acts/dacts <- the padded slots (the last sample's)."""
    copy_params_back(params, layout, work, playout)
    for l, (fan_in, fan_out, w_off, b_off, a_off) in enumerate(layout):
        pa = int(playout[l, P_A_OFF])
        acts[a_off:a_off + fan_out] = acts_p[pa:pa + fan_out]
        dacts[a_off:a_off + fan_out] = dacts_p[pa:pa + fan_out]
