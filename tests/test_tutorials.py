"""cyprop.tutorials (compiled) against the NumPy oracle cyprop._reference.

For every tutorial: the printed numbers, agreement with the reference on the
tutorial's data and on random data (hypothesis), and the argument checks
(wrong shapes, NaN, strings, bad counts), plus the promise that caller arrays
are never modified (except the documented in-place XOR training) and that
integer, non-contiguous and read-only arrays give the same results.
"""

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from cyprop import tutorials
from cyprop._reference import gradient_descent as ref_gd
from cyprop._reference import rbf_network as ref_rbf
from cyprop._reference import step_by_step as ref_sbs
from cyprop._reference import xor_network as ref_xor
from cyprop.tutorials import gradient_descent as gd
from cyprop.tutorials import rbf_network as rbf
from cyprop.tutorials import step_by_step as sbs
from cyprop.tutorials import xor_network as xor

from _common import assert_close, examples


BAD_ARGS = (ValueError, TypeError)


def awkward_copies(a):
    """The same values as integer-free float arrays in awkward layouts.

    Yields (description, array): a read-only array, a non-contiguous view and
    a Fortran-ordered copy (for 2-D input).
    """
    a = np.asarray(a, dtype=np.float64)
    ro = a.copy()
    ro.flags.writeable = False
    yield "read-only", ro
    big = np.zeros((2 * a.size,))
    big[::2] = a.ravel()
    view = big[::2].reshape(a.shape) if a.ndim <= 1 else None
    if view is None:
        wide = np.zeros(a.shape[:-1] + (2 * a.shape[-1],))
        wide[..., ::2] = a
        view = wide[..., ::2]
    assert not view.flags.c_contiguous or a.size <= 1
    view.flags.writeable = False
    yield "strided read-only", view
    if a.ndim == 2:
        yield "fortran", np.asfortranarray(a)


# ---------------------------------------------------------------------------
# 000: RBF network


def test_rbf_printout():
    x, t = rbf.make_data()
    wh, bo, params_loss = rbf.train(x, t, 2.3, 1.4, 2.0, 20)
    final_loss = rbf.loss_for_param(x, wh, bo, t)
    assert f"{final_loss:.2f} {wh:.2f} {bo:.2f}" == "0.52 1.12 -0.44"
    assert final_loss == pytest.approx(0.5194110735919572, rel=1e-12)
    assert wh == pytest.approx(1.1230989009267862, rel=1e-12)
    assert bo == pytest.approx(-0.44248926539939754, rel=1e-12)
    assert isinstance(wh, float) and isinstance(bo, float)
    assert params_loss.shape == (21, 3)
    assert params_loss[-1, 2] == pytest.approx(final_loss, rel=1e-12)


@pytest.mark.parametrize("seed", [4, 0, 123])
def test_rbf_data_matches_reference_exactly(seed):
    x, t = rbf.make_data(seed)
    rx, rt = ref_rbf.make_data(seed)
    assert x.shape == (40, 1) and t.shape == (40, 1)
    np.testing.assert_array_equal(x, rx)
    np.testing.assert_array_equal(t, rt)
    if seed == 4:
        np.testing.assert_array_equal(rbf.make_data()[0], x)


def test_rbf_elementwise_functions_match_reference():
    rng = np.random.default_rng(0)
    z = rng.normal(scale=2, size=(6, 1))
    for name in ("rbf", "logistic"):
        assert_close(getattr(rbf, name)(z), getattr(ref_rbf, name)(z), 1e-15, name)
    x, t = ref_rbf.make_data()
    assert_close(rbf.hidden_activations(x, 1.7), ref_rbf.hidden_activations(x, 1.7), 1e-15)
    h = ref_rbf.hidden_activations(x, 1.7)
    assert_close(rbf.output_activations(h, -0.3), ref_rbf.output_activations(h, -0.3), 1e-15)
    assert_close(rbf.nn(x, 1.7, -0.3), ref_rbf.nn(x, 1.7, -0.3), 1e-15)
    np.testing.assert_array_equal(rbf.nn_predict(x, 1.7, -0.3), ref_rbf.nn_predict(x, 1.7, -0.3))
    y = ref_rbf.nn(x, 1.7, -0.3)
    assert rbf.loss(y, t) == pytest.approx(ref_rbf.loss(y, t), rel=1e-14)
    assert rbf.loss_for_param(x, 1.7, -0.3, t) == pytest.approx(
        ref_rbf.loss_for_param(x, 1.7, -0.3, t), rel=1e-14)
    g = ref_rbf.gradient_output(y, t)
    assert_close(rbf.gradient_output(y, t), g, 1e-15)
    assert_close(rbf.gradient_bias_out(g), ref_rbf.gradient_bias_out(g), 1e-15)
    assert_close(rbf.gradient_hidden(g), ref_rbf.gradient_hidden(g), 1e-15)
    zh = x * 1.7
    assert_close(rbf.gradient_weight_hidden(x, zh, h, g),
                 ref_rbf.gradient_weight_hidden(x, zh, h, g), 1e-14)


def test_rbf_train_matches_reference_on_the_tutorial_run():
    x, t = rbf.make_data()
    wh, bo, path = rbf.train(x, t, 2.3, 1.4, 2.0, 50)
    rwh, rbo, rpath = ref_rbf.train(x, t, 2.3, 1.4, 2.0, 50)
    assert wh == pytest.approx(rwh, rel=1e-12)
    assert bo == pytest.approx(rbo, rel=1e-12)
    assert_close(path, rpath, 1e-12, "params_loss")


@settings(max_examples=examples(30))
@given(data_seed=st.integers(0, 2**31 - 1),
       wh=st.floats(-3, 3), bo=st.floats(-2, 2),
       learning_rate=st.floats(0.01, 2.0), iterations=st.integers(1, 30))
def test_rbf_train_matches_reference_on_random_data(data_seed, wh, bo, learning_rate, iterations):
    x, t = ref_rbf.make_data(data_seed)
    got = rbf.train(x, t, wh, bo, learning_rate, iterations)
    expected = ref_rbf.train(x, t, wh, bo, learning_rate, iterations)
    assert got[0] == pytest.approx(expected[0], rel=1e-10, abs=1e-12)
    assert got[1] == pytest.approx(expected[1], rel=1e-10, abs=1e-12)
    assert_close(got[2], expected[2], 1e-10, "params_loss")


def test_rbf_backprop_update_matches_reference():
    x, t = rbf.make_data()
    for wh, bo in [(2.3, 1.4), (-1.0, 0.2), (0.0, 0.0)]:
        got = rbf.backprop_update(x, t, wh, bo, 2.0)
        expected = ref_rbf.backprop_update(x, t, wh, bo, 2.0)
        assert all(isinstance(v, float) for v in got)
        assert got == pytest.approx(expected, rel=1e-13, abs=1e-15)


def test_rbf_loss_surface_matches_reference():
    x, t = rbf.make_data()
    wh, bo = np.meshgrid(np.linspace(-4, 4, 31), np.linspace(-4, 4, 21))
    surface = rbf.loss_surface(x, t, wh, bo)
    assert surface.shape == (21, 31)
    assert_close(surface, ref_rbf.loss_surface(x, t, wh, bo), 1e-12)
    # broadcasting a row against a column, and scalars
    row, col = np.linspace(-4, 4, 31)[None, :], np.linspace(-4, 4, 21)[:, None]
    assert_close(rbf.loss_surface(x, t, row, col), surface, 1e-14)
    with pytest.raises(ValueError):
        rbf.loss_surface(x, t, np.zeros(3), np.zeros(4))


def test_surfaces_at_scalar_points_are_scalars():
    # the output has the broadcast shape of the grids: () for two scalars
    x, t = rbf.make_data()
    point = rbf.loss_surface(x, t, 2.3, 1.4)
    assert np.shape(point) == ()
    assert float(point) == pytest.approx(ref_rbf.loss_for_param(x, 2.3, 1.4, t), rel=1e-13)
    assert rbf.loss_surface(x, t, np.array([2.3]), 1.4).shape == (1,)
    for kind, single in (("mse", gd.cost), ("cross_entropy", gd.cross_entropy_cost)):
        point = gd.cost_surface(NOT_X, NOT_Y, 0.5, -1.5, cost=kind)
        assert np.shape(point) == ()
        assert float(point) == pytest.approx(single(NOT_X, NOT_Y, [[0.5], [-1.5]]), rel=1e-13)


def test_rbf_awkward_arrays_give_the_same_result():
    x, t = rbf.make_data()
    expected = rbf.train(x, t, 2.3, 1.4, 2.0, 5)
    for (what, xa), (_, ta) in zip(awkward_copies(x), awkward_copies(t)):
        got = rbf.train(xa, ta, 2.3, 1.4, 2.0, 5)
        assert got[:2] == expected[:2], what
        np.testing.assert_array_equal(got[2], expected[2], err_msg=what)
    # integer data are converted
    xi = np.array([[-2], [-1], [0], [1], [2]])
    ti = np.array([[0], [1], [1], [1], [0]])
    got = rbf.train(xi, ti, 1.0, 0.0, 0.5, 3)
    expected = ref_rbf.train(xi.astype(float), ti.astype(float), 1.0, 0.0, 0.5, 3)
    assert got[0] == pytest.approx(expected[0], rel=1e-13)
    assert_close(got[2], expected[2], 1e-13)
    # 1-D data work like (n, 1) columns
    got1 = rbf.train(x.ravel(), t.ravel(), 2.3, 1.4, 2.0, 5)
    np.testing.assert_array_equal(got1[2], rbf.train(x, t, 2.3, 1.4, 2.0, 5)[2])


def test_rbf_does_not_modify_its_arguments():
    x, t = rbf.make_data()
    x0, t0 = x.copy(), t.copy()
    rbf.train(x, t, 2.3, 1.4, 2.0, 3)
    rbf.backprop_update(x, t, 2.3, 1.4, 2.0)
    rbf.loss_surface(x, t, np.array([1.0, 2.0]), np.array([0.0, 1.0]))
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(t, t0)


def test_rbf_rejects_bad_arguments():
    x, t = rbf.make_data()
    with pytest.raises(ValueError):
        rbf.train(x, t[:-1], 2.3, 1.4, 2.0, 5)        # one target missing
    with pytest.raises(ValueError):
        rbf.train(x[:0], t[:0], 2.3, 1.4, 2.0, 5)      # no samples
    xn = x.copy()
    xn[3] = np.nan
    with pytest.raises(ValueError, match=r"\bx\b"):
        rbf.train(xn, t, 2.3, 1.4, 2.0, 5)
    tn = t.copy()
    tn[0] = np.inf
    with pytest.raises(ValueError, match=r"\bt\b"):
        rbf.train(x, tn, 2.3, 1.4, 2.0, 5)
    with pytest.raises(BAD_ARGS, match=r"\bx\b"):
        rbf.train(np.array(["a"] * 40), t, 2.3, 1.4, 2.0, 5)
    with pytest.raises(BAD_ARGS, match="wh"):
        rbf.train(x, t, "2.3", 1.4, 2.0, 5)
    with pytest.raises(BAD_ARGS, match="bo"):
        rbf.train(x, t, 2.3, np.nan, 2.0, 5)
    for n in (0, -1):
        with pytest.raises(ValueError, match="nb_of_iterations"):
            rbf.train(x, t, 2.3, 1.4, 2.0, n)
    with pytest.raises(TypeError, match="nb_of_iterations"):
        rbf.train(x, t, 2.3, 1.4, 2.0, 2.5)
    for lr in (0.0, -1.0):
        with pytest.raises(ValueError, match="learning_rate"):
            rbf.train(x, t, 2.3, 1.4, lr, 5)
    with pytest.raises(BAD_ARGS, match="wh_grid"):
        rbf.loss_surface(x, t, np.array([np.nan]), np.array([1.0]))


# ---------------------------------------------------------------------------
# 001: gradient descent


def test_descend_printout():
    x_min, n_steps = gd.descend()
    assert x_min == 2.2500325268933734  # bit for bit
    assert n_steps == 42
    assert isinstance(x_min, float) and isinstance(n_steps, int)
    assert gd.descend(4.0, 0.01, 1e-5) == (x_min, n_steps)


@settings(max_examples=examples(40))
@given(x_start=st.floats(-2.0, 5.0), gamma=st.floats(0.001, 0.02),
       precision=st.sampled_from([1e-3, 1e-5, 1e-8]))
# a start where pow(x, 2.0) and x * x round differently along the way
@example(x_start=1.5, gamma=0.001, precision=1e-8)
def test_descend_matches_reference_bit_for_bit(x_start, gamma, precision):
    expected = ref_gd.descend(x_start, gamma, precision, max_steps=10_000_000)
    assert gd.descend(x_start, gamma, precision) == expected


def test_descend_reports_divergence_and_non_convergence():
    with pytest.raises(ValueError):
        gd.descend(50.0, 0.1)            # overflows to inf
    with pytest.raises(ValueError, match="max_steps"):
        gd.descend(4.0, 0.001, 1e-12, max_steps=10)
    for bad in ({"gamma": 0.0}, {"gamma": -0.01}, {"precision": 0.0}, {"x_start": np.nan}):
        with pytest.raises(ValueError):
            gd.descend(**bad)
    with pytest.raises(BAD_ARGS, match="x_start"):
        gd.descend("4")


def test_quartic_matches_reference():
    v = np.linspace(-2, 4, 13)
    assert_close(gd.f(v), ref_gd.f(v), 1e-15)
    assert_close(gd.f_derivative(v), ref_gd.f_derivative(v), 1e-15)


NEURON_X = np.array([[0.1], [0.25], [0.5], [0.75], [1.0]])
NEURON_Y = np.zeros((5, 1))
NOT_X = np.array([[0.0, 1.0], [1.0, 1.0]])
NOT_Y = np.array([[1.0], [0.0]])
NOT_W = np.array([[-0.14935895], [7.10444213]])


def test_single_neuron_printout():
    w0 = np.array([[5.0]])
    assert "%.12g" % gd.cost(NEURON_X, NEURON_Y, w0) == "0.757384221746"
    w = gd.train(NEURON_X, NEURON_Y, w0, 0.5, 2000)
    assert w.shape == (1, 1)
    assert "%.7f" % w[0, 0] == "-24.3428836"
    assert "%.12g" % gd.cost(NEURON_X, NEURON_Y, w) == "0.00130014553005"
    assert_close(w, ref_gd.train(NEURON_X, NEURON_Y, w0, 0.5, 2000), 1e-12)
    np.testing.assert_array_equal(w0, [[5.0]])


def test_not_network_printout():
    w = gd.train(NOT_X, NOT_Y, NOT_W, 0.05, 12000)
    np.testing.assert_allclose(w, [[-4.77235179], [2.4814493]], atol=1e-6, rtol=0)
    assert_close(w, ref_gd.train(NOT_X, NOT_Y, NOT_W, 0.05, 12000), 1e-12)
    np.testing.assert_array_equal(np.round(gd.run(NOT_X, w)), [[1.0], [0.0]])
    np.testing.assert_array_equal(NOT_W, [[-0.14935895], [7.10444213]])


def test_sigmoid_run_and_costs_match_reference():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(7, 3))
    y = rng.random((7, 2))
    w = rng.normal(size=(3, 2))
    assert_close(gd.sigmoid(X), ref_gd.sigmoid(X), 1e-15)
    assert_close(gd.run(X, w), ref_gd.run(X, w), 1e-14)
    assert gd.cost(X, y, w) == pytest.approx(ref_gd.cost(X, y, w), rel=1e-14)
    assert gd.cross_entropy_cost(X, y, w) == pytest.approx(ref_gd.cross_entropy_cost(X, y, w),
                                                           rel=1e-14)


@settings(max_examples=examples(30))
@given(seed=st.integers(0, 2**32 - 1), m=st.integers(1, 8), n=st.integers(1, 4),
       k=st.integers(1, 3), epochs=st.integers(1, 40),
       gradient=st.sampled_from(["tutorial", "exact"]))
def test_sigmoid_train_matches_reference(seed, m, n, k, epochs, gradient):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, n))
    y = (rng.random((m, k)) > 0.5).astype(float)
    w = rng.normal(size=(n, k))
    got = gd.train(X, y, w, 0.1, epochs, gradient=gradient)
    assert got.shape == (n, k)
    assert_close(got, ref_gd.train(X, y, w, 0.1, epochs, gradient=gradient), 1e-12)


def test_sigmoid_train_rules_differ():
    # the exact gradient and the tutorial's rule part ways (guards the comparison above)
    rng = np.random.default_rng(8)
    X = rng.normal(size=(6, 3))
    y = (rng.random((6, 2)) > 0.5).astype(float)
    w = rng.normal(size=(3, 2))
    a = gd.train(X, y, w, 0.1, 50, gradient="tutorial")
    b = gd.train(X, y, w, 0.1, 50, gradient="exact")
    assert np.max(np.abs(a - b)) > 1e-2
    assert_close(a, ref_gd.train(X, y, w, 0.1, 50, gradient="tutorial"), 1e-12)
    assert_close(b, ref_gd.train(X, y, w, 0.1, 50, gradient="exact"), 1e-12)


def test_sigmoid_train_awkward_arrays():
    X = np.array([[1, 0], [0, 1], [1, 1]])           # integers
    y = np.array([[1], [0], [1]])
    w = np.array([[1], [-1]])
    expected = ref_gd.train(X.astype(float), y.astype(float), w.astype(float), 0.3, 25)
    assert_close(gd.train(X, y, w, 0.3, 25), expected, 1e-13)
    Xf, yf, wf = X.astype(float), y.astype(float), w.astype(float)
    for (what, Xa), (_, ya), (_, wa) in zip(awkward_copies(Xf), awkward_copies(yf),
                                            awkward_copies(wf)):
        np.testing.assert_array_equal(gd.train(Xa, ya, wa, 0.3, 25),
                                      gd.train(Xf, yf, wf, 0.3, 25), err_msg=what)
    # 1-D weights and targets for a single output keep their shape
    w1 = gd.train(Xf, yf.ravel(), wf.ravel(), 0.3, 25)
    assert w1.shape == (2,)
    np.testing.assert_array_equal(w1, gd.train(Xf, yf, wf, 0.3, 25).ravel())


@pytest.mark.parametrize("kind", ["mse", "cross_entropy"])
def test_cost_surface_matches_reference(kind):
    theta1 = np.random.default_rng(0).permutation(np.linspace(-15, 15, 500))
    theta2 = np.random.default_rng(1).permutation(np.linspace(-15, 15, 500))
    got = gd.cost_surface(NOT_X, NOT_Y, theta1, theta2, cost=kind)
    assert got.shape == (500,)
    assert_close(got, ref_gd.cost_surface(NOT_X, NOT_Y, theta1, theta2, cost=kind), 1e-12)
    grid = gd.cost_surface(NOT_X, NOT_Y.ravel(), theta1[:20, None], theta2[None, :30], cost=kind)
    assert grid.shape == (20, 30)
    assert_close(grid, ref_gd.cost_surface(NOT_X, NOT_Y, theta1[:20, None], theta2[None, :30],
                                           cost=kind), 1e-12)
    single = gd.cost if kind == "mse" else gd.cross_entropy_cost
    assert grid[3, 4] == pytest.approx(single(NOT_X, NOT_Y, [[theta1[3]], [theta2[4]]]),
                                       rel=1e-12)


def test_gradient_descent_does_not_modify_arguments():
    X, y, w = NOT_X.copy(), NOT_Y.copy(), NOT_W.copy()
    gd.train(X, y, w, 0.05, 10)
    gd.train(X, y, w, 0.05, 10, gradient="exact")
    gd.cost_surface(X, y, w[0], w[1])
    np.testing.assert_array_equal(X, NOT_X)
    np.testing.assert_array_equal(y, NOT_Y)
    np.testing.assert_array_equal(w, NOT_W)


def test_gradient_descent_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"\bX\b"):
        gd.train(NOT_X.ravel(), NOT_Y, NOT_W, 0.05, 10)      # 1-D X
    with pytest.raises(ValueError, match=r"\by\b"):
        gd.train(NOT_X, NOT_Y[:1], NOT_W, 0.05, 10)          # one target short
    with pytest.raises(ValueError, match="weights"):
        gd.train(NOT_X, NOT_Y, np.ones((3, 1)), 0.05, 10)    # one weight too many
    with pytest.raises(ValueError, match=r"\bX\b"):
        gd.train(np.empty((0, 2)), np.empty((0, 1)), NOT_W, 0.05, 10)
    Xn = NOT_X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(ValueError, match=r"\bX\b"):
        gd.train(Xn, NOT_Y, NOT_W, 0.05, 10)
    with pytest.raises(ValueError, match="weights"):
        gd.train(NOT_X, NOT_Y, np.array([[np.inf], [0.0]]), 0.05, 10)
    with pytest.raises(BAD_ARGS, match=r"\bX\b"):
        gd.train([["a", "b"], ["c", "d"]], NOT_Y, NOT_W, 0.05, 10)
    for epochs in (0, -3):
        with pytest.raises(ValueError, match="epochs"):
            gd.train(NOT_X, NOT_Y, NOT_W, 0.05, epochs)
    with pytest.raises(TypeError, match="epochs"):
        gd.train(NOT_X, NOT_Y, NOT_W, 0.05, 10.0)
    with pytest.raises(ValueError, match="alpha"):
        gd.train(NOT_X, NOT_Y, NOT_W, -0.05, 10)
    with pytest.raises(ValueError, match="gradient"):
        gd.train(NOT_X, NOT_Y, NOT_W, 0.05, 10, gradient="true")
    with pytest.raises(ValueError, match="cost"):
        gd.cost_surface(NOT_X, NOT_Y, [0.0], [1.0], cost="hinge")
    with pytest.raises(ValueError, match=r"\bX\b"):
        gd.cost_surface(np.ones((2, 3)), NOT_Y, [0.0], [1.0])
    with pytest.raises(ValueError):
        gd.cost_surface(NOT_X, NOT_Y, np.zeros(3), np.zeros(4))


# ---------------------------------------------------------------------------
# 001: XOR


XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([[0.0], [1.0], [1.0], [0.0]])


@pytest.mark.parametrize("seed", range(20))
def test_xor_printout_for_twenty_seeds(seed):
    theta1, theta2 = xor.init_weights(seed=seed)
    xor.train(XOR_X, XOR_Y, theta1, theta2)
    np.testing.assert_array_equal(np.round(xor.forward(XOR_X, theta1, theta2)).ravel(),
                                  [0, 1, 1, 0])


@pytest.mark.parametrize("seed", [0, 5])
def test_xor_train_matches_reference_over_the_full_run(seed):
    theta1, theta2 = xor.init_weights(seed=seed)
    r1, r2 = theta1.copy(), theta2.copy()
    xor.train(XOR_X, XOR_Y, theta1, theta2, alpha=0.1, epochs=10000)
    ref_xor.train(XOR_X, XOR_Y, r1, r2, alpha=0.1, epochs=10000)
    assert_close(theta1, r1, 1e-11)
    assert_close(theta2, r2, 1e-11)
    assert_close(xor.forward(XOR_X, theta1, theta2), ref_xor.forward(XOR_X, r1, r2), 1e-11)


def test_xor_init_weights_match_reference():
    for args in [(), (2, 3, 1), (4, 5, 2), (1, 1, 1)]:
        for seed in (0, 3):
            got = xor.init_weights(*args, seed=seed)
            expected = ref_xor.init_weights(*args, seed=seed)
            for g, e in zip(got, expected):
                np.testing.assert_array_equal(g, e)
    np.random.seed(99)
    a = xor.init_weights()              # seed=None continues the global stream
    np.random.seed(99)
    b = ref_xor.init_weights()
    np.testing.assert_array_equal(a[0], b[0])


@settings(max_examples=examples(25))
@given(seed=st.integers(0, 2**32 - 1), num_in=st.integers(1, 4), num_hid=st.integers(1, 5),
       num_out=st.integers(1, 3), m=st.integers(1, 6), epochs=st.integers(1, 30))
def test_xor_train_any_layer_sizes_matches_reference(seed, num_in, num_hid, num_out, m, epochs):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, num_in))
    y = (rng.random((m, num_out)) > 0.5).astype(float)
    theta1 = rng.normal(size=(num_in + 1, num_hid))
    theta2 = rng.normal(size=(num_hid + 1, num_out))
    r1, r2 = theta1.copy(), theta2.copy()
    out = xor.train(X, y, theta1, theta2, alpha=0.5, epochs=epochs)
    ref_xor.train(X, y, r1, r2, alpha=0.5, epochs=epochs)
    assert out[0] is theta1 and out[1] is theta2
    assert_close(theta1, r1, 1e-12)
    assert_close(theta2, r2, 1e-12)
    assert_close(xor.forward(X, theta1, theta2), ref_xor.forward(X, r1, r2), 1e-12)


def test_xor_train_is_in_place_and_leaves_the_data_alone():
    theta1, theta2 = xor.init_weights(seed=1)
    t1, t2 = theta1.copy(), theta2.copy()
    X, y = XOR_X.copy(), XOR_Y.copy()
    r1, r2 = xor.train(X, y, theta1, theta2, epochs=5)
    assert r1 is theta1 and r2 is theta2
    assert not np.array_equal(theta1, t1) and not np.array_equal(theta2, t2)
    np.testing.assert_array_equal(X, XOR_X)
    np.testing.assert_array_equal(y, XOR_Y)
    ref_xor.train(XOR_X, XOR_Y, t1, t2, epochs=5)
    assert_close(theta1, t1, 1e-13)


def test_xor_awkward_data():
    theta1, theta2 = xor.init_weights(seed=2)
    expected = [a.copy() for a in (theta1, theta2)]
    xor.train(XOR_X, XOR_Y, *expected, epochs=50)
    inputs = [(XOR_X.astype(int), XOR_Y.astype(int))]  # integers are converted
    inputs += [(a, b) for (_, a), (_, b) in zip(awkward_copies(XOR_X), awkward_copies(XOR_Y))]
    inputs.append((XOR_X, XOR_Y.ravel()))   # 1-D targets for one output
    for X, y in inputs:
        t1, t2 = theta1.copy(), theta2.copy()
        xor.train(X, y, t1, t2, epochs=50)
        np.testing.assert_array_equal(t1, expected[0])
        np.testing.assert_array_equal(t2, expected[1])
    # thetas that are non-contiguous views are trained in place too
    big1 = np.zeros((3, 6))
    big1[:, ::2] = theta1
    v1 = big1[:, ::2]
    t2 = theta2.copy()
    xor.train(XOR_X, XOR_Y, v1, t2, epochs=50)
    np.testing.assert_array_equal(v1, expected[0])
    np.testing.assert_array_equal(big1[:, ::2], expected[0])
    np.testing.assert_array_equal(big1[:, 1::2], 0.0)


def test_xor_rejects_bad_arguments():
    theta1, theta2 = xor.init_weights(seed=0)
    with pytest.raises(ValueError):
        xor.train(XOR_X[:, :1], XOR_Y, theta1, theta2)            # wrong input count
    with pytest.raises(ValueError):
        xor.train(XOR_X, XOR_Y[:3], theta1, theta2)               # one target short
    with pytest.raises(ValueError, match="theta2"):
        xor.train(XOR_X, XOR_Y, theta1, np.zeros((3, 1)))         # theta2 rows != num_hid + 1
    Xn = XOR_X.copy()
    Xn[1, 1] = np.nan
    with pytest.raises(ValueError, match=r"\bX\b"):
        xor.train(Xn, XOR_Y, theta1, theta2)
    with pytest.raises(BAD_ARGS):
        xor.train(XOR_X, np.array([["a"], ["b"], ["c"], ["d"]]), theta1, theta2)
    with pytest.raises(TypeError, match="theta1"):
        xor.train(XOR_X, XOR_Y, theta1.astype(int), theta2)       # cannot be updated in place
    with pytest.raises(TypeError, match="theta1"):
        xor.train(XOR_X, XOR_Y, theta1.tolist(), theta2)
    ro = theta2.copy()
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="theta2"):
        xor.train(XOR_X, XOR_Y, theta1, ro)
    bad = theta1.copy()
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="theta1"):
        xor.train(XOR_X, XOR_Y, bad, theta2)
    for epochs in (0, -1):
        with pytest.raises(ValueError, match="epochs"):
            xor.train(XOR_X, XOR_Y, theta1, theta2, epochs=epochs)
    with pytest.raises(ValueError, match="alpha"):
        xor.train(XOR_X, XOR_Y, theta1, theta2, alpha=0.0)
    np.testing.assert_array_equal(theta1, xor.init_weights(seed=0)[0])  # untouched by failures
    with pytest.raises(BAD_ARGS, match="num_hid"):
        xor.init_weights(2, 0, 1)
    with pytest.raises(ValueError):
        xor.forward(np.ones((2, 3)), theta1, theta2)


# ---------------------------------------------------------------------------
# 002: step by step


INPUTS = np.array([2.0, 3.0])
W_HIDDEN = np.array([[0.15, 0.10], [0.20, 0.05]])
W_OUT = np.array([[0.16], [0.20]])


def test_step_by_step_prose_printout():
    new_hidden, new_out = sbs.backprop_step(INPUTS, 1.0, W_HIDDEN, W_OUT, 0.05)
    assert new_hidden.shape == (2, 2) and new_out.shape == (2, 1)
    (w1, w3), (w2, w4) = new_hidden
    w5, w6 = new_out[:, 0]
    got = dict(w1=w1, w2=w2, w3=w3, w4=w4, w5=w5, w6=w6)
    exact = dict(w1=0.162576, w2=0.218864, w3=0.11572, w4=0.07358, w5=0.19537, w6=0.213755)
    prose = dict(w1="0.162", w2="0.218", w3="0.115", w4="0.073", w5="0.195", w6="0.213")
    for name, value in got.items():
        assert value == pytest.approx(exact[name], rel=1e-12, abs=1e-12), name
        truncated = math.floor(value * 1000 + 1e-9) / 1000
        assert f"{truncated:.3f}" == prose[name], name


def test_step_by_step_code_printout():
    new_hidden, new_out = sbs.backprop_step(INPUTS, 1.0, W_HIDDEN, W_OUT, 0.05, variant="code")
    np.testing.assert_allclose(new_hidden, [[0.16535608, 0.11535608], [0.22520171, 0.07520171]],
                               atol=1e-8, rtol=0)
    np.testing.assert_allclose(new_out, [[0.19537], [0.213755]], atol=1e-8, rtol=0)
    prediction = sbs.fwd_prop(sbs.fwd_prop(INPUTS, new_hidden), new_out)
    assert prediction[0] == pytest.approx(0.29414432, abs=1e-8)
    for got, expected in zip((new_hidden, new_out),
                             ref_sbs.backprop_step(INPUTS, 1.0, W_HIDDEN, W_OUT, 0.05, "code")):
        assert_close(got, expected, 1e-14)


def test_step_by_step_forward_and_error():
    h = sbs.fwd_prop(INPUTS, W_HIDDEN)
    assert_close(h, [0.9, 0.35], 1e-15)
    prediction = sbs.fwd_prop(h, W_OUT)
    assert prediction[0] == pytest.approx(0.214, rel=1e-14)
    assert float(np.ravel(sbs.error(prediction, 1.0))[0]) == pytest.approx(0.308898, rel=1e-12)
    assert_close(sbs.error(prediction, 1.0), ref_sbs.error(prediction, 1.0), 1e-15)


@settings(max_examples=examples(30))
@given(seed=st.integers(0, 2**32 - 1), n_in=st.integers(1, 4), n_hid=st.integers(1, 4),
       n_out=st.integers(1, 3), steps=st.integers(1, 10))
def test_step_by_step_prose_matches_reference(seed, n_in, n_hid, n_out, steps):
    rng = np.random.default_rng(seed)
    inputs = rng.uniform(-1, 1, size=n_in)
    actual = rng.uniform(-1, 1, size=n_out)
    wh = rng.uniform(-0.5, 0.5, size=(n_in, n_hid))
    wo = rng.uniform(-0.5, 0.5, size=(n_hid, n_out))
    got = sbs.train(inputs, actual, wh, wo, 0.05, steps)
    expected = ref_sbs.train(inputs, actual, wh, wo, 0.05, steps)
    assert_close(got[0], expected[0], 1e-12)
    assert_close(got[1], expected[1], 1e-12)


@settings(max_examples=examples(30))
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 4), steps=st.integers(1, 10))
def test_step_by_step_code_matches_reference(seed, n, steps):
    rng = np.random.default_rng(seed)
    inputs = rng.uniform(-1, 1, size=n)
    actual = float(rng.uniform(-1, 1))
    wh = rng.uniform(-0.5, 0.5, size=(n, n))
    wo = rng.uniform(-0.5, 0.5, size=(n, 1))
    got = sbs.train(inputs, actual, wh, wo, 0.05, steps, variant="code")
    expected = ref_sbs.train(inputs, actual, wh, wo, 0.05, steps, variant="code")
    assert_close(got[0], expected[0], 1e-12)
    assert_close(got[1], expected[1], 1e-12)


def test_step_by_step_train_is_repeated_steps():
    for variant in ("prose", "code"):
        h, o = W_HIDDEN, W_OUT
        for _ in range(4):
            h, o = sbs.backprop_step(INPUTS, 1.0, h, o, 0.05, variant=variant)
        th, to = sbs.train(INPUTS, 1.0, W_HIDDEN, W_OUT, 0.05, 4, variant=variant)
        assert_close(th, h, 1e-14)
        assert_close(to, o, 1e-14)


def test_step_by_step_awkward_arrays_and_no_mutation():
    wh, wo, x = W_HIDDEN.copy(), W_OUT.copy(), INPUTS.copy()
    expected = sbs.backprop_step(x, 1.0, wh, wo, 0.05)
    for variant in ("prose", "code"):
        expected = sbs.backprop_step(x, 1.0, wh, wo, 0.05, variant=variant)
        for (_, xa), (_, ha), (_, oa) in zip(awkward_copies(x), awkward_copies(wh),
                                             awkward_copies(wo)):
            got = sbs.backprop_step(xa, 1.0, ha, oa, 0.05, variant=variant)
            np.testing.assert_array_equal(got[0], expected[0])
            np.testing.assert_array_equal(got[1], expected[1])
        got = sbs.backprop_step(np.array([2, 3]), 1, wh, wo, 0.05, variant=variant)  # integers
        np.testing.assert_array_equal(got[0], expected[0])
        got = sbs.backprop_step([2.0, 3.0], [1.0], wh.tolist(), wo.tolist(), 0.05, variant=variant)
        np.testing.assert_array_equal(got[1], expected[1])
    np.testing.assert_array_equal(wh, W_HIDDEN)
    np.testing.assert_array_equal(wo, W_OUT)
    np.testing.assert_array_equal(x, INPUTS)


def test_step_by_step_rejects_bad_arguments():
    with pytest.raises(ValueError, match="variant"):
        sbs.backprop_step(INPUTS, 1.0, W_HIDDEN, W_OUT, 0.05, variant="book")
    with pytest.raises(ValueError):
        sbs.backprop_step(INPUTS, 1.0, np.ones((2, 3)), np.ones((3, 1)), 0.05, variant="code")
    with pytest.raises(ValueError):
        sbs.backprop_step(INPUTS, [1.0, 0.0], W_HIDDEN, np.ones((2, 2)), 0.05, variant="code")
    with pytest.raises(ValueError, match="weights_hidden"):
        sbs.backprop_step(INPUTS, 1.0, np.ones((3, 2)), W_OUT, 0.05)
    with pytest.raises(ValueError, match="weights_out"):
        sbs.backprop_step(INPUTS, 1.0, W_HIDDEN, np.ones((3, 1)), 0.05)
    with pytest.raises(ValueError, match="actual"):
        sbs.backprop_step(INPUTS, [1.0, 2.0], W_HIDDEN, W_OUT, 0.05)
    with pytest.raises(ValueError, match="inputs"):
        sbs.backprop_step([2.0, np.nan], 1.0, W_HIDDEN, W_OUT, 0.05)
    with pytest.raises(BAD_ARGS, match="inputs"):
        sbs.backprop_step(["2", "3"], 1.0, W_HIDDEN, W_OUT, 0.05)
    with pytest.raises(BAD_ARGS, match="actual"):
        sbs.backprop_step(INPUTS, "one", W_HIDDEN, W_OUT, 0.05)
    for steps in (0, -2):
        with pytest.raises(ValueError, match="steps"):
            sbs.train(INPUTS, 1.0, W_HIDDEN, W_OUT, 0.05, steps)
    with pytest.raises(ValueError, match="learning_rate"):
        sbs.train(INPUTS, 1.0, W_HIDDEN, W_OUT, 0.0, 3)


# ---------------------------------------------------------------------------
# the package


def test_tutorials_package_exposes_the_four_modules():
    for name in ("rbf_network", "gradient_descent", "xor_network", "step_by_step"):
        module = getattr(tutorials, name)
        ref_module = {"rbf_network": ref_rbf, "gradient_descent": ref_gd,
                      "xor_network": ref_xor, "step_by_step": ref_sbs}[name]
        for function in ref_module.__all__:
            assert callable(getattr(module, function)), f"{name}.{function}"


# ---------------------------------------------------------------------------
# both kernel builds

_BUILD_SCRIPT = r"""
import sys
import numpy as np
from cyprop import _kernels as _dispatch
from cyprop.tutorials import gradient_descent as gd, rbf_network as rbf, step_by_step as sbs
x, t = rbf.make_data()
wh, bo = np.meshgrid(np.linspace(-4, 4, 13), np.linspace(-4, 4, 7))
X = np.array([[0.0, 1.0], [1.0, 1.0], [1.0, 0.0]]); y = np.array([[1.0], [0.0], [1.0]])
np.savez(sys.argv[1], simd=_dispatch.simd, descend=gd.descend()[0],
         rbf_path=rbf.train(x, t, 2.3, 1.4, 2.0, 20)[2],
         rbf_surface=rbf.loss_surface(x, t, wh, bo),
         neuron=gd.train(X, y, np.array([[0.5], [-0.5]]), 0.5, 300),
         step=sbs.train(np.array([2.0, 3.0]), 1.0,
                        np.array([[0.11, 0.21], [0.12, 0.08]]), np.array([[0.14], [0.15]]),
                        0.05, 7, variant="code")[0])
"""


def test_both_kernel_builds_print_the_same_numbers(tmp_path):
    # The tutorial kernels are compiled for the baseline ISA and with AVX2/FMA,
    # both without FMA contraction: scalar loops give identical bits, the RBF
    # loops (vectorised sums, 2 or 4 lanes) agree to round-off.
    import os
    import subprocess
    import sys

    results = {}
    for simd in ("baseline", "auto"):
        path = tmp_path / f"{simd}.npz"
        subprocess.run([sys.executable, "-c", _BUILD_SCRIPT, str(path)], check=True,
                       env=dict(os.environ, CYPROP_SIMD=simd), cwd=tmp_path, timeout=120)
        with np.load(path) as data:
            results[simd] = {k: data[k] for k in data.files}
    base, auto = results["baseline"], results["auto"]
    assert str(base["simd"]) == "baseline"
    assert float(base["descend"]) == float(auto["descend"]) == 2.2500325268933734
    for key in ("neuron", "step"):
        np.testing.assert_array_equal(base[key], auto[key], err_msg=key)
    for key in ("rbf_path", "rbf_surface"):
        assert_close(auto[key], base[key], 1e-14, key)
    x, t = ref_rbf.make_data()
    assert_close(base["rbf_path"], ref_rbf.train(x, t, 2.3, 1.4, 2.0, 20)[2], 1e-12, "rbf path")
