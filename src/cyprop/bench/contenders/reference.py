"""cyprop's own plain-NumPy reference (``cyprop._reference``), the test oracle.

Written for clarity, in float64 only: on float32 tasks it trains in float64
from the same initial weights (so its result is the float64 answer that the
float32 contenders approximate).
"""

import numpy as np

from ._util import mlp_result, network_from_theta, theta_from_network, version_of


def available(options):
    try:
        from cyprop._reference import network, rbf_network, xor_network  # noqa: F401
    except Exception as exc:
        return False, f"cyprop._reference not importable: {exc}"
    return True, ""




def info(options):
    return {"version": version_of("cyprop"), "numpy": np.__version__}


class Runner:
    def __init__(self, task, options):
        from cyprop._reference import network, rbf_network, xor_network

        self.task = task
        self.net, self.rbf, self.xor = network, rbf_network, xor_network
        if task["kind"] == "mlp":
            self.X = np.asarray(task["X"], dtype=np.float64)
            self.Y = np.asarray(task["Y"], dtype=np.float64)
            if task.get("style") == "xor":
                self._theta0 = theta_from_network(task["weights"], task["biases"])
                self._theta = [t.copy() for t in self._theta0]
        self.out = None

    def reset(self):
        if self.task.get("style") == "xor":
            for t, t0 in zip(self._theta, self._theta0):
                t[...] = t0

    def run(self):
        task = self.task
        kind = task["kind"]
        if kind == "rbf_train":
            self.out = self.rbf.train(task["x"], task["t"], task["wh"], task["bo"], task["lr"],
                                      task["n_iter"])
        elif kind == "rbf_surface":
            self.out = self.rbf.loss_surface(task["x"], task["t"], task["wh_grid"],
                                             task["bo_grid"])
        elif task.get("style") == "xor":
            self.xor.train(self.X, self.Y, self._theta[0], self._theta[1], alpha=task["lr"],
                           epochs=task["epochs"])
        else:
            self.out = self.net.fit(task["weights"], task["biases"], self.X, self.Y,
                                    hidden_activation=task["hidden"],
                                    output_activation=task["output"], loss=task["loss"],
                                    epochs=task["epochs"], learning_rate=task["lr"],
                                    mode=task["mode"], shuffle=False)

    def result(self):
        task = self.task
        if task["kind"] == "rbf_train":
            return {"path": np.asarray(self.out[2], dtype=np.float64)}
        if task["kind"] == "rbf_surface":
            return {"surface": np.asarray(self.out, dtype=np.float64)}
        if task.get("style") == "xor":
            return mlp_result(*network_from_theta(self._theta))
        W, B, losses = self.out
        res = mlp_result(W, B)
        res["epoch_loss"] = [float(v) for v in losses]
        return res
