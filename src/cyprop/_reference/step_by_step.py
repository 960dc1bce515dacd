"""Reference for tutorial 002: backpropagation step by step.

A linear network without activations or biases, trained on one sample::

    h = inputs @ weights_hidden          (n_hid,)
    prediction = h @ weights_out         (n_out,)
    error = (prediction - actual)**2 / 2

With the tutorial's 2-2-1 network, ``weights_hidden = [[w1, w3], [w2, w4]]``
(row i holds the weights leaving input i) and ``weights_out = [[w5], [w6]]``.

Two update rules are offered:

``variant="prose"``
    Correct backpropagation, as the tutorial's text derives it: with
    ``delta = prediction - actual``, ``w_out -= lr * outer(h, delta)`` and
    ``w_hidden[i, j] -= lr * inputs[i] * (w_out_OLD @ delta)[j]``: every
    gradient uses the weights from before the step.
``variant="code"``
    What the tutorial's code computes: the output weights are updated first
    and the hidden update then reads the NEW output weights, indexed by the
    input ``i`` rather than the hidden unit ``j``:
    ``w_hidden[i, j] -= lr * delta * inputs[i] * w_out_NEW[i]``.  This only
    makes sense with as many hidden units as inputs and a single output.
"""

import numpy as np

__all__ = ["fwd_prop", "error", "backprop_step", "train"]


def fwd_prop(inputs, weights):
    """One linear layer: ``inputs @ weights``."""
    return np.asarray(inputs, dtype=float) @ np.asarray(weights, dtype=float)


def error(prediction, actual):
    """Half squared error ``(prediction - actual)**2 / 2`` (elementwise)."""
    return (np.asarray(prediction, dtype=float) - actual) ** 2 / 2


def backprop_step(inputs, actual, weights_hidden, weights_out, learning_rate,
                  variant="prose"):
    """One gradient-descent step on the single sample ``(inputs, actual)``.

    Parameters
    ----------
    inputs : array_like, shape (n_in,)
    actual : float or array_like, shape (n_out,)
        Target output.
    weights_hidden : array_like, shape (n_in, n_hid)
    weights_out : array_like, shape (n_hid, n_out)
    learning_rate : float
    variant : {"prose", "code"}, optional
        Which update rule (see the module docstring).

    Returns
    -------
    weights_hidden, weights_out : ndarray
        New arrays; the arguments are not modified.
    """
    if variant not in ("prose", "code"):
        raise ValueError(f"variant must be 'prose' or 'code', got {variant!r}")
    inputs = np.asarray(inputs, dtype=float)
    w_hidden = np.asarray(weights_hidden, dtype=float)
    w_out = np.asarray(weights_out, dtype=float)
    # forward pass
    h = fwd_prop(inputs, w_hidden)
    prediction = fwd_prop(h, w_out)
    delta = prediction - np.asarray(actual, dtype=float)   # dE/dprediction, (n_out,)
    # backward pass
    new_out = w_out - learning_rate * np.outer(h, delta)
    if variant == "prose":
        back = w_out @ delta                                # dE/dh with the OLD w_out
        new_hidden = w_hidden - learning_rate * np.outer(inputs, back)
    else:
        n_in = inputs.shape[0]
        if w_hidden.shape != (n_in, n_in) or new_out.shape != (n_in, 1):
            raise ValueError(
                "variant='code' needs as many hidden units as inputs and one output")
        # the code broadcasts the new output weights along the input index
        new_hidden = w_hidden - learning_rate * delta[0] * inputs[:, None] * new_out
    return new_hidden, new_out


def train(inputs, actual, weights_hidden, weights_out, learning_rate, steps,
          variant="prose"):
    """Repeat :func:`backprop_step` ``steps`` times; returns the new weights."""
    w_hidden = np.array(weights_hidden, dtype=float)
    w_out = np.array(weights_out, dtype=float)
    for _ in range(steps):
        w_hidden, w_out = backprop_step(inputs, actual, w_hidden, w_out, learning_rate,
                                        variant)
    return w_hidden, w_out
