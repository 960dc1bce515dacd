"""Network.fit in every mode against the reference's update rules, exactly.

Online, batch and mini-batch training, momentum, shuffling, float32,
bias=False, divergence, the XOR tutorial's network and a real data set, and
every compiled kernel build (each in a subprocess).
"""

import os
import re
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cyprop
from cyprop import _kernels as _dispatch
from cyprop._reference import network as ref

from _common import MODES, assert_close, examples
from _networks import fit_problem, make_problem, network_configs, params_of


# ---------------------------------------------------------------------------
# training against the reference


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("momentum", [0.0, 0.5])
@pytest.mark.parametrize("mode", MODES)
def test_fit_matches_reference(mode, momentum, shuffle):
    net, X, Y = fit_problem()
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
            net, X, Y = fit_problem()
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
    net, X, Y = fit_problem()
    start = net.loss(X, Y)
    history = net.fit(X, Y, epochs=1, learning_rate=0.2, mode="batch")
    # batch mode: one update at the end, so epoch 1's loss is the starting loss
    assert history.loss[0] == pytest.approx(start, rel=1e-13)
    net, X, Y = fit_problem()
    # online: the first sample's loss is taken before any update
    history = net.fit(X[:1], Y[:1], epochs=1, learning_rate=0.2, mode="online")
    net2, _, _ = fit_problem()
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


@settings(max_examples=examples(20), deadline=None)
@given(st.lists(st.integers(1, 23), min_size=2, max_size=4), st.sampled_from(["batch", "minibatch"]),
       st.integers(1, 2), st.integers(8, 40), st.integers(0, 2**32 - 1),
       st.sampled_from(["sigmoid", "tanh", "relu", "leaky_relu", "rbf", "identity"]))
def test_batch_blocks_on_wider_networks_match_reference(widths, mode, n_threads, n, seed, hidden):
    # the batch kernels' tiled loops (cyp_block8_*: four output rows and two
    # gradient rows per pass, then the rows left over) on layer widths that
    # hit every tail, with full and partial lane blocks, on one and two threads
    sizes = widths + [3]
    net, X, Y = make_problem(seed, sizes, hidden, "softmax", "cross_entropy", n,
                             labels=True)
    W, B = params_of(net)
    bs = 9 if mode == "minibatch" else None
    history = net.fit(X, Y, epochs=2, learning_rate=0.05, mode=mode, batch_size=bs,
                      shuffle=True, seed=seed % 1000, n_threads=n_threads)
    eW, eB, eloss = ref.fit(W, B, X, Y, hidden, "softmax", "cross_entropy", epochs=2,
                            learning_rate=0.05, mode=mode, batch_size=bs, shuffle=True,
                            seed=seed % 1000)
    assert_close(history.loss, eloss, 1e-11, "History.loss")
    for l in range(len(sizes) - 1):
        assert_close(net.weights[l], eW[l], 1e-11, f"weights[{l}]")
        assert_close(net.biases[l], eB[l], 1e-11, f"biases[{l}]")


@pytest.mark.parametrize("mode", MODES)
def test_fit_float32_agrees_with_float64(mode):
    net64, X, Y = fit_problem(hidden="sigmoid", output="softmax", sizes=(4, 6, 3), n=16)
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
    net, X, Y = fit_problem()
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
    net, X, Y = fit_problem(hidden="sigmoid", output="sigmoid", loss="squared_error")
    W, B = params_of(net)
    h = net.fit(X, Y, epochs=200, learning_rate=0.5, mode="batch", shuffle=False)
    eW, eB, eloss = ref.fit(W, B, X, Y, "sigmoid", "sigmoid", "squared_error", epochs=200,
                            learning_rate=0.5, mode="batch", shuffle=False)
    assert_close(h.loss, eloss, 1e-11)
    for l in range(2):
        assert_close(net.weights[l], eW[l], 1e-11)
    assert h.loss[-1] < h.loss[0]


def test_callback_sees_every_epoch_and_can_stop():
    net, X, Y = fit_problem()
    seen = []
    history = net.fit(X, Y, epochs=5, seed=1,
                      callback=lambda epoch, loss, network: seen.append((epoch, loss)))
    assert [e for e, _ in seen] == [1, 2, 3, 4, 5]
    assert [v for _, v in seen] == history.loss
    net, X, Y = fit_problem()
    history = net.fit(X, Y, epochs=5, seed=1, callback=lambda e, loss, n: e < 2)
    assert len(history.loss) == 2


# ---------------------------------------------------------------------------
# bias=False


@pytest.mark.parametrize("mode", MODES)
def test_bias_false_never_trains_biases(mode):
    net, X, Y = fit_problem(bias=False)
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
    net, X, Y = fit_problem(bias=False)
    W, B = params_of(net)
    assert_close(net.predict(X), ref.forward(W, B, X, "tanh", "sigmoid")[-1][1], 1e-12)
    expected = ref.gradients(W, B, X, Y, "tanh", "sigmoid", "cross_entropy")
    for (dW, db), (eW, _) in zip(net.gradients(X, Y), expected):
        assert_close(dW, eW, 1e-10)
        np.testing.assert_array_equal(db, 0.0)
    assert net.check_gradients(X, Y) < 1e-6


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


@pytest.mark.parametrize("simd", ["baseline", "avx2", "avx512"])
@pytest.mark.parametrize("mode", MODES)
def test_every_kernel_build_matches_reference(tmp_path, simd, mode):
    if simd not in _dispatch.cpu_levels() or _dispatch._load(simd) is None:
        pytest.skip(f"no {simd} build or CPU here")
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
        net, X, Y = fit_problem()
        h = net.fit(X, Y, epochs=40, learning_rate=0.1, momentum=0.3, seed=6, **kwargs)
        runs.append((net.parameters.copy(), list(h.loss)))
    for params, losses in runs[1:]:
        np.testing.assert_array_equal(params, runs[0][0])
        assert losses == runs[0][1]
    assert len(runs[0][1]) == 40
