"""The built package: a wheel carries MNIST, so ``fastmlp train`` works outside a checkout.

Builds the wheel (``pip wheel . --no-deps``; pip fetches setuptools for the isolated build),
installs it without dependencies into a fresh ``venv --system-site-packages`` that also sees
this interpreter's packages (numpy, numba), and trains one short epoch from another folder.
Marked ``packaging``: deselect it offline with ``pytest -m "not packaging"``.
"""

import json
import os
import pathlib
import site
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _run(cmd, **kwargs):
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kwargs)
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.mark.packaging
def test_the_wheel_ships_mnist_and_trains_outside_a_checkout(tmp_path):
    if not (ROOT / "pyproject.toml").exists():
        pytest.skip("not a source checkout")
    wheels = tmp_path / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", ROOT, "--no-deps", "-q", "-w", wheels])
    (wheel,) = wheels.glob("fastmlp-*.whl")

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--system-site-packages", venv])
    python = venv / "bin" / "python"
    # this interpreter's own site-packages too (it may itself be a venv), after the new one's
    venv_site = _run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"])
    paths = [p for p in site.getsitepackages() + [site.getusersitepackages()]
             if os.path.isdir(p)]
    pathlib.Path(venv_site.strip(), "outer-site-packages.pth").write_text("\n".join(paths) + "\n")
    _run([python, "-m", "pip", "install", "--no-deps", "--no-index", "-q", wheel])

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("FASTMLP_DATA", "PYTHONPATH")}
    env["NUMBA_CACHE_DIR"] = str(tmp_path / "numba-cache")
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")  # no ~/.cache/fastmlp/mnist either
    where = _run([python, "-c", "import fastmlp.datasets as d; print(d.__file__); "
                                "print(d.BUNDLED_MNIST)"], cwd=elsewhere, env=env).split()
    assert all(pathlib.Path(p).is_relative_to(venv) for p in where), where
    assert pathlib.Path(where[1]).is_dir(), f"the wheel has no MNIST at {where[1]}"
    out = _run([venv / "bin" / "fastmlp", "train", "--epochs", "1", "--train-samples", "3000",
                "--hidden", "32", "--quiet", "--json"], cwd=elsewhere, env=env)
    result = json.loads(out.strip().splitlines()[-1])
    assert result["epochs"] == 1
    assert result["test_accuracy"] > 0.8, result
