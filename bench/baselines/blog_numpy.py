"""The original blog's NumPy code: a per-sample Python loop with np.dot and np.outer, float64.

Faithful to the classic "neural network from scratch" style: a list of weight matrices, a
forward pass that keeps every activation, a backward pass that builds each gradient with
np.outer, then ``W -= lr * dW`` (new arrays every sample). ReLU hidden layers, softmax + CE.
"""

import numpy as np


def available():
    return True, ""


class BlogNumpy:
    def __init__(self, Ws, bs, dtype=np.float64):
        self.W = [np.array(W, dtype=np.float64) for W in Ws]  # the blog is float64 throughout
        self.b = [np.array(b, dtype=np.float64) for b in bs]

    def train(self, X, Y, y, order, lr):
        for i in order:
            x = X[i].astype(np.float64)
            # forward
            activations = [x]
            a = x
            for l in range(len(self.W)):
                z = np.dot(a, self.W[l]) + self.b[l]
                if l < len(self.W) - 1:
                    a = np.maximum(z, 0)
                else:
                    e = np.exp(z - np.max(z))
                    a = e / np.sum(e)
                activations.append(a)
            # backward: softmax + cross-entropy gives delta = p - y
            delta = activations[-1] - Y[i]
            for l in range(len(self.W) - 1, -1, -1):
                dW = np.outer(activations[l], delta)
                db = delta
                if l > 0:
                    delta = np.dot(self.W[l], delta) * (activations[l] > 0)
                self.W[l] = self.W[l] - lr * dW
                self.b[l] = self.b[l] - lr * db

    def weights(self):
        return self.W, self.b


def make(Ws, bs, dtype):
    return BlogNumpy(Ws, bs, dtype)
