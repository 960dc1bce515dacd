"""cyprop itself, through its public API.

mlp tasks: ``cyprop.Network(...).fit(X, Y, epochs, learning_rate, mode,
shuffle=False)`` with the initial weights assigned through ``net.weights`` /
``net.biases``.  The XOR task goes through the tutorial function
``cyprop.tutorials.xor_network.train`` (the call a tutorial reader makes), the
RBF tasks through ``cyprop.tutorials.rbf_network.train`` / ``loss_surface``.

Memory placements (mlp tasks): every ``reset()`` (untimed) moves the next
timed fit to another placement, in turn: a padding array of another size is
allocated, then a fresh ``Network`` (so its parameter buffer lands at another
address), and X is copied into a larger buffer at another byte offset.  The
placement of each timed run (the parameter buffer's and X's address modulo
4096) is reported with its time, so the tables show the spread over
placements (issue 10: on some CPUs 4K aliasing makes the time depend on
them).  The results do not depend on the placement.

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


# padding (bytes) allocated before each placement's Network, and X's offset
# (bytes) inside its buffer: 8 placements, the offsets spread over a page
PADDING = (0, 4096 + 496, 672, 12288 + 1408, 1856, 3328, 8192 + 2368, 2848)
X_OFFSETS = (0, 64, 1088, 2112, 3136, 512, 2560, 3584)
N_PLACEMENTS = len(PADDING)


class Runner:
    def __init__(self, task, options):
        self.task = task
        self.placement = None
        self._count = 0
        self._pads = []
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
                self._next_placement()
                for l, (W, b) in enumerate(zip(task["weights"], task["biases"])):
                    self.net.weights[l][...] = W
                    self.net.biases[l][...] = b

    def _next_placement(self):
        import cyprop

        task = self.task
        i = self._count % N_PLACEMENTS
        self._count += 1
        self.net = None
        self._pads = [np.empty(PADDING[i], dtype=np.uint8)]
        self.net = cyprop.Network(task["sizes"], hidden_activation=task["hidden"],
                                  output_activation=task["output"], loss=task["loss"],
                                  dtype=task["dtype"], seed=0)
        X = task["X"]
        off = X_OFFSETS[i] // X.itemsize
        buf = np.empty(X.size + 4096 // X.itemsize, dtype=X.dtype)
        self.X = buf[off:off + X.size].reshape(X.shape)
        self.X[...] = X
        params = getattr(self.net, "parameters", None)
        self.placement = {
            "index": i,
            "params_mod4096": None if params is None else int(params.ctypes.data % 4096),
            "X_mod4096": int(self.X.ctypes.data % 4096),
        }

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
            self.out = self.net.fit(self.X, task["Y"], epochs=task["epochs"],
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
