"""Reference for the blocked online schedule: per-sample SGD, first layer by blocks.

Online SGD updates the first layer's weights ``W`` (n_hidden, n_in) after
every sample with a rank-1 step, ``W -= eta * outer(delta_r, x_r)``.  Within a
block of ``k`` consecutive samples that start from ``W0``, sample ``s`` (0-based
in the block) therefore sees

    W_s = W0 - eta * sum_{r<s} outer(delta_r, x_r)
    z_s = W_s x_s + b = P[s] - eta * sum_{r<s} G[s, r] delta_r + b

with ``P = X_block @ W0.T`` (one matrix product per block) and the block's Gram
matrix ``G = X_block @ X_block.T``.  After the block, ``W0 -= eta * D.T @ X_block``
with the block's first-layer deltas as the rows of ``D`` (one rank-k update).
The layers above the first, and every bias, are updated per sample as in
:func:`cyprop._reference.network.fit`.  In exact arithmetic this is the same
trajectory as the sequential schedule; in floating point only the order of
the sums differs.

Momentum (``v = mu*v - eta*g``, ``w += v``) is a linear recurrence too.  With
``V0`` the first layer's velocity at the block's start,
``c_t = mu + mu**2 + ... + mu**t`` and ``a_m = 1 + mu + ... + mu**m``:

    W_t = W0 + c_t V0 - eta * sum_{r<t} a_{t-1-r} outer(delta_r, x_r)
    V_t = mu**t V0 - eta * sum_{r<t} mu**(t-1-r) outer(delta_r, x_r)
    z_s = P[s] + c_s Q[s] - eta * sum_{r<s} a_{s-1-r} G[s, r] delta_r + b

with ``Q = X_block @ V0.T``; at the block's end both ``W`` and ``V`` take one
rank-k update.

Written for clarity, in float64, independently of the compiled kernels and of
:func:`cyprop._reference.network.fit` (which it must match to round-off).
"""

import numpy as np

from .network import (_output_delta, activate, activation_derivative, sample_losses,
                      sample_orders, targets)

__all__ = ["fit_blocked", "block_first_layer_z"]


def block_first_layer_z(W0, b, X_block, deltas, learning_rate):
    """First-layer pre-activations of a block's samples, without momentum.

    Parameters
    ----------
    W0 : ndarray, shape (n_hidden, n_in)
        First-layer weights at the start of the block.
    b : ndarray, shape (n_hidden,) or (k, n_hidden)
        The bias each sample sees (one row per sample when it changes).
    X_block : ndarray, shape (k, n_in)
    deltas : ndarray, shape (k, n_hidden)
        First-layer deltas of the block's samples (only rows r < s enter z_s).
    learning_rate : float

    Returns
    -------
    ndarray, shape (k, n_hidden)
        ``z[s] = W_s x_s + b_s`` with ``W_s = W0 - eta * sum_{r<s} outer(deltas[r], X_block[r])``.
    """
    P = X_block @ W0.T
    G = X_block @ X_block.T
    k = X_block.shape[0]
    lower = np.tril(G, -1)                       # G[s, r] for r < s only
    return P - learning_rate * (lower @ deltas) + np.broadcast_to(b, (k, W0.shape[0]))


def fit_blocked(weights, biases, X, Y, hidden_activation="sigmoid", output_activation="sigmoid",
                loss="squared_error", epochs=1, learning_rate=0.1, momentum=0.0, shuffle=True,
                seed=None, bias=True, block_size=32):
    """Online SGD with the blocked first-layer schedule.

    Same arguments and results as :func:`cyprop._reference.network.fit` with
    ``mode="online"``, plus ``block_size`` (samples per block; blocks do not
    cross epochs, the last block of an epoch may be shorter).
    """
    block_size = int(block_size)
    if block_size < 1:
        raise ValueError(f"block_size must be positive, got {block_size}")
    W = [np.array(w, dtype=float) for w in weights]
    B = [np.array(b, dtype=float) for b in biases]
    X = np.asarray(X, dtype=float)
    T = targets(Y, W[-1].shape[0])
    n = X.shape[0]
    L = len(W)
    eta, mu = float(learning_rate), float(momentum)
    vW = [np.zeros_like(w) for w in W]
    vB = [np.zeros_like(b) for b in B]
    acts = [hidden_activation] * (L - 1) + [output_activation]
    epoch_losses = []
    for order in sample_orders(n, epochs, shuffle, seed):
        total = 0.0
        for start in range(0, n, block_size):
            idx = order[start:start + block_size]
            Xb = X[idx]
            k = len(idx)
            P = Xb @ W[0].T
            Q = Xb @ vW[0].T
            G = Xb @ Xb.T
            D = np.zeros((k, W[0].shape[0]))
            powers = mu ** np.arange(k + 1)           # mu**t
            a = np.cumsum(powers)                       # a_m = sum_{i<=m} mu**i
            c = a - 1.0                                 # c_t = sum_{1<=i<=t} mu**i
            for s in range(k):
                # first layer from the block's products
                corr = (a[s - 1 - np.arange(s)] * G[s, :s]) @ D[:s] if s else 0.0
                z = P[s] + c[s] * Q[s] - eta * corr + B[0]
                layers = [(z, activate(acts[0], z[None, :])[0])]
                for l in range(1, L):
                    zl = W[l] @ layers[-1][1] + B[l]
                    layers.append((zl, activate(acts[l], zl[None, :])[0]))
                zo, ao = layers[-1]
                t = T[idx[s]]
                total += float(sample_losses(zo[None], ao[None], t[None], output_activation,
                                             loss)[0])
                delta = _output_delta(zo[None], ao[None], t[None], output_activation, loss)[0]
                # layers above the first: per-sample update as in the sequential fit
                for l in range(L - 1, 0, -1):
                    a_prev = layers[l - 1][1]
                    back = delta @ W[l]          # with the weights before this update
                    step_w, step_b = eta * np.outer(delta, a_prev), eta * delta
                    _step(W, B, vW, vB, l, step_w, step_b, mu, bias)
                    z_prev, a_prev_act = layers[l - 1]
                    delta = back * activation_derivative(hidden_activation, z_prev[None],
                                                         a_prev_act[None])[0]
                D[s] = delta
                # the first layer's bias per sample; its weights wait for the block's end
                if bias:
                    if mu:
                        vB[0] = mu * vB[0] - eta * delta
                        B[0] += vB[0]
                    else:
                        B[0] -= eta * delta
            # one rank-k update of the first layer (and its velocity)
            if mu:
                rank_w = (a[k - 1 - np.arange(k)][:, None] * D).T @ Xb
                rank_v = (powers[k - 1 - np.arange(k)][:, None] * D).T @ Xb
                W[0] = W[0] + c[k] * vW[0] - eta * rank_w
                vW[0] = powers[k] * vW[0] - eta * rank_v
            else:
                W[0] -= eta * (D.T @ Xb)
        epoch_losses.append(total / n)
    return W, B, epoch_losses


def _step(W, B, vW, vB, l, step_w, step_b, mu, bias):
    if mu:
        vW[l] = mu * vW[l] - step_w
        W[l] += vW[l]
        if bias:
            vB[l] = mu * vB[l] - step_b
            B[l] += vB[l]
    else:
        W[l] -= step_w
        if bias:
            B[l] -= step_b

