"""The memory a network will need, checked before NumPy is asked for it.

A fit holds several arrays of the parameters' size at once (the weights, their gradient, the
epoch's and the chunk's snapshots, the kernels' padded work copy, and the optimizer's state);
hidden layers too large for the machine would otherwise fail deep inside NumPy (or, with the
operating system's lazy allocation, be killed halfway through an epoch). ``check_memory``
refuses them with the numbers instead.
"""

import os

# arrays of the parameters' size a fit holds at once: params, grads, the epoch's and the
# chunk's snapshots, the padded work copy; momentum adds one, Adam two
COPIES = 5


def available_bytes():
    """Memory this process can still get: MemAvailable plus free swap (Linux), else the free
    physical pages; None if unknown."""
    try:
        with open("/proc/meminfo") as f:
            info = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in f
                    if line.split()[1:2] and line.split()[1].isdigit()}
        if "MemAvailable" in info:
            return info["MemAvailable"] + info.get("SwapFree", 0)
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _gb(n):
    return f"{n / 2**30:,.1f} GiB"


def needed_bytes(sizes, settings):
    """(bytes, n_params): about what a fit of a network of layer ``sizes`` needs."""
    n_params = sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))
    copies = COPIES + (2 if settings.solver == "adam" else 1 if settings.momentum > 0 else 0)
    itemsize = settings.dtype.itemsize
    return n_params * itemsize * copies + 4 * sum(sizes) * itemsize, n_params


def check_memory(sizes, settings, available=None):
    """ValueError if a network of layer sizes ``sizes`` (input, hidden..., output) needs more
    memory than the machine has available (``available``: bytes, default available_bytes())."""
    needed, n_params = needed_bytes(sizes, settings)
    available = available_bytes() if available is None else available
    if available is not None and needed > available:
        raise ValueError(
            f"hidden_layer_sizes={settings.hidden_layer_sizes!r} makes a network of "
            f"{n_params:,} parameters ({'-'.join(map(str, sizes))}), which needs about "
            f"{_gb(needed)} to train ({settings.dtype.name}); this machine has "
            f"{_gb(available)} available. Use smaller hidden layers")
