"""``n_threads``: one fit on several threads (batch and mini-batch modes, the
blocked online schedule), its determinism, its oracle, its argument checks,
and sweeps that stay single-threaded.

Batch modes split each batch into ``n_threads`` chunks whose gradients are
added in chunk order: ``n_threads=1`` is the serial loop bit for bit, the
same ``n_threads`` repeats bit for bit, and every ``n_threads`` agrees with
the NumPy oracle to round-off.  The blocked schedule splits W0's rows, which
leaves every element's sum as it was: bit-identical to one thread.
"""

import numpy as np
import pytest

import cyprop
from cyprop import _threads
from cyprop._kernels import kernels
from cyprop._reference import network as ref

from _common import assert_close
from _networks import make_problem, params_of

TOL = {"float64": 1e-12, "float32": 1e-5}


def batch_problem(n=61, sizes=(7, 9, 3), dtype="float64", seed=3):
    return make_problem(seed, list(sizes), "tanh", "softmax", "cross_entropy", n, dtype=dtype)


def fitted(n_threads, mode="batch", batch_size=None, momentum=0.0, dtype="float64", n=61,
           sizes=(7, 9, 3), epochs=3, **kw):
    net, X, Y = batch_problem(n, sizes, dtype)
    h = net.fit(X, Y, epochs=epochs, learning_rate=0.1, mode=mode, batch_size=batch_size,
                momentum=momentum, seed=4, n_threads=n_threads, **kw)
    return net, h


def serial_kernel_fit(mode, batch_size, momentum, dtype, n, sizes):
    """The same fit through the kernel's serial loop, called directly (no n_threads argument)."""
    net, X, Y = batch_problem(n, sizes, dtype)
    X = np.ascontiguousarray(X, dtype=dtype)
    Y = np.ascontiguousarray(Y, dtype=dtype)
    order = np.stack([np.random.default_rng(4).permutation(n)])
    p = net.parameters
    losses = np.zeros(1)
    batch = n if mode == "batch" else batch_size
    kernels.train_epochs(p, np.zeros_like(p), np.zeros(p.size if momentum else 0, dtype),
                         np.zeros(2 * p.size, dtype), net._workspace(), *net._layout_args(),
                         net._loss_code, net.bias, X, Y, order, 0.1, momentum, batch, losses)
    return p, losses


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("mode,batch_size", [("batch", None), ("minibatch", 17),
                                             ("minibatch", 9)])
def test_one_thread_is_the_serial_loop(mode, batch_size, dtype):
    # one epoch of n_threads=1 through fit == the kernel called without n_threads
    net, h = fitted(1, mode, batch_size, 0.5, dtype, epochs=1)
    p, losses = serial_kernel_fit(mode, batch_size, 0.5, dtype, 61, (7, 9, 3))
    assert np.array_equal(net.parameters, p)
    assert h.loss[0] == losses[0]


@pytest.mark.parametrize("n_threads", [2, 3, 5])
@pytest.mark.parametrize("mode,batch_size", [("batch", None), ("minibatch", 29)])
def test_same_threads_same_weights(n_threads, mode, batch_size):
    runs = [fitted(n_threads, mode, batch_size, 0.9) for _ in range(4)]
    for net, h in runs[1:]:
        assert np.array_equal(net.parameters, runs[0][0].parameters)
        assert h.loss == runs[0][1].loss


def test_threads_change_only_the_order_of_sums():
    # two chunks really are added (not a silent serial run): the weights
    # differ from one thread's in the last bits, and only there
    net1, _ = fitted(1, n=200, sizes=(20, 30, 3))
    net2, _ = fitted(2, n=200, sizes=(20, 30, 3))
    assert not np.array_equal(net1.parameters, net2.parameters)
    assert_close(net2.parameters, net1.parameters, 1e-13)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("momentum", [0.0, 0.5])
@pytest.mark.parametrize("mode,batch_size,n", [
    ("batch", None, 61), ("batch", None, 9), ("batch", None, 3),   # 3 < n_threads
    ("minibatch", 13, 61), ("minibatch", 7, 23), ("minibatch", 2, 11), ("minibatch", 33, 40)])
@pytest.mark.parametrize("n_threads", [2, 3])
def test_threads_match_the_oracle(n_threads, mode, batch_size, n, momentum, dtype):
    net, X, Y = batch_problem(n, dtype=dtype)
    W, B = params_of(net)
    h = net.fit(X, Y, epochs=3, learning_rate=0.1, mode=mode, batch_size=batch_size,
                momentum=momentum, seed=4, n_threads=n_threads)
    eW, eB, eloss = ref.fit(W, B, np.asarray(X, np.float64), Y, "tanh", "softmax",
                            "cross_entropy", epochs=3, learning_rate=0.1, mode=mode,
                            batch_size=batch_size, momentum=momentum, seed=4)
    tol = TOL[dtype]
    assert_close(h.loss, eloss, tol, "loss")
    for l in range(2):
        assert_close(net.weights[l], eW[l], tol, f"weights[{l}]")
        assert_close(net.biases[l], eB[l], tol, f"biases[{l}]")


def test_threads_with_l2_and_nesterov_match_one_thread():
    # the L2 term and Nesterov's rule act on the reduced gradient: two
    # threads agree with one to round-off
    net, X, Y = batch_problem(50)
    h = net.fit(X, Y, epochs=2, learning_rate=0.1, mode="minibatch", batch_size=20,
                momentum=0.9, nesterov=True, l2=0.01, seed=4, n_threads=2)
    net1, X1, Y1 = batch_problem(50)
    h1 = net1.fit(X1, Y1, epochs=2, learning_rate=0.1, mode="minibatch", batch_size=20,
                  momentum=0.9, nesterov=True, l2=0.01, seed=4, n_threads=1)
    assert_close(net.parameters, net1.parameters, 1e-12)
    assert_close(h.loss, h1.loss, 1e-12)


def test_divergence_rolls_back_with_threads():
    net, X, Y = make_problem(5, [7, 9, 3], "identity", "identity", "squared_error", 64)
    net.fit(X, Y, epochs=1, learning_rate=0.01, mode="batch", n_threads=2)
    twin = net.copy()
    with pytest.raises(cyprop.DivergenceError) as info:
        net.fit(X * 100, Y, epochs=50, learning_rate=10.0, mode="batch", n_threads=2, seed=1)
    # the weights from before the diverging epoch: those of the epochs before it
    twin.fit(X * 100, Y, epochs=info.value.epoch - 1, learning_rate=10.0, mode="batch",
             n_threads=2, seed=1)
    assert np.all(np.isfinite(net.parameters))
    assert np.array_equal(net.parameters, twin.parameters)


def test_callback_and_progress_with_threads():
    seen = []
    net, h = fitted(2, callback=lambda e, loss, n: seen.append((e, loss)))
    assert [e for e, _ in seen] == [1, 2, 3]
    assert [loss for _, loss in seen] == h.loss


@pytest.mark.parametrize("bad", [0, -2, -1000, 1.0, 2.5, "2", True, _threads.MAX_THREADS + 1,
                                 2**63])
def test_bad_n_threads(bad):
    net, X, Y = batch_problem()
    with pytest.raises(ValueError, match="n_threads"):
        net.fit(X, Y, mode="batch", n_threads=bad)


def test_minus_one_and_none():
    assert _threads.resolve_n_threads(-1, 100, 10) == _threads.available_threads()
    assert _threads.resolve_n_threads(None, 0, 10**6) == 1          # online, sequential
    assert _threads.resolve_n_threads(None, 2, 10) == 1             # below MIN_SPLIT_WORK
    assert _threads.resolve_n_threads(None, 10**4, 10**4) == _threads.available_threads()
    assert _threads.resolve_n_threads(np.int64(2), 10, 10) == 2
    net, X, Y = batch_problem()
    net.fit(X, Y, mode="batch", n_threads=-1)


def test_kernel_refuses_bad_n_threads():
    net, X, Y = batch_problem()
    p = net.parameters
    with pytest.raises(ValueError, match="n_threads"):
        kernels.train_epochs(p, np.zeros_like(p), np.zeros(0), np.zeros(2 * p.size),
                             net._workspace(), *net._layout_args(), net._loss_code, net.bias,
                             X, np.asarray(Y, np.float64), np.arange(X.shape[0])[None], 0.1, 0.0,
                             8, np.zeros(1), n_threads=0)


def test_show_config(capsys):
    info = cyprop.show_config()
    out = capsys.readouterr().out
    assert "OpenMP" in out
    assert info["openmp"] == (kernels.openmp_threads() > 0)
    assert info["available_threads"] >= 1
    assert "blocked online schedule's products" in out
    import importlib.util
    scipy = importlib.util.find_spec("scipy") is not None
    assert info["blocked_products"] == ("own" if kernels.own_products()
                                        else "scipy" if scipy else None)
    assert info["flush_denormals"] == kernels.can_flush_denormals()
    assert "subnormals flushed to zero while training" in out


def test_sweep_fits_are_single_threaded(monkeypatch):
    seen = []
    real = _threads.resolve_n_threads

    def spy(n_threads, *args):
        seen.append(n_threads)
        return real(n_threads, *args)

    monkeypatch.setattr(cyprop.network, "resolve_n_threads", spy)
    net, X, Y = batch_problem()

    def build(point):
        return batch_problem()[0]

    cyprop.sweep(build, X, Y, {"seed": [0, 1]}, mode="batch", epochs=1)
    assert seen == [1, 1]
    seen.clear()
    cyprop.sweep(build, X, Y, {"seed": [0]}, mode="batch", epochs=1, n_threads=2)
    assert seen == [2]


def test_blas_single_threaded_nests_and_restores():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    pytest.importorskip("scipy")
    from cyprop import _blocked

    assert _blocked.blas_available()

    def blas_threads():
        return [p["num_threads"] for p in threadpoolctl.threadpool_info()
                if p["user_api"] == "blas"]

    before = blas_threads()
    with _threads.blas_single_threaded():
        with _threads.blas_single_threaded():
            assert all(n == 1 for n in blas_threads())
        assert all(n == 1 for n in blas_threads())
    assert blas_threads() == before


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("momentum", [0.0, 0.7])
@pytest.mark.parametrize("sizes", [(300, 70, 4), (64, 40, 3), (50, 130, 2)])
def test_blocked_threads(sizes, momentum, dtype):
    # W0's rows split between threads: each product element is still one BLAS
    # dot product, but the BLAS may sum it in another order for a thinner
    # call (OpenBLAS's float32 kernels do; its float64 ones gave identical
    # bits here).  So: the same n_threads repeats bit for bit, and every
    # n_threads agrees with one thread to round-off (bit for bit with the
    # AVX-512 build's own products).
    pytest.importorskip("scipy")
    rng = np.random.default_rng(1)
    X = rng.normal(size=(90, sizes[0])) / np.sqrt(sizes[0])
    Y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], 90)]

    def fit(n_threads):
        net = cyprop.Network(list(sizes), "tanh", "softmax", "cross_entropy", dtype=dtype, seed=2)
        net.fit(X, Y, epochs=2, learning_rate=0.05, momentum=momentum, online_schedule="blocked",
                block_size=16, seed=3, n_threads=n_threads)
        return net.parameters

    one = fit(1)
    many = {}
    for n_threads in (2, 3):
        many[n_threads] = first = fit(n_threads)
        assert np.array_equal(fit(n_threads), first)
        assert_close(first, one, 1e-12 if dtype == "float64" else 1e-5)
    if cyprop._kernels.kernels.own_products():
        # the AVX-512 build's own products sum each element the same way in
        # any split of W0's rows: every count gives one thread's bits
        np.testing.assert_array_equal(many[2], one)
        np.testing.assert_array_equal(many[3], one)


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork()")
def test_threaded_fit_in_a_forked_child():
    # GNU libgomp's threads do not survive fork: a child of a process that
    # ran a parallel loop runs the same chunks on one thread (same results)
    # instead of hanging
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent("""
        import os, signal, numpy as np, cyprop
        rng = np.random.default_rng(0)
        X = rng.random((400, 64)); Y = np.eye(10)[rng.integers(0, 10, 400)]
        net = cyprop.Network([64, 32, 10], seed=0)
        twin = net.copy()
        net.fit(X, Y, epochs=2, mode="batch", n_threads=2, seed=1)
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            signal.alarm(60)
            twin.fit(X, Y, epochs=2, mode="batch", n_threads=2, seed=1)
            os.write(w, b"same" if np.array_equal(twin.parameters, net.parameters) else b"diff")
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        print(status, os.read(r, 4).decode())
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["0", "same"], out.stdout + out.stderr
