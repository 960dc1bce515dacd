"""Features that were built side by side, used together: Adam, iRprop-,
sample_weight, the L2 term and n_threads, each pair against the oracle
(cyprop._reference.optimizers) or against its one-thread run."""

import numpy as np
import pytest

import cyprop
from cyprop._reference import optimizers as opt

MODES = [("online", None), ("minibatch", 7), ("batch", None)]


def _params(W, B):
    return np.concatenate([np.concatenate([w.ravel(), b]) for w, b in zip(W, B)])


def _problem(dtype="float64", n=40, n_in=12):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(n, n_in))
    Y = rng.uniform(size=(n, 3))
    w = rng.uniform(0.0, 3.0, size=n)
    w[[3, 17]] = 0.0   # weight-0 samples: no step, no Adam update
    net = cyprop.Network([n_in, 9, 3], "tanh", "sigmoid", dtype=dtype, seed=1)
    W0 = [v.astype(np.float64) for v in net.weights]
    B0 = [v.astype(np.float64) for v in net.biases]
    return X, Y, w, net, W0, B0


@pytest.mark.parametrize("l2", [0.0, 0.3])
@pytest.mark.parametrize("mode, batch_size", MODES)
def test_weighted_adam_matches_the_reference(mode, batch_size, l2):
    X, Y, w, net, W0, B0 = _problem()
    kwargs = dict(epochs=10, learning_rate=0.01, mode=mode, batch_size=batch_size, l2=l2,
                  seed=2, optimizer="adam", beta_1=0.8, beta_2=0.99)
    history = net.fit(X, Y, sample_weight=w, **kwargs)
    W, B, losses = opt.fit(W0, B0, X, Y, "tanh", "sigmoid", sample_weight=w, **kwargs)
    np.testing.assert_allclose(net.parameters, _params(W, B), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(history.loss, losses, rtol=1e-12)
    # the weights mattered (so the comparison can fail)
    W1, B1, _ = opt.fit(W0, B0, X, Y, "tanh", "sigmoid", **kwargs)
    assert np.max(np.abs(net.parameters - _params(W1, B1))) > 1e-6


@pytest.mark.parametrize("dtype, tol", [("float64", 1e-12), ("float32", 1e-5)])
def test_online_adam_with_l2_matches_the_reference(dtype, tol):
    # the online L2 step is the vectorised rule (cyp_rule_l2) with Adam's case
    X, Y, _, net, W0, B0 = _problem(dtype, n=30, n_in=37)
    kwargs = dict(epochs=6, learning_rate=0.01, mode="online", l2=0.5, seed=4,
                  optimizer="adam")
    net.fit(X, Y, **kwargs)
    W, B, _ = opt.fit(W0, B0, X, Y, "tanh", "sigmoid", **kwargs)
    np.testing.assert_allclose(net.parameters, _params(W, B), rtol=tol, atol=tol)


@pytest.mark.parametrize("optimizer, extra", [("adam", {}), ("rprop", {}),
                                              ("sgd", {"momentum": 0.9, "nesterov": True})])
def test_two_threads_match_the_reference(optimizer, extra):
    X, Y, _, net, W0, B0 = _problem(n=64)
    kwargs = dict(epochs=8, learning_rate=0.01, mode="batch", l2=0.1, seed=3,
                  optimizer=optimizer, **extra)
    one, two = net.copy(), net.copy()
    one.fit(X, Y, n_threads=1, **kwargs)
    two.fit(X, Y, n_threads=2, **kwargs)
    W, B, _ = opt.fit(W0, B0, X, Y, "tanh", "sigmoid", **kwargs)
    np.testing.assert_allclose(two.parameters, _params(W, B), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(two.parameters, one.parameters, rtol=1e-12, atol=1e-12)
    again = net.copy()
    again.fit(X, Y, n_threads=2, **kwargs)
    np.testing.assert_array_equal(again.parameters, two.parameters)


@pytest.mark.parametrize("mode", ["minibatch", "batch"])
def test_weighted_batches_run_on_one_thread(mode):
    # weighted batches are not split: any n_threads gives the one-thread weights
    X, Y, w, net, _, _ = _problem(n=64)
    kwargs = dict(epochs=4, learning_rate=0.1, mode=mode, seed=3, sample_weight=w,
                  batch_size=32 if mode == "minibatch" else None)
    one, two = net.copy(), net.copy()
    one.fit(X, Y, n_threads=1, **kwargs)
    two.fit(X, Y, n_threads=2, **kwargs)
    np.testing.assert_array_equal(two.parameters, one.parameters)
