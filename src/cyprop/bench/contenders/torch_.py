"""PyTorch: a per-sample training loop with autograd.

For each sample: forward pass with ``torch.addmv`` and the activations, the
per-sample loss written so that autograd's output delta is ``a - t``
(``logsumexp(z) - t.z`` for softmax cross-entropy, ``softplus(z) - t z`` for
sigmoid cross-entropy, ``0.5 sum (a - t)^2``), ``loss.backward()``, then the
SGD step ``p -= lr * p.grad`` under ``torch.no_grad()`` (no optimizer object,
which would only add per-step overhead).  Batch mode (XOR) lets the
per-sample gradients accumulate in ``.grad`` and steps once per epoch with
``p += -(1/m) * (alpha * G)``.  One thread: ``torch.set_num_threads(1)``.
The RBF tasks are written the natural PyTorch way, vectorised over the
samples (training) and over the grid (surface).
"""

import numpy as np

from ._util import mlp_result


def available(options):
    try:
        import torch  # noqa: F401
    except Exception as exc:
        return False, (f"torch not installed ({type(exc).__name__}); "
                       "pip install torch==2.13.0 (CPU)")
    return True, ""




def _torch():
    import torch

    import os

    threads = int(os.environ.get("CYPROP_BENCH_THREADS", "1"))
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(threads)
    except RuntimeError:
        pass
    return torch


def info(options):
    torch = _torch()
    return {"torch": torch.__version__, "num_threads": torch.get_num_threads()}


class Runner:
    def __init__(self, task, options):
        torch = _torch()
        self.torch = torch
        self.F = torch.nn.functional
        self.task = task
        kind = task["kind"]
        if kind in ("rbf_train", "rbf_surface"):
            self.x = torch.from_numpy(np.ascontiguousarray(task["x"]))
            self.t = torch.from_numpy(np.ascontiguousarray(task["t"]))
            if kind == "rbf_surface":
                self.wh = torch.from_numpy(np.ascontiguousarray(task["wh_grid"]).reshape(-1, 1))
                self.bo = torch.from_numpy(np.ascontiguousarray(task["bo_grid"]).reshape(-1, 1))
            self.out = None
            return
        dtype = {"float64": torch.float64, "float32": torch.float32}[task["dtype"]]
        self.dtype = dtype
        self.W0 = [torch.tensor(w, dtype=dtype) for w in task["weights"]]
        self.b0 = [torch.tensor(b, dtype=dtype) for b in task["biases"]]
        self.W = [w.clone().requires_grad_(True) for w in self.W0]
        self.b = [b.clone().requires_grad_(True) for b in self.b0]
        self.X = torch.tensor(task["X"], dtype=dtype)
        self.Y = torch.tensor(task["Y"], dtype=dtype)
        self.rows = [(self.X[i], self.Y[i]) for i in range(self.X.shape[0])]
        acts = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu,
                "identity": lambda z: z}
        self.hidden = acts[task["hidden"]]
        self.output_name = task["output"]
        self.loss_name = task["loss"]

    def reset(self):
        if self.task["kind"] != "mlp":
            return
        with self.torch.no_grad():
            for p, p0 in zip(self.W + self.b, self.W0 + self.b0):
                p.copy_(p0)
                p.grad = None

    def _sample_loss(self, x, t):
        torch = self.torch
        a = x
        n = len(self.W)
        for l in range(n - 1):
            a = self.hidden(torch.addmv(self.b[l], self.W[l], a))
        z = torch.addmv(self.b[-1], self.W[-1], a)
        if self.loss_name == "cross_entropy":
            if self.output_name == "softmax":
                return torch.logsumexp(z, 0) - torch.dot(t, z)
            return (self.F.softplus(z) - t * z).sum()
        out = {"sigmoid": torch.sigmoid, "identity": lambda v: v}[self.output_name](z)
        return 0.5 * ((out - t) ** 2).sum()

    def run(self):
        torch = self.torch
        task = self.task
        kind = task["kind"]
        if kind == "rbf_train":
            x, t = self.x, self.t
            wh, bo, lr = task["wh"], task["bo"], task["lr"]
            path = [(wh, bo, self._rbf_loss(wh, bo))]
            for _ in range(task["n_iter"]):
                zh = x * wh
                h = torch.exp(-zh * zh)
                y = torch.sigmoid(h + bo)
                d_o = y - t
                wh = float(torch.mean(wh - lr * (x * -2 * zh * h * d_o)))
                bo = float(torch.mean(bo - lr * d_o))
                path.append((wh, bo, self._rbf_loss(wh, bo)))
            self.out = np.array(path)
            return
        if kind == "rbf_surface":
            zh = self.wh * self.x[None, :]
            y = torch.sigmoid(torch.exp(-zh * zh) + self.bo)
            t = self.t[None, :]
            self.out = -torch.mean(t * torch.log(y) + (1 - t) * torch.log(1 - y), dim=1)
            return
        params = self.W + self.b
        lr = task["lr"]
        if task["mode"] == "online":
            for _ in range(task["epochs"]):
                for x, t in self.rows:
                    self._sample_loss(x, t).backward()
                    with torch.no_grad():
                        for p in params:
                            p.sub_(p.grad, alpha=lr)
                            p.grad = None
        else:
            m = len(self.rows)
            for _ in range(task["epochs"]):
                for x, t in self.rows:
                    self._sample_loss(x, t).backward()
                with torch.no_grad():
                    for p in params:
                        p.add_(-(1 / m) * (lr * p.grad))
                        p.grad = None

    def _rbf_loss(self, wh, bo):
        torch = self.torch
        zh = self.x * wh
        y = torch.sigmoid(torch.exp(-zh * zh) + bo)
        return float(-torch.mean(self.t * torch.log(y) + (1 - self.t) * torch.log(1 - y)))

    def result(self):
        kind = self.task["kind"]
        if kind == "rbf_train":
            return {"path": self.out}
        if kind == "rbf_surface":
            return {"surface": self.out.numpy().reshape(self.task["wh_grid"].shape).copy()}
        return mlp_result([w.detach().numpy() for w in self.W],
                          [b.detach().numpy() for b in self.b])
