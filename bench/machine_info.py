"""What the benchmark ran on: recorded with every result (lscpu's model, LLVM's CPU name, cache
sizes, versions). Shared by run.py, bandwidth.py and time_to_accuracy.py."""

import os
import platform
import subprocess

import numpy as np


def lscpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    except OSError:
        return "unknown"
    for line in out.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def llvm_cpu_name():
    """The CPU LLVM compiles for: Numba's override (NUMBA_CPU_NAME) if set, else the host's."""
    try:
        import numba
        import llvmlite.binding as llvm
    except ImportError:
        return "unknown"
    return numba.config.CPU_NAME or llvm.get_host_cpu_name()


def _parse_size(text):
    text = text.strip().upper()
    for suffix, mult in (("K", 1024), ("M", 1024 ** 2), ("G", 1024 ** 3)):
        if text.endswith(suffix):
            return int(text[:-1]) * mult
    return int(text)


def cache_sizes(cpu=0):
    """{'L1d': bytes, 'L2': bytes, 'L3': bytes} of one core, from sysfs; {} if unavailable."""
    out = {}
    base = f"/sys/devices/system/cpu/cpu{cpu}/cache"
    try:
        entries = sorted(os.listdir(base))
    except OSError:
        return out
    for entry in entries:
        if not entry.startswith("index"):
            continue
        try:
            with open(os.path.join(base, entry, "level")) as f:
                level = int(f.read())
            with open(os.path.join(base, entry, "type")) as f:
                kind = f.read().strip()
            with open(os.path.join(base, entry, "size")) as f:
                size = _parse_size(f.read())
        except (OSError, ValueError):
            continue
        if kind == "Instruction":
            continue
        out["L1d" if level == 1 else f"L{level}"] = size
    return out


def machine():
    info = dict(cpu=lscpu_model(), llvm_cpu=llvm_cpu_name(), caches=cache_sizes(),
                cpus=os.cpu_count(), python=platform.python_version(), numpy=np.__version__,
                platform=platform.platform())
    try:
        info["affinity"] = sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        pass
    try:
        import numba
        info["numba"] = numba.__version__
    except ImportError:
        pass
    return info
