"""The NumPy network oracle checked on its own.

cyprop._reference.network is what the compiled engine is compared against,
so it is validated here independently: its gradients against central finite
differences of its own loss, its losses against their textbook formulas, and
its training loop against updates written out by hand.
"""

import zlib

import numpy as np
import pytest

from cyprop._reference import network as ref

HIDDEN = ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "rbf")
OUTPUT_LOSS = [(act, "squared_error") for act in HIDDEN] + [
    ("sigmoid", "cross_entropy"),
    ("softmax", "cross_entropy"),
]


def random_net(rng, sizes):
    weights = [rng.normal(size=(sizes[l + 1], sizes[l])) for l in range(len(sizes) - 1)]
    biases = [rng.normal(scale=0.5, size=sizes[l + 1]) for l in range(len(sizes) - 1)]
    return weights, biases


def random_targets(rng, n, n_out, output, loss):
    if output == "softmax":
        return ref.one_hot(rng.integers(0, n_out, size=n), n_out)
    if loss == "cross_entropy" or output in ("sigmoid", "rbf"):
        return rng.random((n, n_out))
    return rng.normal(size=(n, n_out))


@pytest.mark.parametrize("output,loss", OUTPUT_LOSS)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_gradients_match_finite_differences(hidden, output, loss):
    rng = np.random.default_rng(zlib.crc32(f"{hidden} {output} {loss}".encode()))
    sizes = [3, 4, 3, 2]
    W, B = random_net(rng, sizes)
    X = rng.normal(size=(5, 3))
    Y = random_targets(rng, 5, 2, output, loss)
    grads = ref.gradients(W, B, X, Y, hidden, output, loss)
    eps = 1e-6
    for l in range(len(W)):
        for params, g in ((W, grads[l][0]), (B, grads[l][1])):
            for idx in np.ndindex(params[l].shape):
                saved = params[l][idx]
                params[l][idx] = saved + eps
                up = ref.loss(W, B, X, Y, hidden, output, loss)
                params[l][idx] = saved - eps
                down = ref.loss(W, B, X, Y, hidden, output, loss)
                params[l][idx] = saved
                numeric = (up - down) / (2 * eps)
                assert g[idx] == pytest.approx(numeric, rel=1e-6, abs=1e-8), (l, idx)


def test_activations():
    z = np.array([[-2.0, -0.5, 0.0, 0.5, 2.0]])
    np.testing.assert_array_equal(ref.activate("identity", z), z)
    np.testing.assert_allclose(ref.activate("sigmoid", z), 1 / (1 + np.exp(-z)), rtol=1e-15)
    np.testing.assert_allclose(ref.activate("tanh", z), np.tanh(z), rtol=1e-15)
    np.testing.assert_array_equal(ref.activate("relu", z), [[0, 0, 0, 0.5, 2.0]])
    np.testing.assert_allclose(ref.activate("leaky_relu", z), [[-0.02, -0.005, 0, 0.5, 2.0]],
                               rtol=1e-15)
    np.testing.assert_allclose(ref.activate("rbf", z), np.exp(-z**2), rtol=1e-15)
    sm = ref.activate("softmax", z)
    np.testing.assert_allclose(sm, np.exp(z) / np.exp(z).sum(), rtol=1e-14)
    # softmax is shift-invariant and safe for large inputs
    np.testing.assert_allclose(ref.activate("softmax", z + 1000.0), sm, rtol=1e-13)
    np.testing.assert_array_equal(ref.activation_derivative("leaky_relu", z, None),
                                  [[0.01, 0.01, 0.01, 1, 1]])
    np.testing.assert_array_equal(ref.activation_derivative("relu", z, None), [[0, 0, 0, 1, 1]])
    for name in ("sigmoid", "tanh", "rbf", "identity"):
        a = ref.activate(name, z)
        eps = 1e-6
        numeric = (ref.activate(name, z + eps) - ref.activate(name, z - eps)) / (2 * eps)
        np.testing.assert_allclose(ref.activation_derivative(name, z, a), numeric,
                                   rtol=1e-7, atol=1e-9)
    with pytest.raises(ValueError):
        ref.activate("swish", z)


def test_losses_match_textbook_formulas():
    z = np.array([[0.3, -1.2, 2.0], [1.5, 0.0, -0.7]])
    t = np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    a = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(ref.sample_losses(z, a, t, "sigmoid", "squared_error"),
                               0.5 * np.sum((a - t) ** 2, axis=1), rtol=1e-15)
    np.testing.assert_allclose(ref.sample_losses(z, a, t, "sigmoid", "cross_entropy"),
                               -np.sum(t * np.log(a) + (1 - t) * np.log(1 - a), axis=1),
                               rtol=1e-13)
    s = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(ref.sample_losses(z, s, t, "softmax", "cross_entropy"),
                               -np.sum(t * np.log(s), axis=1), rtol=1e-13)
    with pytest.raises(ValueError):
        ref.sample_losses(z, a, t, "identity", "cross_entropy")


def test_labels_are_one_hot_encoded():
    np.testing.assert_array_equal(ref.one_hot([2, 0, 1], 3), [[0, 0, 1], [1, 0, 0], [0, 1, 0]])
    rng = np.random.default_rng(0)
    W, B = random_net(rng, [3, 4, 3])
    X = rng.normal(size=(4, 3))
    labels = np.array([0, 2, 1, 2])
    assert ref.loss(W, B, X, labels, "tanh", "softmax", "cross_entropy") == \
        ref.loss(W, B, X, ref.one_hot(labels, 3), "tanh", "softmax", "cross_entropy")


def _setup(seed=0, sizes=(3, 4, 2), n=7):
    rng = np.random.default_rng(seed)
    W, B = random_net(rng, list(sizes))
    X = rng.normal(size=(n, sizes[0]))
    Y = rng.random((n, sizes[-1]))
    return W, B, X, Y


def test_fit_online_by_hand():
    W, B, X, Y = _setup()
    eta = 0.1
    fW, fB, losses = ref.fit(W, B, X, Y, "tanh", "sigmoid", "squared_error", epochs=2,
                             learning_rate=eta, mode="online", shuffle=True, seed=3)
    rng = np.random.default_rng(3)
    hW = [w.copy() for w in W]
    hB = [b.copy() for b in B]
    expected_losses = []
    for _ in range(2):
        total = 0.0
        for i in rng.permutation(len(X)):
            total += ref.loss(hW, hB, X[i:i + 1], Y[i:i + 1], "tanh", "sigmoid", "squared_error")
            g = ref.gradients(hW, hB, X[i:i + 1], Y[i:i + 1], "tanh", "sigmoid", "squared_error")
            for l, (dW, db) in enumerate(g):
                hW[l] = hW[l] - eta * dW
                hB[l] = hB[l] - eta * db
        expected_losses.append(total / len(X))
    for l in range(2):
        np.testing.assert_allclose(fW[l], hW[l], rtol=1e-14, atol=1e-15)
        np.testing.assert_allclose(fB[l], hB[l], rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(losses, expected_losses, rtol=1e-14)
    # the caller's arrays are untouched
    W2, B2, _, _ = _setup()
    for l in range(2):
        np.testing.assert_array_equal(W[l], W2[l])
        np.testing.assert_array_equal(B[l], B2[l])


def test_fit_batch_and_minibatch_by_hand():
    W, B, X, Y = _setup()
    eta, mu = 0.3, 0.5
    # batch: w <- w - eta * mean gradient, with momentum
    fW, fB, losses = ref.fit(W, B, X, Y, "relu", "sigmoid", "cross_entropy", epochs=2,
                             learning_rate=eta, mode="batch", momentum=mu, shuffle=False)
    g1 = ref.gradients(W, B, X, Y, "relu", "sigmoid", "cross_entropy")
    v1 = [(-eta * dW, -eta * db) for dW, db in g1]
    W1 = [w + v[0] for w, v in zip(W, v1)]
    B1 = [b + v[1] for b, v in zip(B, v1)]
    g2 = ref.gradients(W1, B1, X, Y, "relu", "sigmoid", "cross_entropy")
    v2 = [(mu * a - eta * dW, mu * b - eta * db) for (a, b), (dW, db) in zip(v1, g2)]
    for l in range(2):
        np.testing.assert_allclose(fW[l], W1[l] + v2[l][0], rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(fB[l], B1[l] + v2[l][1], rtol=1e-13, atol=1e-15)
    assert losses[0] == pytest.approx(ref.loss(W, B, X, Y, "relu", "sigmoid", "cross_entropy"),
                                      rel=1e-14)
    second = ref.loss(W1, B1, X, Y, "relu", "sigmoid", "cross_entropy")
    assert losses[1] == pytest.approx(second, rel=1e-14)
    # minibatch of 3 over 7 samples without shuffling: batches [0:3], [3:6], [6:7]
    mW, mB, _ = ref.fit(W, B, X, Y, "relu", "sigmoid", "cross_entropy", epochs=1,
                        learning_rate=eta, mode="minibatch", batch_size=3, shuffle=False)
    hW, hB = [w.copy() for w in W], [b.copy() for b in B]
    for lo, hi in ((0, 3), (3, 6), (6, 7)):
        g = ref.gradients(hW, hB, X[lo:hi], Y[lo:hi], "relu", "sigmoid", "cross_entropy")
        hW = [w - eta * dW for w, (dW, _) in zip(hW, g)]
        hB = [b - eta * db for b, (_, db) in zip(hB, g)]
    for l in range(2):
        np.testing.assert_allclose(mW[l], hW[l], rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(mB[l], hB[l], rtol=1e-13, atol=1e-15)
    # a minibatch as large as the data set is the batch mode
    aW, _, _ = ref.fit(W, B, X, Y, "relu", "sigmoid", "cross_entropy", epochs=2,
                       learning_rate=eta, mode="minibatch", batch_size=7, shuffle=False)
    bW, _, _ = ref.fit(W, B, X, Y, "relu", "sigmoid", "cross_entropy", epochs=2,
                       learning_rate=eta, mode="batch", shuffle=False)
    for l in range(2):
        np.testing.assert_array_equal(aW[l], bW[l])


def test_fit_without_bias_keeps_the_biases():
    W, B, X, Y = _setup()
    fW, fB, _ = ref.fit(W, B, X, Y, "tanh", "sigmoid", "squared_error", epochs=2,
                        learning_rate=0.1, momentum=0.5, seed=0, bias=False)
    for l in range(2):
        np.testing.assert_array_equal(fB[l], B[l])
        assert not np.allclose(fW[l], W[l])


def test_sample_orders():
    orders = ref.sample_orders(5, 3, shuffle=True, seed=11)
    rng = np.random.default_rng(11)
    for order in orders:
        np.testing.assert_array_equal(order, rng.permutation(5))
    for order in ref.sample_orders(5, 2, shuffle=False):
        np.testing.assert_array_equal(order, np.arange(5))
