"""The README and the pages of docs/: every Python block runs on its own, in a fresh interpreter
in an empty folder, so the examples cannot drift from the code (or lean on an earlier block's
names); it prints exactly what its ``#>`` comments say and nothing to stderr, so no example
shows a warning it does not mean to show. Every figure and relative link points at a committed
file (and, with an anchor, at a heading of it), and the README keeps its shape: the two
commands first, a trained model within the first screen, at most 450 lines.

``#>`` marks what the line prints: ``print(x)  #> 0.9745``, or a comment line of its own for
each further line of output. The marked lines are the block's whole standard output, line by
line; ``...`` inside one matches any text (timings, or the tail of a long message), so numbers
that are deterministic are checked to the digit.

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

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PAGES = [README] + sorted((ROOT / "docs").glob("*.md"))
BLOCK = re.compile(r"(?:<!-- (?:not run: (?P<reason>[^>]*?)|(?P<fashion>needs Fashion-MNIST)) -->"
                   r"\s*\n)?```python\n(?P<code>.*?)```", re.S)
SHOWS = re.compile(r"#> ?(.*)$")
FIGURE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
COMMANDS = ["pip install -e . && fastmlp train", 'pip install -e ".[test]" && pytest']


def _fashion_mnist_installed():
    try:
        datasets.load_fashion_mnist()
    except (FileNotFoundError, ValueError):
        return False
    return True


def _name(page):
    return page.relative_to(ROOT).as_posix()


def _blocks(pages=PAGES):
    found = []
    for page in pages:
        text = page.read_text()
        for m in BLOCK.finditer(text):
            line = text.count("\n", 0, m.start("code"))
            heading = [h for h in re.findall(r"^#+ (.*)$", text[:m.start()], re.M)][-1]
            reason = m.group("reason")
            if m.group("fashion") and not _fashion_mnist_installed():
                reason = "needs Fashion-MNIST, which is not installed here (it is not bundled)"
            found.append(pytest.param(
                m.group("code"), reason,
                id=f"{page.stem}-line{line}-{heading[:30].replace(' ', '_')}"))
    return found


BLOCKS = _blocks()


def shown_output(code):
    """The lines a block says it prints: the text after each ``#>``, in order."""
    return [m.group(1).rstrip() for line in code.splitlines() if (m := SHOWS.search(line))]


def output_matches(shown, printed):
    """Whether the printed lines are the shown ones, one for one (``...`` matches any text)."""
    if len(shown) != len(printed):
        return False
    return all(re.fullmatch(".*".join(map(re.escape, want.split("..."))), got.rstrip())
               for want, got in zip(shown, printed))


def slug(heading):
    """The anchor a Markdown heading gets (GitHub's rule)."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_the_pages_have_python_blocks():
    assert len(BLOCKS) >= 15
    assert len(_blocks([README])) >= 10


def test_output_matching_is_line_for_line_and_ellipsis_only_where_written():
    assert shown_output("print(1)  #> 1\nx = 2  # not shown\n#> two\n") == ["1", "two"]
    assert output_matches(["0.9745 3"], ["0.9745 3"])
    assert not output_matches(["0.9745 3"], ["0.9744 3"])
    assert not output_matches(["0.9745"], ["0.9745", "0.9745"])
    assert output_matches(["accuracy 0.911, ... µs"], ["accuracy 0.911, 121 µs"])
    assert not output_matches(["accuracy 0.911, ... µs"], ["accuracy 0.912, 121 µs"])
    assert output_matches([], [])


@pytest.mark.parametrize("code,reason", BLOCKS)
def test_every_block_that_prints_shows_what_it_prints(code, reason):
    if "print(" in code:
        assert shown_output(code), "a block that prints must show its output with #> comments"


@pytest.mark.parametrize("code,reason", BLOCKS)
def test_readme_python_block_runs_on_its_own(code, reason, tmp_path):
    if reason:
        pytest.skip(f"kept out of the test: {reason}")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stderr == "", f"the example writes to stderr (a warning?):\n{proc.stderr[-3000:]}"
    printed = proc.stdout.splitlines()
    shown = shown_output(code)
    assert output_matches(shown, printed), (
        "the #> comments do not match the output:\n" + "\n".join(
            f"shown:   {s}\nprinted: {p}" for s, p in zip(shown + [""] * len(printed),
                                                         printed + [""] * len(shown))
            if s or p))


def test_every_figure_the_pages_show_is_committed():
    figures = {page: FIGURE.findall(page.read_text()) for page in PAGES}
    assert len(figures[README]) >= 2
    assert sum(map(len, figures.values())) >= 10
    for page, paths in figures.items():
        for path in paths:
            assert (page.parent / path).is_file(), f"{_name(page)}: {path}"


def test_every_relative_link_and_anchor_resolves():
    for page in PAGES:
        for target in LINK.findall(page.read_text()):
            if re.match(r"[a-z]+:", target):
                continue  # a web address
            path, _, anchor = target.partition("#")
            file = (page.parent / path).resolve() if path else page
            assert file.exists(), f"{_name(page)}: {target}"
            if anchor and file.suffix == ".md":
                headings = re.findall(r"^#+ (.*)$", file.read_text(), re.M)
                assert anchor in {slug(h) for h in headings}, f"{_name(page)}: {target}"


def test_the_readme_starts_with_the_two_commands_and_a_trained_model_within_a_screen():
    text = README.read_text()
    lines = text.splitlines()
    assert len(lines) <= 450, f"README.md has {len(lines)} lines (at most 450)"
    first = re.search(r"```bash\n(.*?)```", text, re.S)
    assert first.group(1).strip().splitlines() == COMMANDS
    assert text.index(first.group(0)) < text.index("```python")
    quick = text[:text.index("```", text.index("```python") + 3)]
    assert quick.count("\n") < 60 and ".fit(" in quick and "print(" in quick
