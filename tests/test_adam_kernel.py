"""Adam inside the kernels (Network.fit(optimizer="adam")) against
cyprop._reference.optimizers: every mode, both dtypes, with and without
biases, with the L2 term and the schedules; rollback, warm_start, Ctrl-C
state, bad arguments; and against torch.optim.Adam where installed.
"""

import numpy as np
import pytest

import cyprop
from cyprop._reference import optimizers as opt

MODES = [("online", None), ("minibatch", 7), ("batch", None)]


def _params(W, B):
    return np.concatenate([np.concatenate([w.ravel(), b]) for w, b in zip(W, B)])


def _problem(dtype, sizes=(20, 9, 3), hidden="tanh", bias=True, seed=4):
    rng = np.random.default_rng(11)
    X = rng.normal(size=(40, sizes[0]))
    Y = rng.uniform(size=(40, sizes[-1]))
    net = cyprop.Network(list(sizes), hidden, "sigmoid", "squared_error", dtype=dtype, seed=seed,
                         bias=bias)
    W0 = [w.astype(np.float64) for w in net.weights]
    B0 = [b.astype(np.float64) for b in net.biases]
    return X, Y, net, W0, B0


def _reference(W0, B0, X, Y, **kw):
    return opt.fit(W0, B0, X, Y, "tanh", "sigmoid", "squared_error", optimizer="adam", **kw)


@pytest.mark.parametrize("schedule", ["constant", "invscaling"])
@pytest.mark.parametrize("l2", [0.0, 0.3])
@pytest.mark.parametrize("mode, batch_size", MODES)
def test_adam_in_the_kernel_matches_the_reference_float64(mode, batch_size, l2, schedule):
    X, Y, net, W0, B0 = _problem("float64")
    kw = dict(epochs=25, learning_rate=0.01, mode=mode, batch_size=batch_size, l2=l2, seed=2,
              schedule=schedule, beta_1=0.8, beta_2=0.99, epsilon=1e-7)
    history = net.fit(X, Y, optimizer="adam", **kw)
    W, B, losses = _reference(W0, B0, X, Y, **kw)
    np.testing.assert_allclose(net.parameters, _params(W, B), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(history.loss, losses, rtol=1e-12)
    # Adam moved the weights elsewhere than SGD would (so the check above can fail)
    W_sgd, B_sgd, _ = opt.fit(W0, B0, X, Y, "tanh", "sigmoid", "squared_error", **kw)
    assert np.max(np.abs(net.parameters - _params(W_sgd, B_sgd))) > 1e-2


@pytest.mark.parametrize("mode, batch_size", MODES)
def test_adam_float32_matches_the_reference(mode, batch_size):
    X, Y, net, W0, B0 = _problem("float32")
    kw = dict(epochs=5, learning_rate=0.01, mode=mode, batch_size=batch_size, l2=0.1, seed=2)
    history = net.fit(X, Y, optimizer="adam", **kw)
    W, B, losses = _reference(W0, B0, X, Y, **kw)
    np.testing.assert_allclose(net.parameters, _params(W, B), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(history.loss, losses, rtol=1e-5)


@pytest.mark.parametrize("mode, batch_size", MODES)
def test_adam_without_biases(mode, batch_size):
    X, Y, net, W0, B0 = _problem("float64", bias=False)
    kw = dict(epochs=10, learning_rate=0.02, mode=mode, batch_size=batch_size, seed=5)
    net.fit(X, Y, optimizer="adam", **kw)
    W, B, _ = _reference(W0, B0, X, Y, bias=False, **kw)
    np.testing.assert_allclose(net.parameters, _params(W, B), rtol=1e-12, atol=1e-12)
    assert all(np.all(b == 0) for b in net.biases)


@pytest.mark.parametrize("sizes, hidden", [((3, 2, 1), "sigmoid"), ((64, 32, 10), "relu"),
                                           ((5, 7, 6, 2), "tanh")])
def test_adam_online_other_shapes(sizes, hidden):
    # short rows (< 4, = 4 ... 8), the deferred first layer over many rows, three layers
    rng = np.random.default_rng(1)
    X = rng.normal(size=(25, sizes[0]))
    Y = rng.uniform(size=(25, sizes[-1]))
    net = cyprop.Network(list(sizes), hidden, "sigmoid", seed=3)
    W0 = [w.copy() for w in net.weights]   # (copies: net.weights are live views)
    B0 = [b.copy() for b in net.biases]
    net.fit(X, Y, epochs=8, learning_rate=0.01, optimizer="adam", seed=1)
    W, B, _ = opt.fit(W0, B0, X, Y, hidden, "sigmoid", "squared_error", epochs=8,
                      learning_rate=0.01, optimizer="adam", seed=1)
    np.testing.assert_allclose(net.parameters, _params(W, B), rtol=1e-12, atol=1e-12)


def test_adam_warm_start_equals_one_long_run():
    for mode, batch_size in MODES:
        X, Y, net, _, _ = _problem("float64")
        other = net.copy()
        kw = dict(learning_rate=0.01, mode=mode, batch_size=batch_size, optimizer="adam",
                  shuffle=False, l2=0.05)
        net.fit(X, Y, epochs=6, **kw)
        for _ in range(3):
            other.fit(X, Y, epochs=2, warm_start=True, **kw)
        np.testing.assert_array_equal(net.parameters, other.parameters)
        # without warm_start, m, v and t start over: a different trajectory
        restart = _problem("float64")[2]
        restart.fit(X, Y, epochs=2, **kw)
        restart.fit(X, Y, epochs=2, **kw)
        again = _problem("float64")[2]
        again.fit(X, Y, epochs=4, **kw)
        assert not np.array_equal(restart.parameters, again.parameters)


def test_adam_warm_start_does_not_take_the_momentum_velocity():
    X, Y, net, _, _ = _problem("float64")
    net.fit(X, Y, epochs=2, learning_rate=0.01, momentum=0.9, shuffle=False)
    start = net.copy()
    net.fit(X, Y, epochs=2, learning_rate=0.01, optimizer="adam", shuffle=False, warm_start=True)
    start.fit(X, Y, epochs=2, learning_rate=0.01, optimizer="adam", shuffle=False)
    np.testing.assert_array_equal(net.parameters, start.parameters)


@pytest.mark.parametrize("mode, batch_size, n, eta", [("online", None, 1, 1e76),
                                                       ("batch", None, 4, 1e76),
                                                       ("minibatch", 2, 4, 1e75)])
def test_adam_rolls_back_a_diverging_epoch_exactly(mode, batch_size, n, eta):
    # Adam's steps are bounded by about the learning rate: a huge one makes the
    # weights overflow in the second epoch
    rng = np.random.default_rng(8)
    X, Y = rng.normal(size=(n, 3)) * 1e3, rng.normal(size=(n, 2)) * 1e3
    kw = dict(learning_rate=eta, optimizer="adam", mode=mode, batch_size=batch_size,
              shuffle=False)
    net = cyprop.Network([3, 5, 2], "relu", "identity", seed=0)
    with pytest.raises(cyprop.DivergenceError) as info:
        net.fit(X, Y, epochs=50, **kw)
    assert info.value.epoch > 1
    assert np.all(np.isfinite(net.parameters))
    again = cyprop.Network([3, 5, 2], "relu", "identity", seed=0)
    again.fit(X, Y, epochs=info.value.epoch - 1, **kw)
    np.testing.assert_array_equal(net.parameters, again.parameters)
    # m, v and t (what warm_start continues from) were rolled back too
    state, again_state = net._train_state, again._train_state
    np.testing.assert_array_equal(state[0], again_state[0])
    assert state[2]["t"] == again_state[2]["t"] == (info.value.epoch - 1) * (
        1 if mode == "batch" else n // (batch_size or 1))


def test_adam_kernel_rollback_restores_m_v_and_t():
    # straight at the kernel (batch mode, one update per epoch): a diverging
    # epoch leaves params, m, v and t as they were at its start
    from cyprop._kernels import kernels as k
    rng = np.random.default_rng(8)
    X, Y = rng.normal(size=(4, 3)) * 1e3, rng.normal(size=(4, 2)) * 1e3
    net = cyprop.Network([3, 5, 2], "relu", "identity", seed=0)
    n = net.parameters.size

    def run(epochs):
        state_size = k.second_offset(n, 8) + n   # m, then v placed (see _aligned)
        params, state = net.parameters.copy(), np.zeros(state_size)
        adam = {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-8, "t": 0.0}
        order = np.tile(np.arange(4, dtype=np.intp), (epochs, 1))
        failed = k.train_epochs(params, np.zeros(n), state, np.empty(n + state_size),
                                net._workspace(),
                                *net._layout_args(), net._loss_code, True, X, Y, order, 1e76,
                                0.0, 4, np.empty(epochs), False, 0.0, 1.0, adam)
        return failed, params, state, adam["t"]

    failed, params, state, t = run(50)
    assert failed >= 1 and t == failed
    good, params2, state2, t2 = run(failed)
    assert good == -1 and t2 == t
    np.testing.assert_array_equal(params, params2)
    np.testing.assert_array_equal(state, state2)
    assert np.any(state != 0)


def test_sgd_default_is_unchanged_bit_for_bit():
    X, Y, net, _, _ = _problem("float64")
    other = net.copy()
    net.fit(X, Y, epochs=5, learning_rate=0.05, momentum=0.9, nesterov=True, seed=2)
    other.fit(X, Y, epochs=5, learning_rate=0.05, momentum=0.9, nesterov=True, seed=2,
              optimizer="sgd", beta_1=0.5, beta_2=0.5, epsilon=1.0)
    np.testing.assert_array_equal(net.parameters, other.parameters)


@pytest.mark.parametrize("kw, match", [
    (dict(optimizer="adagrad"), "optimizer"),
    (dict(optimizer="adam", beta_1=1.0), "beta_1"),
    (dict(optimizer="adam", beta_1=-0.1), "beta_1"),
    (dict(optimizer="adam", beta_2=1.5), "beta_2"),
    (dict(optimizer="adam", beta_2=float("nan")), "beta_2"),
    (dict(optimizer="adam", epsilon=0.0), "epsilon"),
    (dict(optimizer="adam", epsilon=-1e-8), "epsilon"),
    (dict(optimizer="adam", momentum=0.9), "momentum"),
    (dict(optimizer="adam", nesterov=True), "nesterov"),
    (dict(optimizer="adam", online_schedule="blocked"), "adam"),
])
def test_adam_bad_arguments(kw, match):
    X, Y, net, _, _ = _problem("float64")
    before = net.parameters.copy()
    with pytest.raises(ValueError, match=match):
        net.fit(X, Y, **kw)
    np.testing.assert_array_equal(net.parameters, before)


def test_adam_auto_schedule_runs_sequential_on_a_wide_layer():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(16, 256)), rng.uniform(size=(16, 2))
    a = cyprop.Network([256, 64, 2], "tanh", "sigmoid", seed=1)
    b = a.copy()
    a.fit(X, Y, epochs=2, optimizer="adam", learning_rate=1e-3, seed=3)
    b.fit(X, Y, epochs=2, optimizer="adam", learning_rate=1e-3, seed=3,
          online_schedule="sequential")
    np.testing.assert_array_equal(a.parameters, b.parameters)


def test_adam_against_torch():
    torch = pytest.importorskip("torch")
    # torch adds eps to sqrt(v_hat) = sqrt(v) / sqrt(1 - beta_2^t); cyprop (as
    # scikit-learn) to sqrt(v): the same rule when epsilon is 0 ... here a
    # tiny epsilon, and batch mode over the whole set (torch's full-batch step)
    X, Y, net, W0, B0 = _problem("float64", sizes=(6, 5, 2))
    net.fit(X, Y, epochs=40, learning_rate=0.01, mode="batch", optimizer="adam",
            epsilon=1e-300, shuffle=False)
    Ws = [torch.tensor(w, requires_grad=True) for w in W0]
    Bs = [torch.tensor(b, requires_grad=True) for b in B0]
    adam = torch.optim.Adam(Ws + Bs, lr=0.01, betas=(0.9, 0.999), eps=0.0)
    Xt, Yt = torch.tensor(X), torch.tensor(Y)
    for _ in range(40):
        adam.zero_grad()
        a = torch.tanh(Xt @ Ws[0].T + Bs[0])
        out = torch.sigmoid(a @ Ws[1].T + Bs[1])
        loss = (0.5 * ((out - Yt) ** 2).sum(dim=1)).mean()
        loss.backward()
        adam.step()
    want = _params([w.detach().numpy() for w in Ws], [b.detach().numpy() for b in Bs])
    np.testing.assert_allclose(net.parameters, want, rtol=1e-10, atol=1e-12)
