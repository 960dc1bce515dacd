"""The option names in cyprop._options agree with every place that acts on them."""

import numpy as np
import pytest

import cyprop
from cyprop import _options, network
from cyprop._reference import network as ref
from cyprop.cli import build_parser


def test_kernel_codes_cover_exactly_the_option_names():
    kernels = network._k  # whichever build the dispatcher chose
    assert set(kernels.ACTIVATIONS) == set(_options.OUTPUT_ACTIVATIONS)
    assert set(kernels.LOSSES) == set(_options.LOSSES)
    assert len(set(kernels.ACTIVATIONS.values())) == len(kernels.ACTIVATIONS)


def test_every_option_builds_and_trains():
    X = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]])
    for dtype in _options.DTYPES:
        for act in _options.HIDDEN_ACTIVATIONS:
            net = cyprop.Network([2, 3, 2], act, act, dtype=dtype, seed=0)
            for mode in _options.MODES:
                net.copy().fit(X, X, epochs=1, mode=mode)
            assert net.dtype == np.dtype(dtype)


def test_reference_and_cli_use_the_same_names():
    assert ref.ACTIVATIONS == _options.OUTPUT_ACTIVATIONS
    train = build_parser()._subparsers._group_actions[0].choices["train"]
    choices = {action.dest: tuple(action.choices) for action in train._actions if action.choices}
    assert choices["activation"] == _options.HIDDEN_ACTIVATIONS
    assert choices["mode"] == _options.MODES
    assert choices["dtype"] == _options.DTYPES


def test_every_schedule_name_is_accepted_and_no_other():
    X = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]])
    net = cyprop.Network([2, 3, 2], seed=0)
    for name in _options.ONLINE_SCHEDULES:
        if name != "blocked" or _has_scipy():
            net.copy().fit(X, X, epochs=1, online_schedule=name)
    for name in _options.LEARNING_RATE_SCHEDULES:
        net.copy().fit(X, X, epochs=2, schedule=name, n_iter_no_change=1)
    for bad in ("Auto", "fast"):
        with np.testing.assert_raises(ValueError):
            net.copy().fit(X, X, online_schedule=bad)
        with np.testing.assert_raises(ValueError):
            net.copy().fit(X, X, schedule=bad)


def _has_scipy():
    try:
        import scipy.linalg.cython_blas  # noqa: F401
    except ImportError:
        return False
    return True


def test_every_optimizer_name_is_accepted_and_no_other():
    X = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]])
    net = cyprop.Network([2, 3, 2], seed=0)
    trained = []
    for name in _options.OPTIMIZERS:
        for mode in _options.MODES:
            other = net.copy()
            if name == "rprop" and mode != "batch":   # iRprop- needs the full gradient
                with pytest.raises(ValueError, match="mode"):
                    other.fit(X, X, epochs=2, mode=mode, optimizer=name)
                continue
            # batch_size=2: two steps per epoch, so mini-batch is not the full
            # batch again (that differed from it only in the order of a
            # 3-sample sum, and for Adam in no bit at all)
            extra = {"batch_size": 2} if mode == "minibatch" else {}
            other.fit(X, X, epochs=2, mode=mode, optimizer=name, learning_rate=0.01, **extra)
            trained.append(other.parameters.copy())
    # each rule and mode moved the weights its own way
    assert len({p.tobytes() for p in trained}) == len(trained)
    for bad in ("Adam", "rmsprop", None):
        with np.testing.assert_raises(ValueError):
            net.copy().fit(X, X, optimizer=bad)
