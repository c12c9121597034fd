import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from fastmlp import kernels, reference  # noqa: E402


@pytest.fixture
def no_kernel_calls(monkeypatch):
    """Fail if any kernel entry point runs: errors must come first."""
    calls = []
    for backend in (kernels, reference):
        for name in ("train_epoch", "predict"):
            monkeypatch.setattr(backend, name,
                                lambda *a, _n=name, **k: calls.append(_n) or 1 / 0)
    yield calls
    assert calls == [], f"a kernel ran before the error: {calls}"
