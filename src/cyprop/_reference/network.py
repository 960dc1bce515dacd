"""Reference for :class:`cyprop.Network`: a fully-connected network in NumPy.

A network is described by two lists with one entry per layer ``l``:

- ``weights[l]``, shape (n_out, n_in): layer l computes
  ``z = a_prev @ weights[l].T + biases[l]`` and ``a = act(z)``;
- ``biases[l]``, shape (n_out,).

Every hidden layer uses ``hidden_activation`` and the last layer uses
``output_activation``.  Samples are rows: ``X`` has shape (n_samples, n_in)
and every ``z`` and ``a`` has shape (n_samples, n_units).

Activations
    ``identity``, ``sigmoid``, ``tanh``, ``relu``, ``leaky_relu`` (slope
    0.01 for z <= 0), ``rbf`` (``exp(-z**2)``) and ``softmax`` (output
    layer only, with the cross-entropy loss).
Losses (per sample; every reported loss is the MEAN over samples)
    ``squared_error``: ``1/2 sum_k (a_k - t_k)**2``.
    ``cross_entropy``: with sigmoid outputs, the binary cross-entropy of every
    output unit, ``sum_k -[t_k log a_k + (1 - t_k) log(1 - a_k)]``; with
    softmax outputs, ``-sum_k t_k log a_k``.  Either way the output delta
    (dL/dz) is ``a - t``.  Both are evaluated from ``z`` in a numerically
    stable form that is algebraically the same.

Training (:func:`fit`) follows the rules of :meth:`cyprop.Network.fit`
exactly (sample order, update order and formulas) so that the two can be
compared to round-off after a few epochs.
"""

import numpy as np

from .._options import LOSSES, MODES, OUTPUT_ACTIVATIONS

__all__ = [
    "ACTIVATIONS",
    "LEAKY_SLOPE",
    "activate",
    "activation_derivative",
    "one_hot",
    "targets",
    "forward",
    "sample_losses",
    "loss",
    "gradients",
    "sample_gradients",
    "fit",
]

LEAKY_SLOPE = 0.01
"""Slope of ``leaky_relu`` for z <= 0."""

ACTIVATIONS = OUTPUT_ACTIVATIONS


# ---------------------------------------------------------------------------
# activations


def activate(name, z):
    """Apply the activation ``name`` to the pre-activations ``z`` (rows = samples)."""
    if name == "identity":
        return z.copy()
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.where(z > 0, z, 0.0)
    if name == "leaky_relu":
        return np.where(z > 0, z, LEAKY_SLOPE * z)
    if name == "rbf":
        return np.exp(-z * z)
    if name == "softmax":
        shifted = np.exp(z - np.max(z, axis=-1, keepdims=True))
        return shifted / np.sum(shifted, axis=-1, keepdims=True)
    raise ValueError(f"unknown activation {name!r}")


def activation_derivative(name, z, a):
    """Elementwise derivative da/dz of activation ``name`` (not for softmax).

    ``a`` is ``activate(name, z)``; some derivatives are cheaper written with it.
    """
    if name == "identity":
        return np.ones_like(z)
    if name == "sigmoid":
        return a * (1.0 - a)
    if name == "tanh":
        return 1.0 - a * a
    if name == "relu":
        return np.where(z > 0, 1.0, 0.0)
    if name == "leaky_relu":
        return np.where(z > 0, 1.0, LEAKY_SLOPE)
    if name == "rbf":
        return -2.0 * z * a
    if name == "softmax":
        raise ValueError("softmax has no elementwise derivative; pair it with cross_entropy")
    raise ValueError(f"unknown activation {name!r}")


# ---------------------------------------------------------------------------
# targets


def one_hot(labels, n_classes):
    """Rows of the identity matrix: ``one_hot([2, 0], 3) == [[0, 0, 1], [1, 0, 0]]``."""
    labels = np.asarray(labels)
    out = np.zeros((labels.shape[0], n_classes))
    out[np.arange(labels.shape[0]), labels] = 1.0
    return out


def targets(Y, n_out):
    """Targets as a float64 (n_samples, n_out) array.

    A 1-D ``Y`` holds integer class labels (the softmax case) and is one-hot
    encoded; a 2-D ``Y`` is used as it is.
    """
    Y = np.asarray(Y)
    if Y.ndim == 1:
        return one_hot(Y.astype(np.intp), n_out)
    return Y.astype(float)


# ---------------------------------------------------------------------------
# forward pass and loss


def _layer_activation(l, n_layers, hidden_activation, output_activation):
    return output_activation if l == n_layers - 1 else hidden_activation


def forward(weights, biases, X, hidden_activation="sigmoid", output_activation="sigmoid"):
    """Forward pass of every row of ``X``.

    Returns
    -------
    list of (z, a)
        One pair per layer: pre-activations and activations, each of shape
        (n_samples, n_units).  The network output is ``forward(...)[-1][1]``.
    """
    a = np.asarray(X, dtype=float)
    layers = []
    for l, (W, b) in enumerate(zip(weights, biases)):
        z = a @ np.asarray(W).T + b
        a = activate(_layer_activation(l, len(weights), hidden_activation,
                                       output_activation), z)
        layers.append((z, a))
    return layers


def _softplus(z):
    """``log(1 + exp(z))`` without overflow."""
    return np.logaddexp(0.0, z)


def sample_losses(z, a, T, output_activation, loss="squared_error"):
    """Loss of every sample, from the output layer's ``z`` and ``a``.

    Parameters
    ----------
    z, a : ndarray, shape (n_samples, n_out)
        Output pre-activations and activations.
    T : ndarray, shape (n_samples, n_out)
        Targets (one-hot rows for softmax).
    output_activation, loss : str

    Returns
    -------
    ndarray, shape (n_samples,)
    """
    if loss == "squared_error":
        return 0.5 * np.sum(np.square(a - T), axis=1)
    if loss != "cross_entropy":
        raise ValueError(f"unknown loss {loss!r}")
    if output_activation == "softmax":
        # -sum_k t_k log softmax(z)_k, with log softmax(z) = z - logsumexp(z)
        zmax = np.max(z, axis=1, keepdims=True)
        log_sum = zmax + np.log(np.sum(np.exp(z - zmax), axis=1, keepdims=True))
        return np.sum(T * (log_sum - z), axis=1)
    if output_activation == "sigmoid":
        # -[t log a + (1-t) log(1-a)] with a = sigmoid(z) equals softplus(z) - t z
        return np.sum(_softplus(z) - T * z, axis=1)
    raise ValueError("cross_entropy needs sigmoid or softmax outputs")


def loss(weights, biases, X, Y, hidden_activation="sigmoid", output_activation="sigmoid",
         loss="squared_error"):
    """Mean loss of the network over the rows of ``X`` and ``Y``."""
    z, a = forward(weights, biases, X, hidden_activation, output_activation)[-1]
    T = targets(Y, a.shape[1])
    return float(np.mean(sample_losses(z, a, T, output_activation, loss)))


# ---------------------------------------------------------------------------
# backward pass


def _output_delta(z, a, T, output_activation, loss):
    """dL/dz at the output layer for every sample."""
    if loss == "cross_entropy":
        return a - T
    return (a - T) * activation_derivative(output_activation, z, a)


def sample_gradients(weights, biases, X, T, hidden_activation, output_activation, loss,
                     sample_weight=None):
    """Gradients of the SUMMED loss over the rows of ``X`` and targets ``T``.

    With ``sample_weight`` (n_samples,), of the weighted sum
    ``sum_s w_s loss_s`` (each sample's output delta times its weight).

    Returns
    -------
    grads : list of (dW, db)
        Per layer, shapes like ``weights[l]`` and ``biases[l]``.
    losses : ndarray, shape (n_samples,)
        Each sample's loss (from the same forward pass).
    """
    X = np.asarray(X, dtype=float)
    layers = forward(weights, biases, X, hidden_activation, output_activation)
    z, a = layers[-1]
    losses = sample_losses(z, a, T, output_activation, loss)
    delta = _output_delta(z, a, T, output_activation, loss)
    if sample_weight is not None:
        delta = delta * np.asarray(sample_weight, dtype=float)[:, None]
    grads = []
    for l in range(len(weights) - 1, -1, -1):
        a_prev = X if l == 0 else layers[l - 1][1]
        grads.append((delta.T @ a_prev, np.sum(delta, axis=0)))
        if l > 0:
            z_prev, a_prev_act = layers[l - 1]
            delta = (delta @ np.asarray(weights[l])) * activation_derivative(
                hidden_activation, z_prev, a_prev_act)
    grads.reverse()
    return grads, losses


def gradients(weights, biases, X, Y, hidden_activation="sigmoid", output_activation="sigmoid",
              loss="squared_error"):
    """Gradient of the MEAN loss over the rows of ``X`` and ``Y``.

    ``Y`` is (n_samples, n_out), or 1-D integer labels with softmax outputs.

    Returns
    -------
    list of (dW, db)
        One pair per layer, shaped like ``weights[l]`` and ``biases[l]``.
    """
    n = np.shape(X)[0]
    T = targets(Y, np.shape(weights[-1])[0])
    grads, _ = sample_gradients(weights, biases, X, T, hidden_activation,
                                output_activation, loss)
    return [(dW / n, db / n) for dW, db in grads]


# ---------------------------------------------------------------------------
# training


def sample_orders(n_samples, epochs, shuffle=True, seed=None):
    """The order in which :func:`fit` visits the samples, one array per epoch.

    ``rng = np.random.default_rng(seed)``; every epoch takes
    ``rng.permutation(n_samples)`` when shuffling, else ``arange(n_samples)``.
    """
    rng = np.random.default_rng(seed)
    return [rng.permutation(n_samples) if shuffle else np.arange(n_samples)
            for _ in range(epochs)]


def fit(weights, biases, X, Y, hidden_activation="sigmoid", output_activation="sigmoid",
        loss="squared_error", epochs=1, learning_rate=0.1, mode="online", batch_size=None,
        momentum=0.0, shuffle=True, seed=None, bias=True):
    """Train by gradient descent, as :meth:`cyprop.Network.fit` does.

    Parameters
    ----------
    weights, biases : list of array_like
        Starting parameters (copied; the arguments are not modified).
    X : array_like, shape (n_samples, n_in)
    Y : array_like, shape (n_samples, n_out), or 1-D integer labels
    hidden_activation, output_activation, loss : str
    epochs : int
    learning_rate : float
        ``eta``.
    mode : {"online", "batch", "minibatch"}
        ``online``: update after every sample with that sample's gradient.
        ``batch``: one update per epoch.  ``minibatch``: one update per
        ``batch_size`` consecutive samples of the epoch's order (the last
        batch may be smaller).  Batched updates use the SUM ``G`` of the
        batch's per-sample gradients: ``w += -(1/bs) * (eta * G)``.
    batch_size : int or None
        Samples per update in ``minibatch`` mode.
    momentum : float
        ``mu``.  Online: ``v = mu*v - eta*g``; batched:
        ``v = mu*v - (1/bs) * (eta*G)``; then ``w += v``.  The velocity starts
        at zero.
    shuffle : bool
        Visit the samples in a fresh random order every epoch.
    seed : int or None
        Seed of ``np.random.default_rng`` for the sample orders.
    bias : bool
        If False the biases are never updated (they stay as given).

    Returns
    -------
    weights, biases : list of ndarray
        The trained parameters (new arrays).
    epoch_losses : list of float
        Per epoch, the mean over its samples of each sample's loss as computed
        in that sample's forward pass (so before its own update in online
        mode, and with the batch's starting weights otherwise).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    W = [np.array(w, dtype=float) for w in weights]
    B = [np.array(b, dtype=float) for b in biases]
    X = np.asarray(X, dtype=float)
    T = targets(Y, W[-1].shape[0])
    n = X.shape[0]
    if mode == "online":
        batch = 1
    elif mode == "batch":
        batch = n
    else:
        batch = int(batch_size)
    vW = [np.zeros_like(w) for w in W]
    vB = [np.zeros_like(b) for b in B]
    epoch_losses = []
    for order in sample_orders(n, epochs, shuffle, seed):
        total = 0.0
        for start in range(0, n, batch):
            idx = order[start:start + batch]
            grads, losses = sample_gradients(W, B, X[idx], T[idx], hidden_activation,
                                             output_activation, loss)
            total += float(np.sum(losses))
            scale = 1.0 / len(idx)
            for l, (dW, db) in enumerate(grads):
                if mode == "online":
                    step_w, step_b = learning_rate * dW, learning_rate * db
                else:
                    step_w, step_b = scale * (learning_rate * dW), scale * (learning_rate * db)
                if momentum != 0.0:
                    vW[l] = momentum * vW[l] - step_w
                    W[l] += vW[l]
                    if bias:
                        vB[l] = momentum * vB[l] - step_b
                        B[l] += vB[l]
                else:
                    W[l] -= step_w
                    if bias:
                        B[l] -= step_b
        epoch_losses.append(total / n)
    return W, B, epoch_losses
