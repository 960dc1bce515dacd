"""Reference optimizers, L2 penalty, learning-rate schedules and stopping rules.

Plain NumPy in float64, one function per rule, written from the papers and
from scikit-learn's documented behaviour (not from its code).  Parameters are
passed as lists of arrays (any shapes); every step function returns new arrays
and leaves its arguments alone.

Conventions
-----------
Gradient ``g``
    The gradient of the MEAN loss over the ``n`` samples of one update
    (``n = 1`` online, the batch size otherwise), L2 term included.
L2 penalty (scikit-learn's ``alpha``)
    For a batch of ``n`` samples the loss gains ``alpha / (2 n) * sum_l ||W_l||^2``
    over the weight matrices only (biases are not penalised), and each
    weight's gradient gains ``alpha * W / n``.  Over one epoch of batches this
    adds ``alpha/2 * ||W||^2`` once per ``n`` samples, as scikit-learn does.
SGD (:func:`sgd_step`)
    scikit-learn's form: ``v = mu * v - eta * g``; plain momentum then does
    ``w += v``, Nesterov momentum ``w += mu * v - eta * g`` (with the new
    ``v``).  ``mu = 0`` is plain SGD.  PyTorch's ``torch.optim.SGD`` keeps
    ``b = mu * b + g`` and steps ``w -= eta * b`` (Nesterov:
    ``w -= eta * (g + mu * b)``); with a constant ``eta`` the two are the same
    rule (``v = -eta * b``), with a changing ``eta`` they differ: PyTorch
    rescales the whole velocity by the current ``eta``, scikit-learn only the
    newest gradient.
Adam (:func:`adam_step`)
    Kingma & Ba (2015), Algorithm 1 with the efficient ordering of their
    section 2, as scikit-learn does it: ``t += 1``,
    ``m = b1 m + (1-b1) g``, ``v = b2 v + (1-b2) g^2``,
    ``eta_t = eta * sqrt(1 - b2^t) / (1 - b1^t)``,
    ``w -= eta_t * m / (sqrt(v) + eps)``.  PyTorch's ``torch.optim.Adam``
    adds ``eps`` to the bias-corrected ``sqrt(v / (1 - b2^t))`` instead, so
    the two differ by ``eps`` scaled by ``sqrt(1 - b2^t)``: equal when
    ``eps = 0``, close when ``eps`` is small against ``sqrt(v)``.  PyTorch's
    ``weight_decay`` adds ``wd * w`` to the gradient of every parameter
    (biases too unless put in their own group); here the L2 term covers
    weights only.
iRprop- (:func:`rprop_step`)
    Igel & Huesken (2000), FANN's default training algorithm: per parameter a
    step size ``delta`` (start 0.1); if ``g * g_prev > 0`` then
    ``delta = min(delta * 1.2, delta_max)``; if ``g * g_prev < 0`` then
    ``delta = max(delta * 0.5, delta_min)`` and ``g`` is taken as 0 (no move,
    and the next step does not compare against it); ``w -= sign(g) * delta``.
    FANN's defaults: ``increase 1.2``, ``decrease 0.5``, ``delta_min 0``,
    ``delta_max 50``, ``delta_zero 0.1``.  Batch mode only (full gradient).
Learning-rate schedules (:func:`schedule_rate`, :func:`adaptive_rate`)
    ``constant``: ``eta_0``.  ``invscaling``: ``eta_0 / (t + 1)^power_t``,
    where ``t`` counts the training SAMPLES seen before the current epoch
    (scikit-learn's ``t_``): updated once per epoch, epoch 0 runs at
    ``eta_0``.  ``adaptive``: ``eta_0`` until the stopping rule fires, then
    divided by 5 instead of stopping (training stops once ``eta <= 1e-6``).
Stopping (:func:`no_improvement`)
    After every epoch, on the training loss (lower is better) or, with a
    validation split, on the validation score (higher is better): an epoch
    counts as "no improvement" when it does not beat the best so far by
    ``tol``; the rule fires when more than ``n_iter_no_change`` such epochs
    run in a row.
"""

import numpy as np

from .network import sample_gradients, sample_orders, targets

__all__ = [
    "FANN_RPROP",
    "l2_penalty",
    "l2_gradient",
    "sgd_step",
    "adam_step",
    "rprop_step",
    "schedule_rate",
    "adaptive_rate",
    "no_improvement",
    "fit",
]

FANN_RPROP = {"increase": 1.2, "decrease": 0.5, "delta_min": 0.0, "delta_max": 50.0,
              "delta_zero": 0.1}
"""FANN's default iRprop- constants."""


# ---------------------------------------------------------------------------
# L2 penalty


def l2_penalty(weights, alpha, n_samples):
    """``alpha / (2 n) * sum_l ||W_l||^2`` (weights only, no biases)."""
    return 0.5 * alpha * sum(float(np.sum(np.square(W))) for W in weights) / n_samples


def l2_gradient(weights, alpha, n_samples):
    """``alpha * W_l / n`` for every weight matrix: the gradient of :func:`l2_penalty`."""
    return [alpha * np.asarray(W, dtype=float) / n_samples for W in weights]


# ---------------------------------------------------------------------------
# update rules


def sgd_step(params, grads, velocity, eta, momentum=0.0, nesterov=False):
    """One SGD step (scikit-learn's convention).

    Returns
    -------
    params, velocity : list of ndarray
    """
    velocity = [momentum * v - eta * g for v, g in zip(velocity, grads)]
    if nesterov:
        params = [p + (momentum * v - eta * g) for p, v, g in zip(params, velocity, grads)]
    else:
        params = [p + v for p, v in zip(params, velocity)]
    return params, velocity


def adam_step(params, grads, m, v, t, eta, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
    """One Adam step; ``t`` is the number of steps taken before this one.

    Returns
    -------
    params, m, v : list of ndarray
    t : int
        ``t + 1``.
    """
    t = t + 1
    m = [beta_1 * mi + (1.0 - beta_1) * g for mi, g in zip(m, grads)]
    v = [beta_2 * vi + (1.0 - beta_2) * g * g for vi, g in zip(v, grads)]
    eta_t = eta * np.sqrt(1.0 - beta_2 ** t) / (1.0 - beta_1 ** t)
    params = [p - eta_t * mi / (np.sqrt(vi) + epsilon) for p, mi, vi in zip(params, m, v)]
    return params, m, v, t


def rprop_step(params, grads, prev_grads, deltas, increase=1.2, decrease=0.5, delta_min=0.0,
               delta_max=50.0):
    """One iRprop- step on the full-batch gradient.

    ``prev_grads`` starts at zeros and ``deltas`` at ``delta_zero`` (0.1).

    Returns
    -------
    params, prev_grads, deltas : list of ndarray
        ``prev_grads`` is the gradient to compare against next time (0 where
        the sign flipped).
    """
    new_p, new_g, new_d = [], [], []
    for p, g, gp, d in zip(params, grads, prev_grads, deltas):
        g = np.array(g, dtype=float)
        s = np.sign(g) * np.sign(gp)   # (the product g * gp could underflow to 0)
        d = np.where(s > 0, np.minimum(d * increase, delta_max),
                     np.where(s < 0, np.maximum(d * decrease, delta_min), d))
        g = np.where(s < 0, 0.0, g)
        new_p.append(p - np.sign(g) * d)
        new_g.append(g)
        new_d.append(d)
    return new_p, new_g, new_d


# ---------------------------------------------------------------------------
# schedules and stopping


def schedule_rate(schedule, eta_0, t, power_t=0.5):
    """Learning rate of an epoch that starts after ``t`` training samples.

    ``constant`` and ``adaptive`` give ``eta_0`` (see :func:`adaptive_rate`
    for the adaptive decrease); ``invscaling`` gives ``eta_0 / (t + 1)^power_t``.
    """
    if schedule in ("constant", "adaptive"):
        return float(eta_0)
    if schedule == "invscaling":
        return float(eta_0) / (t + 1.0) ** power_t
    raise ValueError(f"unknown schedule {schedule!r}")


def adaptive_rate(eta):
    """The adaptive schedule's response to a fired stopping rule.

    Returns
    -------
    eta : float
        ``eta / 5``.
    stop : bool
        True when ``eta`` was already ``<= 1e-6`` (then training stops).
    """
    if eta <= 1e-6:
        return eta, True
    return eta / 5.0, False


def no_improvement(count, best, value, tol, higher_is_better=False):
    """Update the no-improvement counter with an epoch's ``value``.

    Returns
    -------
    count : int
        ``count + 1`` if ``value`` does not beat ``best`` by ``tol``, else 0.
    best : float
        The better of ``best`` and ``value``.
    improved : bool
        True when ``value`` is a new best (the weights to keep for early
        stopping).
    """
    if higher_is_better:
        count = count + 1 if value < best + tol else 0
        improved = value > best
    else:
        count = count + 1 if value > best - tol else 0
        improved = value < best
    return count, (value if improved else best), improved


# ---------------------------------------------------------------------------
# training loop


def fit(weights, biases, X, Y, hidden_activation="sigmoid", output_activation="sigmoid",
        loss="squared_error", epochs=1, learning_rate=0.1, mode="online", batch_size=None,
        optimizer="sgd", momentum=0.0, nesterov=False, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
        rprop=None, l2=0.0, schedule="constant", power_t=0.5, shuffle=True, seed=None,
        bias=True, sample_weight=None):
    """Train with an optimizer, an L2 penalty and a schedule (no stopping rule).

    Samples are visited as in :func:`cyprop._reference.network.fit` (same
    orders, same batches).  Every update uses the batch's mean gradient plus
    the L2 term (:func:`l2_gradient` with the batch's size); biases are
    updated by the same rule without the L2 term.

    Parameters
    ----------
    optimizer : {"sgd", "adam", "rprop"}
        "rprop" needs ``mode="batch"``; it ignores ``learning_rate``.
    rprop : dict, optional
        iRprop- constants, default :data:`FANN_RPROP`.
    bias : bool
        If False the biases' gradients are taken as 0 (they never move).
    sample_weight : array_like, shape (n_samples,), optional
        scikit-learn's convention: a batch ``B`` steps along the weighted
        mean gradient ``(sum_{s in B} w_s g_s + l2 W) / sum_{s in B} w_s``
        (:func:`l2_gradient` with ``n = sum w_s``) and adds
        ``|B| / sum w_s * (sum w_s loss_s + l2 / 2 ||W||^2)`` to the epoch's
        summed loss; a batch whose weights sum to 0 is skipped.
    Other parameters as :func:`cyprop._reference.network.fit`.

    Returns
    -------
    weights, biases : list of ndarray
    epoch_losses : list of float
        Per epoch, the mean over samples of the loss as seen in the forward
        passes, each batch's L2 penalty added once per sample of the batch.
    """
    if optimizer == "rprop" and mode != "batch":
        raise ValueError("rprop needs mode='batch'")
    W = [np.array(w, dtype=float) for w in weights]
    B = [np.array(b, dtype=float) for b in biases]
    X = np.asarray(X, dtype=float)
    T = targets(Y, W[-1].shape[0])
    n = X.shape[0]
    batch = {"online": 1, "batch": n}.get(mode, batch_size)
    L = len(W)
    params = W + B
    state1 = [np.zeros_like(p) for p in params]   # velocity / m / previous gradient
    state2 = [np.zeros_like(p) for p in params]   # v / rprop step sizes
    if optimizer == "rprop":
        consts = dict(FANN_RPROP if rprop is None else rprop)
        delta_zero = consts.pop("delta_zero")
        state2 = [np.full_like(p, delta_zero) for p in params]
    t_adam = 0
    seen = 0
    epoch_losses = []
    for order in sample_orders(n, epochs, shuffle, seed):
        eta = schedule_rate(schedule, learning_rate, seen, power_t)
        total = 0.0
        for start in range(0, n, batch):
            idx = order[start:start + batch]
            m = len(idx)
            if sample_weight is None:
                grads, losses = sample_gradients(params[:L], params[L:], X[idx], T[idx],
                                                 hidden_activation, output_activation, loss)
                total += float(np.sum(losses)) + m * l2_penalty(params[:L], l2, m)
                penalty = l2_gradient(params[:L], l2, m)
                g = [dW / m + p for (dW, _), p in zip(grads, penalty)] + [db / m for _, db in grads]
            else:
                w = np.asarray(sample_weight, dtype=float)[idx]
                w_sum = float(np.sum(w))
                if w_sum == 0:
                    continue
                grads, losses = sample_gradients(params[:L], params[L:], X[idx], T[idx],
                                                 hidden_activation, output_activation, loss, w)
                total += m / w_sum * (float(np.dot(w, losses))
                                      + w_sum * l2_penalty(params[:L], l2, w_sum))
                penalty = l2_gradient(params[:L], l2, w_sum)
                g = ([dW / w_sum + p for (dW, _), p in zip(grads, penalty)]
                     + [db / w_sum for _, db in grads])
            if not bias:
                g[L:] = [np.zeros_like(db) for db in g[L:]]
            if optimizer == "sgd":
                params, state1 = sgd_step(params, g, state1, eta, momentum, nesterov)
            elif optimizer == "adam":
                params, state1, state2, t_adam = adam_step(params, g, state1, state2, t_adam,
                                                           eta, beta_1, beta_2, epsilon)
            elif optimizer == "rprop":
                params, state1, state2 = rprop_step(params, g, state1, state2, **consts)
            else:
                raise ValueError(f"unknown optimizer {optimizer!r}")
        seen += n
        epoch_losses.append(total / n)
    return params[:L], params[L:], epoch_losses
