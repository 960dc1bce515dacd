"""Optimizer rules inside the kernels (Network.fit) against cyprop._reference.optimizers.

The L2 penalty (scikit-learn's ``alpha``) runs in the nogil epoch loop: every
mode, both dtypes, with and without (Nesterov) momentum, compared with the
plain-NumPy oracle over many steps.
"""

import numpy as np
import pytest

import cyprop
from cyprop._reference import optimizers as opt

MODES = [("online", None), ("minibatch", 7), ("batch", None)]


def _params(W, B):
    return np.concatenate([np.concatenate([w.ravel(), b]) for w, b in zip(W, B)])


def _problem(dtype, sizes=(20, 9, 3), hidden="tanh", seed=4):
    rng = np.random.default_rng(11)
    X = rng.normal(size=(40, sizes[0]))
    Y = rng.uniform(size=(40, sizes[-1]))
    net = cyprop.Network(list(sizes), hidden, "sigmoid", "squared_error", dtype=dtype, seed=seed)
    W0 = [w.astype(np.float64) for w in net.weights]
    B0 = [b.astype(np.float64) for b in net.biases]
    return X, Y, net, W0, B0


@pytest.mark.parametrize("momentum, nesterov", [(0.0, False), (0.9, False), (0.9, True)])
@pytest.mark.parametrize("mode, batch_size", MODES)
def test_l2_in_the_kernel_matches_the_reference_float64(mode, batch_size, momentum, nesterov):
    X, Y, net, W0, B0 = _problem("float64")
    history = net.fit(X, Y, epochs=30, learning_rate=0.05, mode=mode, batch_size=batch_size,
                      momentum=momentum, nesterov=nesterov, l2=0.3, seed=2)
    W, B, losses = opt.fit(W0, B0, X, Y, "tanh", "sigmoid", "squared_error", epochs=30,
                           learning_rate=0.05, mode=mode, batch_size=batch_size,
                           momentum=momentum, nesterov=nesterov, l2=0.3, seed=2)
    np.testing.assert_allclose(net.parameters, _params(W, B), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(history.loss, losses, rtol=1e-12)
    # the penalty changed the weights (so the comparison above can fail)
    W_plain, B_plain, _ = opt.fit(W0, B0, X, Y, "tanh", "sigmoid", "squared_error", epochs=30,
                                  learning_rate=0.05, mode=mode, batch_size=batch_size,
                                  momentum=momentum, nesterov=nesterov, seed=2)
    assert np.max(np.abs(net.parameters - _params(W_plain, B_plain))) > 1e-3


@pytest.mark.parametrize("mode, batch_size", MODES)
def test_l2_in_the_kernel_matches_the_reference_float32(mode, batch_size):
    X, Y, net, W0, B0 = _problem("float32")
    history = net.fit(X, Y, epochs=3, learning_rate=0.05, mode=mode, batch_size=batch_size,
                      momentum=0.5, l2=0.3, seed=2)
    W, B, losses = opt.fit(W0, B0, X, Y, "tanh", "sigmoid", "squared_error", epochs=3,
                           learning_rate=0.05, mode=mode, batch_size=batch_size, momentum=0.5,
                           l2=0.3, seed=2)
    np.testing.assert_allclose(net.parameters, _params(W, B), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(history.loss, losses, rtol=1e-5)


def test_l2_zero_is_the_plain_rule_bit_for_bit():
    X, Y, net, _, _ = _problem("float64")
    other = net.copy()
    net.fit(X, Y, epochs=5, learning_rate=0.05, momentum=0.9, seed=2)
    other.fit(X, Y, epochs=5, learning_rate=0.05, momentum=0.9, seed=2, l2=0.0)
    np.testing.assert_array_equal(net.parameters, other.parameters)


def test_l2_rolls_back_a_diverging_epoch():
    rng = np.random.default_rng(8)
    X, Y = rng.normal(size=(30, 3)) * 10, rng.normal(size=(30, 2)) * 10
    net = cyprop.Network([3, 5, 2], "relu", "identity", seed=0)
    with pytest.raises(cyprop.DivergenceError) as info:
        net.fit(X, Y, epochs=200, learning_rate=1.0, momentum=0.9, mode="batch", l2=0.1,
                shuffle=False)
    assert np.all(np.isfinite(net.parameters))
    again = cyprop.Network([3, 5, 2], "relu", "identity", seed=0)
    if info.value.epoch > 1:
        again.fit(X, Y, epochs=info.value.epoch - 1, learning_rate=1.0, momentum=0.9,
                  mode="batch", l2=0.1, shuffle=False)
    np.testing.assert_array_equal(net.parameters, again.parameters)


def test_l2_bad_values_and_the_blocked_schedule():
    X, Y, net, _, _ = _problem("float64")
    with pytest.raises(ValueError, match="l2"):
        net.fit(X, Y, l2=-0.1)
    with pytest.raises((TypeError, ValueError), match="l2"):
        net.fit(X, Y, l2="big")
    with pytest.raises(ValueError, match="l2"):
        net.fit(X, Y, l2=0.1, online_schedule="blocked")
    # "auto" on a wide first layer picks sequential with l2: same as sequential
    rng = np.random.default_rng(0)
    Xw, Yw = rng.normal(size=(16, 256)), rng.uniform(size=(16, 2))
    a = cyprop.Network([256, 64, 2], "tanh", "sigmoid", seed=1)
    b = a.copy()
    a.fit(Xw, Yw, epochs=2, l2=0.1, seed=3)
    b.fit(Xw, Yw, epochs=2, l2=0.1, seed=3, online_schedule="sequential")
    np.testing.assert_array_equal(a.parameters, b.parameters)
