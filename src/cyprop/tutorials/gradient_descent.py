"""Gradient descent: on a polynomial, then on one-layer sigmoid networks.

Three examples, as in the tutorial:

1. ``descend``: minimise ``f(x) = x**4 - 3 x**3 + 2`` from ``x = 4`` with step
   ``gamma = 0.01``; the minimum found is 2.2500325268933734 (exactly 9/4 = 2.25
   analytically).
2. A single sigmoid neuron without bias, ``h = sigmoid(X @ weights)``, pushed
   to output 0 on five inputs (weight 5, alpha 0.5, 2000 epochs).
3. The NOT network: the same neuron with a bias input (X = [[0, 1], [1, 1]],
   y = [[1], [0]], alpha 0.05, 12000 epochs).

**Where the tutorial's maths is wrong.**  Its cost is
``cost = sum((h - y)**2) / m``, whose true gradient is
``d cost / d w_j = (2/m) sum_i (h_i - y_i) h_i (1 - h_i) X_ij``.  The
tutorial's code instead moves every weight by
``alpha * sum_i (h_i - y_i) h_i (1 - h_i)``: no input factor ``X_ij``, no
``2/m``.  (In the NOT network, it even computes an input-weighted sum for the
second weight, but as a matrix product ``X[:, 0] * g.T`` whose sum is
``sum(X[:, 0]) * sum(g) = sum(g)``, so both weights get the same step.)  Its
printed numbers come from that rule, which ``train(..., gradient="tutorial")``
reproduces exactly; ``gradient="exact"`` follows the true gradient of
``cost`` instead.  The prose also defines the cross-entropy cost with a 1/m
that its code leaves out; :func:`cross_entropy_cost` follows the code (a sum).
"""

import numpy as np

from .._kernels import tutorial_kernels as _tk
from .._validate import as_count, as_float_array, as_real, broadcast_grids, check_choice

__all__ = ["f", "f_derivative", "descend", "sigmoid", "run", "cost", "cross_entropy_cost",
           "train", "cost_surface"]


def f(x):
    """``x**4 - 3 x**3 + 2``."""
    return x**4 - 3 * x**3 + 2


def f_derivative(x):
    """``f'(x) = 4 x**3 - 9 x**2``."""
    return 4 * x**3 - 9 * x**2


def descend(x_start=4.0, gamma=0.01, precision=1e-5, max_steps=10_000_000):
    """Minimise :func:`f` by gradient descent, ``x <- x - gamma f'(x)``, in one compiled loop.

    As in the tutorial, the previous point starts at 0 and the loop stops
    once a step moves ``x`` by no more than ``precision``.

    Parameters
    ----------
    x_start, gamma, precision : float
    max_steps : int
        Give up (ValueError) after this many steps rather than loop forever.

    Returns
    -------
    x_min : float
        Where the descent stopped: 2.2500325268933734 for the defaults.
    n_steps : int
        Steps taken (42 for the defaults).
    """
    x_start = as_real(x_start, "x_start")
    gamma = as_real(gamma, "gamma", positive=True)
    precision = as_real(precision, "precision", positive=True)
    max_steps = as_count(max_steps, "max_steps")
    x, n, status = _tk.descend(x_start, gamma, precision, max_steps)
    if status == 1:
        raise ValueError(f"descend did not converge in max_steps={max_steps} steps (x={x}); "
                         "try a larger gamma or precision, or more max_steps")
    if status == 2:
        raise ValueError(f"descend diverged after {n} steps (x became {x}); try a smaller gamma")
    return float(x), int(n)


def sigmoid(x):
    """Logistic sigmoid ``1 / (1 + exp(-x))``, elementwise."""
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))


def run(X, weights):
    """Forward pass ``sigmoid(X @ weights)``.  X (m, n), weights (n, k) -> (m, k)."""
    return sigmoid(np.asarray(X, dtype=float) @ np.asarray(weights, dtype=float))


def cost(X, y, weights):
    """The tutorial's mean squared error: ``sum((run(X, weights) - y)**2) / m`` (no 1/2)."""
    h = run(X, weights)
    return float(np.sum(np.square(h - np.asarray(y, dtype=float))) / h.shape[0])


def cross_entropy_cost(X, y, weights):
    """Cross-entropy as the tutorial's code computes it: summed, not averaged.

    ``sum(-y log h - (1 - y) log(1 - h))`` over samples and outputs.
    """
    h = run(X, weights)
    y = np.asarray(y, dtype=float)
    return float(np.sum(-y * np.log(h) - (1 - y) * np.log(1 - h)))


def _check_problem(X, y, weights):
    X = as_float_array(X, "X")
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (m samples, n inputs), got shape {X.shape}")
    if X.shape[0] == 0:
        raise ValueError("X has no samples")
    w = as_float_array(weights, "weights")
    if w.ndim not in (1, 2) or w.shape[0] != X.shape[1]:
        raise ValueError(f"weights must have shape ({X.shape[1]},) or ({X.shape[1]}, k) "
                         f"for X of shape {X.shape}; got {w.shape}")
    y = as_float_array(y, "y")
    k = w.shape[1] if w.ndim == 2 else 1
    if y.size != X.shape[0] * k or (y.ndim == 2 and y.shape != (X.shape[0], k)):
        raise ValueError(f"y must have shape ({X.shape[0]}, {k}) to match X {X.shape} and "
                         f"weights {w.shape}; got {y.shape}")
    return X, y.reshape(X.shape[0], k), w


def train(X, y, weights, alpha, epochs, gradient="tutorial"):
    """Full-batch gradient descent on ``sigmoid(X @ weights)``, in one compiled call.

    Parameters
    ----------
    X : array_like, shape (m, n)
    y : array_like, shape (m, k) (or (m,) when k == 1)
    weights : array_like, shape (n, k) or (n,)
        Initial weights; not modified.
    alpha : float
        Learning rate.
    epochs : int
        Number of updates (at least 1).
    gradient : {"tutorial", "exact"}
        "tutorial": every weight of output k moves by
        ``alpha * sum_i (h_ik - y_ik) h_ik (1 - h_ik)`` (the tutorial's rule:
        no input factor, no 2/m; its printed numbers come from it).
        "exact": the true gradient of :func:`cost`,
        ``alpha * (2/m) * sum_i (h_ik - y_ik) h_ik (1 - h_ik) X_ij``.

    Returns
    -------
    ndarray
        The trained weights, same shape as ``weights``.
    """
    check_choice(gradient, "gradient", ("tutorial", "exact"))
    X, y, w0 = _check_problem(X, y, weights)
    alpha = as_real(alpha, "alpha", positive=True)
    epochs = as_count(epochs, "epochs")
    w = np.array(w0.reshape(X.shape[1], -1), dtype=np.float64, order="C")  # a copy
    if not _tk.sigmoid_train(X, y, w, alpha, epochs, gradient == "exact"):
        raise ValueError(f"train diverged: the weights became inf or NaN; try a smaller alpha")
    return w.reshape(w0.shape)


def cost_surface(X, y, theta1, theta2, cost="mse"):
    """The cost of a two-weight network at many weight pairs, in one compiled call.

    Parameters
    ----------
    X : array_like, shape (m, 2)
    y : array_like, shape (m, 1) or (m,)
    theta1, theta2 : array_like
        First and second weights, broadcast against each other.
    cost : {"mse", "cross_entropy"}
        :func:`cost` or :func:`cross_entropy_cost`.

    Returns
    -------
    ndarray
        The cost at ``weights = [[theta1], [theta2]]`` for every pair; the
        broadcast shape of ``theta1`` and ``theta2``.
    """
    check_choice(cost, "cost", ("mse", "cross_entropy"))
    X = as_float_array(X, "X")
    if X.ndim != 2 or X.shape[1] != 2 or X.shape[0] == 0:
        raise ValueError(f"cost_surface needs X of shape (m, 2) with m >= 1, got {X.shape}")
    X, y, _ = _check_problem(X, y, np.zeros(2))
    t1, t2, out = broadcast_grids(theta1, theta2, ("theta1", "theta2"))
    _tk.sigmoid_cost_grid(X, np.ascontiguousarray(y[:, 0]), t1, t2, cost == "cross_entropy",
                          out.reshape(-1))
    return out
