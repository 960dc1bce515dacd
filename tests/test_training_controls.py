"""Network.fit's epoch-level controls (schedules, stopping, validation split,
warm_start) and the L2 term of loss/gradients/check_gradients, against
cyprop._reference.optimizers."""

import warnings

import numpy as np
import pytest

import cyprop
from cyprop import _training
from cyprop._reference import network as ref
from cyprop._reference import optimizers as opt


def _problem(seed=0, n=40, sizes=(3, 5, 2)):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, sizes[0]))
    Y = rng.uniform(size=(n, sizes[-1]))
    net = cyprop.Network(list(sizes), "tanh", "sigmoid", "squared_error", seed=seed)
    return net, X, Y


def _params(W, B):
    return np.concatenate([np.concatenate([w.ravel(), b]) for w, b in zip(W, B)])


@pytest.mark.parametrize("mode, batch_size", [("online", None), ("minibatch", 7), ("batch", None)])
@pytest.mark.parametrize("momentum", [0.0, 0.5])
def test_invscaling_matches_the_reference(mode, batch_size, momentum):
    net, X, Y = _problem()
    W0, B0 = [w.copy() for w in net.weights], [b.copy() for b in net.biases]
    history = net.fit(X, Y, epochs=6, learning_rate=0.3, mode=mode, batch_size=batch_size,
                      momentum=momentum, schedule="invscaling", power_t=0.4, seed=5)
    W, B, losses = opt.fit(W0, B0, X, Y, "tanh", "sigmoid", "squared_error", epochs=6,
                           learning_rate=0.3, mode=mode, batch_size=batch_size,
                           momentum=momentum, schedule="invscaling", power_t=0.4, seed=5)
    np.testing.assert_allclose(net.parameters, _params(W, B), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(history.loss, losses, rtol=1e-12)


def test_constant_schedule_keeps_long_kernel_calls_and_the_same_weights():
    net, X, Y = _problem()
    other = net.copy()
    net.fit(X, Y, epochs=5, momentum=0.3, seed=1)
    other.fit(X, Y, epochs=5, momentum=0.3, seed=1, schedule="constant", tol=0.5)
    np.testing.assert_array_equal(net.parameters, other.parameters)


@pytest.mark.parametrize("shuffle", [False, True])
def test_warm_start_keeps_the_velocity_and_samples_seen(shuffle):
    net, X, Y = _problem(1)
    a, b, c = net.copy(), net.copy(), net.copy()
    kwargs = dict(learning_rate=0.2, momentum=0.7, schedule="invscaling", shuffle=shuffle)
    a.fit(X, Y, epochs=4, seed=None if not shuffle else 3, **kwargs)
    b.fit(X, Y, epochs=1, seed=None if not shuffle else 3, **kwargs)
    b.fit(X, Y, epochs=3, warm_start=True, seed=None if not shuffle else 4, **kwargs)
    c.fit(X, Y, epochs=1, seed=None if not shuffle else 3, **kwargs)
    c.fit(X, Y, epochs=3, seed=None if not shuffle else 4, **kwargs)
    if not shuffle:   # same sample order: warm-started training is one long fit, bit for bit
        np.testing.assert_array_equal(a.parameters, b.parameters)
    assert not np.array_equal(b.parameters, c.parameters)


def test_stopping_on_the_training_loss():
    net, X, Y = _problem(2)
    # tol so large that no epoch after the first counts as an improvement:
    # counts 0, 1, 2, 3 -> more than 2 after epoch 4
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history = net.fit(X, Y, epochs=50, tol=1e9, n_iter_no_change=2)
    assert history.epochs == 4


def test_stopping_rule_follows_the_reference_counter():
    net, X, Y = _problem(3)
    history = net.copy().fit(X, Y, epochs=300, learning_rate=0.05, seed=0)
    count, best, expect = 0, np.inf, None
    for e, value in enumerate(history.loss):
        count, best, _ = opt.no_improvement(count, best, value, tol=1e-3)
        if count > 5:
            expect = e + 1
            break
    assert expect is not None
    got = net.fit(X, Y, epochs=300, learning_rate=0.05, seed=0, tol=1e-3, n_iter_no_change=5)
    assert got.epochs == expect
    np.testing.assert_array_equal(got.loss, history.loss[:expect])


def test_convergence_warning_when_the_budget_ends_first():
    net, X, Y = _problem(4)
    with pytest.warns(cyprop.ConvergenceWarning, match="5 epochs"):
        history = net.fit(X, Y, epochs=5, tol=0.0, n_iter_no_change=50)
    assert history.epochs == 5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net.fit(X, Y, epochs=5)      # no stopping rule: no warning


@pytest.mark.filterwarnings("ignore::cyprop.ConvergenceWarning")
def test_validation_split_restores_the_best_epoch():
    net, X, Y = _problem(5, n=60)
    # a large step makes the validation loss wander, so the best epoch is not the last
    history = net.fit(X, Y, epochs=40, learning_rate=3.0, seed=2, validation_fraction=0.25,
                      n_iter_no_change=40, tol=0.0)
    assert len(history.val_loss) == history.epochs
    controls = _training.EpochControls(1.0, validation_fraction=0.25, n_iter_no_change=1)
    _, _, X_val, Y_val = controls.split(X, Y, 2)
    assert X_val.shape[0] == 15
    assert net.loss(X_val, Y_val) == pytest.approx(min(history.val_loss), rel=1e-12)


def test_adaptive_divides_the_rate_instead_of_stopping():
    net, X, Y = _problem(6)
    stopping = net.copy().fit(X, Y, epochs=200, tol=1e9, n_iter_no_change=2)
    adaptive = net.copy().fit(X, Y, epochs=200, tol=1e9, n_iter_no_change=2, schedule="adaptive",
                              learning_rate=0.1)
    # 0.1 / 5**8 <= 1e-6: eight divisions of 3 epochs each, then the ninth firing stops
    assert stopping.epochs == 4
    assert adaptive.epochs == 4 + 8 * 3


@pytest.mark.parametrize("kwargs, match", [
    ({"schedule": "cosine"}, "schedule"),
    ({"schedule": "adaptive"}, "n_iter_no_change"),
    ({"validation_fraction": 0.2}, "n_iter_no_change"),
    ({"validation_fraction": 1.0, "n_iter_no_change": 2}, "validation_fraction"),
    ({"n_iter_no_change": 0}, "n_iter_no_change"),
    ({"tol": -1.0}, "tol"),
    ({"power_t": -1.0}, "power_t"),
])
def test_bad_controls_are_named(kwargs, match):
    net, X, Y = _problem()
    with pytest.raises(ValueError, match=match):
        net.fit(X, Y, **kwargs)


def test_loss_and_gradients_include_l2():
    net, X, Y = _problem(7)
    W, B = list(net.weights), list(net.biases)
    n = X.shape[0]
    expect = ref.loss(W, B, X, Y, "tanh", "sigmoid") + opt.l2_penalty(W, 0.3, n)
    assert net.loss(X, Y, l2=0.3) == pytest.approx(expect, rel=1e-12)
    grads = net.gradients(X, Y, l2=0.3)
    for (dW, db), (rW, rb), pW in zip(grads, ref.gradients(W, B, X, Y, "tanh", "sigmoid"),
                                      opt.l2_gradient(W, 0.3, n)):
        np.testing.assert_allclose(dW, rW + pW, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(db, rb, rtol=1e-12, atol=1e-14)
    assert net.check_gradients(X[:10], Y[:10], l2=0.3) < 1e-6
    assert net.loss(X, Y) < net.loss(X, Y, l2=0.3)
    with pytest.raises(ValueError, match="l2"):
        net.loss(X, Y, l2=-1)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("mode, batch_size", [("online", None), ("minibatch", 7), ("batch", None)])
def test_nesterov_in_the_kernel_matches_the_reference(mode, batch_size, dtype):
    rng = np.random.default_rng(11)
    X = rng.normal(size=(40, 20))
    Y = rng.uniform(size=(40, 3))
    net = cyprop.Network([20, 9, 3], "tanh", "sigmoid", "squared_error", dtype=dtype, seed=4)
    W0 = [w.astype(np.float64) for w in net.weights]
    B0 = [b.astype(np.float64) for b in net.biases]
    history = net.fit(X, Y, epochs=30, learning_rate=0.05, mode=mode, batch_size=batch_size,
                      momentum=0.9, nesterov=True, seed=2)
    W, B, losses = opt.fit(W0, B0, X, Y, "tanh", "sigmoid", "squared_error", epochs=30,
                           learning_rate=0.05, mode=mode, batch_size=batch_size, momentum=0.9,
                           nesterov=True, seed=2)
    rtol = 1e-12 if dtype == "float64" else 2e-3
    np.testing.assert_allclose(net.parameters, _params(W, B), rtol=rtol, atol=rtol)
    np.testing.assert_allclose(history.loss, losses, rtol=rtol)
    # and it is a different rule from classical momentum
    classical = net.copy()
    classical.parameters = np.concatenate([np.concatenate([w.ravel(), b]) for w, b in zip(W0, B0)])
    classical.fit(X, Y, epochs=30, learning_rate=0.05, mode=mode, batch_size=batch_size,
                  momentum=0.9, seed=2)
    assert np.max(np.abs(classical.parameters - net.parameters)) > 1e-3


def test_nesterov_rolls_back_a_diverging_epoch():
    rng = np.random.default_rng(8)
    X, Y = rng.normal(size=(30, 3)) * 10, rng.normal(size=(30, 2)) * 10
    net = cyprop.Network([3, 5, 2], "relu", "identity", seed=0)
    with pytest.raises(cyprop.DivergenceError) as info:
        net.fit(X, Y, epochs=200, learning_rate=1.0, momentum=0.9, nesterov=True, mode="batch",
                shuffle=False)
    assert np.all(np.isfinite(net.parameters))
    # the weights are those after the last finite epoch: refit that many epochs and compare
    again = cyprop.Network([3, 5, 2], "relu", "identity", seed=0)
    if info.value.epoch > 1:
        again.fit(X, Y, epochs=info.value.epoch - 1, learning_rate=1.0, momentum=0.9,
                  nesterov=True, mode="batch", shuffle=False)
    np.testing.assert_array_equal(net.parameters, again.parameters)
