"""The NumPy oracle (cyprop._reference): the maths behind every tutorial's update.

These tests check the reference on its own, without any compiled code: the
maths behind every update (each gradient against central finite differences
of the loss it claims to descend).  The numbers each tutorial prints are checked for the reference
and the kernels alike in test_tutorial_printouts.py; the compiled code is
compared against this oracle in test_tutorials.py.
"""

import math

import numpy as np
import pytest

from cyprop._reference import gradient_descent as gd
from cyprop._reference import rbf_network as rbf
from cyprop._reference import step_by_step as sbs
from cyprop._reference import xor_network as xor


def central_difference(fun, value, eps=1e-6):
    """d fun / d value at ``value`` (a float) by central differences."""
    return (fun(value + eps) - fun(value - eps)) / (2 * eps)


# ---------------------------------------------------------------------------
# 000: RBF network


def test_rbf_data():
    x, t = rbf.make_data()
    assert x.shape == (40, 1) and t.shape == (40, 1)
    assert x.dtype == np.float64 and t.dtype == np.float64
    np.testing.assert_array_equal(t[:20], 1.0)
    np.testing.assert_array_equal(t[20:], 0.0)
    # the legacy generator's stream, drawn blue, red-left, red-right
    draws = np.random.RandomState(4).randn(40)
    np.testing.assert_array_equal(x[:20, 0], draws[:20] * 0.5)
    np.testing.assert_array_equal(x[20:30, 0], draws[20:30] * 0.5 - 2)
    np.testing.assert_array_equal(x[30:, 0], draws[30:] * 0.5 + 2)
    # another seed gives other data
    assert not np.array_equal(rbf.make_data(5)[0], x)


def test_rbf_path_is_made_of_backprop_updates():
    x, t = rbf.make_data()
    _, _, path = rbf.train(x, t, 2.3, 1.4, 2.0, 5)
    for k in range(5):
        wh, bo = rbf.backprop_update(x, t, path[k, 0], path[k, 1], 2.0)
        assert (wh, bo) == (path[k + 1, 0], path[k + 1, 1])
        assert path[k + 1, 2] == rbf.loss_for_param(x, wh, bo, t)


@pytest.mark.parametrize("wh,bo", [(2.3, 1.4), (1.12, -0.44), (-0.7, 0.3)])
def test_rbf_update_is_a_step_along_the_mean_gradient(wh, bo):
    x, t = rbf.make_data()
    lr = 0.5
    new_wh, new_bo = rbf.backprop_update(x, t, wh, bo, lr)
    dwh = central_difference(lambda w: rbf.loss_for_param(x, w, bo, t), wh)
    dbo = central_difference(lambda b: rbf.loss_for_param(x, wh, b, t), bo)
    assert (wh - new_wh) / lr == pytest.approx(dwh, rel=1e-7)
    assert (bo - new_bo) / lr == pytest.approx(dbo, rel=1e-7)


def test_rbf_pieces():
    z = np.array([-1.5, 0.0, 0.5, 2.0])
    np.testing.assert_allclose(rbf.rbf(z), np.exp(-z**2), rtol=1e-15)
    np.testing.assert_allclose(rbf.logistic(z), 1 / (1 + np.exp(-z)), rtol=1e-15)
    assert rbf.rbf(0.0) == 1.0 and rbf.logistic(0.0) == 0.5
    x = np.array([[0.5], [-1.0]])
    h = rbf.hidden_activations(x, 2.0)
    np.testing.assert_allclose(h, np.exp(-np.array([[1.0], [4.0]])), rtol=1e-15)
    np.testing.assert_allclose(rbf.output_activations(h, 0.3), 1 / (1 + np.exp(-(h + 0.3))))
    np.testing.assert_array_equal(rbf.nn(x, 2.0, 0.3), rbf.output_activations(h, 0.3))
    np.testing.assert_array_equal(rbf.nn_predict(x, 2.0, 0.3), np.around(rbf.nn(x, 2.0, 0.3)))
    y = np.array([0.9, 0.2])
    tt = np.array([1.0, 0.0])
    assert rbf.loss(y, tt) == pytest.approx(-(math.log(0.9) + math.log(0.8)) / 2, rel=1e-15)
    np.testing.assert_allclose(rbf.gradient_output(y, tt), [-0.1, 0.2], rtol=1e-14)
    g = np.array([0.3, -0.2])
    np.testing.assert_array_equal(rbf.gradient_bias_out(g), g)
    np.testing.assert_array_equal(rbf.gradient_hidden(g), g)
    zh, hh, xx = np.array([0.5, 1.0]), np.array([0.7, 0.4]), np.array([2.0, -1.0])
    np.testing.assert_allclose(rbf.gradient_weight_hidden(xx, zh, hh, g),
                               xx * -2 * zh * hh * g, rtol=1e-15)


def test_rbf_loss_surface():
    x, t = rbf.make_data()
    wh = np.linspace(-3, 3, 7)
    bo = np.linspace(-2, 2, 5)
    grid_wh, grid_bo = np.meshgrid(wh, bo)
    surface = rbf.loss_surface(x, t, grid_wh, grid_bo)
    assert surface.shape == (5, 7)
    for i in range(5):
        for j in range(7):
            assert surface[i, j] == pytest.approx(rbf.loss_for_param(x, wh[j], bo[i], t),
                                                  rel=1e-13)
    # broadcasting a column against a row
    np.testing.assert_allclose(rbf.loss_surface(x, t, wh[None, :], bo[:, None]), surface,
                               rtol=1e-15)


# ---------------------------------------------------------------------------
# 001: gradient descent


def test_descend_small_cases():
    # x_start = 0: the first comparison |0 - 0| is not > precision, no step
    assert gd.descend(0.0) == (0.0, 0)
    x, n = gd.descend(3.0, 0.01, 1e-3)
    # replay the loop by hand
    old, new, steps = 0.0, 3.0, 0
    while abs(new - old) > 1e-3:
        old, new, steps = new, new - 0.01 * (4 * new**3 - 9 * new**2), steps + 1
    assert (x, n) == (new, steps)
    assert gd.descend(4.0, max_steps=5)[1] == 5


def test_quartic_and_derivative():
    assert gd.f(4.0) == 256 - 192 + 2
    assert gd.f_derivative(4.0) == 112.0
    assert gd.f_derivative(-1.0) == -13.0
    for v in (-1.3, 0.4, 2.25, 3.7):
        assert gd.f_derivative(v) == pytest.approx(central_difference(gd.f, v), rel=1e-8)


def test_exact_rule_follows_the_gradient_of_cost():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6, 3))
    y = rng.random((6, 2))
    w = rng.normal(size=(3, 2))
    alpha = 0.01
    step = (w - gd.train(X, y, w, alpha, 1, gradient="exact")) / alpha
    for j in range(3):
        for c in range(2):
            def cost_at(v, j=j, c=c):
                ww = w.copy()
                ww[j, c] = v
                return gd.cost(X, y, ww)
            assert step[j, c] == pytest.approx(central_difference(cost_at, w[j, c]), rel=1e-7)
    # and the tutorial's rule is the same for every row
    tut = gd.train(X, y, w, alpha, 1)
    moves = w - tut
    np.testing.assert_allclose(moves, np.broadcast_to(moves[0], moves.shape), rtol=1e-10)
    with pytest.raises(ValueError, match="gradient"):
        gd.train(X, y, w, alpha, 1, gradient="true")


def test_cost_functions():
    X = np.array([[0.0, 1.0], [1.0, 1.0]])
    y = np.array([[1.0], [0.0]])
    w = np.array([[0.3], [-0.2]])
    h = 1 / (1 + np.exp(-(X @ w)))
    assert gd.cost(X, y, w) == pytest.approx(np.sum((h - y) ** 2) / 2, rel=1e-15)
    ce = -(math.log(h[0, 0]) + math.log(1 - h[1, 0]))  # a SUM over the samples
    assert gd.cross_entropy_cost(X, y, w) == pytest.approx(ce, rel=1e-14)


@pytest.mark.parametrize("kind", ["mse", "cross_entropy"])
def test_cost_surface(kind):
    X = np.array([[0.0, 1.0], [1.0, 1.0]])
    y = np.array([[1.0], [0.0]])
    rng = np.random.default_rng(1)
    theta1 = np.random.default_rng(2).permutation(np.linspace(-15, 15, 50))
    theta2 = rng.permutation(np.linspace(-15, 15, 50))
    surface = gd.cost_surface(X, y, theta1, theta2, cost=kind)
    single = gd.cost if kind == "mse" else gd.cross_entropy_cost
    assert surface.shape == (50,)
    for p in range(50):
        assert surface[p] == pytest.approx(single(X, y, np.array([[theta1[p]], [theta2[p]]])),
                                           rel=1e-12)
    grid = gd.cost_surface(X, y.ravel(), theta1[:, None], theta2[None, :5], cost=kind)
    assert grid.shape == (50, 5)
    assert grid[7, 3] == pytest.approx(single(X, y, np.array([[theta1[7]], [theta2[3]]])),
                                       rel=1e-12)


# ---------------------------------------------------------------------------
# 001: XOR


XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([[0.0], [1.0], [1.0], [0.0]])


def test_xor_init_weights():
    theta1, theta2 = xor.init_weights(seed=3)
    assert theta1.shape == (3, 3) and theta2.shape == (4, 1)
    np.random.seed(3)
    e1 = 0.5 * np.sqrt(6 / 5) * np.random.randn(3, 3)
    e2 = 0.5 * np.sqrt(6 / 4) * np.random.randn(4, 1)
    np.testing.assert_array_equal(theta1, e1)
    np.testing.assert_array_equal(theta2, e2)
    a, b = xor.init_weights(4, 5, 2, seed=1)
    assert a.shape == (5, 5) and b.shape == (6, 2)


def test_xor_forward_puts_the_bias_last():
    theta1 = np.zeros((3, 2))
    theta1[2] = [1.0, -1.0]  # bias row
    theta1[0, 0] = 2.0
    theta2 = np.array([[1.0], [1.0], [0.5]])
    out = xor.forward(np.array([[1.0, 5.0]]), theta1, theta2)
    s = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    expected = s(s(2.0 + 1.0) + s(-1.0) + 0.5)
    assert out.shape == (1, 1)
    assert out[0, 0] == pytest.approx(expected, rel=1e-15)


def test_xor_one_epoch_is_a_step_down_the_mean_cross_entropy():
    theta1, theta2 = xor.init_weights(seed=0)
    t1, t2 = theta1.copy(), theta2.copy()
    alpha = 0.1

    def mean_ce(a, b):
        h = xor.forward(XOR_X, a, b)
        return float(np.mean(-XOR_Y * np.log(h) - (1 - XOR_Y) * np.log(1 - h)))

    returned = xor.train(XOR_X, XOR_Y, t1, t2, alpha=alpha, epochs=1)
    assert returned[0] is t1 and returned[1] is t2  # trained in place
    for before, after, which in ((theta1, t1, 0), (theta2, t2, 1)):
        for idx in np.ndindex(before.shape):
            def loss_at(v, idx=idx, which=which):
                a, b = theta1.copy(), theta2.copy()
                (a if which == 0 else b)[idx] = v
                return mean_ce(a, b)
            grad = central_difference(loss_at, before[idx])
            assert (before[idx] - after[idx]) / alpha == pytest.approx(grad, rel=1e-6, abs=1e-10)


# ---------------------------------------------------------------------------
# 002: step by step


INPUTS = np.array([2.0, 3.0])
W_HIDDEN = np.array([[0.15, 0.10], [0.20, 0.05]])
W_OUT = np.array([[0.16], [0.20]])


def test_step_by_step_prose_is_the_gradient_of_the_error():
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=3)
    wh = rng.normal(size=(3, 4))
    wo = rng.normal(size=(4, 2))
    actual = rng.normal(size=2)
    lr = 0.01
    new_h, new_o = sbs.backprop_step(inputs, actual, wh, wo, lr)
    for before, after, which in ((wh, new_h, 0), (wo, new_o, 1)):
        for idx in np.ndindex(before.shape):
            def err(v, idx=idx, which=which):
                a, b = wh.copy(), wo.copy()
                (a if which == 0 else b)[idx] = v
                return float(np.sum(sbs.error(sbs.fwd_prop(sbs.fwd_prop(inputs, a), b), actual)))
            assert (before[idx] - after[idx]) / lr == pytest.approx(
                central_difference(err, before[idx]), rel=1e-6, abs=1e-10)


def test_step_by_step_train_repeats_the_step():
    h, o = W_HIDDEN, W_OUT
    for _ in range(3):
        h, o = sbs.backprop_step(INPUTS, 1.0, h, o, 0.05)
    th, to = sbs.train(INPUTS, 1.0, W_HIDDEN, W_OUT, 0.05, 3)
    np.testing.assert_array_equal(th, h)
    np.testing.assert_array_equal(to, o)
    # training drives the prediction to the target
    th, to = sbs.train(INPUTS, 1.0, W_HIDDEN, W_OUT, 0.05, 200)
    assert sbs.fwd_prop(sbs.fwd_prop(INPUTS, th), to)[0] == pytest.approx(1.0, abs=1e-9)


def test_step_by_step_code_needs_square_hidden_weights():
    with pytest.raises(ValueError):
        sbs.backprop_step(INPUTS, 1.0, np.ones((2, 3)), np.ones((3, 1)), 0.05, variant="code")
    with pytest.raises(ValueError):
        sbs.backprop_step(INPUTS, [1.0, 2.0], W_HIDDEN, np.ones((2, 2)), 0.05, variant="code")
    with pytest.raises(ValueError, match="variant"):
        sbs.backprop_step(INPUTS, 1.0, W_HIDDEN, W_OUT, 0.05, variant="book")
