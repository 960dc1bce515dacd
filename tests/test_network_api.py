"""The Network object: parameters, weights and biases as views of one buffer; initialisation."""

import numpy as np
import pytest

import cyprop

from _common import assert_close
from _networks import fit_problem


# ---------------------------------------------------------------------------
# parameters, weights and biases are views of one buffer


def test_parameter_layout_and_views():
    net = cyprop.Network([3, 4, 2], seed=0)
    p = net.parameters
    assert p.shape == (3 * 4 + 4 + 4 * 2 + 2,) and p.dtype == np.float64
    expected = np.concatenate([net.weights[0].ravel(), net.biases[0],
                               net.weights[1].ravel(), net.biases[1]])
    np.testing.assert_array_equal(p, expected)
    assert [w.shape for w in net.weights] == [(4, 3), (2, 4)]
    assert [b.shape for b in net.biases] == [(4,), (2,)]
    for arr in list(net.weights) + list(net.biases):
        assert np.shares_memory(arr, net.parameters)
    # offsets: W0 at 0, b0 at 12, W1 at 16, b1 at 24
    p[12] = 123.0
    assert net.biases[0][0] == 123.0
    p[16 + 5] = -7.0
    assert net.weights[1][1, 1] == -7.0


def test_writing_into_views_changes_the_network():
    net = cyprop.Network([2, 3, 1], "tanh", "identity", seed=1)
    X = np.array([[0.3, -0.7], [1.0, 2.0]])
    before = net.predict(X)
    net.weights[0][...] = 0.0
    net.biases[0][...] = [0.5, -0.5, 1.0]
    net.weights[1][0, :] = [1.0, 2.0, 3.0]
    net.biases[1][0] = 0.25
    expected = np.tanh(np.array([0.5, -0.5, 1.0])) @ np.array([1.0, 2.0, 3.0]) + 0.25
    assert_close(net.predict(X), np.full((2, 1), expected), 1e-15)
    assert not np.allclose(before, net.predict(X))
    assert net.parameters[6 + 3] == 1.0  # W1 starts after W0 (6) and b0 (3)
    # assigning the whole buffer goes through the views too
    net.parameters[...] = np.arange(net.parameters.size, dtype=float)
    np.testing.assert_array_equal(net.weights[0], [[0, 1], [2, 3], [4, 5]])
    np.testing.assert_array_equal(net.biases[1], [12.0])


def test_fit_updates_the_viewed_buffer_in_place():
    net, X, Y = fit_problem()
    w0 = net.weights[0]
    p = net.parameters
    before = w0.copy()
    net.fit(X, Y, epochs=1)
    assert net.weights[0] is w0 or np.shares_memory(net.weights[0], p)
    assert not np.array_equal(w0, before)  # the old view sees the trained values
    np.testing.assert_array_equal(w0, net.weights[0])


def test_views_reject_wrong_shapes():
    net = cyprop.Network([2, 3, 1], seed=0)
    with pytest.raises(ValueError):
        net.weights[0][...] = np.zeros((2, 3))
    with pytest.raises(ValueError):
        net.parameters[...] = np.zeros(net.parameters.size + 1)


# ---------------------------------------------------------------------------
# initialisation


def test_initialisation_is_seeded_and_documented():
    a = cyprop.Network([10, 20, 5], seed=3)
    b = cyprop.Network([10, 20, 5], seed=3)
    c = cyprop.Network([10, 20, 5], seed=4)
    np.testing.assert_array_equal(a.parameters, b.parameters)
    assert not np.array_equal(a.parameters, c.parameters)
    for bias in a.biases:
        np.testing.assert_array_equal(bias, 0.0)
    # unseeded networks differ from each other
    assert not np.array_equal(cyprop.Network([10, 20, 5]).parameters,
                              cyprop.Network([10, 20, 5]).parameters)


@pytest.mark.parametrize("act", ["sigmoid", "tanh"])
def test_glorot_uniform_for_sigmoid_and_tanh(act):
    net = cyprop.Network([200, 300, 100], act, act, seed=0)
    for l, (n_in, n_out) in enumerate([(200, 300), (300, 100)]):
        limit = np.sqrt(6.0 / (n_in + n_out))
        W = net.weights[l]
        assert np.max(np.abs(W)) <= limit
        assert np.max(np.abs(W)) > 0.95 * limit
        assert np.std(W) == pytest.approx(limit / np.sqrt(3.0), rel=0.05)
        assert abs(np.mean(W)) < 0.05 * limit


@pytest.mark.parametrize("act", ["relu", "leaky_relu"])
def test_he_scaling_for_relu_layers(act):
    net = cyprop.Network([200, 300, 100], act, "identity", seed=0)
    W = net.weights[0]
    assert np.std(W) == pytest.approx(np.sqrt(2.0 / 200), rel=0.05)
    assert abs(np.mean(W)) < 0.05 * np.sqrt(2.0 / 200)
