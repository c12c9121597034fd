"""PNG/GIF figures: the XOR decision boundary, learning curves, a confusion matrix.

matplotlib is optional (``pip install -e ".[plot]"``); it is imported only when a plot is made,
always with the non-interactive Agg backend, so plotting works on servers and in CI.
"""

import textwrap
from pathlib import Path

import numpy as np

from .xor import boundary_grid

INSTALL_HINT = ('plotting needs matplotlib, which is not installed; install it with '
                '`pip install "fastmlp[plot]"` (or `pip install -e ".[plot]"` in a checkout, '
                'or `pip install matplotlib`)')


class PlottingUnavailable(ImportError):
    """matplotlib is missing; the message says what to install."""


def pyplot():
    """matplotlib.pyplot with the Agg backend; PlottingUnavailable if matplotlib is missing."""
    try:
        import matplotlib
    except ImportError:
        raise PlottingUnavailable(INSTALL_HINT) from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    return plt


def _save(fig, path, plt, dpi=80):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return str(path)


def _title(target, text, fig, suptitle=False):
    """A title that fits its figure: each line wrapped to the figure's width (the data set and
    run in a title can be long), at 10 points."""
    width = max(int(fig.get_figwidth() * 10), 30)
    text = "\n".join(textwrap.fill(line, width) for line in text.split("\n"))
    if suptitle:
        target.suptitle(text, fontsize=10)
    else:
        target.set_title(text, fontsize=10)


def _integer_epochs(ax):
    from matplotlib.ticker import MaxNLocator
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))


def _log_epochs(ax, last):
    """A log epoch axis from 1 to ``last`` with plain tick labels (1, 10, 100, 1000)."""
    from matplotlib.ticker import LogLocator, NullFormatter
    ax.set_xscale("log")
    ax.set_xlim(1, max(last, 2))
    ax.xaxis.set_major_locator(LogLocator(base=10))
    ax.xaxis.set_major_formatter(_plain())
    ax.xaxis.set_minor_formatter(NullFormatter())


def _plain():
    from matplotlib.ticker import FuncFormatter
    return FuncFormatter(lambda v, _: f"{v:g}")


def _boundary_fill(ax, xx, yy, proba):
    """P(class 1) as filled contours and the 0.5 contour; returns the two artists."""
    filled = ax.contourf(xx, yy, proba, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.6,
                         zorder=1)
    line = ax.contour(xx, yy, proba, levels=[0.5], colors="k", linewidths=1.5, zorder=2)
    return filled, line


def _draw_boundary(ax, X, y, xx, yy, proba, title, colorbar=None):
    """The boundary panel; ``colorbar``: the figure to add the probability colour bar to.
    Returns the artists of the probability (to replace in an animation)."""
    artists = _boundary_fill(ax, xx, yy, proba)
    if colorbar is not None:
        colorbar.colorbar(artists[0], ax=ax, label="P(class 1)", ticks=np.linspace(0, 1, 6))
    y = np.asarray(y)
    for cls, colour in zip(np.unique(y), ("#2166ac", "#b2182b")):
        mask = y == cls
        ax.scatter(X[mask, 0], X[mask, 1], color=colour, edgecolors="white", linewidths=0.6,
                   s=18, label=f"class {cls}", zorder=3)
    ax.set_xlim(xx.min(), xx.max())
    ax.set_ylim(yy.min(), yy.max())
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    _title(ax, title, ax.figure)
    return artists


def plot_decision_boundary(model, X, y, path, resolution=200, title=None):
    """PNG of P(second class) over the plane, the 0.5 contour and the labelled points (2-D X)."""
    plt = pyplot()
    X = np.asarray(X)
    xx, yy, points = boundary_grid(X, resolution)
    proba = model.predict_proba(points)[:, 1].reshape(xx.shape)
    fig, ax = plt.subplots(figsize=(6, 5))
    acc = model.score(X, y)
    _draw_boundary(ax, X, y, xx, yy, proba,
                   title or f"decision boundary (training accuracy {acc:.3f})", colorbar=fig)
    fig.tight_layout()
    return _save(fig, path, plt)


def learning_gif(X, y, history, path, fps=6, hold=2.0, title=None):
    """Animated GIF of accuracy, decision boundary and loss side by side as the network learns
    (the write-up's animation): one frame per (epoch, proba grid) of ``history["frames"]``, the
    curves drawn up to that frame's epoch, the last frame held ``hold`` seconds before the GIF
    loops. The frames' epochs are spaced geometrically (the boundary moves fastest early), so
    the curves' epoch axes are logarithmic too: every frame draws about as much new curve.
    ``title`` (the data set and run) heads every frame. 960 x 350 pixels."""
    plt = pyplot()
    from matplotlib.animation import FuncAnimation, PillowWriter
    frames = history["frames"]
    if not frames:
        raise ValueError("no frames to animate")
    X = np.asarray(X)
    xx, yy, _ = boundary_grid(X, history["resolution"])
    acc, loss = np.asarray(history["accuracy"]), np.asarray(history["loss"])
    epochs = np.arange(1, len(loss) + 1)
    fig, (ax_acc, ax_b, ax_loss) = plt.subplots(1, 3, figsize=(12, 4.4))
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize
    fig.colorbar(ScalarMappable(Normalize(0, 1), "RdBu_r"), ax=ax_b, label="P(class 1)",
                 alpha=0.6)

    # drawn once: the axes, the points, the layout; each frame moves the curves' ends and
    # replaces the probability contours
    acc_line, = ax_acc.plot([], [], color="C0")
    ax_acc.set(ylim=(0.4, 1.02), xlabel="epoch (log scale)", ylabel="training accuracy")
    loss_line, = ax_loss.plot([], [], color="C3")
    ax_loss.set(ylim=(loss.min() * 0.8, loss.max() * 1.25), yscale="log",
                xlabel="epoch (log scale)", ylabel="loss (squared error + penalty)")
    for ax in (ax_acc, ax_loss):
        ax.grid(alpha=0.3)
        _log_epochs(ax, len(loss))
    fills = _draw_boundary(ax_b, X, y, xx, yy, frames[0][1], "decision boundary, epoch 1")
    if title:
        _title(fig, title, fig, suptitle=True)
    ax_acc.set_title("accuracy 0.000")
    ax_loss.set_title("loss 0.0000")
    fig.tight_layout()

    def draw(k):
        nonlocal fills
        epoch, proba = frames[k]
        acc_line.set_data(epochs[:epoch], acc[:epoch])
        ax_acc.set_title(f"accuracy {acc[epoch - 1]:.3f}")
        loss_line.set_data(epochs[:epoch], loss[:epoch])
        ax_loss.set_title(f"loss {loss[epoch - 1]:.4f}")
        for artist in fills:
            artist.remove()
        fills = _boundary_fill(ax_b, xx, yy, proba)
        _title(ax_b, f"decision boundary, epoch {epoch}", fig)

    class Writer(PillowWriter):  # PillowWriter, the last frame shown ``hold`` s
        def finish(self):
            step = int(1000 / self.fps)
            durations = [step] * (len(self._frames) - 1) + [max(step, int(1000 * hold))]
            self._frames[0].save(self.outfile, save_all=True, append_images=self._frames[1:],
                                 duration=durations, loop=0)

    anim = FuncAnimation(fig, draw, frames=len(frames))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    anim.save(str(path), writer=Writer(fps=fps), dpi=80)
    plt.close(fig)
    return str(path)


def plot_diagnostics(diagnostics, path, title="training diagnostics"):
    """PNG of the per-layer diagnostics (fastmlp/diagnostics.py) per epoch: gradient norms
    (log axis: vanishing and exploding gradients show), update-to-weight ratio (log), weight
    norms and the share of inactive hidden units."""
    plt = pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(10, 6.4))
    panels = [("grad_norm", "gradient norm ||dL/dW||", True),
              ("update_ratio", "update / weight per epoch", True),
              ("weight_norm", "weight norm ||W||", False),
              ("inactive", "inactive hidden units (share)", False)]
    for ax, (key, label, log) in zip(axes.ravel(), panels):
        values = np.asarray(diagnostics.get(key, []), dtype=np.float64)
        if values.ndim == 2 and values.shape[1]:
            epochs = np.arange(1, values.shape[0] + 1)
            for l in range(values.shape[1]):
                ax.plot(epochs, values[:, l], label=f"layer {l}", marker="." if
                        len(epochs) < 30 else None)
            ax.legend(fontsize=8)
        if log and values.size and np.all(values > 0):
            ax.set_yscale("log")
        if key == "inactive":
            ax.set_ylim(-0.02, 1.02)
        ax.set(xlabel="epoch", ylabel=label)
        ax.grid(alpha=0.3)
        _integer_epochs(ax)
    _title(fig, title, fig, suptitle=True)
    fig.tight_layout()
    return _save(fig, path, plt)


def plot_curve(values, path, ylabel, title, extra=None, logy=False, label="train"):
    """PNG of one per-epoch curve (plus optional named extra curves: {label: values});
    ``label`` names the first curve in the legend (shown when there are extra curves)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4) if extra else (5, 3.6))
    epochs = np.arange(1, len(values) + 1)
    marker = "o" if len(values) < 30 else None
    ax.plot(epochs, values, label=label if extra else None, marker=marker)
    for name, other in (extra or {}).items():
        ax.plot(np.arange(1, len(other) + 1), other, label=name, marker=marker)
    if extra:
        ax.legend(fontsize=8)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    _title(ax, title, fig)
    ax.grid(alpha=0.3)
    _integer_epochs(ax)
    fig.tight_layout()
    return _save(fig, path, plt)


def plot_confusion_matrix(y_true, y_pred, path, labels=None, title="confusion matrix",
                          class_names=None):
    """PNG of the confusion matrix (rows: true class, columns: predicted), with counts."""
    plt = pyplot()
    cm, labels = confusion_matrix(y_true, y_pred, labels)
    names = [str(class_names[v]) if class_names is not None and
             isinstance(v, (int, np.integer)) and 0 <= v < len(class_names) else str(v)
             for v in labels.tolist()]
    wide = max(len(n) for n in names) > 2
    fig, ax = plt.subplots(figsize=(7, 6.5) if wide else (5.5, 5))
    ax.imshow(cm, cmap="Blues")
    ticks = np.arange(len(labels))
    ax.set_xticks(ticks, names, rotation=45 if wide else 0, ha="right" if wide else "center")
    ax.set_yticks(ticks, names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    _title(ax, title, fig)
    top = cm.max() if cm.size else 0
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=7,
                    color="white" if cm[i, j] > top / 2 else "black")
    fig.tight_layout()
    return _save(fig, path, plt)


def confusion_matrix(y_true, y_pred, labels=None):
    """(counts, labels): counts[i, j] = samples of class labels[i] predicted as labels[j]."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if labels is None:
        labels = np.unique(np.concatenate([y_true, y_pred]))
    labels = np.asarray(labels)
    index = {v: k for k, v in enumerate(labels.tolist())}
    cm = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for t, p in zip(y_true.tolist(), y_pred.tolist()):
        cm[index[t], index[p]] += 1
    return cm, labels


def xor_figures(model, X, y, history, out_dir, gif=False, run=None):
    """Write xor_boundary.png, xor_loss.png, xor_accuracy.png, xor_diagnostics.png (when the
    history has diagnostics) and xor_learning.gif (``gif``) to out_dir; returns {name: path}.
    ``run`` (e.g. '2-10-2 sigmoid, lr 5, l2 0.0001, seed 0') goes into every title beside the
    data set."""
    out = Path(out_dir)
    data = f"XOR ({len(X)} points)" + (f"\n{run}" if run else "")
    acc = model.score(X, y)
    files = {
        "boundary": plot_decision_boundary(
            model, X, y, out / "xor_boundary.png",
            title=f"{data}\ndecision boundary (training accuracy {acc:.3f})"),
        "loss": plot_curve(history["loss"], out / "xor_loss.png",
                           "loss (squared error + penalty)", f"{data}\nloss per epoch",
                           logy=True),
        "accuracy": plot_curve(history["accuracy"], out / "xor_accuracy.png",
                               "training accuracy", f"{data}\naccuracy per epoch"),
    }
    if history.get("diagnostics"):
        files["diagnostics"] = plot_diagnostics(history["diagnostics"],
                                                out / "xor_diagnostics.png",
                                                f"{data}\ndiagnostics per epoch")
    if gif:
        files["gif"] = learning_gif(X, y, history, out / "xor_learning.gif", title=data)
    return files


# what each curve of ``fastmlp train --plot`` is: the training figures are running means over
# the epoch as the weights moved; the held-out ones are measured once, at the epoch's end
TRAINING_LOSS = "training: mean over the epoch while it trained"
TRAINING_ACCURACY = "training: share right while the epoch trained"
AT_THE_END = "{}: at the end of the epoch"


def training_figures(history, y_true, y_pred, out_dir, labels=None, prefix="",
                     class_names=None, diagnostics=None, title=None, penalty=False):
    """For ``fastmlp train --plot``: loss.png (training loss, with validation and test loss
    where known), accuracy.png (train, test, validation per epoch), diagnostics.png (if
    ``diagnostics``) and confusion_matrix.png on the test set; returns {name: path}. The
    legends say what each curve measures (``penalty``: the training loss includes the weight
    penalty, the held-out losses never do); ``title`` (the data set and run) heads each
    figure."""
    out = Path(out_dir)
    head = f"{title}\n" if title else ""
    loss = [h["loss"] for h in history]
    train_acc = [h["train_accuracy"] for h in history]
    extra = {}  # validation first, then test: the same colours as in the loss figure
    if any("validation_score" in h for h in history):
        extra[AT_THE_END.format("validation")] = [h["validation_score"] for h in history
                                                  if "validation_score" in h]
    extra[AT_THE_END.format("test")] = [h["test_accuracy"] for h in history
                                        if "test_accuracy" in h]
    extra_loss = {}
    for key, label in (("validation_loss", "validation"), ("test_loss", "test")):
        if history and all(key in h for h in history):
            extra_loss[AT_THE_END.format(label)] = [h[key] for h in history]
    files = {
        "loss": plot_curve(loss, out / f"{prefix}loss.png", "mean loss per sample",
                           f"{head}loss per epoch", extra=extra_loss or None,
                           label=TRAINING_LOSS + (" (+ penalty)" if penalty else "")),
        "accuracy": plot_curve(train_acc, out / f"{prefix}accuracy.png", "accuracy",
                               f"{head}accuracy per epoch", extra=extra,
                               label=TRAINING_ACCURACY),
    }
    if diagnostics:
        files["diagnostics"] = plot_diagnostics(diagnostics, out / f"{prefix}diagnostics.png",
                                                f"{head}diagnostics per epoch")
    files["confusion_matrix"] = plot_confusion_matrix(
        y_true, y_pred, out / f"{prefix}confusion_matrix.png", labels=labels,
        title=f"{head}confusion matrix (test set)", class_names=class_names)
    return files
