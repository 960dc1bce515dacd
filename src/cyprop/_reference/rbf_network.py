"""Reference for tutorial 000: a hidden layer trained by backpropagation.

The model has one input ``x``, one hidden unit with a Gaussian radial basis
function (RBF) activation and one logistic output unit whose only parameter is
a bias (its input weight is fixed at 1)::

    zh = x * wh              hidden pre-activation
    h  = exp(-zh**2)         hidden activation (RBF)
    y  = 1 / (1 + exp(-(h + bo)))   output (logistic)

It is trained on the mean binary cross-entropy by full-batch gradient descent
on the two parameters ``wh`` and ``bo``.  The data are one-dimensional: a
"blue" class (target 1) around 0, surrounded by a "red" class (target 0) with
two modes at -2 and +2, so no single threshold separates them.

All functions take and return float64 NumPy arrays (or Python floats for the
two parameters).
"""

import numpy as np

from ._common import sigmoid as logistic

__all__ = [
    "make_data",
    "rbf",
    "logistic",
    "hidden_activations",
    "output_activations",
    "nn",
    "nn_predict",
    "loss",
    "loss_for_param",
    "gradient_output",
    "gradient_bias_out",
    "gradient_hidden",
    "gradient_weight_hidden",
    "backprop_update",
    "train",
    "loss_surface",
]


def make_data(seed=4):
    """Draw the tutorial's 40 one-dimensional samples.

    Parameters
    ----------
    seed : int, optional
        Seed of a legacy :class:`numpy.random.RandomState`.  The default, 4,
        gives the data set whose training run the tutorial prints.

    Returns
    -------
    x : ndarray, shape (40, 1)
        Inputs: 20 blue samples (normal, mean 0, standard deviation 0.5),
        then 10 red samples around -2, then 10 red samples around +2.
    t : ndarray, shape (40, 1)
        Targets: 1 for the blue samples, 0 for the red ones.
    """
    rng = np.random.RandomState(seed)
    std = 0.5
    # The draw order fixes the data: blue first, then left red, then right red.
    blue = rng.randn(20, 1) * std + 0.0
    red_left = rng.randn(10, 1) * std - 2.0
    red_right = rng.randn(10, 1) * std + 2.0
    x = np.vstack((blue, red_left, red_right))
    t = np.vstack((np.ones((20, 1)), np.zeros((20, 1))))
    return x, t


def rbf(zh):
    """Gaussian radial basis function ``exp(-zh**2)``.

    Its derivative is ``-2 * zh * rbf(zh)``.
    """
    return np.exp(-np.square(zh))


def hidden_activations(x, wh):
    """Activation of the hidden RBF unit for inputs ``x`` and weight ``wh``."""
    return rbf(x * wh)


def output_activations(h, bo):
    """Logistic output for hidden activations ``h`` and output bias ``bo``."""
    return logistic(h + bo)


def nn(x, wh, bo):
    """The whole network: probability of the blue class for every input."""
    return output_activations(hidden_activations(x, wh), bo)


def nn_predict(x, wh, bo):
    """Predicted class (0. or 1.): the network's output rounded to the nearest integer."""
    return np.around(nn(x, wh, bo))


def loss(y, t):
    """Mean binary cross-entropy of outputs ``y`` against targets ``t``.

    Parameters
    ----------
    y : array_like
        Network outputs, strictly between 0 and 1.
    t : array_like
        Targets (0 or 1), same shape as ``y``.

    Returns
    -------
    float
        ``-mean(t * log(y) + (1 - t) * log(1 - y))``.
    """
    y = np.asarray(y, dtype=float)
    t = np.asarray(t, dtype=float)
    return float(-np.mean(t * np.log(y) + (1.0 - t) * np.log(1.0 - y)))


def loss_for_param(x, wh, bo, t):
    """Mean cross-entropy of the network with parameters ``wh`` and ``bo``."""
    return loss(nn(x, wh, bo), t)


def gradient_output(y, t):
    """Error at the output unit's input, dL_i/dzo_i = y_i - t_i, per sample."""
    return y - t


def gradient_bias_out(grad_output):
    """Gradient of each sample's loss with respect to the output bias.

    Since ``zo = h + bo``, dzo/dbo = 1 and this is the output error itself.
    """
    return grad_output


def gradient_hidden(grad_output):
    """Error propagated to the hidden activation, dL_i/dh_i, per sample.

    The output unit's input weight is fixed at 1, so dzo/dh = 1 and the error
    passes through unchanged.  (The RBF's derivative is applied in
    :func:`gradient_weight_hidden`.)
    """
    return grad_output


def gradient_weight_hidden(x, zh, h, grad_hidden):
    """Gradient of each sample's loss with respect to the hidden weight.

    Chain rule: dL/dwh = dL/dh * dh/dzh * dzh/dwh = grad_hidden * (-2 zh h) * x.
    """
    return x * -2 * zh * h * grad_hidden


def backprop_update(x, t, wh, bo, learning_rate):
    """One full-batch gradient-descent step on ``wh`` and ``bo``.

    Every sample proposes its own updated parameter (the parameter minus the
    learning rate times that sample's gradient); the new parameter is the mean
    of the proposals, which equals a step along the mean gradient.

    Returns
    -------
    wh, bo : float
        The updated parameters.
    """
    # forward pass, keeping the intermediate values the gradients need
    zh = x * wh
    h = rbf(zh)
    y = output_activations(h, bo)
    # backward pass
    grad_output = gradient_output(y, t)
    d_bo = learning_rate * gradient_bias_out(grad_output)
    grad_hidden = gradient_hidden(grad_output)
    d_wh = learning_rate * gradient_weight_hidden(x, zh, h, grad_hidden)
    return float(np.mean(wh - d_wh)), float(np.mean(bo - d_bo))


def train(x, t, wh, bo, learning_rate, nb_of_iterations):
    """Run ``nb_of_iterations`` steps of :func:`backprop_update`.

    Returns
    -------
    wh, bo : float
        The final parameters.
    params_loss : ndarray, shape (nb_of_iterations + 1, 3)
        Rows ``(wh, bo, loss)``: the starting point, then the point after
        every update (the path the tutorial draws on the loss surface).
    """
    wh = float(wh)
    bo = float(bo)
    rows = [(wh, bo, loss_for_param(x, wh, bo, t))]
    for _ in range(nb_of_iterations):
        wh, bo = backprop_update(x, t, wh, bo, learning_rate)
        rows.append((wh, bo, loss_for_param(x, wh, bo, t)))
    return wh, bo, np.array(rows, dtype=float)


def loss_surface(x, t, wh_grid, bo_grid):
    """Mean cross-entropy at every point of a parameter grid.

    Parameters
    ----------
    x, t : array_like
        Inputs and targets (any shape, flattened; same number of elements).
    wh_grid, bo_grid : array_like
        Values of ``wh`` and ``bo``; broadcast against each other.

    Returns
    -------
    ndarray
        The loss at ``(wh_grid[p], bo_grid[p])`` for every point ``p``, with
        the broadcast shape of the two grids.
    """
    x = np.asarray(x, dtype=float).ravel()
    t = np.asarray(t, dtype=float).ravel()
    wh_grid, bo_grid = np.broadcast_arrays(np.asarray(wh_grid, dtype=float),
                                           np.asarray(bo_grid, dtype=float))
    # one row per grid point, one column per sample
    wh_col = wh_grid.reshape(-1, 1)
    bo_col = bo_grid.reshape(-1, 1)
    y = nn(x[np.newaxis, :], wh_col, bo_col)
    losses = -np.mean(t * np.log(y) + (1.0 - t) * np.log(1.0 - y), axis=1)
    return losses.reshape(wh_grid.shape)
