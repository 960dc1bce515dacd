"""cyprop.sklearn: the scikit-learn estimator contract, and learning on real data."""

import pickle

import numpy as np
import pytest

pytest.importorskip("sklearn", minversion="1.6")

from sklearn.datasets import load_digits, make_blobs  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

from cyprop.sklearn import EXPECTED_FAILED_CHECKS, MLPClassifier, MLPRegressor  # noqa: E402


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")
@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_check_estimator(Estimator):
    # Every check passes or is skipped, except exactly the declared expected failures:
    # an undeclared failure, a declared check that sklearn does not run, or one that
    # no longer fails all fail this test.
    expected = EXPECTED_FAILED_CHECKS[Estimator.__name__]
    results = check_estimator(Estimator(), expected_failed_checks=expected, on_fail=None)
    status = {result["check_name"]: result["status"] for result in results}
    failed = {r["check_name"]: repr(r["exception"]) for r in results if r["status"] == "failed"}
    assert not failed, f"{Estimator.__name__} fails checks: {failed}"
    assert len(status) > 30, f"only {len(status)} checks ran"
    assert all(isinstance(reason, str) and reason for reason in expected.values())
    stale = {name: status.get(name, "not run") for name in expected
             if status.get(name) != "xfail"}
    assert not stale, f"declared expected failures that do not fail: {stale}"


def test_expected_failed_checks_names_exactly_the_estimators():
    import cyprop.sklearn

    estimators = {name for name in cyprop.sklearn.__all__ if name.startswith("MLP")}
    assert set(EXPECTED_FAILED_CHECKS) == estimators


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.25, random_state=0)


def test_digits_accuracy(digits):
    X_train, X_test, y_train, y_test = digits
    clf = MLPClassifier((32,), "logistic", epochs=10, learning_rate=0.1, random_state=0)
    clf.fit(X_train, y_train)
    assert clf.score(X_test, y_test) > 0.93
    assert list(clf.classes_) == list(range(10))
    assert clf.n_features_in_ == 64
    assert len(clf.loss_curve_) == clf.n_iter_ == 10
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]
    proba = clf.predict_proba(X_test)
    assert proba.shape == (len(X_test), 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_pipeline_grid_search_and_cross_val_score(digits):
    X_train, _, y_train, _ = digits
    pipe = make_pipeline(StandardScaler(), MLPClassifier((16,), "tanh", epochs=3, random_state=0))
    search = GridSearchCV(pipe, {"mlpclassifier__learning_rate": [0.001, 0.01]}, cv=2)
    search.fit(X_train[:600], y_train[:600])
    assert search.best_params_["mlpclassifier__learning_rate"] in (0.001, 0.01)
    scores = cross_val_score(MLPClassifier((16,), epochs=3, learning_rate=0.05, random_state=0),
                             X_train[:600], y_train[:600], cv=3)
    assert scores.shape == (3,) and np.all(scores > 0.8)


def test_random_state_makes_fit_reproducible(digits):
    X_train, X_test, y_train, _ = digits
    a = MLPClassifier((8,), epochs=2, random_state=3).fit(X_train, y_train)
    b = MLPClassifier((8,), epochs=2, random_state=3).fit(X_train, y_train)
    c = MLPClassifier((8,), epochs=2, random_state=4).fit(X_train, y_train)
    np.testing.assert_array_equal(a.predict_proba(X_test), b.predict_proba(X_test))
    assert not np.array_equal(a.network_.parameters, c.network_.parameters)


def test_partial_fit_learns_online_and_continues_a_fit(digits):
    X_train, X_test, y_train, y_test = digits
    clf = MLPClassifier((32,), "logistic", learning_rate=0.1, random_state=0)
    with pytest.raises(ValueError, match="classes"):
        clf.partial_fit(X_train, y_train)
    for start in range(0, len(X_train), 200):
        clf.partial_fit(X_train[start:start + 200], y_train[start:start + 200], classes=range(10))
    assert clf.n_iter_ == len(clf.loss_curve_) == -(-len(X_train) // 200)
    assert clf.score(X_test, y_test) > 0.8
    with pytest.raises(ValueError, match="features"):
        clf.partial_fit(X_train[:5, :10], y_train[:5])
    with pytest.raises(ValueError, match="not in classes"):
        MLPClassifier((4,)).partial_fit(X_train[:20], y_train[:20], classes=[0, 1])
    # partial_fit after fit continues from the fitted weights
    fitted = MLPClassifier((8,), epochs=2, random_state=0).fit(X_train, y_train)
    before = fitted.network_.parameters.copy()
    fitted.partial_fit(X_train, y_train)
    assert fitted.n_iter_ == 3 and not np.array_equal(before, fitted.network_.parameters)


def test_string_labels_and_one_class():
    X, y = make_blobs(60, centers=3, cluster_std=0.5, random_state=0)
    names = np.array(["cat", "dog", "eel"])[y]
    clf = MLPClassifier((8,), "tanh", epochs=50, learning_rate=0.05, random_state=0).fit(X, names)
    assert set(clf.predict(X)) <= set(names) and clf.score(X, names) > 0.9
    with pytest.raises(ValueError, match="only one class"):
        MLPClassifier().fit(X, np.zeros(len(X)))


def test_pickle_keeps_a_whole_network(digits):
    X_train, X_test, y_train, _ = digits
    clf = MLPClassifier((8,), epochs=1, random_state=0).fit(X_train, y_train)
    copy = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(copy.predict_proba(X_test), clf.predict_proba(X_test))
    net = copy.network_
    assert np.shares_memory(net.weights[0], net.parameters)
    copy.partial_fit(X_train, y_train)  # trains on after unpickling
    assert copy.n_iter_ == 2


def test_regressor_scales_targets_and_handles_several():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (200, 3))
    y = 1000 + 500 * X[:, 0] ** 2 - 300 * X[:, 1]
    reg = MLPRegressor((32,), "tanh", epochs=200, learning_rate=0.01, random_state=0).fit(X, y)
    assert reg.predict(X).shape == (200,)
    assert reg.score(X, y) > 0.95
    Y = np.column_stack([y, -y / 100])
    multi = MLPRegressor((32,), "tanh", epochs=100, learning_rate=0.01, random_state=0).fit(X, Y)
    assert multi.predict(X).shape == (200, 2) and multi.score(X, Y) > 0.9
    with pytest.raises(ValueError, match="targets"):
        multi.partial_fit(X, y.reshape(-1, 1).repeat(3, axis=1))


@pytest.mark.parametrize("params, error, match", [
    ({"activation": "softmax"}, ValueError, "activation"),
    ({"hidden_layer_sizes": "big"}, TypeError, "hidden_layer_sizes"),
    ({"hidden_layer_sizes": (8, 0)}, ValueError, r"hidden_layer_sizes\[1\]"),
    ({"epochs": 0}, ValueError, "epochs"),
    ({"learning_rate": -1.0}, ValueError, "learning_rate"),
    ({"mode": "sgd"}, ValueError, "mode"),
    ({"batch_size": 16}, ValueError, "batch_size"),
])
def test_bad_parameters_are_named_at_fit(params, error, match):
    X, y = make_blobs(20, centers=2, random_state=0)
    clf = MLPClassifier(**params)  # the constructor only stores them
    with pytest.raises(error, match=match):
        clf.fit(X, y)
