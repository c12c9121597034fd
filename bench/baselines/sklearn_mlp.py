"""scikit-learn's MLPClassifier with solver='sgd', batch_size=1, no momentum: per-sample SGD the
way an sklearn user gets it (float64: sklearn converts)."""

import warnings

import numpy as np


def available():
    try:
        import sklearn  # noqa: F401
        return True, ""
    except ImportError:
        return False, "scikit-learn not installed"


class SklearnMLP:
    def __init__(self, Ws, bs, dtype):
        from sklearn.neural_network import MLPClassifier
        self.Ws = [np.array(W, np.float64) for W in Ws]
        self.bs = [np.array(b, np.float64) for b in bs]
        self.clf = MLPClassifier(hidden_layer_sizes=tuple(W.shape[1] for W in Ws[:-1]),
                                 solver="sgd", batch_size=1, momentum=0.0,
                                 nesterovs_momentum=False, alpha=0.0, shuffle=False,
                                 learning_rate="constant", max_iter=1)
        self.started = False

    def train(self, X, Y, y, order, lr):
        self.clf.set_params(learning_rate_init=lr)
        Xo, yo = np.asarray(X, np.float64)[order], np.asarray(y)[order]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if not self.started:
                # initialise, then overwrite with the shared starting weights
                self.clf.partial_fit(Xo[:1], yo[:1], classes=np.arange(Y.shape[1]))
                self.clf.coefs_ = [W.copy() for W in self.Ws]
                self.clf.intercepts_ = [b.copy() for b in self.bs]
                del self.clf._optimizer  # recreated by the next partial_fit with our lr
                self.started = True
            self.clf.partial_fit(Xo, yo)

    def weights(self):
        return [W.copy() for W in self.clf.coefs_], [b.copy() for b in self.clf.intercepts_]


def make(Ws, bs, dtype):
    return SklearnMLP(Ws, bs, dtype)
