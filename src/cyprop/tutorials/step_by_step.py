"""Backpropagation step by step: a linear 2-2-1 network, one sample.

No activations and no biases::

    h = inputs @ weights_hidden        (weights_hidden[i, j]: input i -> hidden j;
    out = h @ weights_out               the tutorial's [[w1, w3], [w2, w4]])
    error = (out - actual)**2 / 2,      delta = out - actual

Correct backpropagation (``variant="prose"``, the tutorial's worked numbers)::

    weights_out    <- weights_out - lr * h * delta
    weights_hidden <- weights_hidden - lr * outer(inputs, delta * weights_out_OLD)

From inputs [2, 3], actual 1, w1..w6 = .15, .20, .10, .05, .16, .20 and
lr 0.05 this gives w5 = 0.19537, w6 = 0.213755, w1 = 0.162576,
w2 = 0.218864, w3 = 0.11572, w4 = 0.07358 (the prose truncates them to
three decimals).

**Why the tutorial's code differs** (``variant="code"``): it updates the
hidden weights with ``inputs.reshape(-1, 1) * new_weights_out.reshape(-1, 1)``,
which (a) uses the output weights *after* their update, and (b) broadcasts
them along the INPUT index ``i`` instead of the hidden index ``j``:
``weights_hidden[i, j] -= lr * delta * inputs[i] * new_weights_out[i]``.  It
only runs when there are as many hidden units as inputs, and it prints
hidden weights [[0.16535608, 0.11535608], [0.22520171, 0.07520171]] and a
new prediction 0.29414432 where correct backpropagation gives 0.28845906.
``variant="code"`` reproduces it exactly.

The "prose" variant runs on the engine's kernels (a
:class:`cyprop.Network` with identity layers, squared error and no biases,
trained online); the "code" variant has a kernel of its own.
"""

import numpy as np

from .._kernels import tutorial_kernels as _tk
from .._validate import as_count, as_float_array, as_real, check_choice
from ..network import DivergenceError, Network

__all__ = ["fwd_prop", "error", "backprop_step", "train"]


def fwd_prop(inputs, weights):
    """One linear layer: ``inputs @ weights``."""
    return np.dot(inputs, weights)


def error(prediction, actual):
    """Half the squared difference: ``(prediction - actual)**2 / 2``."""
    return (np.asarray(prediction, dtype=float) - actual) ** 2 / 2


def backprop_step(inputs, actual, weights_hidden, weights_out, learning_rate, variant="prose"):
    """One backpropagation step; returns NEW ``(weights_hidden, weights_out)``.

    See :func:`train`; the arguments are not modified.
    """
    return train(inputs, actual, weights_hidden, weights_out, learning_rate, 1, variant)


def train(inputs, actual, weights_hidden, weights_out, learning_rate, steps, variant="prose"):
    """``steps`` backpropagation steps on one sample, in one compiled call.

    Parameters
    ----------
    inputs : array_like, shape (n_in,)
    actual : float or array_like, shape (n_out,)
    weights_hidden : array_like, shape (n_in, n_hidden)
    weights_out : array_like, shape (n_hidden, n_out)
    learning_rate : float
    steps : int
    variant : {"prose", "code"}
        "prose": correct backpropagation.  "code": the tutorial's code,
        which needs n_hidden == n_in and n_out == 1 (see the module doc).

    Returns
    -------
    weights_hidden, weights_out : ndarray
        New arrays, shaped like the arguments (which are not modified).
    """
    check_choice(variant, "variant", ("prose", "code"))
    x = as_float_array(inputs, "inputs")
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"inputs must be a non-empty 1-D array, got shape {x.shape}")
    w_h = as_float_array(weights_hidden, "weights_hidden")
    w_o = as_float_array(weights_out, "weights_out")
    if w_h.ndim != 2 or w_h.shape[0] != x.size:
        raise ValueError(f"weights_hidden must have shape ({x.size}, n_hidden) for {x.size} inputs, "
                         f"got {w_h.shape}")
    out_shape = w_o.shape
    if w_o.ndim == 1:
        w_o = w_o.reshape(-1, 1)
    if w_o.ndim != 2 or w_o.shape[0] != w_h.shape[1]:
        raise ValueError(f"weights_out must have shape ({w_h.shape[1]}, n_out) for weights_hidden "
                         f"of shape {w_h.shape}, got {out_shape}")
    t = as_float_array(actual, "actual").reshape(-1)
    if t.size != w_o.shape[1]:
        raise ValueError(f"actual must hold {w_o.shape[1]} value(s), one per output; got {t.size}")
    lr = as_real(learning_rate, "learning_rate", positive=True)
    steps = as_count(steps, "steps")

    if variant == "code":
        if w_h.shape[1] != x.size or w_o.shape[1] != 1:
            raise ValueError("variant='code' broadcasts the output weights along the input index, "
                             f"so it needs n_hidden == n_in and one output; got weights_hidden "
                             f"{w_h.shape} and weights_out {out_shape}")
        new_h = w_h.copy()
        new_o = w_o[:, 0].copy()
        _tk.linear_step_code(x, float(t[0]), new_h, new_o, lr, steps)
        if not (np.isfinite(new_h).all() and np.isfinite(new_o).all()):
            raise DivergenceError("the weights became inf or NaN; try a smaller learning_rate", steps, None)
        return new_h, new_o.reshape(out_shape)

    net = Network([x.size, w_h.shape[1], w_o.shape[1]], "identity", "identity",
                  "squared_error", bias=False)
    net.weights[0] = w_h.T
    net.weights[1] = w_o.T
    net.fit(x[None, :], t[None, :], epochs=steps, learning_rate=lr, mode="online", shuffle=False)
    return net.weights[0].T.copy(), net.weights[1].T.copy().reshape(out_shape)
