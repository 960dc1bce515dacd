"""cyprop itself, through its public API.

mlp tasks: ``cyprop.Network(...).fit(X, Y, epochs, learning_rate, mode,
shuffle=False)`` with the initial weights assigned through ``net.weights`` /
``net.biases``.  The XOR task goes through the tutorial function
``cyprop.tutorials.xor_network.train`` (the call a tutorial reader makes), the
RBF tasks through ``cyprop.tutorials.rbf_network.train`` / ``loss_surface``.

The worker's environment sets ``CYPROP_SIMD`` (``auto`` or ``baseline``)
before cyprop is imported, so one worker runs the dispatched AVX2 kernels and
another the portable baseline build of the same source.
"""

import numpy as np

from ._util import mlp_result, network_from_theta, theta_from_network, version_of


def available(options):
    try:
        import cyprop  # noqa: F401
        from cyprop import _kernels  # noqa: F401
    except Exception as exc:  # pragma: no cover - depends on the install
        return False, f"cyprop not importable: {exc}"
    return True, ""




def info(options):
    import os

    from cyprop import _kernels

    return {"version": version_of("cyprop"), "simd": _kernels.simd,
            "CYPROP_SIMD": os.environ.get("CYPROP_SIMD", "")}


class Runner:
    def __init__(self, task, options):
        self.task = task
        kind = task["kind"]
        if kind == "rbf_train":
            from cyprop.tutorials import rbf_network

            self._rbf = rbf_network
        elif kind == "rbf_surface":
            from cyprop.tutorials import rbf_network

            self._rbf = rbf_network
        elif task.get("style") == "xor":
            from cyprop.tutorials import xor_network

            self._xor = xor_network
            self._theta0 = theta_from_network(task["weights"], task["biases"])
            self._theta = [t.copy() for t in self._theta0]
        else:
            import cyprop

            self.net = cyprop.Network(task["sizes"], hidden_activation=task["hidden"],
                                      output_activation=task["output"], loss=task["loss"],
                                      dtype=task["dtype"], seed=0)
        self.out = None

    def reset(self):
        task = self.task
        if task["kind"] == "mlp":
            if task.get("style") == "xor":
                for t, t0 in zip(self._theta, self._theta0):
                    t[...] = t0
            else:
                for l, (W, b) in enumerate(zip(task["weights"], task["biases"])):
                    self.net.weights[l][...] = W
                    self.net.biases[l][...] = b

    def run(self):
        task = self.task
        kind = task["kind"]
        if kind == "rbf_train":
            self.out = self._rbf.train(task["x"], task["t"], task["wh"], task["bo"], task["lr"],
                                       task["n_iter"])
        elif kind == "rbf_surface":
            self.out = self._rbf.loss_surface(task["x"], task["t"], task["wh_grid"],
                                              task["bo_grid"])
        elif task.get("style") == "xor":
            self._xor.train(task["X"], task["Y"], self._theta[0], self._theta[1],
                            alpha=task["lr"], epochs=task["epochs"])
        else:
            self.out = self.net.fit(task["X"], task["Y"], epochs=task["epochs"],
                                    learning_rate=task["lr"], mode=task["mode"], shuffle=False)

    def result(self):
        task = self.task
        kind = task["kind"]
        if kind == "rbf_train":
            return {"path": np.asarray(self.out[2], dtype=np.float64)}
        if kind == "rbf_surface":
            return {"surface": np.asarray(self.out, dtype=np.float64)}
        if task.get("style") == "xor":
            return mlp_result(*network_from_theta(self._theta))
        res = mlp_result(self.net.weights, self.net.biases)
        loss = getattr(self.out, "loss", None)
        if loss is not None:
            res["epoch_loss"] = [float(v) for v in loss]
        return res
