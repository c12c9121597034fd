"""PyTorch eager: nn.Sequential + CrossEntropyLoss + optim.SGD, one sample per step, the way the
tutorials write it. ``compile=True`` wraps the model in torch.compile."""

import numpy as np


def available():
    try:
        import torch  # noqa: F401
        return True, ""
    except ImportError:
        return False, "torch not installed (pip install torch==2.13.0, the CPU wheel)"


class TorchSGD:
    def __init__(self, Ws, bs, dtype, compile=False):
        import torch
        from torch import nn
        torch.set_num_threads(1)  # one core, like every other contestant
        self.torch = torch
        tdtype = torch.float32 if np.dtype(dtype) == np.float32 else torch.float64
        layers = []
        for l, (W, b) in enumerate(zip(Ws, bs)):
            lin = nn.Linear(W.shape[0], W.shape[1]).to(tdtype)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(np.asarray(W).T)))
                lin.bias.copy_(torch.from_numpy(np.asarray(b)))
            layers.append(lin)
            if l < len(Ws) - 1:
                layers.append(nn.ReLU())
        self.model = nn.Sequential(*layers)
        self.run = torch.compile(self.model) if compile else self.model
        self.loss_fn = nn.CrossEntropyLoss()
        self.tdtype = tdtype

    def train(self, X, Y, y, order, lr):
        torch = self.torch
        opt = torch.optim.SGD(self.model.parameters(), lr=lr)
        Xt = torch.from_numpy(np.ascontiguousarray(X)).to(self.tdtype)
        yt = torch.from_numpy(np.asarray(y, np.int64))
        for i in order:
            opt.zero_grad()
            loss = self.loss_fn(self.run(Xt[i:i + 1]), yt[i:i + 1])
            loss.backward()
            opt.step()

    def weights(self):
        lins = [m for m in self.model if hasattr(m, "weight")]
        return ([m.weight.detach().double().numpy().T.copy() for m in lins],
                [m.bias.detach().double().numpy().copy() for m in lins])


def make(Ws, bs, dtype):
    return TorchSGD(Ws, bs, dtype)


def make_compiled(Ws, bs, dtype):
    return TorchSGD(Ws, bs, dtype, compile=True)
