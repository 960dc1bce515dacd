"""scikit-learn's ``MLPClassifier`` with plain per-sample SGD (task 3).

``MLPClassifier(hidden_layer_sizes=(32,), activation="logistic",
solver="sgd", batch_size=1, momentum=0, nesterovs_momentum=False, alpha=0,
learning_rate="constant", learning_rate_init=eta, shuffle=False,
warm_start=True)``.  With ``alpha=0`` and ``momentum=0`` its update is
``w -= eta * grad`` after every sample; its multiclass output is softmax with
log-loss, whose output delta is ``a - t``: the same maths as the task.  Its
own initialisation is replaced by the task's weights (one untimed fit to
set the model up, then ``coefs_`` / ``intercepts_`` overwritten before every
timed ``fit``; ``coefs_[l]`` is ``W_l.T``).  What differs: ``fit``
validates its input and binarises the labels on every call, and computes
``grad = a^T delta / batch`` before scaling by eta, a different rounding
order from cyprop's ``(eta * delta) * a``.
"""

import warnings

import numpy as np

from ._util import mlp_result


def available(options):
    try:
        import sklearn  # noqa: F401
    except Exception as exc:
        return False, f"scikit-learn not installed ({type(exc).__name__})"
    return True, ""


def supports(task, options):
    if task["kind"] != "mlp" or task.get("style") == "xor":
        return False, "network tasks only"
    if task["mode"] != "online" or task["output"] != "softmax" or task["loss"] != "cross_entropy":
        return False, "online SGD with softmax + cross-entropy only (MLPClassifier's maths)"
    if task["hidden"] not in ("sigmoid", "tanh", "relu", "identity"):
        return False, "hidden activation not in MLPClassifier"
    if task["sizes"][-1] < 3:
        return False, "MLPClassifier uses one logistic output for two classes"
    labels = task.get("labels")
    if labels is None or len(set(labels.tolist())) != task["sizes"][-1]:
        return False, "needs every class in the data (MLPClassifier learns its classes)"
    return True, ""



def info(options):
    import sklearn

    return {"sklearn": sklearn.__version__}


class Runner:
    def __init__(self, task, options):
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier

        self.task = task
        self.warning = ConvergenceWarning
        dtype = np.dtype(task["dtype"])
        self.X = np.ascontiguousarray(task["X"], dtype=dtype)
        self.labels = task["labels"]
        hidden = tuple(task["sizes"][1:-1])
        act = {"sigmoid": "logistic", "tanh": "tanh", "relu": "relu",
               "identity": "identity"}[task["hidden"]]
        self.clf = MLPClassifier(hidden_layer_sizes=hidden, activation=act, solver="sgd",
                                 batch_size=1, momentum=0.0, nesterovs_momentum=False,
                                 alpha=0.0, learning_rate="constant",
                                 learning_rate_init=task["lr"], shuffle=False,
                                 max_iter=task["epochs"], tol=0.0,
                                 n_iter_no_change=task["epochs"] + 10, warm_start=True,
                                 random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.clf.set_params(max_iter=1)
            # sets the model up (its weights are replaced in reset()): one
            # sample of every class, so that it knows them all
            first = np.unique(self.labels, return_index=True)[1]
            self.clf.fit(self.X[first], self.labels[first])
            self.clf.set_params(max_iter=task["epochs"])
        if list(self.clf.classes_) != list(range(task["sizes"][-1])):
            raise RuntimeError("the setup fit did not see every class")
        self.coefs0 = [np.ascontiguousarray(W.T, dtype=dtype) for W in task["weights"]]
        self.inter0 = [np.asarray(b, dtype=dtype) for b in task["biases"]]

    def reset(self):
        clf = self.clf
        clf.coefs_ = [c.copy() for c in self.coefs0]
        clf.intercepts_ = [b.copy() for b in self.inter0]
        clf.n_iter_ = 0
        clf.t_ = 0
        clf.loss_curve_ = []
        clf.best_loss_ = np.inf
        clf._no_improvement_count = 0

    def run(self):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", self.warning)
            self.clf.fit(self.X, self.labels)

    def result(self):
        res = mlp_result([c.T for c in self.clf.coefs_], self.clf.intercepts_)
        res["epoch_loss"] = [float(v) for v in self.clf.loss_curve_]
        res["n_iter"] = int(self.clf.n_iter_)
        return res
