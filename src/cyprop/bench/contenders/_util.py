"""Helpers shared by the contenders."""

import numpy as np


def flat_params(weights, biases, dtype):
    """cyprop's flat layout: [W0.ravel(), b0, W1.ravel(), b1, ...]."""
    parts = []
    for W, b in zip(weights, biases):
        parts.append(np.asarray(W).ravel())
        parts.append(np.asarray(b).ravel())
    return np.ascontiguousarray(np.concatenate(parts), dtype=dtype)


def unflatten(params, sizes):
    """Float64 copies of the weights (n_out, n_in) and biases in a flat buffer."""
    weights, biases, off = [], [], 0
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        weights.append(np.array(params[off:off + n_in * n_out], dtype=np.float64)
                       .reshape(n_out, n_in))
        off += n_in * n_out
        biases.append(np.array(params[off:off + n_out], dtype=np.float64))
        off += n_out
    return weights, biases


def mlp_result(weights, biases):
    return {"weights": [np.array(w, dtype=np.float64) for w in weights],
            "biases": [np.array(b, dtype=np.float64) for b in biases]}


def theta_from_network(weights, biases):
    """Tutorial layout: theta_l of shape (n_in + 1, n_out), the bias as the last row."""
    return [np.vstack((np.asarray(W, dtype=np.float64).T, np.asarray(b, dtype=np.float64)[None, :]))
            for W, b in zip(weights, biases)]


def network_from_theta(thetas):
    return ([np.array(t[:-1].T) for t in thetas], [np.array(t[-1]) for t in thetas])


def version_of(dist):
    try:
        from importlib.metadata import version

        return version(dist)
    except Exception:
        return "unknown"
