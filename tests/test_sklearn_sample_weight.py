"""sample_weight in cyprop.sklearn's fit and partial_fit against scikit-learn's
MLP (>= 1.7, which takes sample_weight): the same loss curves and weights to
round-off, the same errors for bad weights."""

import inspect
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn", minversion="1.6")

from sklearn import datasets  # noqa: E402
from sklearn import neural_network as sk  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

from cyprop import sklearn as cy  # noqa: E402

pytestmark = pytest.mark.skipif(
    "sample_weight" not in inspect.signature(sk.MLPClassifier.fit).parameters,
    reason="this scikit-learn's MLP has no sample_weight")


def _weights(n, seed=0):
    w = np.random.default_rng(seed).uniform(0.0, 3.0, size=n)
    w[::7] = 0.0
    return w


def _fit_both(cls_name, X, y, w, **params):
    out = []
    for module in (cy, sk):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            out.append(getattr(module, cls_name)(**params).fit(X, y, sample_weight=w))
    return out


def _assert_same_model(ours, theirs, rtol=1e-9):
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=rtol)
    if hasattr(theirs, "loss_curve_"):
        np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=rtol)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * np.max(np.abs(b)))


@pytest.fixture(scope="module")
def digits():
    X, y = datasets.load_digits(return_X_y=True)
    return X[:400] / 16.0, y[:400]


@pytest.mark.parametrize("params", [
    {"solver": "sgd", "alpha": 0.0, "batch_size": 32, "learning_rate_init": 0.1},   # in the kernel
    {"solver": "sgd", "alpha": 0.3, "batch_size": 16, "learning_rate_init": 0.05},  # in the kernel
    {"solver": "sgd", "alpha": 0.0, "momentum": 0.0, "batch_size": 400},            # in the kernel
    {"solver": "sgd", "learning_rate": "invscaling", "learning_rate_init": 0.5},
    {"solver": "adam", "alpha": 0.1, "batch_size": 50},
    {"solver": "adam", "early_stopping": True, "validation_fraction": 0.2},
    {"solver": "lbfgs", "activation": "logistic"},
    {"solver": "lbfgs", "alpha": 0.5},
])
def test_classifier_with_weights_follows_scikit_learn(digits, params):
    X, y = digits
    params = {"hidden_layer_sizes": (16,), "max_iter": 10, "random_state": 3, **params}
    w = _weights(len(y))
    ours, theirs = _fit_both("MLPClassifier", X, y, w, **params)
    _assert_same_model(ours, theirs)
    # the weights mattered
    plain = cy.MLPClassifier(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain.fit(X, y)
    assert not np.allclose(plain.coefs_[0], ours.coefs_[0])


@pytest.mark.parametrize("params", [{"solver": "sgd", "learning_rate_init": 0.01, "alpha": 0.0},
                                    {"solver": "sgd", "learning_rate_init": 0.01},
                                    {"solver": "adam"}, {"solver": "lbfgs"}])
def test_regressor_with_weights_follows_scikit_learn(params):
    X, y = datasets.make_regression(150, 5, n_targets=2, noise=1.0, random_state=0)
    y = y / 100
    w = _weights(150, 1)
    ours, theirs = _fit_both("MLPRegressor", X, y, w, hidden_layer_sizes=(10,), max_iter=10,
                             random_state=1, **params)
    _assert_same_model(ours, theirs)


def test_partial_fit_with_weights_follows_scikit_learn(digits):
    X, y = digits
    w = _weights(len(y), 2)
    models = []
    for module in (cy, sk):
        clf = module.MLPClassifier((8,), solver="sgd", random_state=0, alpha=0.0)
        clf.partial_fit(X[:200], y[:200], sample_weight=w[:200], classes=np.arange(10))
        clf.partial_fit(X[200:], y[200:], w[200:])   # positional, as scikit-learn's
        models.append(clf)
    _assert_same_model(*models)
    regs = [module.MLPRegressor(hidden_layer_sizes=(6,), solver="sgd", random_state=0, learning_rate_init=0.01)
            .partial_fit(X, y / 10.0, sample_weight=w) for module in (cy, sk)]
    _assert_same_model(*regs)


@pytest.mark.parametrize("w", [np.ones(5), np.ones((40, 2)), np.full(40, np.nan), "a"])
def test_bad_weights_raise_as_scikit_learn(w):
    X, y = datasets.make_blobs(40, centers=2, random_state=0)
    caught = []
    for module in (cy, sk):
        with pytest.raises((ValueError, TypeError)) as info:
            module.MLPClassifier((4,), max_iter=2).fit(X, y, sample_weight=w)
        caught.append(info.value)
    assert type(caught[0]) is type(caught[1])
    assert str(caught[0]) == str(caught[1])
