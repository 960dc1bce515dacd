"""The tutorials' own NumPy style (tasks 1-2 only).

XOR: one sample at a time, as the tutorial's loop does: append the bias unit,
two small matrix products with sigmoids, the output delta ``a3 - y``, the
hidden delta through ``theta2`` times ``a2 (1 - a2)``, outer products summed
into gradient matrices (the bias unit's delta dropped), and one update
``theta += -(1/m) * (alpha * grad)`` per epoch.  Option ``matrix`` (the
``numpy-tutorial`` contender) keeps the tutorial's ``np.matrix`` objects, as
its code does; without it (``numpy-per-sample``) the same loop uses plain
2-D ndarrays and ``@``, which shows how much of the cost is ``np.matrix``.

RBF: the tutorial's vectorised update (mean over the samples of
``wh - lr * grad``) and loss, one Python call per iteration; the loss surface
with a Python double loop over the grid, one vectorised loss per point.
"""

import numpy as np

from ._util import mlp_result, network_from_theta, theta_from_network


def available(options):
    return True, ""


def supports(task, options):
    if task.get("style") == "xor":
        return True, ""
    if task["kind"] in ("rbf_train", "rbf_surface") and options.get("matrix", True):
        return True, ""
    return False, ("the tutorials' code covers tasks 1-2 only" if options.get("matrix", True)
                   else "XOR only (the ndarray variant of the tutorial's np.matrix loop)")



def info(options):
    import warnings

    # np.matrix warns that it is pending deprecation; the tutorial uses it anyway
    warnings.filterwarnings("ignore", category=PendingDeprecationWarning)
    return {"numpy": np.__version__, "np.matrix": bool(options.get("matrix", True))}


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def xor_train(X, y, theta1, theta2, alpha, epochs):
    m = X.shape[0]
    num_hid = theta1.shape[1]
    one = np.ones((1, 1))
    for _ in range(epochs):
        grad1 = np.zeros(theta1.shape)
        grad2 = np.zeros(theta2.shape)
        for i in range(m):
            # forward pass, row vectors with the bias unit appended
            a1 = np.concatenate((X[i:i + 1, :], one), axis=1)          # 1 x (in+1)
            a2 = np.concatenate((_sigmoid(a1 @ theta1), one), axis=1)  # 1 x (hid+1)
            a3 = _sigmoid(a2 @ theta2)                                 # 1 x out
            # backward pass
            delta3 = a3 - y[i:i + 1, :]                                # 1 x out
            delta2 = (theta2 @ delta3.T) * (a2 * (1.0 - a2)).T         # (hid+1) x 1
            grad1 += (delta2[:num_hid, :] @ a1).T                      # no bias delta
            grad2 += (delta3.T @ a2).T
        theta1 += -1 * (1 / m) * (alpha * grad1)
        theta2 += -1 * (1 / m) * (alpha * grad2)
    return theta1, theta2


def _msigmoid(z):
    return np.matrix(1.0 / (1.0 + np.exp(-z)))


def xor_train_matrix(X, y, theta1, theta2, alpha, epochs):
    """The same loop on np.matrix objects (row vectors), as the tutorial keeps them."""
    X = np.matrix(X)
    y = np.matrix(y)
    t1 = np.asmatrix(theta1)   # views: updates land in the caller's arrays
    t2 = np.asmatrix(theta2)
    m = X.shape[0]
    num_hid = t1.shape[1]
    one = np.ones((1, 1))
    for _ in range(epochs):
        grad1 = np.matrix(np.zeros(t1.shape))
        grad2 = np.matrix(np.zeros(t2.shape))
        for i in range(m):
            a1 = np.matrix(np.concatenate((X[i, :], one), axis=1))
            a2 = np.matrix(np.concatenate((_msigmoid(a1 * t1), one), axis=1))
            a3 = _msigmoid(a2 * t2)
            delta3 = np.matrix(a3 - y[i])
            delta2 = np.matrix(np.multiply(t2 * delta3.T, np.multiply(a2, 1 - a2).T))
            grad1 += np.matrix(delta2[0:num_hid, :] * a1).T
            grad2 += np.matrix(delta3.T * a2).T
        t1 += -1 * (1 / m) * np.multiply(alpha, grad1)
        t2 += -1 * (1 / m) * np.multiply(alpha, grad2)
    return theta1, theta2


def rbf_nn(x, wh, bo):
    zh = x * wh
    return 1.0 / (1.0 + np.exp(-(np.exp(-zh ** 2) + bo)))


def rbf_loss(y, t):
    return -np.mean(t * np.log(y) + (1 - t) * np.log(1 - y))


def rbf_update(x, t, wh, bo, lr):
    zh = x * wh
    h = np.exp(-zh ** 2)
    y = 1.0 / (1.0 + np.exp(-(h + bo)))
    grad_output = y - t
    d_bo = lr * grad_output
    d_wh = lr * (x * -2 * zh * h * grad_output)
    return float(np.mean(wh - d_wh)), float(np.mean(bo - d_bo))


class Runner:
    def __init__(self, task, options):
        self.task = task
        self.matrix = options.get("matrix", True)
        if task["kind"] == "mlp":
            self._theta0 = theta_from_network(task["weights"], task["biases"])
            self._theta = [t.copy() for t in self._theta0]
        self.out = None

    def reset(self):
        if self.task["kind"] == "mlp":
            for t, t0 in zip(self._theta, self._theta0):
                t[...] = t0

    def run(self):
        task = self.task
        if task["kind"] == "mlp":
            train = xor_train_matrix if self.matrix else xor_train
            train(task["X"], task["Y"], self._theta[0], self._theta[1], task["lr"],
                  task["epochs"])
        elif task["kind"] == "rbf_train":
            x, t = task["x"], task["t"]
            wh, bo = task["wh"], task["bo"]
            path = [(wh, bo, rbf_loss(rbf_nn(x, wh, bo), t))]
            for _ in range(task["n_iter"]):
                wh, bo = rbf_update(x, t, wh, bo, task["lr"])
                path.append((wh, bo, rbf_loss(rbf_nn(x, wh, bo), t)))
            self.out = np.array(path)
        else:
            x, t = task["x"], task["t"]
            ws, bs = task["wh_grid"], task["bo_grid"]
            out = np.zeros(ws.shape)
            for i in range(ws.shape[0]):
                for j in range(ws.shape[1]):
                    out[i, j] = rbf_loss(rbf_nn(x, ws[i, j], bs[i, j]), t)
            self.out = out

    def result(self):
        kind = self.task["kind"]
        if kind == "mlp":
            return mlp_result(*network_from_theta(self._theta))
        if kind == "rbf_train":
            return {"path": self.out}
        return {"surface": self.out}
