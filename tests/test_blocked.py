"""The blocked online schedule (``fit(online_schedule="blocked")``) against the sequential one.

Blocked online SGD is the sequential trajectory in exact arithmetic (the
first layer's weights advance by one rank-k update per block of k samples,
and each sample's first-layer z is rebuilt from the block's matrix products);
in floating point only the order of the sums differs.  The tests check:

- its NumPy reference (``cyprop._reference.blocked``) against the sequential
  reference ``cyprop._reference.network.fit``;
- the compiled kernel, sample by sample within one block, against the
  sequential kernel;
- whole fits against the sequential kernel (784-128-10 and random shapes,
  both dtypes, every activation, with and without shuffling and momentum):
  1e-11 relative in float64, 1e-4 in float32;
- the oracle tests of online mode with "blocked" forced;
- divergence rollback, callbacks, argument checks and the "auto" rule.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cyprop
from cyprop import _blocked
from cyprop._kernels import kernels
from cyprop._reference import blocked as ref_blocked
from cyprop._reference import network as ref

from _common import HIDDEN, OUTPUT_LOSS, assert_close, examples

pytest.importorskip("scipy", reason="the blocked schedule takes its BLAS from SciPy")

TOL = {"float64": 1e-11, "float32": 1e-4}


def relative_drift(a, b):
    """max |a - b| / max |b| (0 when both are zero)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = np.max(np.abs(b))
    return float(np.max(np.abs(a - b)) / scale) if scale else float(np.max(np.abs(a)))


def targets_for(rng, n, n_out, output, loss):
    if output == "softmax":
        return np.eye(n_out)[rng.integers(0, n_out, n)]
    if loss == "cross_entropy" or output in ("sigmoid", "rbf"):
        return rng.random((n, n_out))
    if output == "tanh":
        return rng.uniform(-0.9, 0.9, (n, n_out))
    return rng.normal(size=(n, n_out))


def problem(sizes, hidden="sigmoid", output="sigmoid", loss="squared_error", n=64,
            dtype="float64", seed=0, bias=True):
    rng = np.random.default_rng(seed)
    net = cyprop.Network(sizes, hidden, output, loss, dtype=dtype, seed=seed, bias=bias)
    if bias:
        for b in net.biases:
            b[...] = rng.normal(scale=0.3, size=b.shape)
    X = rng.normal(size=(n, sizes[0])) / np.sqrt(sizes[0])
    Y = targets_for(rng, n, sizes[-1], output, loss)
    return net, X, Y


def params_of(net):
    return ([np.array(w, dtype=np.float64) for w in net.weights],
            [np.array(b, dtype=np.float64) for b in net.biases])


def fit_both(net, X, Y, **kw):
    """(sequential, blocked) copies of ``net`` after the same fit."""
    seq, blk = net.copy(), net.copy()
    block_size = kw.pop("block_size", None)
    h_seq = seq.fit(X, Y, online_schedule="sequential", **kw)
    h_blk = blk.fit(X, Y, online_schedule="blocked", block_size=block_size, **kw)
    return seq, blk, h_seq, h_blk


# ---------------------------------------------------------------------------
# the NumPy reference of the schedule


@pytest.mark.parametrize("momentum", [0.0, 0.6])
@pytest.mark.parametrize("block_size", [1, 3, 8, 64])
@pytest.mark.parametrize("hidden,output,loss", [("sigmoid", "sigmoid", "squared_error"),
                                                ("tanh", "softmax", "cross_entropy"),
                                                ("relu", "identity", "squared_error")])
def test_reference_blocked_equals_reference_sequential(hidden, output, loss, block_size,
                                                      momentum):
    net, X, Y = problem([9, 6, 4, 3], hidden, output, loss, n=29)
    W, B = params_of(net)
    kw = dict(epochs=2, learning_rate=0.1, momentum=momentum, seed=5)
    eW, eB, eloss = ref.fit(W, B, X, Y, hidden, output, loss, mode="online", **kw)
    bW, bB, bloss = ref_blocked.fit_blocked(W, B, X, Y, hidden, output, loss,
                                            block_size=block_size, **kw)
    assert_close(bloss, eloss, 1e-13, "epoch losses")
    for l in range(3):
        assert_close(bW[l], eW[l], 1e-13, f"weights[{l}]")
        assert_close(bB[l], eB[l], 1e-13, f"biases[{l}]")
    # guard: the fit moved the weights
    assert np.max(np.abs(eW[0] - W[0])) > 1e-3


def test_reference_block_z_is_the_sequential_z():
    rng = np.random.default_rng(3)
    W0 = rng.normal(size=(5, 7))
    b = rng.normal(size=5)
    Xb = rng.normal(size=(6, 7))
    D = rng.normal(size=(6, 5))
    z = ref_blocked.block_first_layer_z(W0, b, Xb, D, 0.3)
    W = W0.copy()
    for s in range(6):
        np.testing.assert_allclose(z[s], W @ Xb[s] + b, rtol=1e-13, atol=1e-13)
        W -= 0.3 * np.outer(D[s], Xb[s])


# ---------------------------------------------------------------------------
# the kernel, one block sample by sample


def _kernel_blocked_z(net, X, Y, order, eta, momentum, block_size, n_threads=1):
    """Run the blocked kernel for one epoch over ``order``; return (params, z trace)."""
    net = net.copy()
    n_params = net.parameters.size
    dtype = net.dtype
    assert _blocked.blas_available()
    trace = np.zeros((len(order), net.layer_sizes[1]), dtype=dtype)
    failed = kernels.train_epochs_blocked(
        net.parameters, np.zeros(n_params if momentum else 0, dtype), np.empty(2 * n_params, dtype),
        net._workspace(), np.empty(kernels.blocked_workspace_size(net._sizes, block_size), dtype),
        np.empty(3 * (block_size + 1)), *net._layout_args(), net._loss_code, net.bias,
        X.astype(dtype), Y.astype(dtype), np.asarray(order, dtype=np.intp)[None, :], eta,
        momentum, block_size, np.empty(1), trace, n_threads=n_threads)
    assert failed == -1
    return net, trace


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("momentum", [0.0, 0.7])
def test_each_z_of_a_block_matches_the_sequential_kernel(dtype, momentum):
    # One block of 12 samples: z_s from the block's products must equal
    # W_s x_s + b_s, with W_s and b_s the sequential kernel's weights after
    # the block's first s samples (one fit call over them: the velocity
    # starts at zero in a call, as it does at the blocked kernel's start).
    net, X, Y = problem([40, 9, 3], "tanh", "sigmoid", "cross_entropy", n=12, dtype=dtype)
    X, Y = X.astype(dtype), Y.astype(dtype)
    order = np.array([4, 0, 11, 7, 2, 9, 1, 10, 3, 6, 8, 5])
    eta = 0.4
    _, trace = _kernel_blocked_z(net, X, Y, order, eta, momentum, block_size=12)
    tol = 1e-12 if dtype == "float64" else 1e-5
    for s, q in enumerate(order):
        seq = net.copy()
        if s:
            seq.fit(X[order[:s]], Y[order[:s]], learning_rate=eta, momentum=momentum,
                    shuffle=False, online_schedule="sequential")
        z_seq = (np.asarray(seq.weights[0], np.float64) @ X[q].astype(np.float64)
                 + np.asarray(seq.biases[0], np.float64))
        assert_close(trace[s], z_seq, tol, f"z of sample {s} of the block")
    # guard: the zs really depend on the in-block correction (it is not zero)
    z_frozen = (np.asarray(net.weights[0], np.float64) @ X[order].T.astype(np.float64)).T \
        + np.asarray(net.biases[0], np.float64)
    assert np.max(np.abs(trace[1:] - z_frozen[1:])) > 1e-3


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("n_threads", [2, 3])
def test_each_z_of_a_multi_thread_epoch_matches_the_sequential_kernel(dtype, n_threads):
    # More than one thread (no momentum) runs each epoch in one parallel
    # region: thread 0 runs a block's samples while the last thread gathers
    # the next block's inputs and Gram matrix, then every thread updates its
    # rows of W0 and forms its rows of the next block's products.  Blocks of
    # 7 (the last of 2), 37 hidden units (split at 16 rows: 16 + 21, and
    # 16 + 16 + 5 with a thread left without rows): every z_s must still be
    # W_s x_s + b_s of the sequential kernel, the weights at the end its.
    net, X, Y = problem([45, 37, 3], "tanh", "softmax", "cross_entropy", n=30, dtype=dtype)
    X, Y = X.astype(dtype), Y.astype(dtype)
    order = np.random.default_rng(5).permutation(30)
    eta = 0.3
    end, trace = _kernel_blocked_z(net, X, Y, order, eta, 0.0, block_size=7, n_threads=n_threads)
    tol = 1e-12 if dtype == "float64" else 1e-5
    for s, q in enumerate(order):
        seq = net.copy()
        if s:
            seq.fit(X[order[:s]], Y[order[:s]], learning_rate=eta, shuffle=False,
                    online_schedule="sequential")
        z_seq = (np.asarray(seq.weights[0], np.float64) @ X[q].astype(np.float64)
                 + np.asarray(seq.biases[0], np.float64))
        assert_close(trace[s], z_seq, tol, f"z of sample {s}")
    seq = net.copy()
    seq.fit(X[order], Y[order], learning_rate=eta, shuffle=False, online_schedule="sequential")
    assert_close(end.parameters, seq.parameters, tol, "weights after the epoch")
    # each product element is summed as in one call over all rows: with the
    # build's own products, one thread's bits (a BLAS may sum a thinner call
    # in another order)
    one, one_trace = _kernel_blocked_z(net, X, Y, order, eta, 0.0, block_size=7)
    if kernels.own_products():
        np.testing.assert_array_equal(end.parameters, one.parameters)
        np.testing.assert_array_equal(trace, one_trace)
    else:
        assert_close(end.parameters, one.parameters, tol, "weights against one thread")


# ---------------------------------------------------------------------------
# whole fits: blocked vs sequential


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shuffle", [True, False])
def test_one_epoch_784_128_10(dtype, shuffle):
    net, X, Y = problem([784, 128, 10], "sigmoid", "softmax", "cross_entropy", n=600,
                        dtype=dtype, seed=11)
    seq, blk, h_seq, h_blk = fit_both(net, X, Y, epochs=1, learning_rate=0.2, shuffle=shuffle,
                                      seed=2)
    drift = relative_drift(blk.parameters, seq.parameters)
    assert drift <= TOL[dtype], drift
    assert_close(h_blk.loss, h_seq.loss, TOL[dtype], "History.loss")
    assert relative_drift(seq.parameters, net.parameters) > 1e-4   # it trained


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("hidden", HIDDEN)
def test_every_hidden_activation(dtype, hidden):
    net, X, Y = problem([30, 12, 4], hidden, "sigmoid", "squared_error", n=50, dtype=dtype,
                        seed=4)
    seq, blk, h_seq, h_blk = fit_both(net, X, Y, epochs=1, learning_rate=0.1, block_size=8,
                                      seed=1)
    assert relative_drift(blk.parameters, seq.parameters) <= TOL[dtype]
    assert_close(h_blk.loss, h_seq.loss, TOL[dtype])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("output,loss", OUTPUT_LOSS)
def test_every_output_and_loss(dtype, output, loss):
    net, X, Y = problem([20, 7, 5], "tanh", output, loss, n=40, dtype=dtype, seed=6)
    seq, blk, h_seq, h_blk = fit_both(net, X, Y, epochs=2, learning_rate=0.05, block_size=16,
                                      momentum=0.5, seed=3)
    assert relative_drift(blk.parameters, seq.parameters) <= TOL[dtype]
    assert_close(h_blk.loss, h_seq.loss, TOL[dtype])


@settings(max_examples=examples(30))
@given(st.lists(st.integers(1, 9), min_size=2, max_size=4), st.sampled_from(HIDDEN),
       st.sampled_from(OUTPUT_LOSS), st.integers(1, 40), st.integers(1, 20),
       st.sampled_from([0.0, 0.4]), st.booleans(), st.booleans(),
       st.sampled_from(["float64", "float32"]), st.integers(0, 2**31 - 1))
def test_random_shapes(sizes, hidden, output_loss, n, block_size, momentum, shuffle, bias,
                       dtype, seed):
    output, loss = output_loss
    if output == "softmax" and sizes[-1] < 2:
        sizes[-1] = 2
    net, X, Y = problem(sizes, hidden, output, loss, n=n, dtype=dtype, seed=seed, bias=bias)
    seq, blk, h_seq, h_blk = fit_both(net, X, Y, epochs=2, learning_rate=0.05,
                                      block_size=block_size, momentum=momentum,
                                      shuffle=shuffle, seed=seed)
    assert relative_drift(blk.parameters, seq.parameters) <= TOL[dtype]
    assert_close(h_blk.loss, h_seq.loss, TOL[dtype])
    if not bias:
        for b in blk.biases:
            np.testing.assert_array_equal(b, 0.0)


# ---------------------------------------------------------------------------
# the online oracle tests with "blocked" forced


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("momentum", [0.0, 0.5])
def test_blocked_fit_matches_reference(momentum, shuffle, bias):
    net, X, Y = problem([3, 5, 2], "tanh", "sigmoid", "cross_entropy", n=13, seed=8, bias=bias)
    W, B = params_of(net)
    history = net.fit(X, Y, epochs=4, learning_rate=0.2, momentum=momentum, shuffle=shuffle,
                      seed=7, online_schedule="blocked", block_size=5)   # blocks 5, 5, 3
    eW, eB, eloss = ref.fit(W, B, X, Y, "tanh", "sigmoid", "cross_entropy", epochs=4,
                            learning_rate=0.2, mode="online", momentum=momentum,
                            shuffle=shuffle, seed=7, bias=bias)
    assert_close(history.loss, eloss, 1e-12, "History.loss")
    for l in range(2):
        assert_close(net.weights[l], eW[l], 1e-12, f"weights[{l}]")
        assert_close(net.biases[l], eB[l], 1e-12, f"biases[{l}]")


@settings(max_examples=examples(25))
@given(st.lists(st.integers(1, 6), min_size=2, max_size=4), st.sampled_from(HIDDEN),
       st.sampled_from(OUTPUT_LOSS), st.integers(1, 12), st.integers(1, 8),
       st.sampled_from([0.0, 0.3]), st.booleans(), st.integers(0, 2**31 - 1))
def test_blocked_random_networks_match_reference(sizes, hidden, output_loss, n, block_size,
                                                 momentum, shuffle, seed):
    output, loss = output_loss
    if output == "softmax" and sizes[-1] < 2:
        sizes[-1] = 2
    net, X, Y = problem(sizes, hidden, output, loss, n=n, seed=seed)
    W, B = params_of(net)
    history = net.fit(X, Y, epochs=3, learning_rate=0.05, momentum=momentum, shuffle=shuffle,
                      seed=seed, online_schedule="blocked", block_size=block_size)
    eW, eB, eloss = ref.fit(W, B, X, Y, hidden, output, loss, epochs=3, learning_rate=0.05,
                            mode="online", momentum=momentum, shuffle=shuffle, seed=seed)
    assert_close(history.loss, eloss, 1e-11, "History.loss")
    for l in range(len(sizes) - 1):
        assert_close(net.weights[l], eW[l], 1e-11, f"weights[{l}]")
        assert_close(net.biases[l], eB[l], 1e-11, f"biases[{l}]")


def test_blocked_callback_and_progress(capsys):
    net, X, Y = problem([6, 5, 2], n=20)
    seen = []
    h = net.fit(X, Y, epochs=4, seed=1, online_schedule="blocked", block_size=4, progress=True,
                callback=lambda e, loss, network: seen.append((e, loss)) or e < 3)
    assert [e for e, _ in seen] == [1, 2, 3]
    assert [v for _, v in seen] == h.loss


def test_blocked_divergence_rolls_back_the_epoch():
    net, X, Y = problem([8, 6, 1], "identity", "identity", "squared_error", n=30, seed=2)
    X = X * 100
    first = net.copy()
    first.fit(X, Y, epochs=1, learning_rate=1e-9, online_schedule="blocked", block_size=7)
    before = first.parameters.copy()
    with pytest.raises(cyprop.DivergenceError) as info:
        first.fit(X, Y, epochs=3, learning_rate=1e6, online_schedule="blocked", block_size=7)
    assert info.value.epoch == 1
    np.testing.assert_array_equal(first.parameters, before)


# ---------------------------------------------------------------------------
# arguments and the "auto" rule


def test_schedule_argument_checks():
    net, X, Y = problem([4, 3, 1], n=5)
    with pytest.raises(ValueError, match="schedule must be one of"):
        net.fit(X, Y, online_schedule="fast")
    with pytest.raises(ValueError, match="block_size must be a positive"):
        net.fit(X, Y, online_schedule="blocked", block_size=0)
    with pytest.raises(TypeError, match="block_size"):
        net.fit(X, Y, online_schedule="blocked", block_size=2.5)
    with pytest.raises(ValueError, match="mode='online'"):
        net.fit(X, Y, mode="batch", online_schedule="blocked")
    with pytest.raises(ValueError, match="block_size"):
        net.fit(X, Y, online_schedule="sequential", block_size=8)
    before = net.parameters.copy()
    with pytest.raises(ValueError):
        net.fit(X, Y, mode="minibatch", block_size=8)
    np.testing.assert_array_equal(net.parameters, before)


def test_auto_through_fit_blocks_a_wide_first_layer():
    # 300-64-4 is past AUTO_MIN_INPUTS / AUTO_MIN_UNITS: "auto" runs the
    # blocked schedule, bit for bit, on one thread and on two
    rng = np.random.default_rng(0)
    X = rng.random((64, 300)); Y = np.eye(4)[rng.integers(0, 4, 64)]
    for n_threads in (1, 2):
        a = cyprop.Network([300, 64, 4], seed=0)
        b, c = a.copy(), a.copy()
        a.fit(X, Y, epochs=1, shuffle=False, n_threads=n_threads)
        b.fit(X, Y, epochs=1, shuffle=False, n_threads=n_threads, online_schedule="blocked")
        c.fit(X, Y, epochs=1, shuffle=False, n_threads=n_threads, online_schedule="sequential")
        np.testing.assert_array_equal(a.parameters, b.parameters)
        assert not np.array_equal(a.parameters, c.parameters)   # (the test can tell them apart)


@settings(deadline=None)
@given(st.integers(1, 70), st.integers(1, 70), st.integers(1, 40),
       st.sampled_from([1.0, 0.5]), st.sampled_from(["float64", "float32"]),
       st.integers(0, 2**31 - 1))
def test_block_products_match_numpy(n_in, H, m, beta, dtype, seed):
    # every tile shape and tail of the build's products (its own, or BLAS):
    # rows of 4 and 1, 1-4 vectors of samples, whole vectors of inputs and
    # the columns past them
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(H, n_in)).astype(dtype)
    Xb = rng.normal(size=(m, n_in)).astype(dtype)
    D = rng.normal(size=(m, H)).astype(dtype)
    P = np.full((m, H), np.nan, dtype)
    G = np.full((m, m), np.nan, dtype)
    W0 = W.copy()
    kernels.block_products(W, Xb, D, P, G, beta)
    w64, x64, d64 = W0.astype(np.float64), Xb.astype(np.float64), D.astype(np.float64)
    tol = 1e-12 if dtype == "float64" else 2e-5
    scale = np.sqrt(n_in) + np.sqrt(m)

    def close(got, want):
        np.testing.assert_allclose(got, want, rtol=0, atol=tol * scale * (1 + np.abs(want).max()))

    close(P, x64 @ w64.T)
    lower = np.tril_indices(m)
    close(G[lower], (x64 @ x64.T)[lower])
    close(W, beta * w64 - d64.T @ x64)


def test_block_products_repeat_and_split_rows_bit_for_bit():
    # each element is one chain of sums whatever tile it falls in: the rows
    # of a product computed apart (as threads split them) give the same bits
    rng = np.random.default_rng(3)
    for dtype in ("float64", "float32"):
        H, n_in, m = 37, 101, 45
        W = rng.normal(size=(H, n_in)).astype(dtype)
        Xb = rng.normal(size=(m, n_in)).astype(dtype)
        D = rng.normal(size=(m, H)).astype(dtype)
        P, G = np.empty((m, H), dtype), np.empty((m, m), dtype)
        Wa = W.copy()
        kernels.block_products(Wa, Xb, D, P, G, 1.0)
        for lo, hi in ((0, 16), (16, 37), (5, 6)):
            Wp = W[lo:hi].copy()
            Pp = np.empty((m, hi - lo), dtype)
            kernels.block_products(Wp, Xb, np.ascontiguousarray(D[:, lo:hi]), Pp,
                                   np.empty((m, m), dtype), 1.0)
            if kernels.own_products():   # BLAS may sum a thinner call in another order
                np.testing.assert_array_equal(Pp, P[:, lo:hi])
                np.testing.assert_array_equal(Wp, Wa[lo:hi])


def test_block_products_check_shapes():
    W, Xb, D = np.zeros((3, 5)), np.zeros((4, 5)), np.zeros((4, 3))
    with pytest.raises(ValueError, match="shapes"):
        kernels.block_products(W, Xb, D, np.zeros((3, 4)), np.zeros((4, 4)), 1.0)
    with pytest.raises(ValueError, match="shapes"):
        kernels.block_products(W, Xb, D, np.zeros((4, 3)), np.zeros((4, 3)), 1.0)


def test_the_avx512_build_needs_no_scipy_for_the_blocked_schedule(monkeypatch):
    assert kernels.own_products() == (cyprop._kernels.simd == "avx512")
    if not kernels.own_products():
        pytest.skip("this build takes its products from SciPy's BLAS")
    monkeypatch.setattr(kernels, "has_blas", lambda: False)   # as if SciPy were missing
    monkeypatch.setattr(kernels, "load_blas", None)
    assert _blocked.blas_available()
    assert _blocked.resolve_schedule("auto", None, (784, 128, 10), "online") \
        == _blocked.DEFAULT_BLOCK_SIZE


def test_auto_is_sequential_for_small_networks_and_blocked_for_wide_ones():
    assert _blocked.resolve_schedule("auto", None, (64, 32, 10), "online") == 0
    assert _blocked.resolve_schedule("auto", None, (2, 3, 1), "online") == 0
    assert _blocked.resolve_schedule("auto", None, (784, 128, 10), "batch") == 0
    assert _blocked.resolve_schedule("auto", None, (784, 128, 10), "online") \
        == _blocked.DEFAULT_BLOCK_SIZE
    assert _blocked.resolve_schedule("auto", 16, (784, 128, 10), "online") == 16
    # small networks under "auto" are bit-identical to "sequential"
    net, X, Y = problem([64, 32, 10], n=40)
    a, b = net.copy(), net.copy()
    a.fit(X, Y, seed=1)
    b.fit(X, Y, seed=1, online_schedule="sequential")
    np.testing.assert_array_equal(a.parameters, b.parameters)


def test_blocked_without_scipy_is_a_clear_import_error(monkeypatch):
    monkeypatch.setattr(_blocked, "blas_available", lambda: False)
    net, X, Y = problem([300, 64, 2], n=5)
    with pytest.raises(ImportError, match="SciPy"):
        net.fit(X, Y, online_schedule="blocked")
    # "auto" falls back to the sequential schedule
    a, b = net.copy(), net.copy()
    a.fit(X, Y, seed=1)
    b.fit(X, Y, seed=1, online_schedule="sequential")
    np.testing.assert_array_equal(a.parameters, b.parameters)
