"""The numbers each tutorial prints, from the compiled tutorials and from the NumPy oracle.

Every test runs twice, on ``cyprop.tutorials`` (the kernels) and on
``cyprop._reference`` (plain NumPy), with the tutorials' canonical demo
inputs (the module constants of ``cyprop.tutorials``).
"""

import math
import types

import numpy as np
import pytest

from cyprop._reference import gradient_descent as ref_gd
from cyprop._reference import rbf_network as ref_rbf
from cyprop._reference import step_by_step as ref_sbs
from cyprop._reference import xor_network as ref_xor
from cyprop.tutorials import gradient_descent as gd
from cyprop.tutorials import rbf_network as rbf
from cyprop.tutorials import step_by_step as sbs
from cyprop.tutorials import xor_network as xor

from _common import assert_close

KERNELS = types.SimpleNamespace(gd=gd, rbf=rbf, sbs=sbs, xor=xor)
REFERENCE = types.SimpleNamespace(gd=ref_gd, rbf=ref_rbf, sbs=ref_sbs, xor=ref_xor)
both = pytest.mark.parametrize("impl", [KERNELS, REFERENCE], ids=["kernels", "reference"])

# the demo inputs, by their short names in these tests
NEURON_X, NEURON_Y = gd.NEURON_X, gd.NEURON_Y
NOT_X, NOT_Y, NOT_W = gd.NOT_X, gd.NOT_Y, gd.NOT_WEIGHTS
XOR_X, XOR_Y = xor.XOR_X, xor.XOR_Y
INPUTS, W_HIDDEN, W_OUT = sbs.INPUTS, sbs.WEIGHTS_HIDDEN, sbs.WEIGHTS_OUT


def test_demo_inputs_are_the_tutorials():
    assert (rbf.START_WH, rbf.START_BO, rbf.LEARNING_RATE, rbf.ITERATIONS) == (2.3, 1.4, 2.0, 20)
    np.testing.assert_array_equal(NEURON_X, [[0.1], [0.25], [0.5], [0.75], [1.0]])
    np.testing.assert_array_equal(NEURON_Y, np.zeros((5, 1)))
    np.testing.assert_array_equal(gd.NEURON_WEIGHTS, [[5.0]])
    assert (gd.NEURON_ALPHA, gd.NEURON_EPOCHS, gd.NOT_ALPHA, gd.NOT_EPOCHS) == (0.5, 2000, 0.05, 12000)
    np.testing.assert_array_equal(NOT_X, [[0.0, 1.0], [1.0, 1.0]])
    np.testing.assert_array_equal(NOT_Y, [[1.0], [0.0]])
    np.testing.assert_array_equal(XOR_X, [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    np.testing.assert_array_equal(XOR_Y, [[0.0], [1.0], [1.0], [0.0]])
    assert (xor.ALPHA, xor.EPOCHS) == (0.1, 10000)
    np.testing.assert_array_equal(INPUTS, [2.0, 3.0])
    assert (sbs.ACTUAL, sbs.LEARNING_RATE) == (1.0, 0.05)
    for constant in (NEURON_X, NEURON_Y, gd.NEURON_WEIGHTS, NOT_X, NOT_Y, NOT_W, XOR_X, XOR_Y,
                     INPUTS, W_HIDDEN, W_OUT):
        assert not constant.flags.writeable


# ---------------------------------------------------------------------------
# 000: RBF network


@both
def test_rbf_printout(impl):
    x, t = impl.rbf.make_data(4)
    wh, bo, params_loss = impl.rbf.train(x, t, rbf.START_WH, rbf.START_BO, rbf.LEARNING_RATE,
                                         rbf.ITERATIONS)
    final_loss = impl.rbf.loss_for_param(x, wh, bo, t)
    assert f"{final_loss:.2f} {wh:.2f} {bo:.2f}" == "0.52 1.12 -0.44"
    assert final_loss == pytest.approx(0.5194110735919572, rel=1e-12)
    assert wh == pytest.approx(1.1230989009267862, rel=1e-12)
    assert bo == pytest.approx(-0.44248926539939754, rel=1e-12)
    assert isinstance(wh, float) and isinstance(bo, float)
    assert params_loss.shape == (21, 3)
    assert params_loss[-1, 2] == pytest.approx(final_loss, rel=1e-12)
    assert tuple(params_loss[0, :2]) == (2.3, 1.4)
    assert params_loss[0, 2] == pytest.approx(impl.rbf.loss_for_param(x, 2.3, 1.4, t), rel=1e-15)
    if impl is REFERENCE:
        np.testing.assert_array_equal(params_loss[-1], [wh, bo, final_loss])
    # the 50 iterations the prose mentions do NOT give the printed numbers
    wh50, bo50, _ = impl.rbf.train(x, t, 2.3, 1.4, 2.0, 50)
    assert f"{wh50:.2f} {bo50:.2f}" != "1.12 -0.44"


# ---------------------------------------------------------------------------
# 001: gradient descent


@both
def test_descend_printout(impl):
    x_min, n_steps = impl.gd.descend()
    assert x_min == 2.2500325268933734  # bit for bit
    assert n_steps == 42
    assert isinstance(x_min, float) and isinstance(n_steps, int)
    assert impl.gd.descend(4.0, 0.01, 1e-5) == (x_min, n_steps)
    assert abs(x_min - 9 / 4) < 1e-4


@both
def test_single_neuron_printout(impl):
    w0 = gd.NEURON_WEIGHTS.copy()
    assert "%.12g" % impl.gd.cost(NEURON_X, NEURON_Y, w0) == "0.757384221746"
    w = impl.gd.train(NEURON_X, NEURON_Y, w0, gd.NEURON_ALPHA, gd.NEURON_EPOCHS)
    assert w.shape == (1, 1)
    assert "%.7f" % w[0, 0] == "-24.3428836"
    assert "%.12g" % impl.gd.cost(NEURON_X, NEURON_Y, w) == "0.00130014553005"
    np.testing.assert_array_equal(np.round(impl.gd.run(NEURON_X, w), 2).ravel(), [0.08, 0, 0, 0, 0])
    assert_close(w, ref_gd.train(NEURON_X, NEURON_Y, w0, 0.5, 2000), 1e-12)
    np.testing.assert_array_equal(w0, [[5.0]])  # not modified


@both
def test_not_network_printout(impl):
    w0 = NOT_W.copy()
    # the tutorial prints 0.499047925023 as the starting cost
    assert impl.gd.cost(NOT_X, NOT_Y, w0) == pytest.approx(0.499047925023, abs=5e-9)
    w = impl.gd.train(NOT_X, NOT_Y, w0, gd.NOT_ALPHA, gd.NOT_EPOCHS)
    np.testing.assert_allclose(w, [[-4.77235179], [2.4814493]], atol=1e-6, rtol=0)
    assert_close(w, ref_gd.train(NOT_X, NOT_Y, NOT_W, 0.05, 12000), 1e-12)
    assert impl.gd.cost(NOT_X, NOT_Y, w) == pytest.approx(0.00719841740292, abs=5e-9)
    np.testing.assert_array_equal(np.round(impl.gd.run(NOT_X, w)), [[1.0], [0.0]])
    # the tutorial's rule moves both weights by the same amount
    assert (w[0, 0] - w[1, 0]) == pytest.approx(w0[0, 0] - w0[1, 0], abs=1e-12)
    np.testing.assert_array_equal(w0, [[-0.14935895], [7.10444213]])  # not modified


# ---------------------------------------------------------------------------
# 001: XOR


@pytest.mark.parametrize("impl, seed", [(KERNELS, seed) for seed in range(20)]
                         + [(REFERENCE, seed) for seed in (0, 7, 19)],
                         ids=[f"kernels-{s}" for s in range(20)] + ["reference-0", "reference-7",
                                                                    "reference-19"])
def test_xor_printout(impl, seed):
    theta1, theta2 = impl.xor.init_weights(seed=seed)
    impl.xor.train(XOR_X, XOR_Y, theta1, theta2, alpha=xor.ALPHA, epochs=xor.EPOCHS)
    out = impl.xor.forward(XOR_X, theta1, theta2)
    np.testing.assert_array_equal(np.round(out).ravel(), [0, 1, 1, 0])


# ---------------------------------------------------------------------------
# 002: step by step


@both
def test_step_by_step_forward_printout(impl):
    h = impl.sbs.fwd_prop(INPUTS, W_HIDDEN)
    assert_close(h, [0.9, 0.35], 1e-15)
    prediction = impl.sbs.fwd_prop(h, W_OUT)
    assert prediction[0] == pytest.approx(0.214, rel=1e-14)
    error = impl.sbs.error(prediction, sbs.ACTUAL)
    assert float(np.ravel(error)[0]) == pytest.approx(0.308898, rel=1e-12)
    assert_close(error, ref_sbs.error(prediction, 1.0), 1e-15)


@both
def test_step_by_step_prose_printout(impl):
    new_hidden, new_out = impl.sbs.backprop_step(INPUTS, sbs.ACTUAL, W_HIDDEN, W_OUT,
                                                 sbs.LEARNING_RATE)
    assert new_hidden.shape == (2, 2) and new_out.shape == (2, 1)
    (w1, w3), (w2, w4) = new_hidden
    w5, w6 = new_out[:, 0]
    got = dict(w1=w1, w2=w2, w3=w3, w4=w4, w5=w5, w6=w6)
    exact = dict(w1=0.162576, w2=0.218864, w3=0.11572, w4=0.07358, w5=0.19537, w6=0.213755)
    prose = dict(w1="0.162", w2="0.218", w3="0.115", w4="0.073", w5="0.195", w6="0.213")
    for name, value in got.items():
        assert value == pytest.approx(exact[name], rel=1e-12, abs=1e-12), name
        # the prose truncates (not rounds) to three decimals: w6 = 0.213755 -> 0.213
        truncated = math.floor(value * 1000 + 1e-9) / 1000
        assert f"{truncated:.3f}" == prose[name], name
    # the prose's second forward pass (with its truncated weights) prints 0.286;
    # with the exact weights the prediction is 0.28845906
    pred = impl.sbs.fwd_prop(impl.sbs.fwd_prop(INPUTS, new_hidden), new_out)
    assert pred[0] == pytest.approx(0.28845906, abs=5e-9)
    np.testing.assert_array_equal(W_HIDDEN, [[0.15, 0.10], [0.20, 0.05]])  # not modified
    np.testing.assert_array_equal(W_OUT, [[0.16], [0.20]])


@both
def test_step_by_step_code_printout(impl):
    new_hidden, new_out = impl.sbs.backprop_step(INPUTS, 1.0, W_HIDDEN, W_OUT, 0.05,
                                                 variant="code")
    np.testing.assert_allclose(new_hidden, [[0.16535608, 0.11535608], [0.22520171, 0.07520171]],
                               atol=1e-8, rtol=0)
    np.testing.assert_allclose(new_out, [[0.19537], [0.213755]], atol=1e-8, rtol=0)
    new_h = impl.sbs.fwd_prop(INPUTS, new_hidden)
    np.testing.assert_allclose(new_h, [1.00631731, 0.45631731], atol=1e-8, rtol=0)
    assert impl.sbs.fwd_prop(new_h, new_out)[0] == pytest.approx(0.29414432, abs=1e-8)
    for got, expected in zip((new_hidden, new_out),
                             ref_sbs.backprop_step(INPUTS, 1.0, W_HIDDEN, W_OUT, 0.05, "code")):
        assert_close(got, expected, 1e-14)
