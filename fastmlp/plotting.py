"""PNG/GIF figures: the XOR decision boundary, learning curves, a confusion matrix.

matplotlib is optional (``pip install -e ".[plot]"``); it is imported only when a plot is made,
always with the non-interactive Agg backend, so plotting works on servers and in CI.
"""

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


def _draw_boundary(ax, X, y, xx, yy, proba, title):
    ax.contourf(xx, yy, proba, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.6)
    ax.contour(xx, yy, proba, levels=[0.5], colors="k", linewidths=1.5)
    y = np.asarray(y)
    for cls, colour in zip(np.unique(y), ("#2166ac", "#b2182b")):
        mask = y == cls
        ax.scatter(X[mask, 0], X[mask, 1], color=colour, edgecolors="white", linewidths=0.6,
                   s=18, label=f"class {cls}")
    ax.set_xlim(xx.min(), xx.max())
    ax.set_ylim(yy.min(), yy.max())
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title(title)


def plot_decision_boundary(model, X, y, path, resolution=200, title=None):
    """PNG of P(second class) over the plane, the 0.5 contour and the labelled points (2-D X)."""
    plt = pyplot()
    X = np.asarray(X)
    xx, yy, points = boundary_grid(X, resolution)
    proba = model.predict_proba(points)[:, 1].reshape(xx.shape)
    fig, ax = plt.subplots(figsize=(5, 5))
    acc = model.score(X, y)
    _draw_boundary(ax, X, y, xx, yy, proba,
                   title or f"decision boundary (training accuracy {acc:.3f})")
    fig.tight_layout()
    return _save(fig, path, plt)


def boundary_gif(X, y, frames, path, resolution, fps=6):
    """Animated GIF of the boundary as it learns, from (epoch, proba grid) frames."""
    plt = pyplot()
    from matplotlib.animation import FuncAnimation, PillowWriter
    if not frames:
        raise ValueError("no frames to animate")
    X = np.asarray(X)
    xx, yy, _ = boundary_grid(X, resolution)
    fig, ax = plt.subplots(figsize=(3.6, 3.6))

    def draw(k):
        ax.clear()
        epoch, proba = frames[k]
        _draw_boundary(ax, X, y, xx, yy, proba, f"epoch {epoch}")
        fig.tight_layout()

    anim = FuncAnimation(fig, draw, frames=len(frames))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    anim.save(str(path), writer=PillowWriter(fps=fps), dpi=50)
    plt.close(fig)
    return str(path)


def plot_curve(values, path, ylabel, title, extra=None, logy=False):
    """PNG of one per-epoch curve (plus optional named extra curves: {label: values})."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.2))
    epochs = np.arange(1, len(values) + 1)
    ax.plot(epochs, values, label="train" if extra else None)
    for label, other in (extra or {}).items():
        ax.plot(np.arange(1, len(other) + 1), other, label=label)
    if extra:
        ax.legend()
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return _save(fig, path, plt)


def plot_confusion_matrix(y_true, y_pred, path, labels=None, title="confusion matrix"):
    """PNG of the confusion matrix (rows: true class, columns: predicted), with counts."""
    plt = pyplot()
    cm, labels = confusion_matrix(y_true, y_pred, labels)
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.imshow(cm, cmap="Blues")
    ticks = np.arange(len(labels))
    ax.set_xticks(ticks, [str(v) for v in labels])
    ax.set_yticks(ticks, [str(v) for v in labels])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
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


def xor_figures(model, X, y, history, out_dir, gif=False):
    """Write xor_boundary.png, xor_loss.png, xor_accuracy.png (and xor_boundary.gif) to out_dir;
    returns {name: path}."""
    out = Path(out_dir)
    files = {
        "boundary": plot_decision_boundary(model, X, y, out / "xor_boundary.png"),
        "loss": plot_curve(history["loss"], out / "xor_loss.png",
                           "loss (squared error + L2)", "XOR: loss per epoch", logy=True),
        "accuracy": plot_curve(history["accuracy"], out / "xor_accuracy.png",
                               "training accuracy", "XOR: accuracy per epoch"),
    }
    if gif:
        files["gif"] = boundary_gif(X, y, history["frames"], out / "xor_boundary.gif",
                                    history["resolution"])
    return files


def training_figures(history, y_true, y_pred, out_dir, labels=None, prefix=""):
    """For ``fastmlp train --plot``: loss.png, accuracy.png (train and test per epoch) and
    confusion_matrix.png on the test set; returns {name: path}."""
    out = Path(out_dir)
    loss = [h["loss"] for h in history]
    train_acc = [h["train_accuracy"] for h in history]
    extra = {"test": [h["test_accuracy"] for h in history if "test_accuracy" in h]}
    if any("validation_score" in h for h in history):
        extra["validation"] = [h["validation_score"] for h in history if "validation_score" in h]
    return {
        "loss": plot_curve(loss, out / f"{prefix}loss.png", "training loss",
                           "loss per epoch"),
        "accuracy": plot_curve(train_acc, out / f"{prefix}accuracy.png", "accuracy",
                               "accuracy per epoch", extra=extra),
        "confusion_matrix": plot_confusion_matrix(y_true, y_pred,
                                                  out / f"{prefix}confusion_matrix.png",
                                                  labels=labels,
                                                  title="confusion matrix (test set)"),
    }
