"""Bad input to Network: a clear ValueError/TypeError naming the argument, never a crash."""

import numpy as np
import pytest

import cyprop

from _networks import fit_problem


# ---------------------------------------------------------------------------
# argument checks


@pytest.fixture
def small():
    net = cyprop.Network([3, 4, 2], seed=0)
    rng = np.random.default_rng(0)
    return net, rng.normal(size=(6, 3)), rng.random((6, 2))


def test_fit_rejects_mismatched_rows(small):
    net, X, Y = small
    with pytest.raises(ValueError, match=r"\bX\b|\bY\b"):
        net.fit(X, Y[:5])
    with pytest.raises(ValueError, match=r"\bX\b|\bY\b"):
        net.loss(X[:4], Y)
    with pytest.raises(ValueError, match=r"\bX\b|\bY\b"):
        net.gradients(X, Y[:1])


def test_rejects_wrong_feature_and_output_counts(small):
    net, X, Y = small
    for method in (net.predict, lambda X: net.fit(X, Y), lambda X: net.loss(X, Y)):
        with pytest.raises(ValueError, match=r"\bX\b"):
            method(X[:, :2])
        with pytest.raises(ValueError, match=r"\bX\b"):
            method(np.hstack([X, X]))
    with pytest.raises(ValueError, match=r"\bY\b"):
        net.fit(X, np.hstack([Y, Y]))
    with pytest.raises(ValueError, match=r"\bX\b"):
        net.predict(X[0])  # 1-D
    with pytest.raises(ValueError, match=r"\bX\b"):
        net.predict(X[None])  # 3-D


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_large_inputs_checked_by_their_sum_and_element_by_element(dtype):
    # from _validate._SUM_CHECK_SIZE elements on, a finite sum proves X
    # finite; a NaN, an infinity, or infinities of both signs must still be
    # caught, and finite values whose sum overflows must still pass
    from cyprop import _validate

    n = _validate._SUM_CHECK_SIZE // 8 + 1
    rng = np.random.default_rng(0)
    X = rng.random((n, 8)).astype(dtype)
    Y = np.eye(2, dtype=dtype)[rng.integers(0, 2, n)]
    net = cyprop.Network([8, 3, 2], seed=0, dtype=dtype)
    assert _validate._all_finite(X)
    for cells in ([(n - 1, 7, np.nan)], [(0, 0, np.inf)], [(5, 3, np.inf), (9, 2, -np.inf)]):
        Xb = X.copy()
        for i, j, v in cells:
            Xb[i, j] = v
        assert not _validate._all_finite(Xb)
        with pytest.raises(ValueError, match=r"X contains NaN or infinity"):
            net.fit(Xb, Y, epochs=1)
    huge = np.full((n, 8), np.finfo(dtype).max / 2, dtype=dtype)   # the sum overflows
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _validate._all_finite(huge)
        assert _validate.as_float_array(huge, "X", dtype=dtype) is not None


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_rejects_non_finite_data(small, bad):
    net, X, Y = small
    before = net.parameters.copy()
    Xb = X.copy()
    Xb[2, 1] = bad
    Yb = Y.copy()
    Yb[4, 0] = bad
    with pytest.raises(ValueError, match=r"\bX\b"):
        net.fit(Xb, Y)
    with pytest.raises(ValueError, match=r"\bY\b"):
        net.fit(X, Yb)
    with pytest.raises(ValueError, match=r"\bX\b"):
        net.predict(Xb)
    with pytest.raises(ValueError, match=r"\bY\b"):
        net.gradients(X, Yb)
    np.testing.assert_array_equal(net.parameters, before)


def test_rejects_empty_and_non_numeric_data(small):
    net, X, Y = small
    with pytest.raises(ValueError, match=r"\bX\b"):
        net.fit(np.empty((0, 3)), np.empty((0, 2)))
    with pytest.raises(ValueError, match=r"\bX\b"):
        net.predict(np.empty((0, 3)))
    with pytest.raises((TypeError, ValueError), match=r"\bX\b"):
        net.predict([["a", "b", "c"]])
    with pytest.raises((TypeError, ValueError), match=r"\bY\b"):
        net.fit(X, np.full((6, 2), "x"))
    with pytest.raises((TypeError, ValueError), match=r"\bX\b"):
        net.predict(X.astype(complex))


def test_rejects_labels_outside_the_classes():
    net = cyprop.Network([3, 4, 3], output_activation="softmax", loss="cross_entropy", seed=0)
    X = np.zeros((4, 3))
    for labels in ([0, 1, 2, 3], [0, -1, 2, 1]):
        with pytest.raises(ValueError, match=r"\bY\b|label"):
            net.fit(X, np.array(labels))
    with pytest.raises((TypeError, ValueError), match=r"\bY\b|label"):
        net.fit(X, np.array([0.5, 1, 2, 0]))


@pytest.mark.parametrize("epochs", [0, -1])
def test_rejects_non_positive_epochs(small, epochs):
    net, X, Y = small
    with pytest.raises(ValueError, match="epochs"):
        net.fit(X, Y, epochs=epochs)


def test_rejects_non_integer_epochs_and_bad_batch_sizes(small):
    net, X, Y = small
    with pytest.raises(TypeError, match="epochs"):
        net.fit(X, Y, epochs=2.5)
    with pytest.raises((TypeError, ValueError), match="epochs"):
        net.fit(X, Y, epochs="3")
    with pytest.raises(ValueError, match="batch_size"):
        net.fit(X, Y, mode="minibatch", batch_size=0)
    with pytest.raises(ValueError, match="mode"):
        net.fit(X, Y, mode="stochastic")


@pytest.mark.parametrize("rate", [0.0, -0.1, np.nan, np.inf])
def test_rejects_bad_learning_rates(small, rate):
    net, X, Y = small
    before = net.parameters.copy()
    with pytest.raises(ValueError, match="learning_rate"):
        net.fit(X, Y, learning_rate=rate)
    np.testing.assert_array_equal(net.parameters, before)


def test_rejects_bad_momentum(small):
    net, X, Y = small
    for mu in (-0.5, 1.0, 1.5):
        with pytest.raises(ValueError, match="momentum"):
            net.fit(X, Y, momentum=mu)


@pytest.mark.parametrize("kwargs,name", [
    ({"hidden_activation": "sigmod"}, "hidden_activation"),
    ({"output_activation": "ReLU"}, "output_activation"),
    ({"loss": "mse"}, "loss"),
    ({"hidden_activation": "softmax"}, "hidden_activation|softmax"),
    ({"output_activation": "softmax"}, "softmax|loss"),  # with squared_error
    ({"loss": "cross_entropy", "output_activation": "identity"}, "cross_entropy|output_activation"),
    ({"loss": "cross_entropy", "output_activation": "relu"}, "cross_entropy|output_activation"),
    ({"dtype": "float16"}, "dtype"),
])
def test_rejects_bad_configurations(kwargs, name):
    with pytest.raises(ValueError, match=name):
        cyprop.Network([3, 4, 2], **kwargs)


def test_rejects_bad_layer_sizes():
    for sizes in ([3], [], [3, 0, 2], [3, -1], [3, 2.5]):
        with pytest.raises((ValueError, TypeError), match="layer_sizes"):
            cyprop.Network(sizes)
    with pytest.raises((ValueError, TypeError), match="layer_sizes"):
        cyprop.Network(5)


def test_accepts_integer_non_contiguous_and_read_only_data(small):
    net, X, Y = small
    Xi = np.array([[1, 0, 2], [0, -1, 1], [3, 1, 0], [1, 1, 1], [0, 0, 2], [2, 2, -1]])
    expected = net.predict(Xi.astype(float))
    np.testing.assert_array_equal(net.predict(Xi), expected)
    Xi.flags.writeable = False
    np.testing.assert_array_equal(net.predict(Xi), expected)
    # a strided view and a Fortran-ordered copy
    wide = np.zeros((12, 6))
    wide[::2, ::2] = X
    view = wide[::2, ::2]
    assert not view.flags.c_contiguous
    np.testing.assert_array_equal(net.predict(view), net.predict(X))
    np.testing.assert_array_equal(net.predict(np.asfortranarray(X)), net.predict(X))
    # the same training from a read-only, non-contiguous X and Y as from plain copies
    Yw = np.zeros((6, 4))
    Yw[:, ::2] = Y
    a = cyprop.Network([3, 4, 2], seed=0)
    b = cyprop.Network([3, 4, 2], seed=0)
    view.flags.writeable = False
    ha = a.fit(view, Yw[:, ::2], epochs=2, seed=1)
    hb = b.fit(X.copy(), Y.copy(), epochs=2, seed=1)
    np.testing.assert_array_equal(a.parameters, b.parameters)
    assert ha.loss == hb.loss


def test_fit_does_not_modify_the_data():
    net, X, Y = fit_problem()
    X0, Y0 = X.copy(), Y.copy()
    net.fit(X, Y, epochs=2, mode="minibatch", batch_size=3, momentum=0.5)
    net.gradients(X, Y)
    net.check_gradients(X[:3], Y[:3])
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(Y, Y0)
    labels = np.array([0, 2, 1, 1])
    lab0 = labels.copy()
    softmax = cyprop.Network([3, 3], output_activation="softmax", loss="cross_entropy", seed=0)
    softmax.fit(X[:4], labels)
    np.testing.assert_array_equal(labels, lab0)


def test_float32_network_accepts_float64_data_and_vice_versa():
    net64, X, Y = fit_problem()
    net32 = cyprop.Network([3, 5, 2], "tanh", "sigmoid", "cross_entropy", dtype="float32", seed=0)
    assert net32.parameters.dtype == np.float32
    assert net32.predict(X).dtype == np.float32
    assert net64.predict(X.astype(np.float32)).dtype == np.float64
    net32.fit(X, Y, epochs=1)
    assert net32.parameters.dtype == np.float32


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_blocked_schedule_checks_x_as_it_gathers_a_block(dtype, n_threads, where):
    # The blocked schedule checks each block's rows itself (no pass of its
    # own over X first): a NaN or infinity in any row, including the last,
    # partial block, and whichever thread gathers it, must still give
    # fit's ValueError with the weights and the caller's X unchanged; a
    # shuffled order and several epochs too.
    rng = np.random.default_rng(3)
    n = 75   # blocks of 16: the last one holds 11 samples
    X = rng.random((n, 40)).astype(dtype)
    Y = np.eye(3, dtype=dtype)[rng.integers(0, 3, n)]
    row = {"first": 0, "middle": 37, "last": n - 1}[where]
    for bad in (np.nan, np.inf, -np.inf):
        Xb = X.copy()
        Xb[row, 39 if where == "last" else 5] = bad
        kept = Xb.copy()
        net = cyprop.Network([40, 9, 3], seed=1, dtype=dtype)
        before = net.parameters.copy()
        with pytest.raises(ValueError, match=r"X contains NaN or infinity"):
            net.fit(Xb, Y, epochs=3, online_schedule="blocked", block_size=16,
                    n_threads=n_threads, shuffle=(where == "middle"))
        np.testing.assert_array_equal(net.parameters, before)
        np.testing.assert_array_equal(Xb, kept)   # (NaN equals NaN here)
    # the clean X trains (the check does not fire on finite values)
    net = cyprop.Network([40, 9, 3], seed=1, dtype=dtype)
    net.fit(X, Y, epochs=2, online_schedule="blocked", block_size=16, n_threads=n_threads)


def test_validation_split_rows_are_checked_before_the_blocked_kernel():
    # rows held out for validation never reach the blocked kernel, so fit
    # checks X itself then
    rng = np.random.default_rng(4)
    X = rng.random((60, 40))
    Y = np.eye(3)[rng.integers(0, 3, 60)]
    net = cyprop.Network([40, 9, 3], seed=1)
    before = net.parameters.copy()
    for row in range(60):
        Xb = X.copy()
        Xb[row, 3] = np.nan
        with pytest.raises(ValueError, match=r"X contains NaN or infinity"):
            net.fit(Xb, Y, epochs=2, online_schedule="blocked", block_size=16,
                    validation_fraction=0.2, n_iter_no_change=3)
        np.testing.assert_array_equal(net.parameters, before)
