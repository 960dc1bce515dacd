"""cyprop.Network against the NumPy oracle cyprop._reference.network.

Gradients, losses and predictions of random networks (every activation and
loss combination) must agree with the reference to round-off in float64 and
to ~1e-5 in float32; training in every mode must follow the reference's
update rules exactly; the remaining tests pin the public API's behaviour
(views, seeding, persistence, argument checks, divergence).
"""

import os
import re
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cyprop
from cyprop import _kernels as _dispatch
from cyprop._reference import network as ref

from _common import HIDDEN, OUTPUT_LOSS, assert_close, examples


MODES = ("online", "batch", "minibatch")


# ---------------------------------------------------------------------------
# helpers


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


# ---------------------------------------------------------------------------
# forward pass, loss, gradients


@settings(max_examples=examples(60))
@given(network_configs(), st.booleans())
def test_gradients_loss_predict_match_reference_float64(config, labels):
    sizes, hidden, output, loss, n, seed = config
    net, X, Y = make_problem(seed, sizes, hidden, output, loss, n, labels=labels)
    W, B = params_of(net)

    out = net.predict(X)
    assert out.dtype == np.float64 and out.shape == (n, sizes[-1])
    assert_close(out, ref.forward(W, B, X, hidden, output)[-1][1], 1e-12, "predict")

    expected_loss = ref.loss(W, B, X, Y, hidden, output, loss)
    assert isinstance(net.loss(X, Y), float)
    assert net.loss(X, Y) == pytest.approx(expected_loss, rel=1e-12, abs=1e-300)

    grads = net.gradients(X, Y)
    expected = ref.gradients(W, B, X, Y, hidden, output, loss)
    assert len(grads) == len(expected) == len(sizes) - 1
    for l, ((dW, db), (eW, eb)) in enumerate(zip(grads, expected)):
        assert dW.shape == (sizes[l + 1], sizes[l]) and db.shape == (sizes[l + 1],)
        assert_close(dW, eW, 1e-10, f"dW[{l}]")
        assert_close(db, eb, 1e-10, f"db[{l}]")


@settings(max_examples=examples(30))
@given(network_configs())
def test_gradients_loss_predict_match_reference_float32(config):
    sizes, hidden, output, loss, n, seed = config
    net, X, Y = make_problem(seed, sizes, hidden, output, loss, n, dtype="float32")
    # the reference sees exactly the float32 values the network sees
    X = X.astype(np.float32)
    Y = np.asarray(Y, dtype=np.float32)
    W, B = params_of(net)

    out = net.predict(X)
    assert out.dtype == np.float32
    expected_out = ref.forward(W, B, X, hidden, output)[-1][1]
    np.testing.assert_allclose(out, expected_out, rtol=1e-5,
                               atol=1e-6 * max(1.0, np.max(np.abs(expected_out))))
    assert net.loss(X, Y) == pytest.approx(ref.loss(W, B, X, Y, hidden, output, loss),
                                           rel=1e-5, abs=1e-6)
    expected = ref.gradients(W, B, X, Y, hidden, output, loss)
    for l, ((dW, db), (eW, eb)) in enumerate(zip(net.gradients(X, Y), expected)):
        assert dW.dtype == np.float32
        assert_close(dW, eW, 1e-5, f"dW[{l}]")
        assert_close(db, eb, 1e-5, f"db[{l}]")


def test_gradients_are_those_of_the_mean_loss():
    # doubling the data set (every sample twice) leaves the mean-loss gradient unchanged
    net, X, Y = make_problem(3, [4, 5, 3], "tanh", "softmax", "cross_entropy", 7)
    once = net.gradients(X, Y)
    twice = net.gradients(np.vstack([X, X]), np.vstack([Y, Y]))
    for (a, b), (c, d) in zip(once, twice):
        assert_close(c, a, 1e-14)
        assert_close(d, b, 1e-14)
    doubled = net.loss(np.vstack([X, X]), np.vstack([Y, Y]))
    assert doubled == pytest.approx(net.loss(X, Y), rel=1e-14)


def test_loss_values_by_hand():
    # one layer, one sample: the three losses written out
    x = np.array([[0.5, -1.0]])
    for output, loss in [("sigmoid", "squared_error"), ("sigmoid", "cross_entropy"),
                         ("softmax", "cross_entropy")]:
        net = cyprop.Network([2, 2], output_activation=output, loss=loss, seed=0)
        net.weights[0][...] = [[1.0, 2.0], [-0.5, 0.25]]
        net.biases[0][...] = [0.1, -0.2]
        z = x @ net.weights[0].T + net.biases[0]
        t = np.array([[1.0, 0.0]])
        if output == "softmax":
            a = np.exp(z) / np.exp(z).sum()
            expected = -np.log(a[0, 0])
        else:
            a = 1 / (1 + np.exp(-z))
            if loss == "squared_error":
                expected = 0.5 * np.sum((a - t) ** 2)
            else:
                expected = -np.sum(t * np.log(a) + (1 - t) * np.log(1 - a))
        assert net.loss(x, t) == pytest.approx(expected, rel=1e-12)
        assert_close(net.predict(x), a, 1e-13)


def test_leaky_relu_and_rbf_definitions():
    net = cyprop.Network([1, 1], output_activation="leaky_relu", seed=0)
    net.weights[0][...] = 1.0
    z = np.array([[-3.0], [-0.5], [0.0], [2.0]])
    np.testing.assert_array_equal(net.predict(z).ravel(), [-0.03, -0.005, 0.0, 2.0])
    # derivative 0.01 for z <= 0 (z = 0 included), 1 above
    for z0, slope in [(-2.0, 0.01), (0.0, 0.01), (1.5, 1.0)]:
        # one sample x = z0 (weight 1, bias 0), target z0 + 1: delta = (a - t) * slope
        (dW, db), = net.gradients([[z0]], [[z0 + 1.0]])
        a = z0 if z0 > 0 else 0.01 * z0
        assert db[0] == pytest.approx((a - (z0 + 1.0)) * slope, rel=1e-14)
        assert dW[0, 0] == pytest.approx((a - (z0 + 1.0)) * slope * z0, rel=1e-14, abs=0)
    rbf = cyprop.Network([1, 1], output_activation="rbf", seed=0)
    rbf.weights[0][...] = 1.0
    assert_close(rbf.predict([[0.0], [1.0], [-2.0]]).ravel(),
                 np.exp(-np.array([0.0, 1.0, 4.0])), 1e-15)


# ---------------------------------------------------------------------------
# check_gradients


@pytest.mark.parametrize("output,loss", OUTPUT_LOSS)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_check_gradients_every_activation_and_loss(hidden, output, loss):
    net, X, Y = make_problem(11, [3, 4, 4, 3], hidden, output, loss, 5)
    worst = net.check_gradients(X, Y)
    assert isinstance(worst, float)
    assert 0.0 <= worst < 1e-6
    # the parameters are restored afterwards
    net2, _, _ = make_problem(11, [3, 4, 4, 3], hidden, output, loss, 5)
    np.testing.assert_array_equal(net.parameters, net2.parameters)


def test_check_gradients_detects_a_wrong_gradient(monkeypatch):
    # check_gradients compares against finite differences: feed it a loss that
    # disagrees with the gradient and it must report a large difference
    net, X, Y = make_problem(2, [2, 3, 1], "tanh", "sigmoid", "squared_error", 4)
    assert net.check_gradients(X, Y) < 1e-6
    real = net.gradients

    def doubled(X, Y):
        return [(2 * dW, 2 * db) for dW, db in real(X, Y)]

    monkeypatch.setattr(net, "gradients", doubled)
    assert net.check_gradients(X, Y) > 0.1


# ---------------------------------------------------------------------------
# training against the reference


FIT_DATA_SEED = 20240


def _fit_problem(hidden="tanh", output="sigmoid", loss="cross_entropy", sizes=(3, 5, 2), n=13,
                 dtype="float64", bias=True):
    return make_problem(FIT_DATA_SEED, list(sizes), hidden, output, loss, n, dtype=dtype,
                        bias=bias)


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("momentum", [0.0, 0.5])
@pytest.mark.parametrize("mode", MODES)
def test_fit_matches_reference(mode, momentum, shuffle):
    net, X, Y = _fit_problem()
    W, B = params_of(net)
    batch_size = 5 if mode == "minibatch" else None  # 13 samples: batches 5, 5, 3
    history = net.fit(X, Y, epochs=4, learning_rate=0.2, mode=mode, batch_size=batch_size,
                      momentum=momentum, shuffle=shuffle, seed=7)
    eW, eB, eloss = ref.fit(W, B, X, Y, "tanh", "sigmoid", "cross_entropy", epochs=4,
                            learning_rate=0.2, mode=mode, batch_size=batch_size,
                            momentum=momentum, shuffle=shuffle, seed=7)
    assert isinstance(history, cyprop.History)
    assert len(history.loss) == 4 and all(isinstance(v, float) for v in history.loss)
    assert_close(history.loss, eloss, 1e-12, "History.loss")
    for l in range(2):
        assert_close(net.weights[l], eW[l], 1e-12, f"weights[{l}]")
        assert_close(net.biases[l], eB[l], 1e-12, f"biases[{l}]")


def test_fit_modes_really_differ():
    # guards the comparison above: the three modes (and shuffling) give different weights
    results = {}
    for mode in MODES:
        for shuffle in (True, False):
            net, X, Y = _fit_problem()
            net.fit(X, Y, epochs=2, learning_rate=0.2, mode=mode,
                    batch_size=5 if mode == "minibatch" else None, shuffle=shuffle, seed=7)
            results[mode, shuffle] = net.parameters.copy()
    keys = list(results)
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            if a[0] == b[0] == "batch":
                # a full batch sums the same gradients in any order
                assert_close(results[a], results[b], 1e-13)
            else:
                assert np.max(np.abs(results[a] - results[b])) > 1e-6, (a, b)


def test_history_loss_is_measured_before_each_online_update():
    net, X, Y = _fit_problem()
    start = net.loss(X, Y)
    history = net.fit(X, Y, epochs=1, learning_rate=0.2, mode="batch")
    # batch mode: one update at the end, so epoch 1's loss is the starting loss
    assert history.loss[0] == pytest.approx(start, rel=1e-13)
    net, X, Y = _fit_problem()
    # online: the first sample's loss is taken before any update
    history = net.fit(X[:1], Y[:1], epochs=1, learning_rate=0.2, mode="online")
    net2, _, _ = _fit_problem()
    assert history.loss[0] == pytest.approx(net2.loss(X[:1], Y[:1]), rel=1e-13)


@settings(max_examples=examples(25))
@given(network_configs(max_layers=2, max_width=4), st.sampled_from(MODES),
       st.sampled_from([0.0, 0.3]), st.booleans(), st.integers(1, 6))
def test_fit_random_networks_match_reference(config, mode, momentum, shuffle, batch_size):
    sizes, hidden, output, loss, n, seed = config
    net, X, Y = make_problem(seed, sizes, hidden, output, loss, n, labels=(seed % 2 == 0))
    W, B = params_of(net)
    bs = batch_size if mode == "minibatch" else None
    history = net.fit(X, Y, epochs=3, learning_rate=0.05, mode=mode, batch_size=bs,
                      momentum=momentum, shuffle=shuffle, seed=seed)
    eW, eB, eloss = ref.fit(W, B, X, Y, hidden, output, loss, epochs=3, learning_rate=0.05,
                            mode=mode, batch_size=bs, momentum=momentum, shuffle=shuffle,
                            seed=seed)
    assert_close(history.loss, eloss, 1e-11, "History.loss")
    for l in range(len(sizes) - 1):
        assert_close(net.weights[l], eW[l], 1e-11, f"weights[{l}]")
        assert_close(net.biases[l], eB[l], 1e-11, f"biases[{l}]")


@pytest.mark.parametrize("mode", MODES)
def test_fit_float32_agrees_with_float64(mode):
    net64, X, Y = _fit_problem(hidden="sigmoid", output="softmax", sizes=(4, 6, 3), n=16)
    net32 = cyprop.Network([4, 6, 3], "sigmoid", "softmax", "cross_entropy", dtype="float32",
                           seed=0)
    net32.parameters[...] = net64.parameters  # rounded to float32
    net64.parameters[...] = net32.parameters  # both start from the same values
    X = X.astype(np.float32).astype(np.float64)
    bs = 4 if mode == "minibatch" else None
    h64 = net64.fit(X, Y, epochs=3, learning_rate=0.1, mode=mode, batch_size=bs, seed=1)
    h32 = net32.fit(X.astype(np.float32), Y.astype(np.float32), epochs=3, learning_rate=0.1,
                    mode=mode, batch_size=bs, seed=1)
    assert net32.parameters.dtype == np.float32
    assert_close(net32.parameters, net64.parameters, 1e-5, "parameters")
    assert_close(h32.loss, h64.loss, 1e-5, "History.loss")


def test_softmax_labels_and_one_hot_train_identically():
    net_a, X, y = make_problem(5, [3, 4, 3], "relu", "softmax", "cross_entropy", 9, labels=True)
    net_b, _, _ = make_problem(5, [3, 4, 3], "relu", "softmax", "cross_entropy", 9, labels=True)
    ha = net_a.fit(X, y, epochs=2, seed=0)
    hb = net_b.fit(X, ref.one_hot(y, 3), epochs=2, seed=0)
    np.testing.assert_array_equal(net_a.parameters, net_b.parameters)
    assert ha.loss == hb.loss
    # integer labels of any integer dtype, and whole-number floats
    for labels in (y.astype(np.int8), y.astype(np.uint16), y.tolist()):
        net_c, _, _ = make_problem(5, [3, 4, 3], "relu", "softmax", "cross_entropy", 9)
        net_c.fit(X, labels, epochs=2, seed=0)
        np.testing.assert_array_equal(net_c.parameters, net_a.parameters)


def test_same_seed_gives_bit_identical_training():
    runs = []
    for _ in range(2):
        net = cyprop.Network([5, 7, 3], "tanh", "softmax", "cross_entropy", seed=42)
        X = np.random.default_rng(0).normal(size=(30, 5))
        y = np.arange(30) % 3
        h = net.fit(X, y, epochs=3, learning_rate=0.1, mode="minibatch", batch_size=4,
                    momentum=0.5, seed=9)
        runs.append((net.parameters.copy(), list(h.loss)))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    assert runs[0][1] == runs[1][1]
    # a different shuffle seed changes the result
    net = cyprop.Network([5, 7, 3], "tanh", "softmax", "cross_entropy", seed=42)
    net.fit(X, y, epochs=3, learning_rate=0.1, mode="minibatch", batch_size=4, momentum=0.5,
            seed=10)
    assert not np.array_equal(net.parameters, runs[0][0])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("n_in", [3, 8, 13, 40, 100])
def test_deferred_first_layer_update_is_exact(dtype, n_in):
    # Online mode applies sample s's first-layer update in sample s+1's forward
    # pass (one pass over W_0 instead of two).  Fitting the samples one call at
    # a time (each call applies its update before returning) must give the
    # same weights, bit for bit: row lengths 3, 8, 13, 40 and 100 take every
    # branch of the fused update-and-dot (short row, one block, tail only,
    # partial sums + tail).
    rng = np.random.default_rng(n_in)
    X = rng.normal(size=(12, n_in))
    Y = rng.random((12, 2))
    together = cyprop.Network([n_in, 6, 2], "tanh", dtype=dtype, seed=5)
    one_by_one = cyprop.Network([n_in, 6, 2], "tanh", dtype=dtype, seed=5)
    h = together.fit(X, Y, epochs=1, learning_rate=0.3, shuffle=False)
    losses = [one_by_one.fit(X[s:s + 1], Y[s:s + 1], learning_rate=0.3).loss[0]
              for s in range(len(X))]
    np.testing.assert_array_equal(together.parameters, one_by_one.parameters)
    assert h.loss[0] == pytest.approx(np.mean(losses), rel=1e-6 if dtype == "float32" else 1e-14)
    assert not np.array_equal(together.parameters, cyprop.Network([n_in, 6, 2], "tanh",
                                                                  dtype=dtype, seed=5).parameters)


def test_fit_continues_where_it_left_off():
    # two fits of 2 epochs == the reference's two runs of 2 epochs (velocity restarts at zero)
    net, X, Y = _fit_problem()
    W, B = params_of(net)
    net.fit(X, Y, epochs=2, learning_rate=0.1, momentum=0.5, seed=3)
    net.fit(X, Y, epochs=2, learning_rate=0.1, momentum=0.5, seed=4)
    W, B, _ = ref.fit(W, B, X, Y, "tanh", "sigmoid", "cross_entropy", epochs=2,
                      learning_rate=0.1, momentum=0.5, seed=3)
    W, B, _ = ref.fit(W, B, X, Y, "tanh", "sigmoid", "cross_entropy", epochs=2,
                      learning_rate=0.1, momentum=0.5, seed=4)
    for l in range(2):
        assert_close(net.weights[l], W[l], 1e-12)
        assert_close(net.biases[l], B[l], 1e-12)


def test_many_epochs_still_match_reference():
    # a longer run in batch mode (the reference is vectorised there): 200 epochs
    net, X, Y = _fit_problem(hidden="sigmoid", output="sigmoid", loss="squared_error")
    W, B = params_of(net)
    h = net.fit(X, Y, epochs=200, learning_rate=0.5, mode="batch", shuffle=False)
    eW, eB, eloss = ref.fit(W, B, X, Y, "sigmoid", "sigmoid", "squared_error", epochs=200,
                            learning_rate=0.5, mode="batch", shuffle=False)
    assert_close(h.loss, eloss, 1e-11)
    for l in range(2):
        assert_close(net.weights[l], eW[l], 1e-11)
    assert h.loss[-1] < h.loss[0]


def test_callback_sees_every_epoch_and_can_stop():
    net, X, Y = _fit_problem()
    seen = []
    history = net.fit(X, Y, epochs=5, seed=1,
                      callback=lambda epoch, loss, network: seen.append((epoch, loss)))
    assert [e for e, _ in seen] == [1, 2, 3, 4, 5]
    assert [v for _, v in seen] == history.loss
    net, X, Y = _fit_problem()
    history = net.fit(X, Y, epochs=5, seed=1, callback=lambda e, loss, n: e < 2)
    assert len(history.loss) == 2


# ---------------------------------------------------------------------------
# bias=False


@pytest.mark.parametrize("mode", MODES)
def test_bias_false_never_trains_biases(mode):
    net, X, Y = _fit_problem(bias=False)
    for b in net.biases:
        np.testing.assert_array_equal(b, 0.0)
    W, B = params_of(net)
    bs = 5 if mode == "minibatch" else None
    history = net.fit(X, Y, epochs=3, learning_rate=0.2, mode=mode, batch_size=bs,
                      momentum=0.5, seed=2)
    for b in net.biases:
        np.testing.assert_array_equal(b, 0.0)
    eW, eB, eloss = ref.fit(W, B, X, Y, "tanh", "sigmoid", "cross_entropy", epochs=3,
                            learning_rate=0.2, mode=mode, batch_size=bs, momentum=0.5, seed=2,
                            bias=False)
    assert_close(history.loss, eloss, 1e-12)
    for l in range(2):
        assert_close(net.weights[l], eW[l], 1e-12)
    # the weights moved
    assert np.max(np.abs(net.weights[0] - W[0])) > 1e-3


def test_bias_false_gradients_and_predict():
    net, X, Y = _fit_problem(bias=False)
    W, B = params_of(net)
    assert_close(net.predict(X), ref.forward(W, B, X, "tanh", "sigmoid")[-1][1], 1e-12)
    expected = ref.gradients(W, B, X, Y, "tanh", "sigmoid", "cross_entropy")
    for (dW, db), (eW, _) in zip(net.gradients(X, Y), expected):
        assert_close(dW, eW, 1e-10)
        np.testing.assert_array_equal(db, 0.0)
    assert net.check_gradients(X, Y) < 1e-6


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
    net, X, Y = _fit_problem()
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


# ---------------------------------------------------------------------------
# save and load


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("bias", [True, False])
def test_save_load_round_trip_is_bit_exact(tmp_path, dtype, bias):
    net, X, Y = make_problem(8, [4, 6, 5, 3], "leaky_relu", "softmax", "cross_entropy", 10,
                             dtype=dtype, bias=bias)
    net.fit(X, Y, epochs=2, learning_rate=0.05, seed=0)
    path = tmp_path / "net.npz"
    net.save(path)
    back = cyprop.Network.load(path)
    assert back.parameters.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(back.parameters, net.parameters)
    assert back.parameters.tobytes() == net.parameters.tobytes()
    assert tuple(back.layer_sizes) == (4, 6, 5, 3)
    np.testing.assert_array_equal(back.predict(X), net.predict(X))
    for (a, b), (c, d) in zip(back.gradients(X, Y), net.gradients(X, Y)):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)
    # the loaded network trains exactly like the original (same activations, loss, bias)
    net.fit(X, Y, epochs=1, seed=5)
    back.fit(X, Y, epochs=1, seed=5)
    np.testing.assert_array_equal(back.parameters, net.parameters)
    # and is independent of it
    back.parameters[0] += 1.0
    assert back.parameters[0] != net.parameters[0]
    # str paths work as well as pathlib paths
    net.save(str(tmp_path / "again.npz"))
    np.testing.assert_array_equal(cyprop.Network.load(str(tmp_path / "again.npz")).parameters,
                                  net.parameters)


def test_save_overwrites_an_existing_file(tmp_path):
    path = tmp_path / "net.npz"
    cyprop.Network([2, 2], seed=0).save(path)
    net = cyprop.Network([3, 4, 1], "relu", seed=1)
    net.save(path)
    np.testing.assert_array_equal(cyprop.Network.load(path).parameters, net.parameters)


def test_load_missing_file(tmp_path):
    with pytest.raises(OSError):
        cyprop.Network.load(tmp_path / "nope.npz")


def test_load_rejects_garbage(tmp_path):
    path = tmp_path / "garbage.npz"
    path.write_bytes(b"this is not a network file\x00\x01\x02" * 10)
    with pytest.raises(ValueError):
        cyprop.Network.load(path)
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    with pytest.raises(ValueError):
        cyprop.Network.load(empty)


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.9])
def test_load_rejects_truncated_files(tmp_path, keep):
    path = tmp_path / "net.npz"
    cyprop.Network([5, 8, 3], seed=0).save(path)
    data = path.read_bytes()
    cut = tmp_path / "cut.npz"
    cut.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ValueError):
        cyprop.Network.load(cut)


def test_load_rejects_corrupted_bytes(tmp_path):
    path = tmp_path / "net.npz"
    net = cyprop.Network([5, 8, 3], seed=0)
    net.save(path)
    data = bytearray(path.read_bytes())
    # flip bytes inside the stored parameter data: the zip's CRC no longer matches
    start = data.find(net.parameters[:4].tobytes())
    assert start > 0
    data[start:start + 16] = bytes(16)
    bad = tmp_path / "bad.npz"
    bad.write_bytes(bytes(data))
    with pytest.raises(ValueError):
        cyprop.Network.load(bad)


def _rewrite_npz(src, dst, change):
    """Copy an .npz, passing every stored array through ``change(name, array)``."""
    with np.load(src, allow_pickle=False) as data:
        arrays = {name: change(name, data[name]) for name in data.files}
    np.savez(dst, **{k: v for k, v in arrays.items() if v is not None})


def test_load_rejects_mismatched_contents(tmp_path):
    path = tmp_path / "net.npz"
    net = cyprop.Network([5, 8, 3], seed=0)
    net.save(path)
    n = net.parameters.size

    def shorter(name, arr):
        return arr[:-1] if arr.ndim == 1 and arr.size == n else arr

    def float32(name, arr):
        return arr.astype(np.float32) if arr.ndim == 1 and arr.size == n else arr

    def drop_parameters(name, arr):
        return None if arr.ndim == 1 and arr.size == n else arr

    for i, change in enumerate([shorter, float32, drop_parameters]):
        dst = tmp_path / f"mismatch{i}.npz"
        _rewrite_npz(path, dst, change)
        with pytest.raises(ValueError):
            cyprop.Network.load(dst)
    # an ordinary .npz that is not a network at all
    other = tmp_path / "other.npz"
    np.savez(other, a=np.arange(3))
    with pytest.raises(ValueError):
        cyprop.Network.load(other)
    # a plain .npy, and a zip with something else inside
    npy = tmp_path / "arr.npy"
    np.save(npy, np.arange(3.0))
    with pytest.raises(ValueError):
        cyprop.Network.load(npy)
    z = tmp_path / "z.npz"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(ValueError):
        cyprop.Network.load(z)


# ---------------------------------------------------------------------------
# argument checks


@pytest.fixture
def small():
    net = cyprop.Network([3, 4, 2], seed=0)
    rng = np.random.default_rng(0)
    return net, rng.normal(size=(6, 3)), rng.random((6, 2))


def test_fit_rejects_mismatched_rows(small):
    net, X, Y = small
    with pytest.raises(ValueError, match=r"\bX\b|\bY\b"):
        net.fit(X, Y[:5])
    with pytest.raises(ValueError, match=r"\bX\b|\bY\b"):
        net.loss(X[:4], Y)
    with pytest.raises(ValueError, match=r"\bX\b|\bY\b"):
        net.gradients(X, Y[:1])


def test_rejects_wrong_feature_and_output_counts(small):
    net, X, Y = small
    for method in (net.predict, lambda X: net.fit(X, Y), lambda X: net.loss(X, Y)):
        with pytest.raises(ValueError, match=r"\bX\b"):
            method(X[:, :2])
        with pytest.raises(ValueError, match=r"\bX\b"):
            method(np.hstack([X, X]))
    with pytest.raises(ValueError, match=r"\bY\b"):
        net.fit(X, np.hstack([Y, Y]))
    with pytest.raises(ValueError, match=r"\bX\b"):
        net.predict(X[0])  # 1-D
    with pytest.raises(ValueError, match=r"\bX\b"):
        net.predict(X[None])  # 3-D


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_rejects_non_finite_data(small, bad):
    net, X, Y = small
    before = net.parameters.copy()
    Xb = X.copy()
    Xb[2, 1] = bad
    Yb = Y.copy()
    Yb[4, 0] = bad
    with pytest.raises(ValueError, match=r"\bX\b"):
        net.fit(Xb, Y)
    with pytest.raises(ValueError, match=r"\bY\b"):
        net.fit(X, Yb)
    with pytest.raises(ValueError, match=r"\bX\b"):
        net.predict(Xb)
    with pytest.raises(ValueError, match=r"\bY\b"):
        net.gradients(X, Yb)
    np.testing.assert_array_equal(net.parameters, before)


def test_rejects_empty_and_non_numeric_data(small):
    net, X, Y = small
    with pytest.raises(ValueError, match=r"\bX\b"):
        net.fit(np.empty((0, 3)), np.empty((0, 2)))
    with pytest.raises(ValueError, match=r"\bX\b"):
        net.predict(np.empty((0, 3)))
    with pytest.raises((TypeError, ValueError), match=r"\bX\b"):
        net.predict([["a", "b", "c"]])
    with pytest.raises((TypeError, ValueError), match=r"\bY\b"):
        net.fit(X, np.full((6, 2), "x"))
    with pytest.raises((TypeError, ValueError), match=r"\bX\b"):
        net.predict(X.astype(complex))


def test_rejects_labels_outside_the_classes():
    net = cyprop.Network([3, 4, 3], output_activation="softmax", loss="cross_entropy", seed=0)
    X = np.zeros((4, 3))
    for labels in ([0, 1, 2, 3], [0, -1, 2, 1]):
        with pytest.raises(ValueError, match=r"\bY\b|label"):
            net.fit(X, np.array(labels))
    with pytest.raises((TypeError, ValueError), match=r"\bY\b|label"):
        net.fit(X, np.array([0.5, 1, 2, 0]))


@pytest.mark.parametrize("epochs", [0, -1])
def test_rejects_non_positive_epochs(small, epochs):
    net, X, Y = small
    with pytest.raises(ValueError, match="epochs"):
        net.fit(X, Y, epochs=epochs)


def test_rejects_non_integer_epochs_and_bad_batch_sizes(small):
    net, X, Y = small
    with pytest.raises(TypeError, match="epochs"):
        net.fit(X, Y, epochs=2.5)
    with pytest.raises((TypeError, ValueError), match="epochs"):
        net.fit(X, Y, epochs="3")
    with pytest.raises(ValueError, match="batch_size"):
        net.fit(X, Y, mode="minibatch", batch_size=0)
    with pytest.raises(ValueError, match="mode"):
        net.fit(X, Y, mode="stochastic")


@pytest.mark.parametrize("rate", [0.0, -0.1, np.nan, np.inf])
def test_rejects_bad_learning_rates(small, rate):
    net, X, Y = small
    before = net.parameters.copy()
    with pytest.raises(ValueError, match="learning_rate"):
        net.fit(X, Y, learning_rate=rate)
    np.testing.assert_array_equal(net.parameters, before)


def test_rejects_bad_momentum(small):
    net, X, Y = small
    for mu in (-0.5, 1.0, 1.5):
        with pytest.raises(ValueError, match="momentum"):
            net.fit(X, Y, momentum=mu)


@pytest.mark.parametrize("kwargs,name", [
    ({"hidden_activation": "sigmod"}, "hidden_activation"),
    ({"output_activation": "ReLU"}, "output_activation"),
    ({"loss": "mse"}, "loss"),
    ({"hidden_activation": "softmax"}, "hidden_activation|softmax"),
    ({"output_activation": "softmax"}, "softmax|loss"),  # with squared_error
    ({"loss": "cross_entropy", "output_activation": "identity"}, "cross_entropy|output_activation"),
    ({"loss": "cross_entropy", "output_activation": "relu"}, "cross_entropy|output_activation"),
    ({"dtype": "float16"}, "dtype"),
])
def test_rejects_bad_configurations(kwargs, name):
    with pytest.raises(ValueError, match=name):
        cyprop.Network([3, 4, 2], **kwargs)


def test_rejects_bad_layer_sizes():
    for sizes in ([3], [], [3, 0, 2], [3, -1], [3, 2.5]):
        with pytest.raises((ValueError, TypeError), match="layer_sizes"):
            cyprop.Network(sizes)
    with pytest.raises((ValueError, TypeError), match="layer_sizes"):
        cyprop.Network(5)


def test_accepts_integer_non_contiguous_and_read_only_data(small):
    net, X, Y = small
    Xi = np.array([[1, 0, 2], [0, -1, 1], [3, 1, 0], [1, 1, 1], [0, 0, 2], [2, 2, -1]])
    expected = net.predict(Xi.astype(float))
    np.testing.assert_array_equal(net.predict(Xi), expected)
    Xi.flags.writeable = False
    np.testing.assert_array_equal(net.predict(Xi), expected)
    # a strided view and a Fortran-ordered copy
    wide = np.zeros((12, 6))
    wide[::2, ::2] = X
    view = wide[::2, ::2]
    assert not view.flags.c_contiguous
    np.testing.assert_array_equal(net.predict(view), net.predict(X))
    np.testing.assert_array_equal(net.predict(np.asfortranarray(X)), net.predict(X))
    # the same training from a read-only, non-contiguous X and Y as from plain copies
    Yw = np.zeros((6, 4))
    Yw[:, ::2] = Y
    a = cyprop.Network([3, 4, 2], seed=0)
    b = cyprop.Network([3, 4, 2], seed=0)
    view.flags.writeable = False
    ha = a.fit(view, Yw[:, ::2], epochs=2, seed=1)
    hb = b.fit(X.copy(), Y.copy(), epochs=2, seed=1)
    np.testing.assert_array_equal(a.parameters, b.parameters)
    assert ha.loss == hb.loss


def test_fit_does_not_modify_the_data():
    net, X, Y = _fit_problem()
    X0, Y0 = X.copy(), Y.copy()
    net.fit(X, Y, epochs=2, mode="minibatch", batch_size=3, momentum=0.5)
    net.gradients(X, Y)
    net.check_gradients(X[:3], Y[:3])
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(Y, Y0)
    labels = np.array([0, 2, 1, 1])
    lab0 = labels.copy()
    softmax = cyprop.Network([3, 3], output_activation="softmax", loss="cross_entropy", seed=0)
    softmax.fit(X[:4], labels)
    np.testing.assert_array_equal(labels, lab0)


def test_float32_network_accepts_float64_data_and_vice_versa():
    net64, X, Y = _fit_problem()
    net32 = cyprop.Network([3, 5, 2], "tanh", "sigmoid", "cross_entropy", dtype="float32", seed=0)
    assert net32.parameters.dtype == np.float32
    assert net32.predict(X).dtype == np.float32
    assert net64.predict(X.astype(np.float32)).dtype == np.float64
    net32.fit(X, Y, epochs=1)
    assert net32.parameters.dtype == np.float32


# ---------------------------------------------------------------------------
# divergence


def _diverging():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 3))
    Y = rng.normal(size=(20, 1))
    return cyprop.Network([3, 5, 1], "identity", "identity", seed=0), X, Y


def test_divergence_raises_and_keeps_the_last_finite_weights():
    net, X, Y = _diverging()
    W, B = params_of(net)
    with pytest.raises((ValueError, FloatingPointError)) as info:
        net.fit(X, Y, epochs=500, learning_rate=2.0, mode="batch", shuffle=False)
    message = str(info.value)
    assert "learning" in message.lower() and "smaller" in message.lower()
    found = re.search(r"epoch\D{0,3}(\d+)", message)
    assert found, message
    epoch = int(found.group(1))  # 1-based: the first epoch that failed
    # the reference, run epoch by epoch, finds the same failing epoch
    with np.errstate(all="ignore"):
        k = 0
        rW, rB = W, B
        while True:
            nW, nB, losses = ref.fit(rW, rB, X, Y, "identity", "identity", "squared_error",
                                     epochs=1, learning_rate=2.0, mode="batch",
                                     shuffle=False)
            k += 1
            finite = np.isfinite(losses[0]) and all(np.isfinite(w).all() for w in nW + nB)
            if not finite:
                break
            rW, rB = nW, nB
    assert epoch == k
    assert k >= 2  # the test is only meaningful if some epochs succeed first
    assert np.isfinite(net.parameters).all()
    for l in range(2):
        assert_close(net.weights[l], rW[l], 1e-12)
        assert_close(net.biases[l], rB[l], 1e-12)


@pytest.mark.parametrize("mode", MODES)
def test_divergence_in_every_mode(mode):
    net, X, Y = _diverging()
    X = X * 100
    with pytest.raises((ValueError, FloatingPointError), match="epoch"):
        net.fit(X, Y, epochs=50, learning_rate=5.0, mode=mode,
                batch_size=4 if mode == "minibatch" else None, momentum=0.5)
    assert np.isfinite(net.parameters).all()


# ---------------------------------------------------------------------------
# the XOR tutorial's network, and a real data set


def test_xor_network_matches_the_tutorial():
    from cyprop._reference import xor_network as ref_xor
    from cyprop.tutorials import xor_network as xor

    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([[0.0], [1.0], [1.0], [0.0]])
    for seed in (0, 1, 2):
        theta1, theta2 = ref_xor.init_weights(seed=seed)
        net = cyprop.Network([2, 3, 1], loss="cross_entropy", seed=0)
        net.weights[0][...] = theta1[:-1].T
        net.biases[0][...] = theta1[-1]
        net.weights[1][...] = theta2[:-1].T
        net.biases[1][...] = theta2[-1]
        net.fit(X, y, epochs=10000, learning_rate=0.1, mode="batch", shuffle=False)
        t1, t2 = xor.train(X, y, theta1.copy(), theta2.copy(), alpha=0.1, epochs=10000)
        assert_close(net.weights[0], t1[:-1].T, 1e-12)
        assert_close(net.biases[0], t1[-1], 1e-12)
        assert_close(net.weights[1], t2[:-1].T, 1e-12)
        assert_close(net.biases[1], t2[-1], 1e-12)
        assert_close(net.predict(X), xor.forward(X, t1, t2), 1e-12)
        np.testing.assert_array_equal(np.round(net.predict(X)).ravel(), [0, 1, 1, 0])


def test_digits_reach_97_percent_training_accuracy():
    from sklearn.datasets import load_digits  # a test dependency; the data ship with it

    digits = load_digits()
    X = digits.data / 16.0
    labels = digits.target
    net = cyprop.Network([64, 32, 10], "sigmoid", "softmax", "cross_entropy", seed=0)
    history = net.fit(X, labels, epochs=10, learning_rate=0.3, mode="online", seed=0)
    accuracy = np.mean(np.argmax(net.predict(X), axis=1) == labels)
    assert accuracy >= 0.97, accuracy
    assert history.loss[-1] < history.loss[0]
    assert len(history.loss) == 10


# ---------------------------------------------------------------------------
# every compiled kernel variant, and the ways fit splits its work


_SIMD_SCRIPT = """
import sys
import numpy as np
import cyprop
from cyprop import _kernels as _dispatch
rng = np.random.default_rng(0)
X = rng.normal(size=(23, 9))
y = rng.integers(0, 4, size=23)
out = {}
for dtype in ("float64", "float32"):
    net = cyprop.Network([9, 17, 4], "tanh", "softmax", "cross_entropy", dtype=dtype, seed=1)
    out[dtype + "_start"] = net.parameters.copy()
    grads = net.gradients(X, y)
    out[dtype + "_grad"] = np.concatenate([np.concatenate([a.ravel(), b]) for a, b in grads])
    h = net.fit(X, y, epochs=3, learning_rate=0.1, mode=sys.argv[2], batch_size=None
                if sys.argv[2] != "minibatch" else 5, momentum=0.5, seed=2)
    out[dtype + "_fit"] = net.parameters.copy()
    out[dtype + "_loss"] = np.array(h.loss)
np.savez(sys.argv[1], simd=np.array(_dispatch.simd), **out)
"""


@pytest.mark.parametrize("simd", ["baseline", "avx2"])
@pytest.mark.parametrize("mode", MODES)
def test_every_kernel_build_matches_reference(tmp_path, simd, mode):
    if simd == "avx2" and _dispatch.simd != "avx2":
        pytest.skip("no AVX2 build or CPU here")
    path = tmp_path / "out.npz"
    env = dict(os.environ, CYPROP_SIMD=simd)
    subprocess.run([sys.executable, "-c", _SIMD_SCRIPT, str(path), mode], check=True, env=env,
                   cwd=tmp_path, timeout=120)
    with np.load(path) as data:
        assert str(data["simd"]) == simd
        rng = np.random.default_rng(0)
        X = rng.normal(size=(23, 9))
        y = rng.integers(0, 4, size=23)
        for dtype, rtol in (("float64", 1e-12), ("float32", 2e-5)):
            start = data[dtype + "_start"].astype(np.float64)
            W = [start[0:153].reshape(17, 9), start[170:238].reshape(4, 17)]
            B = [start[153:170], start[238:242]]
            assert start.size == 9 * 17 + 17 + 17 * 4 + 4
            Xd = X.astype(dtype).astype(np.float64)
            grads = ref.gradients(W, B, Xd, y, "tanh", "softmax", "cross_entropy")
            expected = np.concatenate([np.concatenate([a.ravel(), b]) for a, b in grads])
            assert_close(data[dtype + "_grad"], expected, 10 * rtol, f"{dtype} gradients")
            bs = 5 if mode == "minibatch" else None
            eW, eB, eloss = ref.fit(W, B, Xd, y, "tanh", "softmax", "cross_entropy", epochs=3,
                                    learning_rate=0.1, mode=mode, batch_size=bs, momentum=0.5,
                                    seed=2)
            expected = np.concatenate([eW[0].ravel(), eB[0], eW[1].ravel(), eB[1]])
            assert_close(data[dtype + "_fit"], expected, rtol, f"{dtype} parameters")
            assert_close(data[dtype + "_loss"], eloss, rtol, f"{dtype} losses")


def test_progress_bar_and_callback_do_not_change_training(capsys):
    runs = []
    for kwargs in ({}, {"progress": True}, {"callback": lambda epoch, loss, net: None}):
        net, X, Y = _fit_problem()
        h = net.fit(X, Y, epochs=40, learning_rate=0.1, momentum=0.3, seed=6, **kwargs)
        runs.append((net.parameters.copy(), list(h.loss)))
    for params, losses in runs[1:]:
        np.testing.assert_array_equal(params, runs[0][0])
        assert losses == runs[0][1]
    assert len(runs[0][1]) == 40


# ---------------------------------------------------------------------------
# accuracy of the exp-based activations over their whole range


def _one_unit(output_activation, dtype):
    net = cyprop.Network([1, 1], output_activation=output_activation, dtype=dtype, seed=0)
    net.weights[0][...] = 1.0   # z = x exactly
    net.biases[0][...] = 0.0
    return net


def _ulps(got, want, dtype):
    """Distance in units in the last place of ``dtype`` (want is exact or float64)."""
    want_rounded = np.asarray(want).astype(dtype)
    spacing = np.spacing(np.abs(want_rounded)).astype(np.float64)
    return np.abs(got.astype(np.float64) - np.asarray(want, dtype=np.float64)) / spacing


@pytest.mark.parametrize("dtype,top", [("float64", 800.0), ("float32", 110.0)])
def test_rbf_activation_is_exp_to_two_ulp(dtype, top):
    # rbf(z) = exp(-z*z): arguments from -1e-12 down past the underflow threshold,
    # so results run through normal and subnormal numbers to zero
    net = _one_unit("rbf", dtype)
    t = np.concatenate([np.geomspace(1e-12, top, 20000), [0.0]])
    z = np.sqrt(t).astype(dtype)
    arg = (-z * z).astype(np.float64)                  # the exact argument the kernel sees
    if dtype == "float64":
        want = np.array([np.exp(v) for v in arg])     # libm exp, correctly rounded in practice
    else:
        want = np.exp(arg)                            # float64 exp, rounded once to float32
    got = net.predict(z[:, None])[:, 0]
    assert got.dtype == np.dtype(dtype)
    ulps = _ulps(got, want, dtype)
    worst = int(np.argmax(ulps))
    assert ulps[worst] <= 2.0, (arg[worst], got[worst], want[worst])
    assert got[-1] == 1.0                              # exp(0)
    assert got[-2] == 0.0                              # far below the underflow threshold


@pytest.mark.parametrize("dtype,top", [("float64", 760.0), ("float32", 110.0)])
def test_sigmoid_activation_accuracy_and_saturation(dtype, top):
    net = _one_unit("sigmoid", dtype)
    z = np.concatenate([-np.geomspace(top, 1e-10, 8000), [0.0],
                        np.geomspace(1e-10, top, 8000)]).astype(dtype)
    with np.errstate(over="ignore"):
        want = 1.0 / (1.0 + np.exp(-z.astype(np.float64)))
    got = net.predict(z[:, None])[:, 0]
    assert np.isfinite(got).all()
    # 1 / (1 + exp(-z)) overflows exp(-z) slightly before the result leaves the
    # subnormal range, so results below the smallest normal number may be 0
    tiny = np.finfo(dtype).tiny
    normal = want >= tiny
    ulps = _ulps(got[normal], want[normal], dtype)
    worst = int(np.argmax(ulps))
    assert ulps[worst] <= 4.0, (z[normal][worst], got[normal][worst], want[normal][worst])
    assert np.all(got[~normal] <= tiny)
    assert got[0] == 0.0 and got[-1] == 1.0           # saturated, never NaN
    assert got[8000] == 0.5


def test_saturated_outputs_keep_losses_and_gradients_finite():
    # z = +-50: sigmoid rounds to 1 (or ~2e-22); cross-entropy is evaluated
    # stably and stays finite and accurate
    net = _one_unit("sigmoid", "float64")
    net2 = cyprop.Network([1, 1], output_activation="sigmoid", loss="cross_entropy", seed=0)
    net2.parameters[...] = net.parameters
    X = np.array([[50.0], [-50.0]])
    Y = np.array([[0.0], [1.0]])
    # softplus(50) - 0 and softplus(-50) - (-50) -> 50 each (to round-off)
    assert net2.loss(X, Y) == pytest.approx(50.0, rel=1e-14)
    (dW, db), = net2.gradients(X, Y)
    assert np.isfinite(dW).all() and np.isfinite(db).all()
    assert db[0] == pytest.approx(0.0, abs=1e-15)      # mean of (1 - 0) and (~0 - 1)
    softmax = cyprop.Network([1, 3], output_activation="softmax", loss="cross_entropy", seed=0)
    softmax.weights[0][...] = [[1.0], [0.0], [-1.0]]
    big = np.array([[800.0]])
    out = softmax.predict(big)
    np.testing.assert_array_equal(out, [[1.0, 0.0, 0.0]])
    assert softmax.loss(big, [2]) == pytest.approx(1600.0, rel=1e-14)


def test_pickle_round_trip_keeps_weights_as_views_of_parameters():
    import pickle

    net = cyprop.Network([3, 4, 2], "tanh", "sigmoid", dtype="float32", seed=3, bias=False)
    clone = pickle.loads(pickle.dumps(net))
    assert (clone.layer_sizes, clone.hidden_activation, clone.dtype, clone.bias) == \
        (net.layer_sizes, net.hidden_activation, net.dtype, net.bias)
    np.testing.assert_array_equal(clone.parameters, net.parameters)
    # the views still alias the flat buffer, both ways
    clone.weights[0][0, 0] = 42.0
    assert clone.parameters[0] == 42.0
    clone.parameters[-1] = -7.0
    assert clone.biases[-1][-1] == -7.0
    assert net.parameters[0] != 42.0
