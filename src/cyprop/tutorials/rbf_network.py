"""A hidden layer trained by backpropagation: one RBF unit, one logistic output.

The network maps a 1-D input ``x`` to a class probability::

    zh = x * wh          h = rbf(zh) = exp(-zh**2)       (hidden layer)
    zo = h + bo          y = logistic(zo)                 (output layer)

and is trained on the cross-entropy loss, averaged over the samples, by
full-batch gradient descent.  The output unit has no weight of its own (it is
fixed at 1), so the parameters are ``wh`` and ``bo``.  Backpropagation::

    delta_o = dL/dzo = y - t
    delta_h = dL/dzh = delta_o * dh/dzh = delta_o * (-2 zh h)
    dL/dbo = delta_o,     dL/dwh = x * delta_h

averaged over the samples.  ``train`` runs the whole loop in one compiled
call.  The tutorial's run: ``make_data()``, ``wh=2.3``, ``bo=1.4``,
``learning_rate=2.0`` and 20 iterations print "final loss is 0.52 for weights
wh=1.12 and bo=-0.44" (its prose says 50 iterations; its code ran 20).
"""

import numpy as np

from .._kernels import tutorial_kernels as _tk
from .._validate import as_count, as_float_array, as_real, broadcast_grids

__all__ = [
    "make_data", "rbf", "logistic", "hidden_activations", "output_activations", "nn",
    "nn_predict", "loss", "loss_for_param", "gradient_output", "gradient_bias_out",
    "gradient_hidden", "gradient_weight_hidden", "backprop_update", "train", "loss_surface",
]


def make_data(seed=4):
    """The tutorial's data set: 20 "blue" samples around 0, 20 "red" around +-2.

    Drawn with the legacy ``np.random.RandomState(seed)`` in this order:
    20 blue samples N(0, 0.5²) with target 1, then 10 red samples
    N(-2, 0.5²) and 10 red samples N(2, 0.5²) with target 0.

    Returns
    -------
    x, t : ndarray, shape (40, 1)
    """
    rng = np.random.RandomState(seed)
    std = 0.5
    blue = rng.randn(20, 1) * std
    red_left = rng.randn(10, 1) * std - 2
    red_right = rng.randn(10, 1) * std + 2
    x = np.vstack((blue, red_left, red_right))
    t = np.vstack((np.ones((20, 1)), np.zeros((20, 1))))
    return x, t


def rbf(zh):
    """Gaussian radial basis function ``exp(-zh**2)``, elementwise."""
    return np.exp(-np.square(zh))


def logistic(zo):
    """Logistic function ``1 / (1 + exp(-zo))``, elementwise."""
    return 1.0 / (1.0 + np.exp(-np.asarray(zo, dtype=float)))


def hidden_activations(x, wh):
    """Hidden layer output ``rbf(x * wh)``."""
    return rbf(np.multiply(x, wh))


def output_activations(h, bo):
    """Output layer ``logistic(h + bo)``: the probability of the blue class."""
    return logistic(np.add(h, bo))


def nn(x, wh, bo):
    """The whole network's output for inputs ``x`` (any shape)."""
    return output_activations(hidden_activations(x, wh), bo)


def nn_predict(x, wh, bo):
    """Predicted class, 1.0 (blue) or 0.0 (red), for inputs ``x``."""
    return np.around(nn(x, wh, bo))


def loss(y, t):
    """Mean cross-entropy ``-mean(t log y + (1 - t) log(1 - y))``."""
    y = np.asarray(y, dtype=float)
    t = np.asarray(t, dtype=float)
    return -np.mean(t * np.log(y) + (1 - t) * np.log(1 - y))


def loss_for_param(x, wh, bo, t):
    """The loss of the network with parameters ``wh``, ``bo`` on ``x``, ``t``."""
    return loss(nn(x, wh, bo), t)


def gradient_output(y, t):
    """``delta_o = dL/dzo = y - t`` per sample."""
    return np.subtract(y, t)


def gradient_bias_out(grad_output):
    """``dL/dbo`` per sample: the output delta itself (``dzo/dbo = 1``)."""
    return grad_output


def gradient_hidden(grad_output):
    """Error reaching the hidden unit's output, ``dL/dh = delta_o * dzo/dh``.

    ``dzo/dh = 1`` because the output unit's weight is fixed at 1; the RBF
    derivative ``-2 zh h`` is applied in :func:`gradient_weight_hidden`.
    """
    return grad_output


def gradient_weight_hidden(x, zh, h, grad_hidden):
    """``dL/dwh`` per sample: ``x * delta_h`` with ``delta_h = -2 zh h * dL/dh``."""
    return np.multiply(x, -2 * np.multiply(np.multiply(zh, h), grad_hidden))


def _check_data(x, t):
    x = as_float_array(x, "x")
    t = as_float_array(t, "t")
    if x.size != t.size or x.size == 0:
        raise ValueError(f"x and t must be non-empty with one target per sample; "
                         f"got x {x.shape} and t {t.shape}")
    return x.ravel(), t.ravel()


def backprop_update(x, t, wh, bo, learning_rate):
    """One gradient-descent step on the mean loss; returns the new ``(wh, bo)`` as floats."""
    wh, bo, _ = train(x, t, wh, bo, learning_rate, 1)
    return wh, bo


def train(x, t, wh, bo, learning_rate, nb_of_iterations):
    """Run ``nb_of_iterations`` backpropagation updates in one compiled call.

    Parameters
    ----------
    x, t : array_like
        Inputs and targets, any shape with one target per input (the
        tutorial's are (40, 1)).  Not modified.
    wh, bo : float
        Initial hidden weight and output bias.
    learning_rate : float
    nb_of_iterations : int
        Number of updates (at least 1).

    Returns
    -------
    wh, bo : float
        The parameters after the last update.
    params_loss : ndarray, shape (nb_of_iterations + 1, 3)
        Rows ``(wh, bo, loss)``: before the first update, then after each.
    """
    x, t = _check_data(x, t)
    wh = as_real(wh, "wh")
    bo = as_real(bo, "bo")
    eta = as_real(learning_rate, "learning_rate", positive=True)
    n_iter = as_count(nb_of_iterations, "nb_of_iterations")
    params_loss = np.empty((n_iter + 1, 3))
    wh, bo = _tk.rbf_train(x, t, wh, bo, eta, params_loss)
    return float(wh), float(bo), params_loss


def loss_surface(x, t, wh_grid, bo_grid):
    """The loss at every point of a parameter grid, in one compiled call.

    Parameters
    ----------
    x, t : array_like
        The data, as for :func:`train`.
    wh_grid, bo_grid : array_like
        Parameter values, broadcast against each other (e.g. from
        ``np.meshgrid``).

    Returns
    -------
    ndarray
        ``loss_for_param(x, wh, bo, t)`` at every grid point; the broadcast
        shape of the grids.
    """
    x, t = _check_data(x, t)
    wh, bo, out = broadcast_grids(wh_grid, bo_grid, ("wh_grid", "bo_grid"))
    _tk.rbf_loss_grid(x, t, wh, bo, out.reshape(-1))
    return out
