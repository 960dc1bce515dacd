"""Subnormal numbers flushed to zero while training (``flush_denormals``).

The training kernels run with the FPU's flush-to-zero modes on by default
(csrc/cyprop_fpmode.h): optimizer state decaying towards zero then skips the
subnormal range, where most CPUs compute far slower.  These tests pin the
contract: with ``flush_denormals=False`` the kernels keep IEEE arithmetic's
subnormals (the reference's numbers), with the default they become zero, the
weights do not change where the flushed values are far below them, every
thread of a threaded fit flushes, and every thread gets its own mode back.
"""

import numpy as np
import pytest

import cyprop
from cyprop._kernels import kernels
from cyprop._threads import openmp_threads

pytestmark = pytest.mark.skipif(not kernels.can_flush_denormals(),
                                reason="this platform cannot flush subnormals")

TINY = {"float64": np.finfo(np.float64).tiny, "float32": np.finfo(np.float32).tiny}
# momentum coefficients whose square takes a normal number into the subnormal range
MU = {"float64": 1e-160, "float32": 1e-20}


def _velocity(net):
    return net._train_state[0]


def _decaying_fit(dtype, flush, steps):
    """One weight w, online momentum SGD; w's input is 1 in the first sample and
    0 after, so its velocity decays as momentum**k * v_1."""
    net = cyprop.Network([1, 1], "identity", "identity", "squared_error", dtype=dtype, seed=3)
    X = np.zeros((steps, 1))
    X[0, 0] = 1.0
    Y = np.full((steps, 1), 0.25)
    net.fit(X, Y, epochs=1, learning_rate=0.1, momentum=MU[dtype], shuffle=False,
            flush_denormals=flush)
    return net


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_ieee_mode_keeps_the_subnormal_the_default_flushes_it(dtype):
    v1 = _velocity(_decaying_fit(dtype, False, 1))[0]
    mu = np.asarray(MU[dtype], dtype)
    expected = mu * (mu * v1)   # numpy: IEEE arithmetic
    assert 0 < abs(expected) < TINY[dtype]   # the scenario does reach the subnormal range
    ieee = _decaying_fit(dtype, False, 3)
    flushed = _decaying_fit(dtype, True, 3)
    assert _velocity(ieee)[0] == expected
    assert _velocity(flushed)[0] == 0.0
    # a step of 1e-300 (1e-40) does not move weights of order 1
    np.testing.assert_array_equal(ieee.parameters, flushed.parameters)


def test_flush_is_the_default():
    net = cyprop.Network([1, 1], "identity", "identity", "squared_error", seed=3)
    X = np.zeros((3, 1))
    X[0, 0] = 1.0
    net.fit(X, np.full((3, 1), 0.25), epochs=1, learning_rate=0.1, momentum=MU["float64"],
            shuffle=False)
    assert _velocity(net)[0] == 0.0


def test_adam_moments_flushed():
    # beta_1 = 1e-160: the first moment of a weight whose gradient stops
    # reaches the subnormal range at the third update
    def fit(flush):
        net = cyprop.Network([1, 1], "identity", "identity", "squared_error", seed=3)
        X = np.zeros((3, 1))
        X[0, 0] = 1.0
        net.fit(X, np.full((3, 1), 0.25), epochs=1, learning_rate=0.01, optimizer="adam",
                beta_1=1e-160, shuffle=False, flush_denormals=flush)
        return net, _velocity(net)[0]

    ieee, m_ieee = fit(False)
    flushed, m_flushed = fit(True)
    assert 0 < abs(m_ieee) < TINY["float64"]
    assert m_flushed == 0.0
    np.testing.assert_array_equal(ieee.parameters, flushed.parameters)


def _subnormal_calls_still_work():
    # numpy on the calling thread: IEEE arithmetic (the kernel gave the mode back)
    x = np.array([TINY["float64"]])
    return (x / 4)[0] > 0 and (np.float32(TINY["float32"]) / np.float32(4)) > 0


@pytest.mark.parametrize("mode", ["online", "batch"])
def test_the_callers_mode_is_restored(mode):
    assert _subnormal_calls_still_work()
    rng = np.random.default_rng(0)
    net = cyprop.Network([4, 8, 2], "tanh", "sigmoid", seed=0)
    net.fit(rng.normal(size=(64, 4)), rng.uniform(size=(64, 2)), epochs=2, mode=mode,
            momentum=0.5)
    assert _subnormal_calls_still_work()


def _worker_sum(flush, n_threads=2):
    """Batch mode on two chunks: only the second chunk's samples (a worker
    thread's) have a subnormal first input; times errors of about 1e4 it makes
    a normal gradient in IEEE arithmetic, and zero with the inputs flushed."""
    n = 64
    X = np.ones((n, 2))
    X[:, 0] = 0.0
    X[n // 2:, 0] = 1e-309   # subnormal
    Y = np.full((n, 1), 1e4)
    net = cyprop.Network([2, 1], "identity", "identity", "squared_error", seed=1)
    net.fit(X, Y, epochs=1, mode="batch", momentum=0.5, learning_rate=0.1, shuffle=False,
            n_threads=n_threads, flush_denormals=flush)
    return _velocity(net)[0]


@pytest.mark.skipif(openmp_threads() < 2, reason="needs OpenMP with two threads")
def test_every_thread_flushes_and_gets_its_mode_back():
    before = _worker_sum(False)
    assert abs(before) >= TINY["float64"]   # normal, so the caller's flush keeps it
    assert _worker_sum(True) == 0.0      # the worker flushed its inputs
    assert _worker_sum(False) == before  # ... and got IEEE back afterwards
    if kernels.own_products() or _has_scipy():
        # the blocked schedule's threads too
        rng = np.random.default_rng(1)
        wide = cyprop.Network([256, 64, 10], "sigmoid", "softmax", "cross_entropy", seed=0)
        wide.fit(rng.normal(size=(96, 256)), rng.integers(0, 10, 96), epochs=1,
                 online_schedule="blocked", momentum=0.9, n_threads=2)
        assert _worker_sum(False) == before
    assert _subnormal_calls_still_work()


def _has_scipy():
    import importlib.util

    return importlib.util.find_spec("scipy") is not None


def test_flush_denormals_must_be_a_flag():
    net = cyprop.Network([2, 1], seed=0)
    with pytest.raises(TypeError, match="flush_denormals"):
        net.fit(np.zeros((2, 2)), np.zeros((2, 1)), flush_denormals="yes")


def test_estimator_passes_it_on():
    pytest.importorskip("sklearn")
    from cyprop.sklearn import MLPClassifier

    X = np.random.default_rng(0).normal(size=(40, 3))
    y = np.arange(40) % 2
    a = MLPClassifier((5,), max_iter=3, random_state=0, flush_denormals=False).fit(X, y)
    b = MLPClassifier((5,), max_iter=3, random_state=0).fit(X, y)
    assert b.get_params()["flush_denormals"] is True
    for wa, wb in zip(a.coefs_, b.coefs_):
        np.testing.assert_array_equal(wa, wb)


@pytest.mark.skipif(openmp_threads() < 2, reason="needs OpenMP with two threads")
def test_workers_made_during_a_flushed_fit_get_the_callers_mode():
    # OpenMP makes its worker threads in the first parallel region, from a
    # calling thread that is flushing then; the workers inherit its mode, and
    # must still end each kernel in the caller's (IEEE) mode.  A fresh
    # process, so that the first region is a flushed fit's.
    import subprocess
    import sys

    script = (
        "import numpy as np, cyprop\n"
        "rng = np.random.default_rng(0)\n"
        "net = cyprop.Network([4, 8, 2], seed=0)\n"
        "net.fit(rng.normal(size=(64, 4)), rng.uniform(size=(64, 2)), mode='batch', n_threads=2)\n"
        "import test_denormals as t\n"
        "v = t._worker_sum(False)\n"
        "assert abs(v) >= t.TINY['float64'], v\n"
        "print('ok')\n")
    here = __import__("os").path.dirname(__file__)
    out = subprocess.run([sys.executable, "-c", script], cwd=here, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr
