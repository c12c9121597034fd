import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from fastmlp import kernels, reference  # noqa: E402

# The slow part of the suite, marked `slow` here in ONE place (test files need no marker):
# `pytest` (the README's command) leaves it out through pyproject.toml's addopts
# (-m "not slow"); `pytest -m slow` runs only it, `pytest -m "slow or not slow"` everything,
# and CI (.ci/run) runs the fast part, then the slow part. Entries are a test file, a test, or
# a test with its parameters; the fast part keeps at least one reference-vs-kernel case for
# every activation, loss, solver, batch mode and dtype, the estimators and the command line.
SLOW = (
    # fresh processes with an empty kernel cache, a wheel build, fresh interpreters: minutes
    "tests/test_packaging.py",
    "tests/test_compiled.py",
    "tests/test_determinism.py::test_bit_identical_across_processes_and_compiled_vs_cached_kernels",
    "tests/test_sparse.py::test_sparse_kernels_are_cached_release_the_gil_and_are_bit_identical_"
    "when_loaded",
    "tests/test_architecture.py::test_every_module_imports_first_in_a_fresh_interpreter",
    "tests/test_readme.py::test_readme_python_block_runs_on_its_own",
    "tests/test_firstrun.py::test_the_tiny_fit_runs_every_kernel_the_real_fit_runs",
    # animated GIFs: matplotlib draws every frame
    "tests/test_plotting.py::test_xor_cli_gif",
    "tests/test_plotting.py::test_xor_gif_is_the_write_ups_side_by_side_animation",
    "tests/test_plotting.py::test_the_gif_spaces_its_curves_as_its_frames_and_holds_the_last",
    # strided (non-contiguous) inputs: every epoch compiled once more for that array layout
    "tests/test_batches.py::test_strided_inputs_give_the_same_numbers",
    # sparse input: its own compiled epochs (CSR) for every path and dtype, compiled on first
    # use; the dense kernels' equality with the reference stays in the fast part
    "tests/test_csr.py",
    "tests/test_sparse.py",
    # scikit-learn's estimator checks, a Dask cluster, threads racing a running epoch
    "tests/test_sklearn_compat.py::test_sklearn_check_estimator",
    "tests/test_sklearn_compat.py::test_grid_search_on_a_dask_cluster_matches_the_single_"
    "machine_run",
    "tests/test_sklearn_compat.py::test_a_running_epoch_lets_other_python_threads_run",
)
# kept in the fast part although their test is listed above
FAST = (
    "tests/test_firstrun.py::test_the_tiny_fit_runs_every_kernel_the_real_fit_runs[per-sample]",
)


def _listed(nodeid, entries):
    return any(nodeid == e or nodeid.startswith(e + "::") or nodeid.startswith(e + "[")
               for e in entries)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if _listed(item.nodeid, SLOW) and item.nodeid not in FAST:
            item.add_marker(pytest.mark.slow)


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
