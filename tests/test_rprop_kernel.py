"""iRprop- inside the batch kernel (Network.fit(optimizer="rprop")) against
cyprop._reference.optimizers, its state across calls, rollback, and bad input."""

import numpy as np
import pytest

import cyprop
from cyprop._reference import optimizers as opt


def _params(W, B):
    return np.concatenate([np.concatenate([w.ravel(), b]) for w, b in zip(W, B)])


def _problem(dtype, bias=True, sizes=(20, 9, 3), seed=4):
    rng = np.random.default_rng(11)
    X = rng.normal(size=(40, sizes[0]))
    Y = rng.uniform(size=(40, sizes[-1]))
    net = cyprop.Network(list(sizes), "tanh", "sigmoid", "squared_error", dtype=dtype, seed=seed,
                         bias=bias)
    W0 = [w.astype(np.float64) for w in net.weights]
    B0 = [b.astype(np.float64) for b in net.biases]
    return X, Y, net, W0, B0


def test_rprop_step_by_hand():
    # one parameter through every case of iRprop-, computed by hand
    p, g_prev, d = [np.array([1.0])], [np.array([0.0])], [np.array([0.1])]
    p, g_prev, d = opt.rprop_step(p, [np.array([2.0])], g_prev, d)   # no previous sign
    assert (p[0][0], g_prev[0][0], d[0][0]) == (1.0 - 0.1, 2.0, 0.1)
    p, g_prev, d = opt.rprop_step(p, [np.array([3.0])], g_prev, d)   # same sign: grow
    assert np.isclose(d[0][0], 0.12) and np.isclose(p[0][0], 0.9 - 0.12)
    p, g_prev, d = opt.rprop_step(p, [np.array([-1.0])], g_prev, d)  # flip: shrink, no move
    assert np.isclose(d[0][0], 0.06) and np.isclose(p[0][0], 0.78) and g_prev[0][0] == 0
    p, g_prev, d = opt.rprop_step(p, [np.array([-1.0])], g_prev, d)  # after a flip: keep d
    assert np.isclose(d[0][0], 0.06) and np.isclose(p[0][0], 0.84)
    # bounds, and gradients whose product underflows still compare by sign
    p, g_prev, d = opt.rprop_step([np.array([0.0])], [np.array([1e-200])], [np.array([1e-200])],
                                  [np.array([49.0])])
    assert d[0][0] == 50.0 and p[0][0] == -50.0
    p, g_prev, d = opt.rprop_step([np.array([0.0])], [np.array([-1e-200])], [np.array([1e-200])],
                                  [np.array([1e-3])], delta_min=0.01)
    assert d[0][0] == 0.01 and p[0][0] == 0.0


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("l2", [0.0, 0.3])
def test_rprop_matches_the_reference_float64(bias, l2):
    X, Y, net, W0, B0 = _problem("float64", bias)
    history = net.fit(X, Y, epochs=150, mode="batch", optimizer="rprop", l2=l2)
    W, B, losses = opt.fit(W0, B0, X, Y, "tanh", "sigmoid", epochs=150, mode="batch",
                           optimizer="rprop", l2=l2, bias=bias)
    np.testing.assert_allclose(net.parameters, _params(W, B), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(history.loss, losses, rtol=1e-12)
    assert history.loss[-1] < 0.5 * history.loss[0]   # it trained
    if not bias:
        assert not np.any(np.concatenate(list(net.biases)))


def test_rprop_other_constants_match_the_reference():
    X, Y, net, W0, B0 = _problem("float64")
    consts = dict(increase=1.5, decrease=0.3, delta_min=1e-3, delta_max=0.2, delta_zero=0.05)
    net.fit(X, Y, epochs=60, mode="batch", optimizer="rprop", rprop_increase=1.5,
            rprop_decrease=0.3, rprop_step_min=1e-3, rprop_step_max=0.2, rprop_step_init=0.05)
    W, B, _ = opt.fit(W0, B0, X, Y, "tanh", "sigmoid", epochs=60, mode="batch",
                      optimizer="rprop", rprop=consts)
    np.testing.assert_allclose(net.parameters, _params(W, B), rtol=1e-12, atol=1e-12)
    W_fann, B_fann, _ = opt.fit(W0, B0, X, Y, "tanh", "sigmoid", epochs=60, mode="batch",
                                optimizer="rprop")
    assert np.max(np.abs(net.parameters - _params(W_fann, B_fann))) > 1e-3


def test_rprop_matches_the_reference_float32():
    X, Y, net, W0, B0 = _problem("float32")
    history = net.fit(X, Y, epochs=15, mode="batch", optimizer="rprop", l2=0.1)
    W, B, losses = opt.fit(W0, B0, X, Y, "tanh", "sigmoid", epochs=15, mode="batch",
                           optimizer="rprop", l2=0.1)
    np.testing.assert_allclose(net.parameters, _params(W, B), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(history.loss, losses, rtol=1e-5)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_rprop_warm_start_is_one_long_run(dtype):
    X, Y, net, _, _ = _problem(dtype)
    other = net.copy()
    net.fit(X, Y, epochs=40, mode="batch", optimizer="rprop")
    other.fit(X, Y, epochs=25, mode="batch", optimizer="rprop")
    other.fit(X, Y, epochs=15, mode="batch", optimizer="rprop", warm_start=True)
    np.testing.assert_array_equal(net.parameters, other.parameters)
    # without warm_start the second call starts its steps afresh: different weights
    cold = _problem(dtype)[2]
    cold.fit(X, Y, epochs=25, mode="batch", optimizer="rprop")
    cold.fit(X, Y, epochs=15, mode="batch", optimizer="rprop")
    assert not np.array_equal(net.parameters, cold.parameters)
    # an sgd fit in between drops rprop's state (warm_start then starts afresh)
    mixed = _problem(dtype)[2]
    mixed.fit(X, Y, epochs=25, mode="batch", optimizer="rprop")
    mixed.fit(X, Y, epochs=1, mode="batch", momentum=0.5)
    mixed.fit(X, Y, epochs=15, mode="batch", optimizer="rprop", warm_start=True)
    assert np.all(np.isfinite(mixed.parameters))


def test_rprop_rolls_back_a_diverging_epoch_with_its_state():
    rng = np.random.default_rng(8)
    X, Y = rng.normal(size=(30, 3)) * 10, rng.normal(size=(30, 2)) * 1e150
    kwargs = dict(mode="batch", optimizer="rprop", rprop_step_max=1e300, rprop_increase=1e100,
                  shuffle=False)
    net = cyprop.Network([3, 5, 2], "identity", "identity", seed=0)
    with pytest.raises(cyprop.DivergenceError) as info:
        net.fit(X, Y, epochs=50, **kwargs)
    epoch = info.value.epoch
    assert epoch > 1 and np.all(np.isfinite(net.parameters))
    again = cyprop.Network([3, 5, 2], "identity", "identity", seed=0)
    again.fit(X, Y, epochs=epoch - 1, **kwargs)
    np.testing.assert_array_equal(net.parameters, again.parameters)
    # the kernel restores rprop's signs and step sizes with the weights
    from cyprop._kernels import kernels
    from cyprop._fit_plan import FitScratch
    n = net.n_parameters
    nets, states = [], []
    for epochs in (50, epoch - 1):
        trial = cyprop.Network([3, 5, 2], "identity", "identity", seed=0)
        second = kernels.second_offset(n, 8)   # the step sizes' place (see _aligned)
        state = np.zeros(second + n)
        state[second:] = 0.1
        scratch = FitScratch(trial, epochs, X.shape[0], state)
        order = np.tile(np.arange(X.shape[0]), (epochs, 1))
        failed = kernels.train_epochs(trial.parameters, scratch.grad, state, scratch.backup,
                                      scratch.work, *trial._layout_args(), trial._loss_code,
                                      True, X, Y.astype(float), order, 0.1, 0.0, X.shape[0],
                                      scratch.losses, rprop=(1e100, 0.5, 0.0, 1e300))
        assert failed == (epoch - 1 if epochs == 50 else -1)
        nets.append(trial)
        states.append(state)
    np.testing.assert_array_equal(nets[0].parameters, nets[1].parameters)
    np.testing.assert_array_equal(states[0], states[1])


def test_rprop_bad_arguments():
    X, Y, net, _, _ = _problem("float64")
    for mode in ("online", "minibatch"):
        with pytest.raises(ValueError, match="rprop.*mode|mode.*rprop"):
            net.fit(X, Y, mode=mode, optimizer="rprop")
    with pytest.raises(ValueError, match="optimizer"):
        net.fit(X, Y, mode="batch", optimizer="lbfgs")
    with pytest.raises(ValueError, match="momentum"):
        net.fit(X, Y, mode="batch", optimizer="rprop", momentum=0.9)
    with pytest.raises(ValueError, match="schedule"):
        net.fit(X, Y, mode="batch", optimizer="rprop", schedule="invscaling")
    with pytest.raises(ValueError, match="rprop_increase"):
        net.fit(X, Y, mode="batch", optimizer="rprop", rprop_increase=1.0)
    with pytest.raises(ValueError, match="rprop_decrease"):
        net.fit(X, Y, mode="batch", optimizer="rprop", rprop_decrease=1.5)
    with pytest.raises(ValueError, match="rprop_step_min"):
        net.fit(X, Y, mode="batch", optimizer="rprop", rprop_step_min=-1)
    with pytest.raises(ValueError, match="rprop_step_max"):
        net.fit(X, Y, mode="batch", optimizer="rprop", rprop_step_max=np.inf)
    with pytest.raises(ValueError, match="rprop_step_init"):
        net.fit(X, Y, mode="batch", optimizer="rprop", rprop_step_init=60.0)
    with pytest.raises(TypeError, match="rprop_step_init"):
        net.fit(X, Y, mode="batch", optimizer="rprop", rprop_step_init="big")
