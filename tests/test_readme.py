"""Every Python block of the README runs on its own, in a fresh interpreter in an empty folder,
so the README's examples cannot drift from the code (or lean on an earlier block's names).

A block may be kept out only by an HTML comment right above it that gives the reason:
``<!-- not run: REASON -->``; the test lists every such block with its reason. A block marked
``<!-- needs Fashion-MNIST -->`` runs wherever Fashion-MNIST is installed and is skipped, saying
so, where it is not (it is not bundled).
"""

import pathlib
import re
import subprocess
import sys

import pytest

from fastmlp import datasets

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"
BLOCK = re.compile(r"(?:<!-- (?:not run: (?P<reason>[^>]*?)|(?P<fashion>needs Fashion-MNIST)) -->"
                   r"\s*\n)?```python\n(?P<code>.*?)```", re.S)


def _fashion_mnist_installed():
    try:
        datasets.load_fashion_mnist()
    except (FileNotFoundError, ValueError):
        return False
    return True


def _blocks():
    text = README.read_text()
    found = []
    for m in BLOCK.finditer(text):
        line = text.count("\n", 0, m.start("code"))
        heading = [h for h in re.findall(r"^#+ (.*)$", text[:m.start()], re.M)][-1]
        reason = m.group("reason")
        if m.group("fashion") and not _fashion_mnist_installed():
            reason = "needs Fashion-MNIST, which is not installed here (it is not bundled)"
        found.append(pytest.param(m.group("code"), reason,
                                  id=f"line{line}-{heading[:30].replace(' ', '_')}"))
    return found


BLOCKS = _blocks()


def test_the_readme_has_python_blocks():
    assert len(BLOCKS) >= 15


@pytest.mark.parametrize("code,reason", BLOCKS)
def test_readme_python_block_runs_on_its_own(code, reason, tmp_path):
    if reason:
        pytest.skip(f"kept out of the test: {reason}")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_every_figure_the_readme_shows_is_committed():
    text = README.read_text()
    figures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert len(figures) >= 10
    for path in figures:
        assert (README.parent / path).is_file(), path
