"""A 2-3-1 sigmoid network learning XOR by backpropagation.

Weights follow the tutorial's layout: ``theta1`` has shape
(num_in + 1, num_hid) and ``theta2`` (num_hid + 1, num_out), the LAST row of
each holding the bias weights (the bias unit is appended as the last column
of the layer's input).  Per epoch, for each sample in order::

    a1 = [x, 1]                      z2 = a1 @ theta1      a2 = [sigmoid(z2), 1]
    z3 = a2 @ theta2                 a3 = sigmoid(z3)
    delta3 = a3 - y                                  (cross-entropy output delta)
    delta2 = (theta2 @ delta3) * a2 (1 - a2), without the bias unit's entry
    grad1 += outer(a1, delta2)       grad2 += outer(a2, delta3)

then one step ``theta += -(1/m) * (alpha * grad)`` per epoch.  This is exactly
:class:`cyprop.Network` in ``mode="batch"`` with sigmoid layers and
cross-entropy loss, so :func:`train` runs on the engine's kernels: its weight
matrix ``W`` is ``theta[:-1].T`` and its bias ``theta[-1]``.
"""

import numpy as np

from .._validate import as_count, as_float_array, as_real
from ..network import Network
from ._common import constant, sigmoid

__all__ = ["init_weights", "sigmoid", "forward", "train"]

# The tutorial's demo inputs: the XOR truth table (read-only arrays), its step and epochs.
XOR_X = constant([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = constant([[0.0], [1.0], [1.0], [0.0]])
ALPHA, EPOCHS = 0.1, 10000


def init_weights(num_in=2, num_hid=3, num_out=1, seed=None):
    """Random initial weights, drawn as the tutorial draws them.

    After ``np.random.seed(seed)`` (when ``seed`` is not None; note that this
    seeds NumPy's global legacy generator, as the tutorial does): ``theta1``
    then ``theta2``, each ``0.5 * sqrt(6 / (fan_in + fan_out)) * randn``.

    Returns
    -------
    theta1 : ndarray, shape (num_in + 1, num_hid)
    theta2 : ndarray, shape (num_hid + 1, num_out)
    """
    num_in = as_count(num_in, "num_in")
    num_hid = as_count(num_hid, "num_hid")
    num_out = as_count(num_out, "num_out")
    if seed is not None:
        if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"seed must be None or an integer, got {type(seed).__name__} {seed!r}")
        if not 0 <= seed < 2**32:
            raise ValueError(f"seed must be None or an integer in [0, 2**32), got {seed!r}")
        np.random.seed(seed)
    theta1 = 0.5 * np.sqrt(6 / (num_in + num_hid)) * np.random.randn(num_in + 1, num_hid)
    theta2 = 0.5 * np.sqrt(6 / (num_hid + num_out)) * np.random.randn(num_hid + 1, num_out)
    return theta1, theta2


def _check_thetas(theta1, theta2):
    for name, theta in (("theta1", theta1), ("theta2", theta2)):
        shape = np.shape(theta)
        if len(shape) != 2 or shape[0] < 2 or shape[1] < 1:
            raise ValueError(f"{name} must be 2-D with a bias row (at least 2 rows), got shape {shape}")
    if np.shape(theta2)[0] != np.shape(theta1)[1] + 1:
        raise ValueError(f"theta2 must have num_hid + 1 = {np.shape(theta1)[1] + 1} rows for theta1 "
                         f"of shape {np.shape(theta1)}; got {np.shape(theta2)}")


def _bias_column(a):
    return np.hstack((a, np.ones((a.shape[0], 1))))


def forward(X, theta1, theta2):
    """Network output for every row of ``X``: (m, num_in) -> (m, num_out)."""
    _check_thetas(theta1, theta2)
    X = as_float_array(X, "X")
    if X.ndim != 2 or X.shape[1] != np.shape(theta1)[0] - 1:
        raise ValueError(f"X must have shape (m, {np.shape(theta1)[0] - 1}) for theta1 of shape "
                         f"{np.shape(theta1)}; got {X.shape}")
    theta1 = as_float_array(theta1, "theta1")
    theta2 = as_float_array(theta2, "theta2")
    a2 = _bias_column(sigmoid(_bias_column(X) @ theta1))
    return sigmoid(a2 @ theta2)


def train(X, y, theta1, theta2, alpha=0.1, epochs=10000):
    """Train by backpropagation, one full-batch step per epoch, in one compiled call.

    Parameters
    ----------
    X : array_like, shape (m, num_in)
    y : array_like, shape (m, num_out) (or (m,) when num_out == 1)
    theta1 : ndarray, shape (num_in + 1, num_hid), float -- updated IN PLACE
    theta2 : ndarray, shape (num_hid + 1, num_out), float -- updated IN PLACE
    alpha : float
        Learning rate.
    epochs : int
        Number of epochs (one update each).

    Returns
    -------
    theta1, theta2
        The same arrays, trained.  X and y are not modified.  If training
        diverges, :class:`cyprop.network.DivergenceError` is raised and the
        thetas are left as they were.
    """
    _check_thetas(theta1, theta2)
    for name, theta in (("theta1", theta1), ("theta2", theta2)):
        if not isinstance(theta, np.ndarray) or theta.dtype.kind != "f":
            raise TypeError(f"{name} is updated in place, so it must be a float ndarray; "
                            f"got {type(theta).__name__} of dtype {np.asarray(theta).dtype}")
        if not theta.flags.writeable:
            raise ValueError(f"{name} is updated in place, so it must be writeable")
        if not np.isfinite(theta).all():
            raise ValueError(f"{name} contains NaN or infinity")
    num_in, num_hid = theta1.shape[0] - 1, theta1.shape[1]
    num_out = theta2.shape[1]
    alpha = as_real(alpha, "alpha", positive=True)
    epochs = as_count(epochs, "epochs")
    net = Network([num_in, num_hid, num_out], "sigmoid", "sigmoid", "cross_entropy")
    for layer, theta in enumerate((theta1, theta2)):
        net.weights[layer] = theta[:-1].T
        net.biases[layer] = theta[-1]
    net.fit(X, y, epochs=epochs, learning_rate=alpha, mode="batch", shuffle=False)
    for layer, theta in enumerate((theta1, theta2)):
        theta[:-1] = net.weights[layer].T
        theta[-1] = net.biases[layer]
    return theta1, theta2
