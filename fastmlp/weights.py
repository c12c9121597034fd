"""Sample and class weights: checked here, before training or scoring sees them.

A sample's weight scales its loss and its gradient; a weight of 0 is exactly a skipped sample.
``class_weight`` (a dict label -> weight, or ``"balanced"``: n_samples / (n_classes *
count(label)), scikit-learn's rule) multiplies each sample's weight by its label's.
"""

import argparse
import numbers

import numpy as np


def check_sample_weight(sample_weight, n, name="sample_weight"):
    """``sample_weight`` as a float64 array of shape (n,): finite, >= 0, not all zero. None
    stays None (every sample counts once); a number means that weight for every sample."""
    if sample_weight is None:
        return None
    if isinstance(sample_weight, numbers.Number) and not isinstance(sample_weight, bool):
        sample_weight = np.full(n, sample_weight, dtype=np.float64)
    try:
        w = np.asarray(sample_weight)
    except Exception as exc:
        raise ValueError(f"{name} must be a 1-D array of numbers: {exc}") from None
    if w.dtype.kind == "O":
        try:
            w = w.astype(np.float64)
        except (TypeError, ValueError):
            pass
    if w.dtype.kind not in "biuf":
        raise ValueError(f"{name} must hold numbers (one weight per sample), got dtype "
                         f"{w.dtype}")
    if w.ndim != 1 or w.shape[0] != n:
        raise ValueError(f"{name}.shape == {w.shape}, expected ({n},): one weight per sample "
                         f"of X")
    w = w.astype(np.float64)
    if not np.isfinite(w).all():
        raise ValueError(f"{name} contains NaN or infinity (first at index "
                         f"{int(np.argmin(np.isfinite(w)))}); weights must be finite numbers "
                         f">= 0")
    if (w < 0).any():
        i = int(np.argmax(w < 0))
        raise ValueError(f"{name} has a negative weight ({float(w[i])!r} at index {i}); weights must "
                         f"be >= 0 (0 skips a sample)")
    if not (w > 0).any():
        raise ValueError(f"{name} is zero for every sample: nothing to train on or score; "
                         f"give at least one sample a weight > 0")
    return relative(w)


def relative(w):
    """Weights only count relative to each other: ones so large that their sum overflows
    (1e308) or so small that it underflows are divided by the largest, so that sums, means and
    averages of them stay finite and non-zero; other weights are returned as they are."""
    with np.errstate(over="ignore"):
        total = w.sum()
    if np.isfinite(total) and total >= 1e-300:
        return w
    return w / w.max()


def check_class_weight_value(value):
    """The ``class_weight`` hyperparameter's form (its labels are checked at fit, against the
    classes): None, 'balanced', or a dict label -> finite number >= 0."""
    if value is None or (isinstance(value, str) and value == "balanced"):
        return value
    if not isinstance(value, dict):
        raise ValueError(f"class_weight={value!r} is not valid; expected None, 'balanced' or "
                         f"a dict mapping class labels to weights, e.g. {{0: 1.0, 1: 5.0}}")
    for label, weight in value.items():
        ok = (isinstance(weight, numbers.Real) and not isinstance(weight, bool) and
              np.isfinite(weight) and weight >= 0)
        if not ok:
            raise ValueError(f"class_weight={value!r} is not valid: the weight of class "
                             f"{label!r} is {weight!r}; expected a finite number >= 0")
    return value


def parse_class_weight(text):
    """'balanced' -> 'balanced'; '0:1,1:5' -> {0: 1.0, 1: 5.0} (integer labels)."""
    if text == "balanced":
        return text
    try:
        pairs = (item.split(":") for item in text.split(","))
        return {int(label): float(weight) for label, weight in pairs}
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 'balanced' or label:weight pairs like "
                                         f"0:1,1:5, got {text!r}") from None


def class_weight_per_class(class_weight, classes, y):
    """One weight per entry of ``classes`` (sorted labels) from ``class_weight`` and the
    training labels y; None for class_weight=None. Labels of the dict that are not classes
    are refused (a typo would otherwise silently weigh nothing)."""
    if class_weight is None:
        return None
    if isinstance(class_weight, str):  # 'balanced', checked by the hyperparameter table
        counts = np.array([np.count_nonzero(y == c) for c in classes], dtype=np.float64)
        present = counts > 0
        # classes absent from y (partial_fit's classes) get weight 1: they add nothing now
        return np.where(present, len(y) / (np.count_nonzero(present) *
                                           np.where(present, counts, 1)), 1.0)
    known = {c.item() if isinstance(c, np.generic) else c for c in classes}
    unknown = [k for k in class_weight if (k.item() if isinstance(k, np.generic) else k)
               not in known]
    if unknown:
        raise ValueError(f"class_weight names label(s) {unknown!r} that are not classes; the "
                         f"classes are {np.asarray(classes).tolist()}")
    return np.array([float(class_weight.get(c.item() if isinstance(c, np.generic) else c, 1.0))
                     for c in classes], dtype=np.float64)


def combined_weights(sample_weight, per_class, class_index):
    """Per-sample training weights: sample_weight (checked, or None) times the class weight
    of each sample's class (class_index[i]: the column of sample i's class), or None when
    neither is given. All zero after combining is refused like an all-zero sample_weight."""
    if per_class is None:
        return sample_weight
    w = per_class[class_index]
    if sample_weight is not None:
        with np.errstate(over="ignore"):
            w = w * sample_weight
        if not np.isfinite(w).all():  # huge weights times huge weights: relative ones
            w = (per_class / per_class.max())[class_index] * (sample_weight /
                                                              sample_weight.max())
    if not (w > 0).any():
        raise ValueError("class_weight and sample_weight together give every sample a weight "
                         "of 0: nothing to train on")
    return relative(w)
