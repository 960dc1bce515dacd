"""sample_weight in Network.fit and Network.loss, inside the kernels in every
mode, against cyprop._reference.optimizers (scikit-learn's convention)."""

import numpy as np
import pytest

import cyprop
from cyprop._reference import network as ref
from cyprop._reference import optimizers as opt

MODES = [("online", None), ("minibatch", 7), ("batch", None)]


def _params(W, B):
    return np.concatenate([np.concatenate([w.ravel(), b]) for w, b in zip(W, B)])


def _problem(dtype, out="sigmoid", loss="squared_error", n=40, seed=4):
    rng = np.random.default_rng(11)
    X = rng.normal(size=(n, 12))
    if out == "softmax":
        Y = rng.integers(0, 3, size=n)
    else:
        Y = rng.uniform(size=(n, 3))
    w = rng.uniform(0.0, 3.0, size=n)
    w[[3, 17]] = 0.0   # weight-0 samples
    net = cyprop.Network([12, 9, 3], "tanh", out, loss, dtype=dtype, seed=seed)
    W0 = [v.astype(np.float64) for v in net.weights]
    B0 = [v.astype(np.float64) for v in net.biases]
    return X, Y, w, net, W0, B0


@pytest.mark.parametrize("out, loss", [("sigmoid", "squared_error"),
                                       ("sigmoid", "cross_entropy"),
                                       ("softmax", "cross_entropy")])
@pytest.mark.parametrize("l2", [0.0, 0.2])
@pytest.mark.parametrize("mode, batch_size", MODES)
def test_weighted_fit_matches_the_reference_float64(mode, batch_size, l2, out, loss):
    X, Y, w, net, W0, B0 = _problem("float64", out, loss)
    kwargs = dict(epochs=12, learning_rate=0.1, mode=mode, batch_size=batch_size, l2=l2,
                  seed=2)
    w_before = w.copy()
    history = net.fit(X, Y, momentum=0.5, sample_weight=w, **kwargs)
    np.testing.assert_array_equal(w, w_before)   # the caller's array is untouched
    W, B, losses = opt.fit(W0, B0, X, Y, "tanh", out, loss, momentum=0.5, sample_weight=w,
                           **kwargs)
    np.testing.assert_allclose(net.parameters, _params(W, B), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(history.loss, losses, rtol=1e-12)
    if mode != "online" or l2:
        # the weights changed the result (so the comparison above can fail)
        W1, B1, _ = opt.fit(W0, B0, X, Y, "tanh", out, loss, momentum=0.5, **kwargs)
        assert np.max(np.abs(net.parameters - _params(W1, B1))) > 1e-4


@pytest.mark.parametrize("mode, batch_size", MODES)
def test_weighted_fit_matches_the_reference_float32(mode, batch_size):
    X, Y, w, net, W0, B0 = _problem("float32")
    kwargs = dict(epochs=3, learning_rate=0.1, mode=mode, batch_size=batch_size, l2=0.1, seed=2)
    history = net.fit(X, Y, sample_weight=w, **kwargs)
    W, B, losses = opt.fit(W0, B0, X, Y, "tanh", "sigmoid", sample_weight=w, **kwargs)
    np.testing.assert_allclose(net.parameters, _params(W, B), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(history.loss, losses, rtol=1e-5)


def test_weighted_rprop_matches_the_reference():
    X, Y, w, net, W0, B0 = _problem("float64")
    net.fit(X, Y, epochs=40, mode="batch", optimizer="rprop", l2=0.1, sample_weight=w)
    W, B, _ = opt.fit(W0, B0, X, Y, "tanh", "sigmoid", epochs=40, mode="batch",
                      optimizer="rprop", l2=0.1, sample_weight=w)
    np.testing.assert_allclose(net.parameters, _params(W, B), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("mode, batch_size", MODES)
def test_all_ones_weights_are_no_weights(mode, batch_size, dtype):
    X, Y, _, net, _, _ = _problem(dtype)
    other = net.copy()
    kwargs = dict(epochs=5, learning_rate=0.1, mode=mode, batch_size=batch_size, l2=0.1,
                  momentum=0.9, seed=3)
    h1 = net.fit(X, Y, **kwargs)
    h2 = other.fit(X, Y, sample_weight=np.ones(X.shape[0]), **kwargs)
    np.testing.assert_array_equal(net.parameters, other.parameters)
    np.testing.assert_allclose(h1.loss, h2.loss, rtol=1e-12 if dtype == "float64" else 1e-6)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("n_in", [12, 150])   # short rows and long (the L2 row pass)
@pytest.mark.parametrize("optimizer, momentum, nesterov", [
    ("sgd", 0.0, False), ("sgd", 0.9, False), ("sgd", 0.9, True), ("adam", 0.0, False)])
def test_deferred_l2_update_keeps_the_bits(optimizer, momentum, nesterov, n_in, dtype):
    # Online with the L2 term, the first layer's update is deferred to the
    # next sample's forward pass (and the sample's loss completed there);
    # with sample weights it is not (their l2 changes per sample).  All-ones
    # weights must give the same weights and losses, bit for bit.
    rng = np.random.default_rng(n_in)
    X = rng.normal(size=(23, n_in))
    Y = rng.integers(0, 4, size=23)
    net = cyprop.Network([n_in, 19, 4], "relu", "softmax", "cross_entropy", dtype=dtype,
                         seed=2)
    other = net.copy()
    kwargs = dict(epochs=3, learning_rate=0.01, optimizer=optimizer, momentum=momentum,
                  nesterov=nesterov, l2=0.05, seed=7, n_threads=1)
    h1 = net.fit(X, Y, **kwargs)
    h2 = other.fit(X, Y, sample_weight=np.ones(23), **kwargs)
    np.testing.assert_array_equal(net.parameters, other.parameters)
    np.testing.assert_array_equal(h1.loss, h2.loss)


@pytest.mark.parametrize("l2", [0.0, 0.3])
def test_integer_weights_repeat_samples(l2):
    X, Y, _, net, _, _ = _problem("float64")
    counts = np.random.default_rng(5).integers(0, 4, size=X.shape[0])
    other = net.copy()
    h1 = net.fit(X, Y, epochs=20, mode="batch", l2=l2, sample_weight=counts)
    h2 = other.fit(np.repeat(X, counts, axis=0), np.repeat(Y, counts, axis=0), epochs=20,
                   mode="batch", l2=l2)
    np.testing.assert_allclose(net.parameters, other.parameters, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(h1.loss, h2.loss, rtol=1e-12)


def test_weights_follow_their_samples_when_shuffled():
    # shuffled minibatches: the same as the reference (which indexes the weights by the order)
    X, Y, w, net, W0, B0 = _problem("float64")
    net.fit(X, Y, epochs=4, mode="minibatch", batch_size=5, shuffle=True, seed=9,
            sample_weight=w)
    W, B, _ = opt.fit(W0, B0, X, Y, "tanh", "sigmoid", epochs=4, mode="minibatch",
                      batch_size=5, shuffle=True, seed=9, sample_weight=w)
    np.testing.assert_allclose(net.parameters, _params(W, B), rtol=1e-12, atol=1e-12)


def test_weighted_loss():
    X, Y, w, net, _, _ = _problem("float64")
    z, a = ref.forward(list(net.weights), list(net.biases), X, "tanh", "sigmoid")[-1]
    losses = ref.sample_losses(z, a, Y, "sigmoid")
    sq = sum(float(np.sum(W ** 2)) for W in net.weights)
    expected = np.dot(w, losses) / w.sum() + 0.3 / (2 * w.sum()) * sq
    assert net.loss(X, Y, l2=0.3, sample_weight=w) == pytest.approx(expected, rel=1e-12)
    assert net.loss(X, Y, sample_weight=np.ones(40)) == pytest.approx(net.loss(X, Y), rel=1e-13)


def test_weighted_rollback():
    rng = np.random.default_rng(8)
    X, Y = rng.normal(size=(30, 3)) * 10, rng.normal(size=(30, 2)) * 10
    w = rng.uniform(0.5, 2.0, size=30)
    net = cyprop.Network([3, 5, 2], "relu", "identity", seed=0)
    with pytest.raises(cyprop.DivergenceError) as info:
        net.fit(X, Y, epochs=200, learning_rate=1.0, momentum=0.9, mode="minibatch",
                batch_size=8, sample_weight=w, shuffle=False)
    assert np.all(np.isfinite(net.parameters))
    again = cyprop.Network([3, 5, 2], "relu", "identity", seed=0)
    if info.value.epoch > 1:
        again.fit(X, Y, epochs=info.value.epoch - 1, learning_rate=1.0, momentum=0.9,
                  mode="minibatch", batch_size=8, sample_weight=w, shuffle=False)
    np.testing.assert_array_equal(net.parameters, again.parameters)


@pytest.mark.filterwarnings("ignore::cyprop.ConvergenceWarning")
def test_weighted_validation_split():
    # the weights follow their samples into the split; the validation loss is weighted
    from cyprop._training import EpochControls
    X, Y, w, net, W0, B0 = _problem("float64")
    history = net.fit(X, Y, epochs=1, sample_weight=w, validation_fraction=0.25,
                      n_iter_no_change=10, seed=1, shuffle=False)
    train, val = EpochControls(0.1, validation_fraction=0.25, n_iter_no_change=10).split_rows(
        X.shape[0], 1)
    assert history.val_loss[0] == pytest.approx(
        net.loss(X[val], Y[val], sample_weight=w[val]), rel=1e-12)
    assert history.val_loss[0] != pytest.approx(net.loss(X[val], Y[val]), rel=1e-6)
    W, B, _ = opt.fit(W0, B0, X[train], Y[train], "tanh", "sigmoid", epochs=1,
                      learning_rate=0.1, sample_weight=w[train], shuffle=False)
    np.testing.assert_allclose(net.parameters, _params(W, B), rtol=1e-12, atol=1e-12)


def test_bad_sample_weight():
    X, Y, w, net, _, _ = _problem("float64")
    for bad, match in [(w[:-1], r"sample_weight.*\(40,\)"), (w.reshape(2, -1), "sample_weight"),
                       (np.full(40, np.nan), "sample_weight"), (-w, "sample_weight.*>= 0"),
                       (np.zeros(40), "sample_weight.*zero")]:
        with pytest.raises(ValueError, match=match):
            net.fit(X, Y, sample_weight=bad)
        with pytest.raises(ValueError, match="sample_weight"):
            net.loss(X, Y, sample_weight=bad)
    with pytest.raises(TypeError, match="sample_weight"):
        net.fit(X, Y, sample_weight=["a"] * 40)
    with pytest.raises(ValueError, match="sample_weight"):
        net.fit(X, Y, sample_weight=w, online_schedule="blocked")
    # "auto" on a wide first layer runs sequential with weights: the same as sequential
    rng = np.random.default_rng(0)
    Xw, Yw = rng.normal(size=(16, 256)), rng.uniform(size=(16, 2))
    a = cyprop.Network([256, 64, 2], "tanh", "sigmoid", seed=1)
    b = a.copy()
    ww = rng.uniform(size=16)
    a.fit(Xw, Yw, epochs=2, l2=0.1, seed=3, sample_weight=ww)
    b.fit(Xw, Yw, epochs=2, l2=0.1, seed=3, sample_weight=ww, online_schedule="sequential")
    np.testing.assert_array_equal(a.parameters, b.parameters)
