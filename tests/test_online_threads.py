"""Online training (the sequential schedule) on more than one thread.

The first layer's rows are split between the threads (at multiples of 16
rows); the samples stay in order, so every ``n_threads`` must give one
thread's weights and losses bit for bit, in every optimizer, penalty, dtype,
depth and activation, and the same as the NumPy oracle.  Also: Ctrl-C and
divergence roll back as on one thread, ``n_threads=None`` splits only what
pays, and sample weights keep one thread.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cyprop
from cyprop import _threads
from cyprop._reference import optimizers as opt

from _common import OUTPUT_LOSS, examples
from _networks import make_problem, params_of

pytestmark = pytest.mark.skipif(_threads.openmp_threads() < 2,
                                reason="needs a build with OpenMP and two threads")

OPTIMIZERS = [  # fit keywords
    {},
    {"momentum": 0.9},
    {"momentum": 0.9, "nesterov": True},
    {"optimizer": "adam"},
]


def _fits(net, X, Y, counts, **kw):
    """(parameters, epoch losses) after a fit on each thread count (a diverged
    fit: the losses up to the divergence, and the epoch, negated)."""
    out = []
    for n_threads in counts:
        other = net.copy()
        try:
            history = other.fit(X, Y, online_schedule="sequential", n_threads=n_threads, **kw)
            losses = np.array(history.loss)
        except cyprop.DivergenceError as error:
            losses = np.append(error.history.loss, -error.epoch)
        out.append((other.parameters.copy(), losses))
    return out


def _assert_same_bits(results):
    params, losses = results[0]
    for p, l in results[1:]:
        np.testing.assert_array_equal(p, params)
        np.testing.assert_array_equal(l, losses)


@settings(deadline=None, max_examples=examples(30))
@given(seed=st.integers(0, 2**16),
       n_in=st.sampled_from([3, 17, 64, 130]),
       hidden=st.lists(st.integers(1, 70), min_size=1, max_size=3),
       n_out=st.integers(1, 5),
       activation=st.sampled_from(["sigmoid", "tanh", "relu", "leaky_relu", "rbf"]),
       # (not a relu output: a dead one trains nothing, and the check below
       # that the fit moved the weights would fail)
       output_loss=st.sampled_from([p for p in OUTPUT_LOSS if p[0] != "relu"]),
       optimizer=st.sampled_from(OPTIMIZERS),
       l2=st.sampled_from([0.0, 1e-3]),
       dtype=st.sampled_from(["float64", "float32"]))
def test_every_thread_count_gives_one_threads_bits(seed, n_in, hidden, n_out, activation,
                                                   output_loss, optimizer, l2, dtype):
    output, loss = output_loss
    sizes = [n_in, *hidden, max(n_out, 2) if output == "softmax" else n_out]
    net, X, Y = make_problem(seed, sizes, activation, output, loss, 23, dtype)
    results = _fits(net, X, Y, (1, 2, 3), epochs=2, learning_rate=0.01, l2=l2, seed=seed,
                    **optimizer)
    _assert_same_bits(results)
    # the fit did train (a comparison of untouched weights could not fail)
    assert np.any(results[0][0] != net.parameters) or results[0][1][0] == -1


@pytest.mark.parametrize("kw", OPTIMIZERS)
@pytest.mark.parametrize("l2", [0.0, 1e-2])
def test_two_threads_match_the_oracle(kw, l2):
    # 40 hidden units: rows 0-31 on one thread, 32-39 on the other
    net, X, Y = make_problem(5, [20, 40, 3], "tanh", "sigmoid", "squared_error", 30)
    W0, B0 = params_of(net)
    history = net.fit(X, Y, epochs=4, learning_rate=0.02, l2=l2, seed=3, n_threads=2,
                      online_schedule="sequential", **kw)
    W, B, losses = opt.fit(W0, B0, X, Y, "tanh", "sigmoid", "squared_error", epochs=4,
                           learning_rate=0.02, l2=l2, seed=3, **kw)
    np.testing.assert_allclose(net.parameters,
                               np.concatenate([np.concatenate([w.ravel(), b])
                                               for w, b in zip(W, B)]),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(history.loss, losses, rtol=1e-12)


def test_schedules_warm_start_and_per_epoch_calls_keep_the_bits():
    net, X, Y = make_problem(2, [30, 64, 4], "relu", "softmax", "cross_entropy", 50)
    kw = dict(epochs=3, learning_rate=0.01, optimizer="adam", l2=1e-4, seed=1,
              schedule="invscaling", online_schedule="sequential")
    a, b = net.copy(), net.copy()
    a.fit(X, Y, n_threads=1, **kw)
    b.fit(X, Y, n_threads=2, **kw)
    a.fit(X, Y, n_threads=1, warm_start=True, **kw)
    b.fit(X, Y, n_threads=2, warm_start=True, **kw)
    np.testing.assert_array_equal(a.parameters, b.parameters)


def test_divergence_rolls_back_as_on_one_thread():
    rng = np.random.default_rng(8)
    X, Y = rng.normal(size=(30, 3)) * 10, rng.normal(size=(30, 2)) * 10
    caught = []
    for n_threads in (1, 2):
        net = cyprop.Network([3, 40, 2], "relu", "identity", seed=0)
        with pytest.raises(cyprop.DivergenceError) as info:
            net.fit(X, Y, epochs=200, learning_rate=1.0, momentum=0.9, shuffle=False,
                    n_threads=n_threads)
        caught.append((info.value.epoch, net.parameters.copy()))
    assert caught[0][0] == caught[1][0]
    np.testing.assert_array_equal(caught[0][1], caught[1][1])
    assert np.all(np.isfinite(caught[1][1]))


def test_sample_weights_keep_one_thread():
    net, X, Y = make_problem(4, [10, 48, 2], "tanh", "sigmoid", "squared_error", 20)
    w = np.linspace(0.5, 2.0, 20)
    _assert_same_bits(_fits(net, X, Y, (1, 2), epochs=2, learning_rate=0.05, sample_weight=w,
                            seed=0))


def test_none_splits_only_what_pays():
    big = [784, 128, 10]
    small = [64, 32, 10]
    assert _threads.online_split_work(big) >= _threads.MIN_ONLINE_SPLIT
    assert _threads.online_split_work([256, 128, 10], adam=True) >= _threads.MIN_ONLINE_SPLIT
    assert _threads.online_split_work([64, 100, 10], adam=True) < _threads.MIN_ONLINE_SPLIT
    assert _threads.online_split_work([64, 100, 10]) < _threads.MIN_ONLINE_SPLIT
    assert _threads.resolve_n_threads(None, 0, 10**5, 0, _threads.online_split_work(big)) \
        == _threads.available_threads()
    assert _threads.resolve_n_threads(None, 0, 10**5, 0,
                                      _threads.online_split_work(small, adam=True)) == 1
    # the estimator and the network ask for it
    seen = []
    real = _threads.resolve_n_threads

    def spy(*args):
        seen.append(args)
        return real(*args)

    import cyprop.network
    mp = pytest.MonkeyPatch()
    mp.setattr(cyprop.network, "resolve_n_threads", spy)
    try:
        net, X, Y = make_problem(1, [64, 100, 10], "relu", "softmax", "cross_entropy", 16)
        net.fit(X, Y, optimizer="adam", online_schedule="sequential")
    finally:
        mp.undo()
    assert seen[-1][4] == 64 * 100 * 8


def test_narrow_first_layers():
    # 16 hidden units (two cache lines of float64 rows: two chunks) and 8
    # (one: one thread)
    for hidden in (16, 8):
        net, X, Y = make_problem(6, [8, hidden, 2], "tanh", "sigmoid", "squared_error", 20)
        _assert_same_bits(_fits(net, X, Y, (1, 2), epochs=2, learning_rate=0.05,
                                optimizer="adam", seed=0))
