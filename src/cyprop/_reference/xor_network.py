"""Reference for tutorial 001, last section: XOR by backpropagation.

A network with ``num_in`` inputs, one sigmoid hidden layer of ``num_hid``
units and ``num_out`` sigmoid outputs.  Bias units are a constant 1 appended
as the LAST entry of the input and of the hidden activations, so the weight
matrices carry their bias weights in their last row:

- ``theta1``, shape (num_in + 1, num_hid): input (+ bias) to hidden;
- ``theta2``, shape (num_hid + 1, num_out): hidden (+ bias) to output.

Training is full-batch gradient descent: per epoch, the per-sample gradients
(output delta ``a3 - y``, the cross-entropy delta of sigmoid outputs) are
summed over the samples and the weights move by ``-(1/m) * alpha * sum``.
"""

import numpy as np

from ._common import sigmoid

__all__ = ["init_weights", "sigmoid", "forward", "train"]


def init_weights(num_in=2, num_hid=3, num_out=1, seed=None):
    """Random starting weights, scaled as in the tutorial.

    Parameters
    ----------
    num_in, num_hid, num_out : int, optional
        Layer sizes (without bias units).
    seed : int or None, optional
        If given, ``np.random.seed(seed)`` is called first (the legacy global
        generator, as the tutorial uses it).

    Returns
    -------
    theta1 : ndarray, shape (num_in + 1, num_hid)
        ``0.5 * sqrt(6 / (num_in + num_hid))`` times standard normal draws.
    theta2 : ndarray, shape (num_hid + 1, num_out)
        ``0.5 * sqrt(6 / (num_hid + num_out))`` times standard normal draws,
        drawn after ``theta1``.
    """
    if seed is not None:
        np.random.seed(seed)
    theta1 = 0.5 * np.sqrt(6 / (num_in + num_hid)) * np.random.randn(num_in + 1, num_hid)
    theta2 = 0.5 * np.sqrt(6 / (num_hid + num_out)) * np.random.randn(num_hid + 1, num_out)
    return theta1, theta2


def _with_bias(a):
    """Append a column of ones (the bias unit) to a 2-D array of activations."""
    return np.hstack((a, np.ones((a.shape[0], 1))))


def _forward_layers(X, theta1, theta2):
    """Forward pass keeping the biased activations of every layer."""
    a1 = _with_bias(np.asarray(X, dtype=float))
    a2 = _with_bias(sigmoid(a1 @ theta1))
    a3 = sigmoid(a2 @ theta2)
    return a1, a2, a3


def forward(X, theta1, theta2):
    """Network output for every row of ``X``.

    Returns
    -------
    ndarray, shape (m, num_out)
    """
    return _forward_layers(X, theta1, theta2)[2]


def train(X, y, theta1, theta2, alpha=0.1, epochs=10000):
    """Train by full-batch backpropagation; ``theta1`` and ``theta2`` change IN PLACE.

    Per epoch, for every sample: forward pass; output delta
    ``delta3 = a3 - y``; hidden delta ``delta2 = (theta2 @ delta3) * a2 (1 - a2)``
    with the bias unit's entry dropped (no error flows into a constant);
    gradients ``outer(a1, delta2)`` and ``outer(a2, delta3)`` summed over the
    samples.  Then ``theta += -(1/m) * (alpha * summed_gradient)``.

    The samples of an epoch all see the same weights, so this loop handles
    them together: the sum of the outer products is one matrix product.

    Parameters
    ----------
    X : array_like, shape (m, num_in)
    y : array_like, shape (m, num_out)
    theta1 : ndarray, shape (num_in + 1, num_hid), float64, modified in place
    theta2 : ndarray, shape (num_hid + 1, num_out), float64, modified in place
    alpha : float, optional
        Learning rate.
    epochs : int, optional
        Number of updates.

    Returns
    -------
    theta1, theta2 : ndarray
        The same arrays that were passed in, trained.
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float).reshape(X.shape[0], -1)
    m = X.shape[0]
    num_hid = theta1.shape[1]
    for _ in range(epochs):
        a1, a2, a3 = _forward_layers(X, theta1, theta2)
        delta3 = a3 - y                                      # (m, num_out)
        delta2 = (delta3 @ theta2.T) * (a2 * (1.0 - a2))     # (m, num_hid + 1)
        delta2 = delta2[:, :num_hid]                         # drop the bias unit
        theta1_grad = a1.T @ delta2                          # sum of outer(a1, delta2)
        theta2_grad = a2.T @ delta3                          # sum of outer(a2, delta3)
        theta1 += -(1 / m) * (alpha * theta1_grad)
        theta2 += -(1 / m) * (alpha * theta2_grad)
    return theta1, theta2
