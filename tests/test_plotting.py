"""Figures: XOR boundary/curves/GIF, ``train --plot``, and the message when matplotlib is absent."""

import json
import sys

import numpy as np
import pytest

from fastmlp import cli, plotting

PNG = b"\x89PNG\r\n\x1a\n"


def _needs_matplotlib():
    pytest.importorskip("matplotlib", reason="matplotlib not installed (pip install -e '.[plot]')")


def _is_png(path):
    with open(path, "rb") as f:
        return f.read(8) == PNG


def test_confusion_matrix_counts():
    cm, labels = plotting.confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 2, 0])
    np.testing.assert_array_equal(labels, [0, 1, 2])
    np.testing.assert_array_equal(cm, [[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    cm, _ = plotting.confusion_matrix([1], [1], labels=[0, 1, 2])
    assert cm.sum() == 1 and cm[1, 1] == 1


def test_xor_cli_writes_the_three_pngs(tmp_path, capsys):
    _needs_matplotlib()
    out = tmp_path / "figs"
    assert cli.main(["xor", "--out", str(out), "--epochs", "300", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    for name in ("xor_boundary.png", "xor_loss.png", "xor_accuracy.png"):
        path = out / name
        assert path.exists() and path.stat().st_size > 2000 and _is_png(path), name
    assert sorted(result["plots"]) == ["accuracy", "boundary", "diagnostics", "loss"]
    assert not (out / "xor_learning.gif").exists()


def test_xor_cli_gif(tmp_path, capsys):
    _needs_matplotlib()
    assert cli.main(["xor", "--out", str(tmp_path), "--epochs", "60", "--gif"]) == 0
    gif = tmp_path / "xor_learning.gif"
    with open(gif, "rb") as f:
        assert f.read(6) == b"GIF89a"
    from PIL import Image
    with Image.open(gif) as im:
        assert getattr(im, "n_frames", 1) > 5  # animated
    assert "wrote" in capsys.readouterr().out


def test_xor_gif_is_the_write_ups_side_by_side_animation(tmp_path, capsys):
    """accuracy, boundary and loss side by side, at least 900 x 300 pixels, the curves drawn
    up to each frame's epoch (the first frame shows less curve than the last)."""
    _needs_matplotlib()
    assert cli.main(["xor", "--out", str(tmp_path), "--epochs", "200", "--gif"]) == 0
    from PIL import Image
    with Image.open(tmp_path / "xor_learning.gif") as im:
        assert im.size[0] >= 900 and im.size[1] >= 300
        first = np.asarray(im.convert("RGB")).copy()
        im.seek(im.n_frames - 1)
        last = np.asarray(im.convert("RGB")).copy()
    # the loss panel (right third): more of the red curve drawn in the last frame
    red = lambda a: np.sum((a[:, 2 * a.shape[1] // 3:, 0] > 180) &
                           (a[:, 2 * a.shape[1] // 3:, 1] < 80))
    assert red(last) > red(first)


def test_boundary_has_a_probability_colour_bar(tmp_path):
    _needs_matplotlib()
    from fastmlp.xor import make_xor, train_xor
    X, y = make_xor(n=60)
    model, _ = train_xor(X, y, epochs=5)
    import matplotlib.pyplot as plt
    created = []
    real = plt.Figure.colorbar
    plt.Figure.colorbar = lambda self, *a, **k: created.append(k.get("label")) or real(
        self, *a, **k)
    try:
        plotting.plot_decision_boundary(model, X, y, tmp_path / "b.png", resolution=20)
    finally:
        plt.Figure.colorbar = real
    assert created == ["P(class 1)"]


def test_curves_have_integer_epoch_ticks_and_class_names(tmp_path):
    _needs_matplotlib()
    import matplotlib.pyplot as plt
    saved = []
    real = plotting._save
    plotting._save, keep = (lambda fig, path, plt_, dpi=80: saved.append(fig) or
                            real(fig, path, plt_, dpi)), real
    try:
        plotting.plot_curve([1.0, 0.5, 0.4, 0.3], tmp_path / "c.png", "loss", "t",
                            extra={"test": [1.1, 0.6, 0.5, 0.45]})
        plotting.plot_confusion_matrix([0, 1, 9], [0, 1, 1], tmp_path / "cm.png",
                                       labels=np.arange(10), class_names=("T-shirt/top",) +
                                       tuple("abcdefgh") + ("Ankle boot",))
    finally:
        plotting._save = keep
    ticks = saved[0].axes[0].get_xticks()
    shown = [t for t in ticks if 1 <= t <= 4]
    assert shown and all(float(t).is_integer() for t in shown)
    labels = [t.get_text() for t in saved[1].axes[0].get_xticklabels()]
    assert labels[0] == "T-shirt/top" and labels[-1] == "Ankle boot"
    plt.close("all")


def test_train_plot_writes_learning_curves_and_confusion_matrix(tmp_path, capsys):
    _needs_matplotlib()
    code = cli.main(["train", "--train-samples", "300", "--epochs", "2", "--hidden", "16",
                     "--quiet", "--json", "--plot", str(tmp_path)])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    for name in ("loss.png", "accuracy.png", "confusion_matrix.png", "diagnostics.png"):
        assert _is_png(tmp_path / name), name
    assert set(result["plots"]) == {"loss", "accuracy", "confusion_matrix", "diagnostics"}
    # --plot records the diagnostics: one entry per epoch, one value per layer
    assert len(result["diagnostics"]["grad_norm"]) == 2
    assert len(result["diagnostics"]["grad_norm"][0]) == 2
    assert all("test_loss" in h for h in result["history"])


def test_plot_functions_directly(tmp_path):
    _needs_matplotlib()
    from fastmlp.xor import make_xor, train_xor
    X, y = make_xor(n=60)
    model, history = train_xor(X, y, epochs=20)
    path = plotting.plot_decision_boundary(model, X, y, tmp_path / "sub" / "b.png", resolution=30)
    assert _is_png(path)
    assert _is_png(plotting.plot_curve(history["loss"], tmp_path / "c.png", "loss", "t",
                                       extra={"val": history["loss"][::-1]}, logy=True))
    with pytest.raises(ValueError, match="no frames"):
        plotting.learning_gif(X, y, dict(history, frames=[]), tmp_path / "x.gif")


def test_missing_matplotlib_says_what_to_install(monkeypatch, tmp_path, capsys):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    with pytest.raises(ImportError, match=r"pip install .*fastmlp\[plot\]"):
        plotting.plot_curve([1, 2], tmp_path / "c.png", "y", "t")
    assert cli.main(["xor", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "matplotlib" in err and "[plot]" in err
    assert not list(tmp_path.iterdir())
    # train --plot fails before training: nothing trained, nothing saved
    model_path = tmp_path / "m.npz"
    assert cli.main(["train", "--train-samples", "50", "--epochs", "1", "--quiet",
                     "--plot", str(tmp_path / "curves"), "--save", str(model_path)]) == 2
    assert "[plot]" in capsys.readouterr().err
    assert not model_path.exists() and not (tmp_path / "curves").exists()
    # training without plots still works
    assert cli.main(["xor", "--no-plots", "--epochs", "5"]) == 0


# ==================================================================== issue 19: figures read right


def _figures_saved(monkeypatch):
    """Collect every figure _save writes (to read its titles and legends)."""
    saved = []
    real = plotting._save

    def spy(fig, path, plt_, dpi=80):
        texts = [t.get_text() for ax in fig.axes for t in
                 [ax.title] + (ax.get_legend().get_texts() if ax.get_legend() else [])]
        texts += [fig._suptitle.get_text()] if fig._suptitle else []
        saved.append((str(path), [t.replace("\n", " ") for t in texts]))  # titles wrap
        return real(fig, path, plt_, dpi)

    monkeypatch.setattr(plotting, "_save", spy)
    return saved


def test_the_gif_spaces_its_curves_as_its_frames_and_holds_the_last(tmp_path, monkeypatch):
    """Frames come at geometric epochs, so the curves' epoch axes are logarithmic: a third of
    the way through the frames, a third of the axis is drawn (on a linear axis it was ~1%);
    the last frame stays ~2 s before the GIF loops; the title names the data set and run."""
    _needs_matplotlib()
    from matplotlib.animation import FuncAnimation
    from PIL import Image
    from fastmlp.xor import make_xor, train_xor
    X, y = make_xor()
    _, history = train_xor(X, y, epochs=300, frames=15, resolution=30)
    scales, titles = [], []
    real_save = FuncAnimation.save

    def spy(self, *args, **kwargs):
        scales.extend(ax.get_xscale() for ax in self._fig.axes)
        titles.append(self._fig._suptitle.get_text().replace("\n", " "))
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(FuncAnimation, "save", spy)
    path = plotting.learning_gif(X, y, history, tmp_path / "x.gif", fps=6, hold=2.0,
                                 title="XOR (300 points)\n2-10-2 sigmoid")
    assert scales.count("log") == 2 and titles == ["XOR (300 points) 2-10-2 sigmoid"]
    with Image.open(path) as im:
        durations = []
        red_extent = []
        for k in range(im.n_frames):
            im.seek(k)
            durations.append(im.info["duration"])
            a = np.asarray(im.convert("RGB"))
            panel = a[:, 2 * a.shape[1] // 3:]  # the loss panel: its red curve
            cols = np.flatnonzero(((panel[..., 0] > 180) & (panel[..., 1] < 80)).any(axis=0))
            red_extent.append(cols.max() - cols.min() if cols.size else 0)
    frames = len(history["frames"])
    assert im.n_frames == frames  # the held frames merged into the last
    assert durations[-1] >= 1900 and all(d < 400 for d in durations[:-1])
    assert red_extent[frames // 3] > 0.25 * red_extent[-1]


def test_train_figures_say_what_each_curve_is_and_name_the_run(tmp_path, capsys, monkeypatch):
    _needs_matplotlib()
    saved = _figures_saved(monkeypatch)
    assert cli.main(["train", "--train-samples", "300", "--epochs", "2", "--hidden", "16",
                     "--quiet", "--plot", str(tmp_path)]) == 0
    texts = {path.rsplit("/", 1)[-1]: t for path, t in saved}
    run = "MNIST (first 300 training samples) 784-16-10 relu, lr 0.01, batch 1, sgd, seed 0"
    for name in ("loss.png", "accuracy.png", "confusion_matrix.png", "diagnostics.png"):
        assert any(run in t for t in texts[name]), (name, texts[name])
    assert plotting.TRAINING_LOSS in texts["loss.png"]
    assert "test: at the end of the epoch" in texts["loss.png"]
    assert "test: at the end of the epoch" in texts["accuracy.png"]


def test_xor_figures_name_the_data_set_and_run(tmp_path, capsys, monkeypatch):
    _needs_matplotlib()
    saved = _figures_saved(monkeypatch)
    assert cli.main(["xor", "--out", str(tmp_path), "--epochs", "20", "--preset",
                     "3-neurons"]) == 0
    run = "XOR (300 points) 2-3-2 sigmoid, lr 5, l2 0.0001, seed 0 (preset 3-neurons)"
    assert len(saved) == 4
    for path, texts in saved:
        assert any(run in t for t in texts), (path, texts)
