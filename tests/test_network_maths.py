"""cyprop.Network's maths against the NumPy oracle cyprop._reference.network.

Gradients, losses and predictions of random networks (every activation and
loss combination) agree with the reference to round-off in float64 and to
~1e-5 in float32; check_gradients; the accuracy of the exp-based activations.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cyprop
from cyprop._reference import network as ref

from _common import HIDDEN, OUTPUT_LOSS, assert_close, examples
from _networks import make_problem, network_configs, params_of


# ---------------------------------------------------------------------------
# forward pass, loss, gradients


@settings(max_examples=examples(60))
@given(network_configs(), st.booleans())
def test_gradients_loss_predict_match_reference_float64(config, labels):
    sizes, hidden, output, loss, n, seed = config
    net, X, Y = make_problem(seed, sizes, hidden, output, loss, n, labels=labels)
    W, B = params_of(net)

    out = net.predict(X)
    assert out.dtype == np.float64 and out.shape == (n, sizes[-1])
    assert_close(out, ref.forward(W, B, X, hidden, output)[-1][1], 1e-12, "predict")

    expected_loss = ref.loss(W, B, X, Y, hidden, output, loss)
    assert isinstance(net.loss(X, Y), float)
    assert net.loss(X, Y) == pytest.approx(expected_loss, rel=1e-12, abs=1e-300)

    grads = net.gradients(X, Y)
    expected = ref.gradients(W, B, X, Y, hidden, output, loss)
    assert len(grads) == len(expected) == len(sizes) - 1
    for l, ((dW, db), (eW, eb)) in enumerate(zip(grads, expected)):
        assert dW.shape == (sizes[l + 1], sizes[l]) and db.shape == (sizes[l + 1],)
        assert_close(dW, eW, 1e-10, f"dW[{l}]")
        assert_close(db, eb, 1e-10, f"db[{l}]")


@settings(max_examples=examples(30))
@given(network_configs())
def test_gradients_loss_predict_match_reference_float32(config):
    sizes, hidden, output, loss, n, seed = config
    net, X, Y = make_problem(seed, sizes, hidden, output, loss, n, dtype="float32")
    # the reference sees exactly the float32 values the network sees
    X = X.astype(np.float32)
    Y = np.asarray(Y, dtype=np.float32)
    W, B = params_of(net)

    out = net.predict(X)
    assert out.dtype == np.float32
    expected_out = ref.forward(W, B, X, hidden, output)[-1][1]
    np.testing.assert_allclose(out, expected_out, rtol=1e-5,
                               atol=1e-6 * max(1.0, np.max(np.abs(expected_out))))
    assert net.loss(X, Y) == pytest.approx(ref.loss(W, B, X, Y, hidden, output, loss),
                                           rel=1e-5, abs=1e-6)
    expected = ref.gradients(W, B, X, Y, hidden, output, loss)
    for l, ((dW, db), (eW, eb)) in enumerate(zip(net.gradients(X, Y), expected)):
        assert dW.dtype == np.float32
        assert_close(dW, eW, 1e-5, f"dW[{l}]")
        assert_close(db, eb, 1e-5, f"db[{l}]")


def test_gradients_are_those_of_the_mean_loss():
    # doubling the data set (every sample twice) leaves the mean-loss gradient unchanged
    net, X, Y = make_problem(3, [4, 5, 3], "tanh", "softmax", "cross_entropy", 7)
    once = net.gradients(X, Y)
    twice = net.gradients(np.vstack([X, X]), np.vstack([Y, Y]))
    for (a, b), (c, d) in zip(once, twice):
        assert_close(c, a, 1e-14)
        assert_close(d, b, 1e-14)
    doubled = net.loss(np.vstack([X, X]), np.vstack([Y, Y]))
    assert doubled == pytest.approx(net.loss(X, Y), rel=1e-14)


def test_loss_values_by_hand():
    # one layer, one sample: the three losses written out
    x = np.array([[0.5, -1.0]])
    for output, loss in [("sigmoid", "squared_error"), ("sigmoid", "cross_entropy"),
                         ("softmax", "cross_entropy")]:
        net = cyprop.Network([2, 2], output_activation=output, loss=loss, seed=0)
        net.weights[0][...] = [[1.0, 2.0], [-0.5, 0.25]]
        net.biases[0][...] = [0.1, -0.2]
        z = x @ net.weights[0].T + net.biases[0]
        t = np.array([[1.0, 0.0]])
        if output == "softmax":
            a = np.exp(z) / np.exp(z).sum()
            expected = -np.log(a[0, 0])
        else:
            a = 1 / (1 + np.exp(-z))
            if loss == "squared_error":
                expected = 0.5 * np.sum((a - t) ** 2)
            else:
                expected = -np.sum(t * np.log(a) + (1 - t) * np.log(1 - a))
        assert net.loss(x, t) == pytest.approx(expected, rel=1e-12)
        assert_close(net.predict(x), a, 1e-13)


def test_leaky_relu_and_rbf_definitions():
    net = cyprop.Network([1, 1], output_activation="leaky_relu", seed=0)
    net.weights[0][...] = 1.0
    z = np.array([[-3.0], [-0.5], [0.0], [2.0]])
    np.testing.assert_array_equal(net.predict(z).ravel(), [-0.03, -0.005, 0.0, 2.0])
    # derivative 0.01 for z <= 0 (z = 0 included), 1 above
    for z0, slope in [(-2.0, 0.01), (0.0, 0.01), (1.5, 1.0)]:
        # one sample x = z0 (weight 1, bias 0), target z0 + 1: delta = (a - t) * slope
        (dW, db), = net.gradients([[z0]], [[z0 + 1.0]])
        a = z0 if z0 > 0 else 0.01 * z0
        assert db[0] == pytest.approx((a - (z0 + 1.0)) * slope, rel=1e-14)
        assert dW[0, 0] == pytest.approx((a - (z0 + 1.0)) * slope * z0, rel=1e-14, abs=0)
    rbf = cyprop.Network([1, 1], output_activation="rbf", seed=0)
    rbf.weights[0][...] = 1.0
    assert_close(rbf.predict([[0.0], [1.0], [-2.0]]).ravel(),
                 np.exp(-np.array([0.0, 1.0, 4.0])), 1e-15)


# ---------------------------------------------------------------------------
# check_gradients


@pytest.mark.parametrize("output,loss", OUTPUT_LOSS)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_check_gradients_every_activation_and_loss(hidden, output, loss):
    net, X, Y = make_problem(11, [3, 4, 4, 3], hidden, output, loss, 5)
    worst = net.check_gradients(X, Y)
    assert isinstance(worst, float)
    assert 0.0 <= worst < 1e-6
    # the parameters are restored afterwards
    net2, _, _ = make_problem(11, [3, 4, 4, 3], hidden, output, loss, 5)
    np.testing.assert_array_equal(net.parameters, net2.parameters)


def test_check_gradients_detects_a_wrong_gradient(monkeypatch):
    # check_gradients compares against finite differences: feed it a loss that
    # disagrees with the gradient and it must report a large difference
    net, X, Y = make_problem(2, [2, 3, 1], "tanh", "sigmoid", "squared_error", 4)
    assert net.check_gradients(X, Y) < 1e-6
    real = net.gradients

    def doubled(X, Y):
        return [(2 * dW, 2 * db) for dW, db in real(X, Y)]

    monkeypatch.setattr(net, "gradients", doubled)
    assert net.check_gradients(X, Y) > 0.1


# ---------------------------------------------------------------------------
# accuracy of the exp-based activations over their whole range


def _one_unit(output_activation, dtype):
    net = cyprop.Network([1, 1], output_activation=output_activation, dtype=dtype, seed=0)
    net.weights[0][...] = 1.0   # z = x exactly
    net.biases[0][...] = 0.0
    return net


def _ulps(got, want, dtype):
    """Distance in units in the last place of ``dtype`` (want is exact or float64)."""
    want_rounded = np.asarray(want).astype(dtype)
    spacing = np.spacing(np.abs(want_rounded)).astype(np.float64)
    return np.abs(got.astype(np.float64) - np.asarray(want, dtype=np.float64)) / spacing


@pytest.mark.parametrize("dtype,top", [("float64", 800.0), ("float32", 110.0)])
def test_rbf_activation_is_exp_to_two_ulp(dtype, top):
    # rbf(z) = exp(-z*z): arguments from -1e-12 down past the underflow threshold,
    # so results run through normal and subnormal numbers to zero
    net = _one_unit("rbf", dtype)
    t = np.concatenate([np.geomspace(1e-12, top, 20000), [0.0]])
    z = np.sqrt(t).astype(dtype)
    arg = (-z * z).astype(np.float64)                  # the exact argument the kernel sees
    if dtype == "float64":
        want = np.array([np.exp(v) for v in arg])     # libm exp, correctly rounded in practice
    else:
        want = np.exp(arg)                            # float64 exp, rounded once to float32
    got = net.predict(z[:, None])[:, 0]
    assert got.dtype == np.dtype(dtype)
    ulps = _ulps(got, want, dtype)
    worst = int(np.argmax(ulps))
    assert ulps[worst] <= 2.0, (arg[worst], got[worst], want[worst])
    assert got[-1] == 1.0                              # exp(0)
    assert got[-2] == 0.0                              # far below the underflow threshold


@pytest.mark.parametrize("dtype,top", [("float64", 760.0), ("float32", 110.0)])
def test_sigmoid_activation_accuracy_and_saturation(dtype, top):
    net = _one_unit("sigmoid", dtype)
    z = np.concatenate([-np.geomspace(top, 1e-10, 8000), [0.0],
                        np.geomspace(1e-10, top, 8000)]).astype(dtype)
    with np.errstate(over="ignore"):
        want = 1.0 / (1.0 + np.exp(-z.astype(np.float64)))
    got = net.predict(z[:, None])[:, 0]
    assert np.isfinite(got).all()
    # 1 / (1 + exp(-z)) overflows exp(-z) slightly before the result leaves the
    # subnormal range, so results below the smallest normal number may be 0
    tiny = np.finfo(dtype).tiny
    normal = want >= tiny
    ulps = _ulps(got[normal], want[normal], dtype)
    worst = int(np.argmax(ulps))
    assert ulps[worst] <= 4.0, (z[normal][worst], got[normal][worst], want[normal][worst])
    assert np.all(got[~normal] <= tiny)
    assert got[0] == 0.0 and got[-1] == 1.0           # saturated, never NaN
    assert got[8000] == 0.5


def test_saturated_outputs_keep_losses_and_gradients_finite():
    # z = +-50: sigmoid rounds to 1 (or ~2e-22); cross-entropy is evaluated
    # stably and stays finite and accurate
    net = _one_unit("sigmoid", "float64")
    net2 = cyprop.Network([1, 1], output_activation="sigmoid", loss="cross_entropy", seed=0)
    net2.parameters[...] = net.parameters
    X = np.array([[50.0], [-50.0]])
    Y = np.array([[0.0], [1.0]])
    # softplus(50) - 0 and softplus(-50) - (-50) -> 50 each (to round-off)
    assert net2.loss(X, Y) == pytest.approx(50.0, rel=1e-14)
    (dW, db), = net2.gradients(X, Y)
    assert np.isfinite(dW).all() and np.isfinite(db).all()
    assert db[0] == pytest.approx(0.0, abs=1e-15)      # mean of (1 - 0) and (~0 - 1)
    softmax = cyprop.Network([1, 3], output_activation="softmax", loss="cross_entropy", seed=0)
    softmax.weights[0][...] = [[1.0], [0.0], [-1.0]]
    big = np.array([[800.0]])
    out = softmax.predict(big)
    np.testing.assert_array_equal(out, [[1.0, 0.0, 0.0]])
    assert softmax.loss(big, [2]) == pytest.approx(1600.0, rel=1e-14)
