"""cyprop._reference.optimizers: each rule against steps worked out by hand,
the training loop against the plain-SGD reference, and (where torch is
installed) SGD/Nesterov/Adam against torch.optim."""

import numpy as np
import pytest

from cyprop._reference import network as ref
from cyprop._reference import optimizers as opt


def test_l2_penalty_and_gradient_by_hand():
    W = [np.array([[1.0, -2.0]]), np.array([[3.0]])]
    # alpha/(2n) * (1 + 4 + 9) with alpha = 0.5, n = 2
    assert opt.l2_penalty(W, 0.5, 2) == pytest.approx(0.5 / 4 * 14)
    g = opt.l2_gradient(W, 0.5, 2)
    np.testing.assert_array_equal(g[0], [[0.25, -0.5]])
    np.testing.assert_array_equal(g[1], [[0.75]])


def test_l2_gradient_is_the_penalty_derivative():
    rng = np.random.default_rng(0)
    W = [rng.normal(size=(3, 2)), rng.normal(size=(1, 3))]
    g = opt.l2_gradient(W, 0.3, 7)
    eps = 1e-6
    for l in range(2):
        for idx in np.ndindex(W[l].shape):
            up = [w.copy() for w in W]; up[l][idx] += eps
            down = [w.copy() for w in W]; down[l][idx] -= eps
            fd = (opt.l2_penalty(up, 0.3, 7) - opt.l2_penalty(down, 0.3, 7)) / (2 * eps)
            assert g[l][idx] == pytest.approx(fd, rel=1e-6)


def test_sgd_momentum_by_hand():
    p, v = [np.array([1.0])], [np.array([0.0])]
    # step 1: v = -0.1 * 2 = -0.2; w = 0.8
    p, v = opt.sgd_step(p, [np.array([2.0])], v, eta=0.1, momentum=0.9)
    assert p[0][0] == pytest.approx(0.8) and v[0][0] == pytest.approx(-0.2)
    # step 2: v = 0.9 * -0.2 - 0.1 * 1 = -0.28; w = 0.52
    p, v = opt.sgd_step(p, [np.array([1.0])], v, eta=0.1, momentum=0.9)
    assert p[0][0] == pytest.approx(0.52) and v[0][0] == pytest.approx(-0.28)


def test_sgd_nesterov_by_hand():
    p, v = [np.array([1.0])], [np.array([0.0])]
    # step 1: v = -0.2; w += 0.9 * -0.2 - 0.2 = -0.38
    p, v = opt.sgd_step(p, [np.array([2.0])], v, eta=0.1, momentum=0.9, nesterov=True)
    assert p[0][0] == pytest.approx(0.62) and v[0][0] == pytest.approx(-0.2)
    # step 2: v = -0.28; w += 0.9 * -0.28 - 0.1 = -0.352
    p, v = opt.sgd_step(p, [np.array([1.0])], v, eta=0.1, momentum=0.9, nesterov=True)
    assert p[0][0] == pytest.approx(0.268) and v[0][0] == pytest.approx(-0.28)


def test_sgd_without_momentum_is_plain_gradient_descent():
    p, v = opt.sgd_step([np.array([1.0, 2.0])], [np.array([0.5, -1.0])],
                        [np.zeros(2)], eta=0.2)
    np.testing.assert_allclose(p[0], [0.9, 2.2])


def test_adam_by_hand():
    p, m, v = [np.array([1.0])], [np.zeros(1)], [np.zeros(1)]
    # step 1: m = 0.1 g, v = 0.001 g^2, eta_1 = eta sqrt(0.001)/0.1: the step is eta*sign(g)
    # (up to epsilon): w = 1 - 0.01 * 2 / (2 + 1e-8 / sqrt(0.001) * ...)
    g = 2.0
    p, m, v, t = opt.adam_step(p, [np.array([g])], m, v, 0, eta=0.01)
    eta_1 = 0.01 * np.sqrt(1 - 0.999) / (1 - 0.9)
    expect = 1.0 - eta_1 * (0.1 * g) / (np.sqrt(0.001 * g * g) + 1e-8)
    assert t == 1 and p[0][0] == pytest.approx(expect, rel=1e-15)
    assert p[0][0] == pytest.approx(0.99, rel=1e-7)
    # step 2 with g = -1: m = 0.09*2... written out
    m2 = 0.9 * 0.2 + 0.1 * -1.0
    v2 = 0.999 * 0.004 + 0.001 * 1.0
    eta_2 = 0.01 * np.sqrt(1 - 0.999 ** 2) / (1 - 0.9 ** 2)
    p2, _, _, t = opt.adam_step(p, [np.array([-1.0])], m, v, t, eta=0.01)
    assert t == 2
    assert p2[0][0] == pytest.approx(expect - eta_2 * m2 / (np.sqrt(v2) + 1e-8), rel=1e-15)


def test_rprop_by_hand():
    p = [np.array([0.0, 0.0, 0.0])]
    prev = [np.zeros(3)]
    d = [np.full(3, 0.1)]
    # first step: no previous sign, steps stay 0.1, move against the gradient's sign
    p, prev, d = opt.rprop_step(p, [np.array([1.0, -1.0, 0.0])], prev, d)
    np.testing.assert_allclose(p[0], [-0.1, 0.1, 0.0])
    np.testing.assert_allclose(d[0], [0.1, 0.1, 0.1])
    # same sign: step * 1.2; flipped sign: step * 0.5, no move, gradient forgotten
    p, prev, d = opt.rprop_step(p, [np.array([3.0, 2.0, 1.0])], prev, d)
    np.testing.assert_allclose(d[0], [0.12, 0.05, 0.1])
    np.testing.assert_allclose(p[0], [-0.22, 0.1, -0.1])
    np.testing.assert_array_equal(prev[0], [3.0, 0.0, 1.0])
    # after a flip the next step compares against 0: step size kept, moves again
    p, prev, d = opt.rprop_step(p, [np.array([1.0, 2.0, 1.0])], prev, d)
    np.testing.assert_allclose(d[0], [0.144, 0.05, 0.12])
    np.testing.assert_allclose(p[0], [-0.364, 0.05, -0.22])


def test_rprop_step_bounds():
    p, prev, d = opt.rprop_step([np.zeros(2)], [np.array([1.0, 1.0])], [np.array([1.0, -1.0])],
                                [np.array([49.0, 1e-3])], delta_max=50.0, delta_min=1e-3)
    np.testing.assert_allclose(d[0], [50.0, 1e-3])


def test_schedules_by_hand():
    assert opt.schedule_rate("constant", 0.1, 500) == 0.1
    assert opt.schedule_rate("adaptive", 0.1, 500) == 0.1
    assert opt.schedule_rate("invscaling", 0.1, 0) == 0.1            # first epoch
    assert opt.schedule_rate("invscaling", 0.1, 99, power_t=0.5) == pytest.approx(0.01)
    assert opt.adaptive_rate(0.1) == (pytest.approx(0.02), False)
    assert opt.adaptive_rate(1e-6) == (1e-6, True)
    with pytest.raises(ValueError):
        opt.schedule_rate("cosine", 0.1, 0)


def test_no_improvement_counter():
    count, best = 0, np.inf
    seq = [1.0, 0.5, 0.4999, 0.6, 0.3]
    counts = []
    for value in seq:
        count, best, _ = opt.no_improvement(count, best, value, tol=1e-3)
        counts.append(count)
    assert counts == [0, 0, 1, 2, 0] and best == 0.3
    count, best, improved = opt.no_improvement(0, 0.9, 0.9005, tol=1e-3, higher_is_better=True)
    assert (count, best, improved) == (1, 0.9005, True)


def _problem(seed=0, n=13, sizes=(3, 4, 2)):
    rng = np.random.default_rng(seed)
    W = [rng.normal(scale=0.5, size=(sizes[l + 1], sizes[l])) for l in range(len(sizes) - 1)]
    B = [rng.normal(scale=0.1, size=sizes[l + 1]) for l in range(len(sizes) - 1)]
    X = rng.normal(size=(n, sizes[0]))
    Y = rng.uniform(size=(n, sizes[-1]))
    return W, B, X, Y


@pytest.mark.parametrize("mode,batch_size", [("online", None), ("minibatch", 4), ("batch", None)])
@pytest.mark.parametrize("momentum", [0.0, 0.8])
def test_fit_sgd_matches_the_network_reference(mode, batch_size, momentum):
    """Without L2 and Nesterov, the optimizer loop is cyprop's original SGD (same formulas)."""
    W, B, X, Y = _problem()
    a = ref.fit(W, B, X, Y, "tanh", "sigmoid", "squared_error", epochs=5, learning_rate=0.1,
                mode=mode, batch_size=batch_size, momentum=momentum, seed=3)
    b = opt.fit(W, B, X, Y, "tanh", "sigmoid", "squared_error", epochs=5, learning_rate=0.1,
                mode=mode, batch_size=batch_size, momentum=momentum, seed=3)
    for x, y in zip(a[0] + a[1], b[0] + b[1]):
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(a[2], b[2], rtol=1e-12)


def test_fit_l2_loss_and_gradient_agree():
    """One batch step with L2 moves the weights by the finite-difference gradient of the
    penalised mean loss."""
    W, B, X, Y = _problem(1)
    eta, alpha = 1e-3, 0.7
    W1, B1, losses = opt.fit(W, B, X, Y, "tanh", "sigmoid", "squared_error", epochs=1,
                             learning_rate=eta, mode="batch", l2=alpha, shuffle=False)
    n = X.shape[0]

    def objective(W_):
        return ref.loss(W_, B, X, Y, "tanh", "sigmoid") + opt.l2_penalty(W_, alpha, n)

    assert losses[0] == pytest.approx(objective(W), rel=1e-12)
    eps = 1e-6
    for l in range(len(W)):
        for idx in np.ndindex(W[l].shape):
            up = [w.copy() for w in W]; up[l][idx] += eps
            down = [w.copy() for w in W]; down[l][idx] -= eps
            fd = (objective(up) - objective(down)) / (2 * eps)
            assert (W[l][idx] - W1[l][idx]) / eta == pytest.approx(fd, rel=1e-5, abs=1e-9)


def test_fit_invscaling_uses_samples_seen():
    """Batch mode, no momentum: epoch k steps by eta_0 / (k n + 1)^power_t."""
    W, B, X, Y = _problem(2)
    n = X.shape[0]
    got = opt.fit(W, B, X, Y, "tanh", "sigmoid", epochs=3, learning_rate=0.5, mode="batch",
                  schedule="invscaling", power_t=0.25, shuffle=False)
    Wk, Bk = W, B
    for k in range(3):
        Wk, Bk, _ = ref.fit(Wk, Bk, X, Y, "tanh", "sigmoid", epochs=1, mode="batch",
                            learning_rate=0.5 / (k * n + 1) ** 0.25, shuffle=False)
    for x, y in zip(got[0] + got[1], Wk + Bk):
        np.testing.assert_allclose(x, y, rtol=1e-12)


def test_fit_rprop_needs_batch_mode_and_descends():
    W, B, X, Y = _problem(3)
    with pytest.raises(ValueError, match="batch"):
        opt.fit(W, B, X, Y, optimizer="rprop", mode="online")
    _, _, losses = opt.fit(W, B, X, Y, "tanh", "sigmoid", epochs=40, mode="batch",
                           optimizer="rprop", shuffle=False)
    assert losses[-1] < 0.5 * losses[0]


def test_fit_adam_descends():
    W, B, X, Y = _problem(4)
    _, _, losses = opt.fit(W, B, X, Y, "tanh", "sigmoid", epochs=60, mode="minibatch",
                           batch_size=5, optimizer="adam", learning_rate=0.01, seed=0)
    assert losses[-1] < 0.6 * losses[0]


# -- PyTorch's optimizers (a second, independent oracle) --------------------------


def _torch_run(torch_opt, params, grads_seq, **kwargs):
    torch = pytest.importorskip("torch")
    tp = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in params]
    o = torch_opt(tp, **kwargs)
    for grads in grads_seq:
        for t, g in zip(tp, grads):
            t.grad = torch.tensor(g, dtype=torch.float64)
        o.step()
    return [t.detach().numpy() for t in tp]


def _grads_seq(seed=0, steps=25):
    rng = np.random.default_rng(seed)
    params = [rng.normal(size=(3, 2)), rng.normal(size=4)]
    return params, [[rng.normal(size=p.shape) for p in params] for _ in range(steps)]


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_matches_torch_with_a_constant_rate(nesterov):
    torch = pytest.importorskip("torch")
    params, seq = _grads_seq(1)
    expect = _torch_run(torch.optim.SGD, params, seq, lr=0.05, momentum=0.9, nesterov=nesterov)
    p, v = params, [np.zeros_like(x) for x in params]
    for g in seq:
        p, v = opt.sgd_step(p, g, v, 0.05, 0.9, nesterov)
    for a, b in zip(p, expect):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)


def test_adam_matches_torch_when_epsilon_is_zero_and_differs_otherwise():
    torch = pytest.importorskip("torch")
    params, seq = _grads_seq(2)

    def ours(eps):
        p, m, v, t = params, [np.zeros_like(x) for x in params], [np.zeros_like(x) for x in params], 0
        for g in seq:
            p, m, v, t = opt.adam_step(p, g, m, v, t, 0.01, 0.9, 0.999, eps)
        return p

    expect = _torch_run(torch.optim.Adam, params, seq, lr=0.01, betas=(0.9, 0.999), eps=0.0)
    for a, b in zip(ours(0.0), expect):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)
    # epsilon placement: torch adds it to sqrt(v_hat), we (and scikit-learn) to sqrt(v)
    expect = _torch_run(torch.optim.Adam, params, seq, lr=0.01, betas=(0.9, 0.999), eps=1e-3)
    diff = max(np.max(np.abs(a - b)) for a, b in zip(ours(1e-3), expect))
    assert diff > 1e-6
