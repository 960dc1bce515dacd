"""Reference for tutorial 001, first sections: gradient descent.

Three steps of increasing size:

1. Plain gradient descent on the quartic ``f(x) = x**4 - 3 x**3 + 2``
   (:func:`f`, :func:`f_derivative`, :func:`descend`).
2. A "network" with one input, one sigmoid output and no bias, trained so
   that every input maps to 0 (:func:`run`, :func:`cost`, :func:`train`).
3. The same with a bias input column (the NOT problem), and the cost surface
   of such a two-weight network under the squared and the cross-entropy cost
   (:func:`cost_surface`).

Networks here are ``h = sigmoid(X @ weights)`` with ``X`` of shape (m, n),
``weights`` of shape (n, k) and targets ``y`` of shape (m, k).

Two rules are available in :func:`train`.  ``gradient="tutorial"`` is the
update the tutorial's code performs: every weight of an output column moves by
``alpha * sum_i (h_i - y_i) h_i (1 - h_i)`` whatever input it multiplies (this
is the derivative of ``cost`` for a single weight on an input of 1, without
its constant factor 2/m).  ``gradient="exact"`` moves each weight by alpha
times the true partial derivative of :func:`cost`.
"""

import numpy as np

from ._common import sigmoid

__all__ = [
    "f",
    "f_derivative",
    "descend",
    "sigmoid",
    "run",
    "cost",
    "cross_entropy_cost",
    "train",
    "cost_surface",
]


def f(x):
    """The quartic ``x**4 - 3 x**3 + 2`` (its minimum is at x = 9/4)."""
    return x**4 - 3 * x**3 + 2


def f_derivative(x):
    """Derivative of :func:`f`: ``4 x**3 - 9 x**2``."""
    return 4 * x**3 - 9 * x**2


def descend(x_start=4.0, gamma=0.01, precision=1e-5, max_steps=None):
    """Minimise :func:`f` by fixed-step gradient descent.

    The previous point starts at 0 and the new one at ``x_start``; the loop
    steps ``x <- x - gamma * f'(x)`` while the last step moved x by more than
    ``precision``.

    Parameters
    ----------
    x_start : float, optional
        Starting point.
    gamma : float, optional
        Step size (learning rate).
    precision : float, optional
        Stop once a step changes x by at most this much.
    max_steps : int or None, optional
        Give up after this many steps (``None``: no limit).

    Returns
    -------
    x_min : float
        The last point reached.
    n_steps : int
        How many steps were taken.
    """
    # Python floats on purpose: x**3 on a float calls the C library's pow,
    # and the tutorial's printed minimum depends on that rounding.
    x_old = 0.0
    x_new = float(x_start)
    n_steps = 0
    while abs(x_new - x_old) > precision:
        if max_steps is not None and n_steps >= max_steps:
            break
        x_old = x_new
        x_new = x_old - gamma * f_derivative(x_old)
        n_steps += 1
    return x_new, n_steps


def run(X, weights):
    """Forward pass of the one-layer network: ``sigmoid(X @ weights)``."""
    return sigmoid(np.asarray(X, dtype=float) @ np.asarray(weights, dtype=float))


def cost(X, y, weights):
    """Squared-error cost as the tutorial's code computes it.

    ``sum((h - y)**2) / m`` with ``m`` the number of samples (the prose writes
    a factor 1/(2m); the code does not halve).
    """
    h = run(X, weights)
    m = np.shape(X)[0]
    return float(np.sum(np.square(h - y)) / m)


def cross_entropy_cost(X, y, weights):
    """Cross-entropy cost as the tutorial's code computes it.

    The SUM over samples (and outputs) of ``-y log h - (1 - y) log(1 - h)``
    (the prose's formula has a factor 1/m that the code omits).
    """
    h = run(X, weights)
    y = np.asarray(y, dtype=float)
    return float(np.sum(-y * np.log(h) - (1.0 - y) * np.log(1.0 - h)))


def train(X, y, weights, alpha, epochs, gradient="tutorial"):
    """Full-batch gradient descent on the one-layer sigmoid network.

    Parameters
    ----------
    X : array_like, shape (m, n)
        Inputs, one sample per row.
    y : array_like, shape (m, k)
        Targets.
    weights : array_like, shape (n, k)
        Starting weights (not modified).
    alpha : float
        Learning rate.
    epochs : int
        Number of updates.
    gradient : {"tutorial", "exact"}, optional
        ``"tutorial"``: the tutorial's rule, every weight of output column c
        moves by ``alpha * sum_i (h_ic - y_ic) h_ic (1 - h_ic)``.
        ``"exact"``: the gradient of :func:`cost`,
        ``alpha * (2/m) * sum_i (h_ic - y_ic) h_ic (1 - h_ic) X_ij``.

    Returns
    -------
    ndarray, shape (n, k)
        The weights after ``epochs`` updates.
    """
    if gradient not in ("tutorial", "exact"):
        raise ValueError(f"gradient must be 'tutorial' or 'exact', got {gradient!r}")
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    w = np.array(weights, dtype=float)  # a copy: the caller's array is kept
    m = X.shape[0]
    for _ in range(epochs):
        h = run(X, w)
        # dCost/dz per sample and output, up to the constant factor
        g = (h - y) * (h * (1.0 - h))
        if gradient == "tutorial":
            w = w - alpha * np.sum(g, axis=0)  # same step for every row of w
        else:
            w = w - alpha * (2.0 * (X.T @ g) / m)
    return w


def cost_surface(X, y, theta1, theta2, cost="mse"):
    """Cost of a two-weight network at many weight pairs.

    Parameters
    ----------
    X : array_like, shape (m, 2)
        Inputs (for the NOT problem, the input and a bias column of ones).
    y : array_like, shape (m,) or (m, 1)
        Targets.
    theta1, theta2 : array_like
        First and second weight; broadcast against each other.
    cost : {"mse", "cross_entropy"}, optional
        :func:`cost` (squared error over m) or :func:`cross_entropy_cost`
        (summed cross-entropy).

    Returns
    -------
    ndarray
        The cost with weights ``[theta1[p], theta2[p]]`` for every point
        ``p``, in the broadcast shape of ``theta1`` and ``theta2``.
    """
    if cost not in ("mse", "cross_entropy"):
        raise ValueError(f"cost must be 'mse' or 'cross_entropy', got {cost!r}")
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float).ravel()
    theta1, theta2 = np.broadcast_arrays(np.asarray(theta1, dtype=float),
                                         np.asarray(theta2, dtype=float))
    # one row per weight pair, one column per sample
    z = theta1.reshape(-1, 1) * X[:, 0] + theta2.reshape(-1, 1) * X[:, 1]
    h = sigmoid(z)
    if cost == "mse":
        values = np.sum(np.square(h - y), axis=1) / X.shape[0]
    else:
        values = np.sum(-y * np.log(h) - (1.0 - y) * np.log(1.0 - h), axis=1)
    return values.reshape(theta1.shape)
