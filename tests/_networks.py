"""Random networks and problems shared by the test_network_*.py modules."""

import numpy as np
from hypothesis import strategies as st

import cyprop
from cyprop._reference import network as ref

from _common import HIDDEN, OUTPUT_LOSS


def params_of(net):
    """The network's weights and biases as float64 copies (reference format)."""
    return ([np.array(w, dtype=np.float64) for w in net.weights],
            [np.array(b, dtype=np.float64) for b in net.biases])


def make_targets(rng, n, n_out, output_activation, loss, labels=False):
    """Targets that suit the output activation and loss."""
    if output_activation == "softmax":
        y = rng.integers(0, n_out, size=n)
        return y if labels else ref.one_hot(y, n_out)
    if loss == "cross_entropy" or output_activation in ("sigmoid", "rbf"):
        return rng.random((n, n_out))
    if output_activation == "tanh":
        return rng.uniform(-0.9, 0.9, size=(n, n_out))
    return rng.normal(size=(n, n_out))


def make_problem(seed, sizes, hidden, output, loss, n, dtype="float64", labels=False, bias=True):
    """A seeded network, inputs and targets; biases set to non-zero values."""
    rng = np.random.default_rng(seed)
    net = cyprop.Network(sizes, hidden, output, loss, dtype=dtype, seed=seed, bias=bias)
    if bias:
        for b in net.biases:
            b[...] = rng.normal(scale=0.5, size=b.shape)
    X = rng.normal(size=(n, sizes[0]))
    Y = make_targets(rng, n, sizes[-1], output, loss, labels)
    return net, X, Y


@st.composite
def network_configs(draw, max_layers=3, max_width=6):
    """(sizes, hidden, output, loss, n_samples, seed) for a random valid network."""
    n_layers = draw(st.integers(1, max_layers))
    output, loss = draw(st.sampled_from(OUTPUT_LOSS))
    hidden = draw(st.sampled_from(HIDDEN))
    sizes = [draw(st.integers(1, max_width)) for _ in range(n_layers)]
    sizes.append(draw(st.integers(2 if output == "softmax" else 1, max_width)))
    n = draw(st.integers(1, 8))
    seed = draw(st.integers(0, 2**32 - 1))
    return sizes, hidden, output, loss, n, seed


FIT_DATA_SEED = 20240


def fit_problem(hidden="tanh", output="sigmoid", loss="cross_entropy", sizes=(3, 5, 2), n=13,
                dtype="float64", bias=True):
    """The small seeded problem the training tests share."""
    return make_problem(FIT_DATA_SEED, list(sizes), hidden, output, loss, n, dtype=dtype,
                        bias=bias)
